"""Integration tests of loadgen's HTTP and echo runs against real servers.

nginx (tests/integration/peer_nginx.py) serves the fixtures made by
`loadgen fixtures`; every shipped http-*.ini scenario runs against it with
both engines, then against refserver (epoll model, poll in the portable build) together with echo.ini.
Then loadgen must notice what goes wrong: a served file altered by one byte
(check failures), a server that goes away (connection errors), a server
stopped with SIGSTOP during an open-loop run (the stall shows in p99).
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import threading
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns, flip_bit  # noqa: E402
from peer_nginx import NginxPeer  # noqa: E402
from serverutil import RefServer, event_model, free_port  # noqa: E402


def http_scenarios():
    return sorted(glob.glob(os.path.join(SCENARIOS, "http-*.ini")))


class LoadgenCase(LoadgenRuns, unittest.TestCase):
    TMP_PREFIX = "lg-http-test-"


class TestAgainstNginx(LoadgenCase):
    ng = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ng = NginxPeer(cls.fixtures).start()
        cls.addClassCleanup(cls.ng.stop)

    def test_every_http_scenario_both_engines(self):
        scenarios = http_scenarios()
        self.assertTrue(scenarios, "no scenarios/http-*.ini")
        for path in scenarios:
            for engine in ("raw", "curl"):
                with self.subTest(scenario=os.path.basename(path), engine=engine):
                    res = self.loadgen(path, self.ng, "--engine", engine, "--duration", "1",
                                       "--label", "nginx")
                    self.assert_clean_run(*res, engine=engine)
                    self.assertEqual(res[3][0]["model"], "nginx")

    def test_requests_count_is_exact(self):
        path = os.path.join(SCENARIOS, "http-hello.ini")
        rc, out, err, rows = self.loadgen(path, self.ng, "--requests", "2000")
        self.assert_clean_run(rc, out, err, rows, engine="raw")
        self.assertEqual(int(rows[0]["requests"]), 2000)

    def test_unwritable_csv_is_refused_before_the_run(self):
        path = os.path.join(SCENARIOS, "http-hello.ini")
        bad = os.path.join(self.tmp, "no-such-dir", "x.csv")
        out = subprocess.run(self.run_command(path, self.ng, bad, ["--duration", "30"]),
                             capture_output=True, timeout=20)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn(bad, out.stderr.decode())
        self.assertEqual(out.stdout, b"")  # no run, no summary


class TestFailuresAreCounted(LoadgenCase):
    """Each test has its own nginx: they break it."""

    def test_one_altered_byte_is_a_check_failure(self):
        served = os.path.join(self.tmp, "altered")
        shutil.copytree(self.fixtures, served)
        with NginxPeer(served) as ng:
            path = os.path.join(SCENARIOS, "http-hello.ini")
            proc, csv_path = self.start_with_progress(path, ng, "--duration", "3",
                                                      "--connections", "8")
            # The verify pass is over: now serve index.html with one byte changed.
            index = os.path.join(served, "index.html")
            flip_bit(index, os.path.getsize(index) // 2)
            rc, out, err, row = self.finish(proc, csv_path)
        self.assertEqual(rc, 1, out + err)
        self.assertGreater(int(row["check_failures"]), 0, out)
        self.assertIn("wrong_body", out)
        self.assertEqual(int(row["errors"]), 0, out)

    def test_altered_file_fails_the_verify_pass(self):
        served = os.path.join(self.tmp, "altered-verify")
        shutil.copytree(self.fixtures, served)
        flip_bit(os.path.join(served, "index.html"), 10, 0x20)
        with NginxPeer(served) as ng:
            rc, out, err, rows = self.loadgen(os.path.join(SCENARIOS, "http-hello.ini"), ng,
                                              "--requests", "100")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("verify", err)
        self.assertEqual(rows, [])  # no timed run, no row

    def test_server_gone_is_connection_errors(self):
        ng = NginxPeer(self.fixtures).start()
        self.addCleanup(ng.stop)
        path = os.path.join(SCENARIOS, "http-hello.ini")
        proc, csv_path = self.start_with_progress(path, ng, "--duration", "2.5",
                                                  "--connections", "4", "--threads", "1")
        ng.kill()  # connections reset, nothing listens on the port any more
        rc, out, err, row = self.finish(proc, csv_path)
        self.assertEqual(rc, 1, out + err)
        self.assertGreater(int(row["errors"]), 0, out)
        self.assertRegex(out, r"\n\s+connect\s+[1-9]", out)

    def test_nothing_listening_fails_verify(self):
        nowhere = types.SimpleNamespace(host="127.0.0.1", port=free_port())
        rc, out, err, rows = self.loadgen(os.path.join(SCENARIOS, "http-hello.ini"), nowhere,
                                          "--requests", "10")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("verify", err)

    def test_stalled_server_shows_in_open_loop_p99(self):
        """Open loop at 1000 req/s for 5 s; nginx's worker is stopped for 1 s.
        Latency counts from the scheduled start, so about a fifth of the
        requests wait up to a second: p99 must be >= 0.5 s (a closed-loop
        client that ignores coordinated omission would report a few ms)."""
        with NginxPeer(self.fixtures) as ng:
            workers = ng.worker_pids()
            self.assertEqual(len(workers), 1)
            path = os.path.join(SCENARIOS, "http-hello.ini")
            proc, csv_path = self.start_with_progress(path, ng, "--duration", "5",
                                                      "--rate", "1000", "--timeout", "10")
            os.kill(workers[0], signal.SIGSTOP)
            # The test's subject is a 1 s stall, so a timer resumes it.
            timer = threading.Timer(1.0, os.kill, (workers[0], signal.SIGCONT))
            timer.start()
            try:
                rc, out, err, row = self.finish(proc, csv_path)
            finally:
                timer.cancel()
                os.kill(workers[0], signal.SIGCONT)
        self.assertEqual(rc, 0, out + err)
        self.assertGreaterEqual(int(row["lat_p99_us"]), 500000, out)
        self.assertEqual(float(row["rate"]), 1000.0)
        # The schedule was kept: about 1000 req/s over the 5 s.
        self.assertGreater(int(row["requests"]), 4000, out)


class TestAgainstRefserver(LoadgenCase):
    def test_echo(self):
        with RefServer(event_model(), proto="echo") as s:
            res = self.loadgen(os.path.join(SCENARIOS, "echo.ini"), s, "--duration", "1")
        self.assert_clean_run(*res, engine="raw")
        self.assertEqual(res[3][0]["protocol"], "echo")

    def test_every_http_scenario(self):
        with RefServer(event_model(), root=self.fixtures) as s:
            for path in http_scenarios():
                for engine in ("raw", "curl"):
                    with self.subTest(scenario=os.path.basename(path), engine=engine):
                        res = self.loadgen(path, s, "--engine", engine, "--duration", "1")
                        self.assert_clean_run(*res, engine=engine)


if __name__ == "__main__":
    unittest.main()
