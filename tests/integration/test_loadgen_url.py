"""`loadgen run URL` with wrk's options, checked without fixtures (issue 19).

Real servers: refserver (HTTP and FTP), nginx (peer_nginx.py), vsftpd
(peer_vsftpd.py; it needs root, as test_loadgen_ftp.py does), and small Python HTTP servers started in this file: one
that answers one request with other bytes (the 50th), one whose every
answer differs, one that records the request headers. Every run is short
(-d 1s or less); the whole file takes well under a minute on 2 cores.
"""
import hashlib
import http.server
import os
import re
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import LoadgenRuns  # noqa: E402
from peer_nginx import NginxPeer  # noqa: E402
from peer_vsftpd import VsftpdPeer  # noqa: E402
from serverutil import LOADGEN, RefServer, event_model, free_port  # noqa: E402

BODY = b"the same bytes, every time\n"
OTHER = b"THE SAME BYTES, every time\n"  # same length: only the hash tells


class _Handler(http.server.BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 GETs; what each answer is, is the server's."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out apart: no delayed-ACK stall

    def do_GET(self):  # noqa: N802 - http.server's name
        body = self.server.answer(self)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class PyServer(http.server.ThreadingHTTPServer):
    """A Python HTTP server on 127.0.0.1 in a thread of this process.

    mode 'flip': the 50th request gets OTHER instead of BODY; 'count': every
    answer carries the request's number (no two alike); 'record': BODY, and
    the request headers of every request are kept."""
    daemon_threads = True

    def __init__(self, mode):
        super().__init__(("127.0.0.1", 0), _Handler)  # listening from here on
        self.mode = mode
        self.lock = threading.Lock()
        self.count = 0
        self.flipped = 0
        self.headers_seen = []
        self.host, self.port = "127.0.0.1", self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, req):
        with self.lock:
            self.count += 1
            n = self.count
            if self.mode == "record":
                self.headers_seen.append(list(req.headers.items()))
            if self.mode == "flip" and n == 50:
                self.flipped += 1
                return OTHER
        if self.mode == "count":
            return b"request %08d\n" % n
        return BODY

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self.thread.join(5)
        return False


def lg(*args, stdin=None, timeout=60):
    out = subprocess.run([LOADGEN, "run"] + list(args), capture_output=True, timeout=timeout,
                         input=stdin)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def checks_line(out):
    m = re.search(r"^checks +(.*)$", out, re.M)
    return m.group(1) if m else None


