"""HTTP integration tests, one TestCase class per model `refserver --list-models`
prints (HttpTest_<model>), so a failure names the model.

Clients: curl (subprocess), Python's http.client, and raw sockets for the
things clients smooth over (pipelining, malformed requests, traversal)."""
import calendar
import email.utils
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverutil import (classes_per_model, class_temp_dir, RefServer, make_docroot,  # noqa: E402
                        scaled, wait_until)

IO_TIMEOUT = scaled(10)  # seconds for any single client operation
HUGE_SIZE = 16 << 20


# --- a raw HTTP/1.1 client: bytes in, responses parsed strictly -------------

class RawConn:
    """One TCP connection; parses responses (Content-Length framing) in order."""

    def __init__(self, addr, timeout=IO_TIMEOUT, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect, so the window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, size=65536):
        try:
            chunk = self.sock.recv(size)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise EOFError("connection closed; %d bytes pending: %r" % (len(self.buf),
                                                                        bytes(self.buf[:200])))
        self.buf += chunk

    def read_head(self):
        """(status, reason, headers{lower: value}, raw head bytes)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n") + 4
        raw = bytes(self.buf[:end])
        del self.buf[:end]
        lines = raw.decode("latin-1").split("\r\n")
        m = re.match(r"^HTTP/1\.[01] (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return int(m.group(1)), m.group(2), headers, raw

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_response(self, head_request=False):
        """(status, headers, body, raw head); body framed by Content-Length."""
        status, _, headers, raw = self.read_head()
        if head_request or status in (204, 304) or status < 200:
            return status, headers, b"", raw
        if "content-length" in headers:
            return status, headers, self.read_exact(int(headers["content-length"])), raw
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise AssertionError("unexpected chunked response: %r" % raw)
        return status, headers, self.read_to_eof(), raw  # close-delimited

    def read_to_eof(self):
        """Everything until the peer closes (RST counts as close)."""
        while True:
            try:
                self._fill()
            except EOFError:
                data = bytes(self.buf)
                self.buf.clear()
                return data

    def at_eof(self, timeout=5):
        """True if the server closes the connection within timeout seconds
        with nothing more to read (a RST counts as closed)."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(IO_TIMEOUT)

    def close(self):
        self.sock.close()


def raw_request(addr, data, head_request=False):
    """Sends data on a new connection, returns the first parsed response."""
    c = RawConn(addr)
    try:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading it all
        return c.read_response(head_request)
    finally:
        c.close()


def get_req(path, method="GET", extra=""):
    return ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (method, path, extra)).encode("latin-1")


def media_type(headers):
    return headers.get("content-type", "").split(";")[0].strip().lower()


# --- the suite, run once per model -------------------------------------------

