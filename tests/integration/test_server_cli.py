"""refserver's command line: --list-models, --help, usage errors (exit 2 with one
line on stderr), the readiness line, SIGINT, what goes to stderr."""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverutil import (REFSERVER_CMD, RefServer, built_models, class_temp_dir,  # noqa: E402
                        event_model, list_models, make_docroot, scaled)


def run(*args, timeout=10):
    """Runs refserver to completion; a hang (it started serving) is killed."""
    try:
        return subprocess.run(REFSERVER_CMD + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=scaled(timeout))
    except subprocess.TimeoutExpired as e:
        raise AssertionError("refserver %s still running after %ds (stdout %r, stderr %r)"
                             % (" ".join(args), timeout, e.stdout, e.stderr)) from None


class CliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "itest-cli-")
        cls.fx = make_docroot(os.path.join(cls.tmp, "root"))
        cls.root = cls.fx["root"]

    def test_list_models(self):
        r = run("--list-models")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [ln for ln in r.stdout.decode().splitlines() if ln.strip()]
        names = [ln.split()[0] for ln in lines]
        for required in ("iterative", "fork", "thread", event_model()):
            self.assertIn(required, names)
        self.assertEqual(len(names), len(set(names)), "a model listed twice: %s" % names)
        # list_models() narrows to SERVERMODELS_MODELS: every model it names is listed
        self.assertTrue(set(list_models()) <= set(names), names)

    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--model", r.stdout.decode())

    def assert_usage_error(self, *args):
        r = run(*args)
        err = r.stderr.decode(errors="replace")
        what = "refserver %s" % " ".join(args)
        self.assertEqual(r.returncode, 2, "%s: exit %d, stderr %r" % (what, r.returncode, err))
        self.assertEqual(len(err.strip().splitlines()), 1, "%s: stderr %r" % (what, err))
        self.assertNotIn(b"listening on", r.stdout, what)
        return err

    def good(self, **over):
        """A valid command line, with some options replaced (None drops one)."""
        opts = {"--model": event_model(), "--proto": "http", "--listen": "127.0.0.1:0",
                "--root": self.root}
        opts.update(over)
        return [a for k, v in opts.items() if v is not None for a in (k, v)]

    def test_bad_flag(self):
        self.assert_usage_error(*self.good(), "--bogus")

    def test_flag_missing_its_value(self):
        self.assert_usage_error(*self.good(), "--max-conn")

    def test_unknown_model(self):
        self.assert_usage_error(*self.good(**{"--model": "nosuchmodel"}))

    def test_uring_offered_only_where_it_runs(self):
        """uring is built wherever liburing is, but the kernel may refuse
        io_uring (qemu's user mode: ENOSYS, make test-cross; EPERM with
        kernel.io_uring_disabled). Offered by --list-models: it serves. Not
        offered: --model uring is one line saying why and exit 2, never a
        readiness line, a hang, or a server that announced itself and died."""
        if "uring" in built_models():
            with RefServer("uring", root=self.root) as srv:
                self.requests(srv, 3)
                self.assertEqual(srv.stop(), 0, srv.stderr_text())
            return
        err = self.assert_usage_error(*self.good(**{"--model": "uring"}))
        self.assertTrue("unknown model 'uring'" in err  # not built (no liburing, portable)
                        or re.search(r"model uring cannot run here \(io_uring_setup: .+\)", err),
                        err)

    def test_no_model(self):
        self.assert_usage_error(*self.good(**{"--model": None}))

    def test_unknown_proto(self):
        self.assert_usage_error(*self.good(**{"--proto": "gopher"}))

    def test_missing_root(self):
        self.assert_usage_error(*self.good(**{"--root": os.path.join(self.tmp, "nonexistent")}))

    def test_root_is_a_file(self):
        self.assert_usage_error(*self.good(**{"--root": self.fx["files"]["/hello.txt"]}))

    def test_bad_listen(self):
        for bad in ("nonsense", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:abc",
                    "127.0.0.1:-1", ":"):
            with self.subTest(listen=bad):
                self.assert_usage_error(*self.good(**{"--listen": bad}))

    def test_bad_max_conn(self):
        for bad in ("abc", "-1", "10x", "", "99999999999999999999"):
            with self.subTest(max_conn=bad):
                self.assert_usage_error(*self.good(), "--max-conn", bad)

    def test_bad_idle_timeout(self):
        for bad in ("abc", "-3", "5x", "1.5.2", "250 ms", "25h", "86401", ""):
            with self.subTest(idle_timeout=bad):
                err = self.assert_usage_error(*self.good(), "--idle-timeout", bad)
                self.assertIn("--idle-timeout", err)
                self.assertIn("'%s'" % bad, err)

    def test_bad_header_body_send_timeouts(self):
        for opt in ("--header-timeout", "--body-timeout", "--send-timeout"):
            for bad in ("5x", "-1", "abc", "25h"):
                with self.subTest(option=opt, value=bad):
                    err = self.assert_usage_error(*self.good(), opt, bad)
                    self.assertIn(opt, err)
                    self.assertIn("'%s'" % bad, err)

    def test_bad_upload_grace(self):
        for bad in ("5x", "-1", "abc", "11s", "1.5.2", ""):
            with self.subTest(upload_grace=bad):
                err = self.assert_usage_error(*self.good(), "--upload-grace", bad)
                self.assertIn("--upload-grace", err)
                self.assertIn("'%s'" % bad, err)

    def test_bad_max_per_ip(self):
        for bad in ("-1", "abc", "2x", "1.5"):
            with self.subTest(max_per_ip=bad):
                self.assertIn("--max-per-ip",
                              self.assert_usage_error(*self.good(), "--max-per-ip", bad))

    def test_unknown_user(self):
        err = self.assert_usage_error(*self.good(), "--user", "no-such-user")
        self.assertIn("no-such-user", err)

    def test_root_without_user_warns_once(self):
        if os.geteuid() != 0:
            self.skipTest("only root is warned (CI runs this suite as root)")
        with RefServer(event_model(), root=self.root) as srv:
            self.requests(srv, 2)
            self.assertEqual(srv.stop(), 0)
        self.assertEqual(srv.stderr_text().count("running as root without --user"), 1,
                         srv.stderr_text())

    def test_ftp_max_per_ip_defaults_to_32(self):
        with RefServer(event_model(), proto="ftp", root=self.root) as srv:
            held = []
            try:
                for i in range(33):
                    s = socket.create_connection((srv.host, srv.port), timeout=scaled(10))
                    held.append(s)
                    greeting = s.makefile("rb").readline()
                    want = b"220 " if i < 32 else b"421 "
                    self.assertTrue(greeting.startswith(want), "client %d: %r" % (i + 1, greeting))
            finally:
                for s in held:
                    s.close()

    def test_bad_workers(self):
        for bad in ("abc", "-1", "4097", "1.5", "2x"):
            with self.subTest(workers=bad):
                self.assertIn("--workers",
                              self.assert_usage_error(*self.good(), "--workers", bad))

    def seconds_until_idle_close(self, timeout_arg):
        """Starts event_model() with --idle-timeout timeout_arg; how long a silent client stays open."""
        with RefServer(event_model(), root=self.root, args=["--idle-timeout", timeout_arg]) as srv:
            with socket.create_connection((srv.host, srv.port), timeout=scaled(5)) as s:
                start = time.monotonic()
                try:
                    data = s.recv(1)
                except socket.timeout:
                    self.fail("--idle-timeout %s: still open after 5 s" % timeout_arg)
                self.assertEqual(data, b"", "an idle client got bytes")
                return time.monotonic() - start

    def test_idle_timeout_with_units(self):
        # plain seconds were whole numbers before; a unit or a fraction now
        # gives less than the old 1 s minimum
        for spelling in ("250ms", "0.25"):
            with self.subTest(idle_timeout=spelling):
                took = self.seconds_until_idle_close(spelling)
                self.assertGreaterEqual(took, 0.2, "closed before 250 ms")
                self.assertLess(took, 0.9, "250 ms taken as a whole second or more")

    def test_counts_with_units(self):
        with RefServer("threadpool", root=self.root,
                       args=["--max-conn", "1k", "--workers", "2"]) as srv:
            self.requests(srv, 2)
            self.assertEqual(srv.stop(), 0)

    def test_port_0_reports_actual_port(self):
        with RefServer(event_model(), root=self.root) as srv:
            self.assertRegex(srv.stdout_text(), r"^listening on 127\.0\.0\.1:\d+\r?\n")
            self.assertNotEqual(srv.port, 0)
            c = http.client.HTTPConnection(srv.host, srv.port, timeout=scaled(10))
            c.request("GET", "/hello.txt")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"hello, world\n"))
            c.close()

    def test_address_in_use_fails_cleanly(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            r = run(*self.good(**{"--listen": "127.0.0.1:%d" % s.getsockname()[1]}))
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(r.stderr.strip(), "no message for a port in use")

    def test_sigint_exits_0_every_model(self):
        for m in list_models():
            with self.subTest(model=m), RefServer(m, root=self.root) as srv:
                rc = srv.stop(signal.SIGINT, timeout=8)
                self.assertFalse(srv.timed_out, "%s ignored SIGINT" % m)
                self.assertEqual(rc, 0, srv.stderr_text())
                self.assertEqual(srv.children_left(), [])

    def requests(self, srv, n):
        c = http.client.HTTPConnection(srv.host, srv.port, timeout=scaled(10))
        for i in range(n):
            c.request("GET", "/hello.txt?n=%d" % i)
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        c.close()

    def test_stderr_quiet_while_serving(self):
        with RefServer(event_model(), root=self.root) as srv:
            before = srv.stderr_text()
            self.requests(srv, 5)
            self.assertEqual(srv.stop(), 0)
            after = srv.stderr_text()
        self.assertTrue(after.startswith(before))
        self.assertNotIn("hello.txt", after, "requests logged without --access-log")

    def test_access_log_one_line_per_request(self):
        with RefServer(event_model(), root=self.root, args=["--access-log"]) as srv:
            self.requests(srv, 3)
            self.assertEqual(srv.stop(), 0)
            logged = [ln for ln in srv.stderr_text().splitlines() if "/hello.txt" in ln]
        self.assertEqual(len(logged), 3, srv.stderr_text())
        self.assertTrue(all(re.search(r"\b200\b", ln) for ln in logged), logged)


if __name__ == "__main__":
    unittest.main()
