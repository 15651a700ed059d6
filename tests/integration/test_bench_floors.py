"""The floors ci/bench-server measures every server against (issue 20):
tests/bench/floor.c (epoll) and floor_uring.c (io_uring). Neither is a
server or correct HTTP; what the bench relies on is tested here: each
answers every request head with the fixed 200 and its body, pipelined heads
in one write get one answer each, and a client that sends garbage or goes
away mid-head does not stop the next client's answer."""
import os
import socket
import subprocess
import unittest

from serverutil import BUILD_DIR, EMULATOR, scaled

BODY = b"hello, world, this is 36 bytes ....\n"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
HEAD = b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def recv_exactly(sock, n):
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return got


class FloorMixin:
    binary = None  # set per class

    def setUp(self):
        path = os.path.join(BUILD_DIR, "servers", self.binary)
        if not os.access(path, os.X_OK):
            self.skipTest("%s is not built here" % self.binary)
        self.proc = subprocess.Popen(EMULATOR + [path, "0", BODY.decode()],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()  # the readiness line
        if not line.startswith("listening on 127.0.0.1:"):
            self.proc.kill()
            self.proc.wait()
            err = self.proc.stderr.read().decode()
            if "Operation not permitted" in err or "not implemented" in err.lower():
                self.skipTest("%s: no io_uring here: %s" % (self.binary, err.strip()))
            self.fail("%s did not start: %r %r" % (self.binary, line, err))
        self.port = int(line.rsplit(":", 1)[1])

    def tearDown(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=scaled(5))
        return s

    def test_answers_each_head_with_the_fixed_200(self):
        with self.connect() as s:
            for _ in range(3):  # keep-alive: one connection, three requests
                s.sendall(HEAD)
                self.assertEqual(recv_exactly(s, len(ANSWER)), ANSWER)

    def test_pipelined_heads_get_one_answer_each(self):
        with self.connect() as s:
            s.sendall(HEAD * 5)
            self.assertEqual(recv_exactly(s, 5 * len(ANSWER)), ANSWER * 5)

    def test_garbage_and_a_client_gone_mid_head_leave_the_next_served(self):
        with self.connect() as s:
            s.sendall(b"\x00\xff not a request at all")
        with self.connect() as s:
            s.sendall(HEAD[:10])  # and goes away
        with self.connect() as s:
            s.sendall(HEAD)
            self.assertEqual(recv_exactly(s, len(ANSWER)), ANSWER)
        self.assertIsNone(self.proc.poll(), "the floor exited")


class EpollFloor(FloorMixin, unittest.TestCase):
    binary = "floor"


class UringFloor(FloorMixin, unittest.TestCase):
    binary = "floor_uring"


if __name__ == "__main__":
    unittest.main()