class HttpModelTests:
    """Mixin: the per-model classes set MODEL and inherit unittest.TestCase."""
    MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "itest-http-%s-" % cls.MODEL)
        cls.fx = make_docroot(os.path.join(cls.tmp, "root"))
        # Traversal bait in the root's parent: "/../x" or "/sub/../../outside"
        # would reach these if the server resolved paths naively.
        for name in ("x", "outside"):
            with open(os.path.join(cls.tmp, name), "w") as f:
                f.write("bait outside the root %s\n" % cls.fx["marker"])
        # Bigger than the kernel's largest socket send buffer (tcp_wmem max,
        # 4 MiB here), so a server sending it is surely mid-write when a test
        # signals it. Sparse (random head and tail), so it costs no disk.
        cls.huge = os.path.join(cls.fx["root"], "huge.bin")
        with open(cls.huge, "wb") as f:
            f.write(os.urandom(65536))
            f.seek(HUGE_SIZE - 65536)
            f.write(os.urandom(65536))
        cls.fx["files"]["/huge.bin"] = cls.huge
        cls.srv = RefServer(cls.MODEL, root=cls.fx["root"])
        cls.addClassCleanup(cls.srv.close)
        cls.addr = cls.srv.address
        cls.iterative = cls.MODEL == "iterative"

    def setUp(self):
        self.assertIsNone(self.srv.proc.poll(), "server died earlier:\n" + self.srv.stderr_text())

    def content(self, url):
        with open(self.fx["files"][url], "rb") as f:
            return f.read()

    def server(self, *args):
        """A server of this model with extra flags, for one test."""
        srv = RefServer(self.MODEL, root=self.fx["root"], args=args)
        self.addCleanup(srv.close)
        return srv

    def url(self, path, addr=None):
        return "http://%s:%d%s" % ((addr or self.addr) + (path,))

    def curl(self, path, *opts):
        """(status code string, output file bytes)."""
        out = os.path.join(self.tmp, "curl-%s.out" % threading.get_ident())
        r = subprocess.run(["curl", "-sS", "--max-time", str(scaled(10)), "-o", out,
                            "-w", "%{http_code}",
                            *opts, self.url(path)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=scaled(20))
        self.assertEqual(r.returncode, 0, "curl %s: %s" % (path, r.stderr.decode()))
        with open(out, "rb") as f:
            return r.stdout.decode(), f.read()

    def client(self):
        c = http.client.HTTPConnection(*self.addr, timeout=IO_TIMEOUT)
        self.addCleanup(c.close)
        return c

    # -- GET / HEAD / 404 --

    def test_request_and_eof_in_one_wakeup(self):
        """A keep-alive request and the client's EOF that reach the server
        together (one edge for an edge-triggered poller) get the answer and
        then the close, not a wait for an edge that never comes. The
        server's processes are stopped (SIGSTOP) while both arrive."""
        if self.iterative:
            self.skipTest("iterative answers one request per connection")
        c = RawConn(self.srv.address)
        self.addCleanup(c.close)
        c.send(get_req("/hello.txt"))
        self.assertEqual(c.read_response()[0], 200)  # accepted, read, waiting again
        group = [self.srv.pid] + self.srv.children()
        for pid in group:
            os.kill(pid, signal.SIGSTOP)
        try:
            c.send(get_req("/hello.txt"))
            c.sock.shutdown(socket.SHUT_WR)
        finally:
            for pid in group:
                os.kill(pid, signal.SIGCONT)
        status, _, body, _ = c.read_response()
        self.assertEqual((status, body), (200, b"hello, world\n"))
        try:
            self.assertEqual(c.read_to_eof(), b"")
        except socket.timeout:
            self.fail("%s: no close after a request and the EOF came together" % self.MODEL)

    def test_curl_get_bodies_identical(self):
        for url in ("/index.html", "/hello.txt", "/big.bin", "/sub/dir/file.txt"):
            code, body = self.curl(url)
            self.assertEqual(code, "200", url)
            self.assertTrue(body == self.content(url), "%s: body differs (%d vs %d bytes)"
                            % (url, len(body), len(self.content(url))))

    def test_curl_root_serves_index(self):
        code, body = self.curl("/")
        self.assertEqual((code, body), ("200", self.content("/index.html")))

    def test_curl_head_length_no_body(self):
        code, head = self.curl("/big.bin", "-I")
        self.assertEqual(code, "200")
        self.assertRegex(head.decode("latin-1"), r"(?im)^content-length: *1048576\r?$")

    def test_curl_404(self):
        code, _ = self.curl("/no/such/file.txt")
        self.assertEqual(code, "404")

    def test_http_client_get_types_and_last_modified(self):
        types = {"/index.html": "text/html", "/hello.txt": "text/plain",
                 "/big.bin": "application/octet-stream"}
        c = self.client()
        for url, ctype in types.items():
            c.request("GET", url)
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.status, 200, url)
            self.assertTrue(body == self.content(url), url + ": body differs")
            self.assertEqual(int(r.getheader("Content-Length")), len(body), url)
            self.assertEqual(media_type({"content-type": r.getheader("Content-Type", "")}),
                             ctype, url)
            lm = r.getheader("Last-Modified")
            self.assertIsNotNone(lm, url + ": no Last-Modified")
            when = email.utils.parsedate_to_datetime(lm).timestamp()
            self.assertEqual(int(when), int(os.stat(self.fx["files"][url]).st_mtime),
                             url + ": Last-Modified " + lm)

    def test_http_client_head_and_404(self):
        c = self.client()
        c.request("HEAD", "/hello.txt")
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, b""))
        self.assertEqual(int(r.getheader("Content-Length")), len(self.content("/hello.txt")))
        c.request("GET", "/nope.html")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 404)

    def test_raw_head_sends_no_body(self):
        # Connection: close, then read to EOF: any byte after the head is a body.
        c = RawConn(self.addr)
        self.addCleanup(c.close)
        c.send(get_req("/big.bin", "HEAD", "Connection: close\r\n"))
        status, headers, _, _ = c.read_response(head_request=True)
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("content-length"), str(1 << 20))
        self.assertEqual(c.read_to_eof(), b"")

    def test_symlink_inside_root_served(self):
        code, body = self.curl(self.fx["link_in"])
        self.assertEqual((code, body), ("200", self.content("/hello.txt")))

    # -- connections --

    def test_keepalive_200_requests_one_connection(self):
        c = self.client()
        ports = set()
        for i in range(200):
            url = "/hello.txt" if i % 2 else "/sub/dir/file.txt"
            c.request("GET", url)
            r = c.getresponse()
            body = r.read()
            self.assertEqual((r.status, body), (200, self.content(url)), "request %d" % i)
            if self.iterative:  # one response per connection, announced
                self.assertEqual(r.getheader("Connection", "").lower(), "close", "request %d" % i)
            else:
                self.assertIsNotNone(c.sock, "request %d: server closed the keep-alive "
                                     "connection (Connection: %s)" % (i, r.getheader("Connection")))
                ports.add(c.sock.getsockname()[1])
        if not self.iterative:
            self.assertEqual(len(ports), 1, "client reconnected: local ports %s" % sorted(ports))

    def test_pipelined_five_in_one_send(self):
        reqs = [("GET", "/hello.txt"), ("GET", "/index.html"), ("HEAD", "/big.bin"),
                ("GET", "/nope.txt"), ("GET", "/sub/dir/file.txt")]
        data = b"".join(get_req(p, m, "Connection: close\r\n" if i == 4 else "")
                        for i, (m, p) in enumerate(reqs))
        c = RawConn(self.addr)
        self.addCleanup(c.close)
        c.send(data)
        if self.iterative:  # answers the first, announces the close, closes
            status, headers, body, _ = c.read_response()
            self.assertEqual((status, body), (200, self.content("/hello.txt")))
            self.assertEqual(headers.get("connection", "").lower(), "close")
            self.assertTrue(c.at_eof(), "connection not closed")
            return
        for i, (method, path) in enumerate(reqs):
            status, headers, body, raw = c.read_response(head_request=method == "HEAD")
            if path == "/nope.txt":
                self.assertEqual(status, 404, "answer %d: %r" % (i, raw))
            elif method == "HEAD":
                self.assertEqual((status, headers.get("content-length")), (200, str(1 << 20)),
                                 "answer %d: %r" % (i, raw))
            else:
                self.assertEqual(status, 200, "answer %d: %r" % (i, raw))
                self.assertTrue(body == self.content(path), "answer %d (%s) out of order or "
                                "wrong: %r" % (i, path, body[:80]))
        self.assertTrue(c.at_eof(), "no close after Connection: close")

    def test_concurrent_50_clients(self):
        errors, barrier = [], threading.Barrier(50, timeout=IO_TIMEOUT)

        def client(n):
            urls = ["/hello.txt", "/index.html", "/sub/dir/file.txt"]
            if n % 10 == 0:
                urls.append("/big.bin")
            c = http.client.HTTPConnection(*self.addr, timeout=scaled(30))
            try:
                barrier.wait()
                for url in urls:
                    c.request("GET", url)
                    r = c.getresponse()
                    body = r.read()
                    if r.status != 200 or body != self.content(url):
                        errors.append("client %d %s: %d, %d bytes" % (n, url, r.status, len(body)))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("client %d: %r" % (n, e))
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        if errors:
            self.fail("%d client errors:\n%s" % (len(errors), "\n".join(errors)))

    # -- bad requests --

    def assert_still_serving(self, addr=None):
        status, _, body, _ = raw_request(addr or self.addr,
                                         get_req("/hello.txt", extra="Connection: close\r\n"))
        self.assertEqual((status, body), (200, self.content("/hello.txt")),
                         "server stopped serving")

    def test_malformed_400_then_serves_next(self):
        for garbage in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / FOO/1.1\r\nHost: x\r\n\r\n",
                        b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nNoColonHeader\r\n\r\n",
                        b"\x01\x02\x03\xff /x HTTP/1.1\r\n\r\n"):
            with self.subTest(request=garbage):
                status, _, _, raw = raw_request(self.addr, garbage)
                self.assertEqual(status, 400, "%r -> %r" % (garbage, raw))
                self.assert_still_serving()

    def test_unknown_method_501(self):
        status, _, _, raw = raw_request(self.addr, get_req("/hello.txt", "BREW"))
        self.assertEqual(status, 501, raw)

    def test_post_to_file_405_with_allow(self):
        req = get_req("/hello.txt", "POST", "Content-Length: 3\r\n") + b"abc"
        status, headers, _, raw = raw_request(self.addr, req)
        self.assertEqual(status, 405, raw)
        self.assertIn("GET", headers.get("allow", ""), "405 without Allow: %r" % raw)

    def test_http2_version_505(self):
        status, _, _, raw = raw_request(self.addr, b"GET /hello.txt HTTP/2.0\r\nHost: x\r\n\r\n")
        self.assertEqual(status, 505, raw)

    def test_http10_answered_and_closed(self):
        c = RawConn(self.addr)
        self.addCleanup(c.close)
        c.send(b"GET /hello.txt HTTP/1.0\r\n\r\n")
        status, _, body, _ = c.read_response()
        self.assertEqual((status, body), (200, self.content("/hello.txt")))
        self.assertTrue(c.at_eof(), "HTTP/1.0 connection left open")

    def test_oversize_headers_rejected(self):
        req = get_req("/hello.txt", extra="X-Big: %s\r\n" % ("a" * 16384))
        status, _, _, raw = raw_request(self.addr, req)
        self.assertIn(status, (413, 431), raw)
        self.assert_still_serving()

    def test_time_page(self):
        c = self.client()
        c.request("GET", "/time")
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.getheader("Content-Length")), len(body.encode()))
        # One ISO-8601 UTC line ("2024-01-02T03:04:05Z"), and the time is now.
        self.assertRegex(body, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$")
        when = calendar.timegm(time.strptime(body.strip(), "%Y-%m-%dT%H:%M:%SZ"))
        self.assertLess(abs(when - time.time()), 120, body)

    # -- the root --

    def test_traversal_and_hidden_refused(self):
        fx = self.fx
        targets = ["/../x", "/../outside", "/%2e%2e/x", "/%2E%2E/outside", "/..%2f..%2fetc/passwd",
                   "/%2e%2e%2f", "/%2e%2e%2foutside", "//etc/passwd", "/sub/../../outside",
                   "/sub/dir/../../../outside", "/sub/%2e%2e/%2e%2e/outside", "/./../x",
                   "/%00", "/hello.txt%00.html", "/.secret", "/%2esecret", "/.hiddendir/x.txt",
                   "/sub/../.secret", fx["link_out"], fx["link_out_dir"], "/..\\..\\x",
                   "/%5c..%5c..%5cx", "/%252e%252e/x", "/%252e%252e%252foutside",
                   "/..%252f..%252fetc/passwd", "/" + fx["planted"], fx["planted"],
                   "/etc/passwd", "/../../../../../../etc/passwd"]
        bad = []
        for t in targets:
            try:
                status, _, body, raw = raw_request(self.addr,
                                                   get_req(t, extra="Connection: close\r\n"))
            except (EOFError, OSError, AssertionError) as e:
                bad.append("%s -> no valid response: %r" % (t, e))
                continue
            answer = raw + body
            if not 400 <= status < 500:
                bad.append("%s -> %d" % (t, status))
            for secret in (fx["marker"], fx["hidden_marker"], "root:x:0:0"):
                if secret.encode() in answer:
                    bad.append("%s leaked %s" % (t, secret))
        if bad:
            self.fail("hostile targets not refused:\n" + "\n".join(bad))
        self.assert_still_serving()

    # -- flags --

    def test_idle_timeout_closes_idle_and_half_sent(self):
        # an unfinished head is the header timeout's (a deadline for the
        # whole head), silence the idle timeout's: both 1 s here
        srv = self.server("--idle-timeout", "1", "--header-timeout", "1")
        idle = RawConn(srv.address)
        half = RawConn(srv.address)
        self.addCleanup(idle.close)
        self.addCleanup(half.close)
        half.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")  # slowloris: never finished
        start = time.monotonic()
        # Both must be closed (EOF, perhaps after a 408) well within 5 s. The
        # iterative model serves them one after the other: ~2 s in all.
        for name, c in (("idle", idle), ("half-sent", half)):
            c.sock.settimeout(max(0.1, start + 5 - time.monotonic()))
            try:
                c.read_to_eof()
            except socket.timeout:
                self.fail("%s connection still open after 5 s (--idle-timeout 1)" % name)
        self.assertGreaterEqual(time.monotonic() - start, 0.5, "closed before the timeout")
        self.assert_still_serving(srv.address)

    def test_max_conn_503_then_recovers(self):
        if self.iterative:
            self.skipTest("iterative serves one client at a time")
        srv = self.server("--max-conn", "2")
        held = []
        for _ in range(2):
            c = http.client.HTTPConnection(*srv.address, timeout=IO_TIMEOUT)
            self.addCleanup(c.close)
            c.request("GET", "/hello.txt")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, self.content("/hello.txt")))
            held.append(c)
        # Every further client is refused, not just one: six of them, so a
        # limit kept per worker (reuseport: per listener) cannot pass by luck.
        # They send nothing: the refusal comes unasked.
        extra = [RawConn(srv.address) for _ in range(6)]
        deadline = time.monotonic() + 5
        for i, c in enumerate(extra):
            self.addCleanup(c.close)
            c.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                status, _, _, raw = c.read_response()
            except socket.timeout:
                self.fail("client %d over --max-conn 2 got no answer in 5 s" % (i + 3))
            self.assertEqual(status, 503, "client %d: %r" % (i + 3, raw))
            self.assertTrue(c.at_eof(), "refused connection %d left open" % (i + 3))
        for c in held:
            c.close()

        def served():
            try:
                st, _, body, _ = raw_request(srv.address,
                                             get_req("/hello.txt", extra="Connection: close\r\n"))
                return st == 200 and body == self.content("/hello.txt")
            except (EOFError, OSError):
                return False
        self.assertTrue(wait_until(served, 5, 0.05), "not serving again after the 2 closed")

    def test_sigterm_with_clients_connected(self):
        srv = self.server()
        silent = RawConn(srv.address)  # connected, never sends: the server waits on it
        self.addCleanup(silent.close)
        for _ in range(0 if self.iterative else 3):  # idle keep-alive clients
            c = http.client.HTTPConnection(*srv.address, timeout=IO_TIMEOUT)
            self.addCleanup(c.close)
            c.request("GET", "/hello.txt")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, self.content("/hello.txt")))
        rc = srv.stop(signal.SIGTERM, timeout=8)
        self.assertFalse(srv.timed_out, "did not exit within 8 s of SIGTERM")
        self.assertEqual(rc, 0, srv.stderr_text())
        self.assertEqual(srv.children_left(), [], "descendants outlived the server")

    def sigterm_during_slow_download(self, url):
        srv = self.server()
        c = RawConn(srv.address, rcvbuf=4096)  # a slow reader: a small window
        self.addCleanup(c.close)
        c.send(get_req(url))
        status, _, headers, _ = c.read_head()
        self.assertEqual(status, 200)
        got = bytearray(c.read_exact(min(len(c.buf) + 1, 8192)))
        srv.send_signal(signal.SIGTERM)  # the response is mid-flight now
        total = int(headers["content-length"])
        try:
            while len(got) < total:
                got += c.read_exact(min(65536, total - len(got)))
        except (EOFError, socket.timeout) as e:
            self.fail("%s cut at %d of %d bytes by SIGTERM: %r"
                      % (url, len(got) + len(c.buf), total, e))
        self.assertTrue(bytes(got) == self.content(url), url + ": body damaged by SIGTERM")
        c.close()
        rc = srv.stop(timeout=8)
        self.assertFalse(srv.timed_out, "did not exit within 8 s of SIGTERM")
        self.assertEqual(rc, 0, srv.stderr_text())
        self.assertEqual(srv.children_left(), [])

    def test_sigterm_during_slow_1mib_download(self):
        self.sigterm_during_slow_download("/big.bin")

    def test_sigterm_during_slow_16mib_download(self):
        self.sigterm_during_slow_download("/huge.bin")

    def test_no_zombies_after_20_connections(self):
        """What a model forks per connection (fork does) is gone and reaped
        soon after: no more processes than before, no zombie. The models
        that fork nothing or a fixed set of workers must stay as they are."""
        before = self.srv.children()
        for _ in range(20):
            status, _, _, _ = raw_request(self.addr, get_req("/hello.txt",
                                                             extra="Connection: close\r\n"))
            self.assertEqual(status, 200)
        self.assertTrue(wait_until(lambda: len(self.srv.children()) <= len(before), 3),
                        "children still running: %s (before: %s)"
                        % (self.srv.children(), before))
        # SIGCHLD-driven reaping takes milliseconds; 0.5 s is a generous bound
        # that still catches a reaper that only runs on a periodic timer.
        self.assertTrue(wait_until(lambda: not self.srv.zombies(), 0.5),
                        "zombies not reaped within 0.5 s: %s" % self.srv.zombies())


classes_per_model(globals(), "HttpTest", HttpModelTests)

if __name__ == "__main__":
    unittest.main()