class UrlRuns(LoadgenRuns, unittest.TestCase):
    TMP_PREFIX = "lg-url-test-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http = RefServer(event_model(), "http", root=cls.fixtures)
        cls.addClassCleanup(cls.http.close)
        cls.url = "http://127.0.0.1:%d" % cls.http.port
        with open(os.path.join(cls.fixtures, "hello.txt"), "rb") as f:
            cls.hello = f.read()

    def run_url(self, url, *args, stdin=None):
        """loadgen run URL ARGS --csv: (exit status, stdout, stderr, the row or None)."""
        csv_path = self._fresh_csv("url")
        rc, out, err = lg(url, "--csv", csv_path, *args, stdin=stdin)
        rows = self._rows(csv_path) if os.path.exists(csv_path) else []
        self.assertLessEqual(len(rows), 1)
        return rc, out, err, rows

    def assert_usage(self, args, mentions):
        rc, out, err = lg(*args)
        self.assertEqual(rc, 2, "%r: exit %d\n%s%s" % (args, rc, out, err))
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, "%r: one line, not\n%s" % (args, err))
        self.assertIn(mentions, lines[0], args)
        self.assertEqual(out, "", args)

    # -- what works ------------------------------------------------------------
    def test_refserver_with_wrk_options(self):
        rc, out, err, rows = self.run_url(self.url + "/hello.txt", "-c", "8", "-t", "2", "-d",
                                          "1s", "--latency")
        row = self.assert_clean_run(rc, out, err, rows, engine="raw", protocol="http")
        self.assertEqual((row["connections"], row["threads"]), ("8", "2"))
        self.assertEqual(row["scenario"], "GET /hello.txt")
        self.assertIn("consistency (every answer as the first one: %d bytes" % len(self.hello),
                      checks_line(out))
        self.assertIn("status 2xx", checks_line(out))
        for pct in ("50.000%", "99.000%", "100.000%"):  # --latency's table
            self.assertRegex(out, r"(?m)^ +%s +\d" % re.escape(pct))
        # the long forms are the same options
        rc, out, err, rows = self.run_url(self.url + "/hello.txt", "--connections", "2",
                                          "--threads", "1", "--duration", "300ms",
                                          "--engine", "curl")
        self.assert_clean_run(rc, out, err, rows, engine="curl")

    def test_nginx(self):
        why = NginxPeer.available()
        if why:  # ci/setup installs it: not being able to run it is an error, not a skip
            self.fail(why)
        with NginxPeer(self.fixtures) as ng:
            rc, out, err, rows = self.run_url("http://127.0.0.1:%d/1k.bin" % ng.port, "-c", "64",
                                              "-t", "1", "-d", "1s")
            self.assert_clean_run(rc, out, err, rows)
            self.assertIn("1024 bytes", checks_line(out))
            rc, out, err, rows = self.run_url("http://127.0.0.1:%d/1k.bin" % ng.port, "-c", "4",
                                              "-d", "500ms", "-R", "2k", "--expect-body",
                                              os.path.join(self.fixtures, "1k.bin"))
            row = self.assert_clean_run(rc, out, err, rows)
            self.assertEqual(float(row["rate"]), 2000)
            self.assertIn("open loop at 2000 req/s", out)

    def test_one_changed_answer_is_counted(self):
        with PyServer("flip") as srv:
            rc, out, err, rows = self.run_url("http://127.0.0.1:%d/page" % srv.port, "-c", "2",
                                              "-d", "1s")
            self.assertEqual(srv.flipped, 1, "the server never sent its other answer")
            self.assertGreater(srv.count, 60)
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(int(rows[0]["check_failures"]), 1, out)
        self.assertRegex(out, r"(?m)^ +wrong_body +1$")
        self.assertIn("consistency", checks_line(out))

    def test_save_scenario_round_trip(self):
        saved = os.path.join(self.tmp, "saved.ini")
        with PyServer("flip") as srv:
            url = "http://127.0.0.1:%d/page" % srv.port
            rc, out1, err, _ = self.run_url(url, "-c", "2", "-d", "1s", "-H", "X-Trace: on",
                                            "--save-scenario", saved)
            self.assertEqual(rc, 1, out1 + err)
        with open(saved) as f:
            text = f.read()
        self.assertIn("expect = same", text)
        self.assertIn("header = X-Trace: on", text)
        self.assertIn("connections = 2", text)
        with PyServer("flip") as srv:  # a fresh one: its 50th answer differs again
            rc, out2, err, rows = self.run_url(saved, "--target", "127.0.0.1:%d" % srv.port)
        self.assertEqual(rc, 1, out2 + err)
        self.assertEqual(checks_line(out2), checks_line(out1))  # the same checks
        self.assertEqual(int(rows[0]["check_failures"]), 1, out2)
        self.assertEqual((rows[0]["connections"], rows[0]["duration_s"][:3]), ("2", "1.0"))

    def test_ftp_refserver(self):
        with RefServer(event_model(), "ftp", root=self.fixtures) as ftp:
            base = "ftp://127.0.0.1:%d" % ftp.port
            rc, out, err, rows = self.run_url(base + "/hello.txt", "-c", "2", "-d", "500ms")
            self.assert_clean_run(rc, out, err, rows, engine="curl", protocol="ftp")
            self.assertEqual(rows[0]["scenario"], "RETR /hello.txt")
            rc, out, err, rows = self.run_url(base + "/dir/", "-c", "2", "-d", "500ms")
            self.assert_clean_run(rc, out, err, rows, engine="curl", protocol="ftp")
            self.assertEqual(rows[0]["scenario"], "LIST /dir/")
            sha = hashlib.sha256(self.hello).hexdigest()
            rc, out, err, rows = self.run_url(base + "/hello.txt", "-c", "1", "-d", "300ms",
                                              "--expect-sha256", sha)
            self.assert_clean_run(rc, out, err, rows)
            self.assertIn("sha256 " + sha[:16], checks_line(out))
            # a negative reply expected: no body to compare, the status checked
            rc, out, err, rows = self.run_url(base + "/missing.txt", "-c", "1", "-d", "300ms",
                                              "--expect-status", "550")
            self.assert_clean_run(rc, out, err, rows, received=False)
            self.assertIn("status 550", checks_line(out))
            rc, out, err, _ = self.run_url(base + "/hello.txt", "-d", "300ms",
                                           "--expect-sha256", "0" * 64)
            self.assertEqual(rc, 1, out + err)
            self.assertIn("expected sha256 " + "0" * 64 + ", got " + sha, err)

    def test_ftp_vsftpd(self):
        why = VsftpdPeer.available()
        if why:  # ci/setup installs it: not being able to run it is an error, not a skip
            self.fail(why)
        with VsftpdPeer(self.fixtures) as ftp:
            base = "ftp://anonymous:x%%40y@127.0.0.1:%d" % ftp.port
            rc, out, err, rows = self.run_url(base + "/1k.bin", "-c", "2", "-d", "500ms")
            self.assert_clean_run(rc, out, err, rows, engine="curl", protocol="ftp")
            self.assertIn("1024 bytes", checks_line(out))
            rc, out, err, rows = self.run_url(base + "/dir/", "-c", "1", "-d", "300ms")
            self.assert_clean_run(rc, out, err, rows, engine="curl", protocol="ftp")

    def test_headers_reach_the_server(self):
        with PyServer("record") as srv:
            rc, out, err, rows = self.run_url(
                "http://127.0.0.1:%d/" % srv.port, "-c", "2", "-d", "300ms", "-H", "X-One: 1",
                "--header", "X-Two: two words", "-H", "Host: shop.example")
            self.assert_clean_run(rc, out, err, rows)
            self.assertGreater(len(srv.headers_seen), 10)
            for seen in srv.headers_seen:  # the verify pass's (curl) and the raw engine's
                d = dict(seen)
                self.assertEqual(d.get("X-One"), "1", seen)
                self.assertEqual(d.get("X-Two"), "two words", seen)
                self.assertEqual(d.get("Host"), "shop.example", seen)

    def test_expect_status(self):
        rc, out, err, _ = self.run_url(self.url + "/no-such-file", "-d", "300ms")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("expected status 2xx, got 404", err)
        rc, out, err, rows = self.run_url(self.url + "/no-such-file", "-c", "2", "-d", "300ms",
                                          "--expect-status", "404")
        self.assert_clean_run(rc, out, err, rows)
        self.assertIn("status 404", checks_line(out))

    def test_no_check_for_dynamic_answers(self):
        with PyServer("count") as srv:
            url = "http://127.0.0.1:%d/" % srv.port
            rc, out, err, rows = self.run_url(url, "-c", "2", "-d", "300ms")
            self.assertEqual(rc, 1, out + err)  # every answer differs from the first
            self.assertGreater(int(rows[0]["check_failures"]), 0)
            rc, out, err, rows = self.run_url(url, "-c", "2", "-d", "300ms", "--no-check")
            self.assert_clean_run(rc, out, err, rows)
            self.assertEqual(checks_line(out), "status 2xx, body: not checked")

    def test_post_body_from_a_file_and_stdin(self):
        body = os.path.join(self.tmp, "body.bin")
        with open(body, "wb") as f:
            f.write(b"x=1&y=2")
        rc, out, err, rows = self.run_url(self.url + "/echo", "-c", "2", "-d", "300ms", "--body",
                                          body, "--expect-body", body)
        self.assert_clean_run(rc, out, err, rows)
        self.assertEqual(rows[0]["scenario"], "POST /echo")
        rc, out, err, rows = self.run_url(self.url + "/echo", "-c", "1", "-d", "300ms", "-m",
                                          "POST", "--body", "@-", stdin=b"from stdin")
        self.assert_clean_run(rc, out, err, rows)
        self.assertIn("10 bytes", checks_line(out))

    def test_ipv6_literal(self):
        with RefServer(event_model(), "http", root=self.fixtures,
                       args=["--listen", "[::1]:0"]) as v6:
            rc, out, err, rows = self.run_url("http://[::1]:%d/hello.txt" % v6.port, "-c", "2",
                                              "-d", "300ms")
            self.assert_clean_run(rc, out, err, rows)
            self.assertIn("target     [::1]:%d" % v6.port, out)

    # -- what is refused ---------------------------------------------------------
    def test_bad_input_is_one_line_and_exit_2(self):
        u = self.url + "/hello.txt"
        for args, mentions in [
            (["gopher://127.0.0.1/"], "unknown scheme 'gopher'"),
            (["https://127.0.0.1/"], "https:// is not supported"),
            (["http:///hello.txt"], "no host"),
            (["http://:80/"], "no host"),
            (["http://127.0.0.1:0/"], "bad port '0'"),
            (["http://127.0.0.1:65536/"], "bad port '65536'"),
            (["http://127.0.0.1:80x/"], "bad port '80x'"),
            (["http://[::1/"], "']'"),
            ([u, "-H", "X-No-Colon"], "-H 'X-No-Colon': not 'Name: value'"),
            ([u, "-H", "Content-Length: 3"], "loadgen's own header"),
            ([u, "-R", "fast"], "-R: 'fast'"),
            ([u, "-R", "0"], "-R: '0'"),
            ([u, "-d", "1x"], "-d: '1x'"),
            ([u, "-d", "0"], "-d: '0'"),
            ([u, "--duration", "soon"], "--duration: 'soon'"),
            ([u, "-c", "many"], "-c: 'many'"),
            ([u, "-t", "0"], "-t: '0'"),
            ([u, "-t", "4", "-c", "2"], "threads"),
            ([u, "--timeout", "forever"], "--timeout"),
            ([u, "--target", "127.0.0.1:80"], "the URL names the server"),
            ([u, "--expect-status", "99"], "--expect-status"),
            ([u, "--expect-sha256", "abc"], "not 64 hex digits"),
            ([u, "--no-check", "--expect-body", "/etc/hostname"], "exclude each other"),
            ([u, "-m", "GE T"], "not an HTTP method"),
            ([u, "-x"], "unknown option '-x'"),
        ]:
            with self.subTest(args=args):
                self.assert_usage(args, mentions)
        ini = os.path.join(self.tmp, "one.ini")
        with open(ini, "w") as f:
            f.write("[scenario]\nprotocol = http\n[step a]\npath = /\n")
        self.assert_usage([ini, "--target", "127.0.0.1:1", "-H", "X-A: 1"],
                          "-H is for the URL form")

    def test_refused_connection_fails_the_verify_pass(self):
        port = free_port()
        rc, out, err = lg("http://127.0.0.1:%d/" % port, "-d", "1s")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("verify pass failed", err)
        self.assertIn("127.0.0.1 port %d" % port, err)
        self.assertIn("errno 111", err)  # ECONNREFUSED
        rc, out, err = lg("ftp://127.0.0.1:%d/x" % port, "-d", "1s")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("errno 111", err)


if __name__ == "__main__":
    unittest.main()
