"""Echo protocol integration tests (--proto echo), one TestCase class per model
`refserver --list-models` prints (EchoTest_<model>)."""
import os
import signal
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverutil import classes_per_model, RefServer, scaled  # noqa: E402

IO_TIMEOUT = scaled(10)


def recv_exact(sock, n):
    """Reads exactly n bytes; fewer only if the server closed first."""
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def recv_to_eof(sock):
    data = bytearray()
    for chunk in iter(lambda: sock.recv(65536), b""):
        data += chunk
    return bytes(data)


class EchoModelTests:
    """Mixin: the per-model classes set MODEL and inherit unittest.TestCase."""
    MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.srv = RefServer(cls.MODEL, proto="echo")

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def setUp(self):
        self.assertIsNone(self.srv.proc.poll(), "server died earlier:\n" + self.srv.stderr_text())

    def connect(self):
        s = socket.create_connection(self.srv.address, timeout=IO_TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.addCleanup(s.close)
        return s

    def test_lines_echoed_in_order(self):
        s = self.connect()
        for i in range(100):
            line = b"line %d of the ordered test\n" % i
            s.sendall(line)
            self.assertEqual(recv_exact(s, len(line)), line, "line %d" % i)

    def test_many_lines_in_one_send(self):
        s = self.connect()
        data = b"".join(b"batch line %05d\n" % i for i in range(2000))  # ~34 KB
        s.sendall(data)
        self.assertEqual(recv_exact(s, len(data)), data)

    def test_line_split_across_sends(self):
        s = self.connect()
        for part in (b"hel", b"lo, wo", b"rld", b"\n"):
            s.sendall(part)
        self.assertEqual(recv_exact(s, 13), b"hello, world\n")
        s.sendall(b"next\n")  # the connection still works after the split line
        self.assertEqual(recv_exact(s, 5), b"next\n")

    def test_20_concurrent_clients(self):
        errors, barrier = [], threading.Barrier(20, timeout=IO_TIMEOUT)

        def client(n):
            try:
                with socket.create_connection(self.srv.address, timeout=scaled(30)) as s:
                    barrier.wait()
                    for i in range(50):
                        line = b"client %d line %d\n" % (n, i)
                        s.sendall(line)
                        got = recv_exact(s, len(line))
                        if got != line:
                            errors.append("client %d line %d: %r" % (n, i, got))
                            return
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("client %d: %r" % (n, e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        if errors:
            self.fail("%d client errors:\n%s" % (len(errors), "\n".join(errors)))

    def test_eof_closes(self):
        s = self.connect()
        s.sendall(b"one\ntwo\n")
        s.shutdown(socket.SHUT_WR)
        try:
            self.assertEqual(recv_to_eof(s), b"one\ntwo\n")
        except socket.timeout:
            self.fail("server did not close after the client's EOF")

    def test_partial_line_echoed_at_eof(self):
        s = self.connect()
        s.sendall(b"full\npartial")
        s.shutdown(socket.SHUT_WR)
        try:
            self.assertEqual(recv_to_eof(s), b"full\npartial")
        except socket.timeout:
            self.fail("server did not close after the client's EOF")

    def test_line_and_eof_in_one_wakeup(self):
        """A line and the client's EOF that reach the server together (one
        edge for an edge-triggered poller: EPOLLIN|EPOLLRDHUP) are both
        seen: the line is echoed, then the connection closes. The short
        read of the line must not be taken for "the socket is empty, wait
        for the next edge": no edge comes after the EOF. The server's
        processes are stopped (SIGSTOP) while both arrive, so they come in
        one wakeup every time."""
        s = self.connect()
        s.sendall(b"first\n")
        self.assertEqual(recv_exact(s, 6), b"first\n")  # accepted, read, waiting again
        group = [self.srv.pid] + self.srv.children()
        for pid in group:
            os.kill(pid, signal.SIGSTOP)
        try:
            s.sendall(b"second\n")
            s.shutdown(socket.SHUT_WR)
        finally:
            for pid in group:
                os.kill(pid, signal.SIGCONT)
        try:
            self.assertEqual(recv_to_eof(s), b"second\n")
        except socket.timeout:
            self.fail("%s: no close after a line and the EOF came together" % self.MODEL)


classes_per_model(globals(), "EchoTest", EchoModelTests)

if __name__ == "__main__":
    unittest.main()
