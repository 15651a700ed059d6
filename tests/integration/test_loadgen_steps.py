"""Per-step statistics (DESIGN.md section 6; loadgen/results/steptable.h):
every scenario step, and the session's own setup (connect; for FTP the
login and each transfer's data connection), has its own count, failures
and percentiles, printed under the summary and written with --steps-csv.

Against refserver: http-mixed (nine steps, keep-alive) with both engines,
http-close (a connect per request), ftp-get (logins and data connections);
the counts must add up to the run's own, and a request's latency never
includes the connect before it (closed loop, as wrk measures), nor a slow
FTP login (either loop: an open loop's schedule starts once logged in).
Bad input: an empty --steps-csv and an unwritable one.
"""
import csv
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns  # noqa: E402
from serverutil import RefServer, event_model, yescrypt_hash  # noqa: E402

STEP_COLUMNS = ["started_at", "git_rev", "host", "model", "protocol", "scenario", "connections",
                "rate", "step", "kind", "count", "failures", "refused", "lat_p50_us",
                "lat_p90_us", "lat_p99_us", "lat_max_us"]


def step_names(ini):
    with open(ini) as f:
        return [line.strip()[6:-1] for line in f if line.startswith("[step ")]


class TestSteps(LoadgenRuns, unittest.TestCase):
    TMP_PREFIX = "lg-steps-test-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http = RefServer(event_model(), proto="http", root=cls.fixtures)
        cls.addClassCleanup(cls.http.close)
        cls.ftp = RefServer(event_model(), proto="ftp", root=cls.fixtures)
        cls.addClassCleanup(cls.ftp.close)

    def run_steps(self, ini, server, *args):
        path = os.path.join(self.tmp, "steps-%s.csv" % self.id().rsplit(".", 1)[-1])
        if os.path.exists(path):
            os.unlink(path)
        rc, out, err, rows = self.loadgen(ini, server, "--steps-csv", path, *args)
        row = self.assert_clean_run(rc, out, err, rows)
        with open(path, newline="") as f:
            r = csv.reader(f)
            self.assertEqual(next(r), STEP_COLUMNS)
            steps = [dict(zip(STEP_COLUMNS, x)) for x in r]
        return row, steps, out

    def check_steps(self, ini, row, steps, out):
        names = step_names(ini)
        mine = [s for s in steps if s["kind"] == "step"]
        self.assertEqual([s["step"] for s in mine], names, out)  # every step, in order
        # the scenario steps' answers are the run's requests, no more, no less
        self.assertEqual(sum(int(s["count"]) for s in mine), int(row["requests"]), out)
        for s in steps:
            self.assertEqual((s["model"], s["scenario"]), (row["model"], row["scenario"]))
            self.assertEqual(int(s["failures"]), 0, s)
            if int(s["count"]):
                p50, p99, mx = (int(s[c]) for c in ("lat_p50_us", "lat_p99_us", "lat_max_us"))
                self.assertTrue(0 < p50 <= p99 <= mx, s)
        for name in names:  # and the summary shows the table
            self.assertRegex(out, r"\n +%s +\d+ +0 +0 " % name)
        return {s["step"]: s for s in steps if s["kind"] == "setup"}

    def test_http_mixed_both_engines(self):
        ini = os.path.join(SCENARIOS, "http-mixed.ini")
        for engine in ("raw", "curl"):
            with self.subTest(engine=engine):
                row, steps, out = self.run_steps(ini, self.http, "--engine", engine,
                                                 "--connections", "4", "--threads", "2",
                                                 "--duration", "1")
                setup = self.check_steps(ini, row, steps, out)
                # keep-alive: one connect per connection, no FTP setup
                self.assertEqual(set(setup), {"connect"}, out)
                self.assertEqual(int(setup["connect"]["count"]), 4, out)
                self.assertIn("(setup) connect", out)

    def test_a_connect_per_request_is_its_own_step(self):
        ini = os.path.join(SCENARIOS, "http-close.ini")
        row, steps, out = self.run_steps(ini, self.http, "--connections", "2", "--threads", "1",
                                         "--duration", "1")
        setup = self.check_steps(ini, row, steps, out)
        # Connection: close: a connect for (about) every request, counted apart
        connects, requests = int(setup["connect"]["count"]), int(row["requests"])
        self.assertGreaterEqual(connects, requests, out)
        self.assertLessEqual(connects, requests + 2, out)  # the last ones, still in flight

    def test_ftp_logins_and_data_connections(self):
        ini = os.path.join(SCENARIOS, "ftp-get.ini")
        row, steps, out = self.run_steps(ini, self.ftp, "--connections", "3", "--threads", "1",
                                         "--duration", "1")
        setup = self.check_steps(ini, row, steps, out)
        self.assertEqual(int(setup["login"]["count"]), 3, out)  # one a control connection
        self.assertEqual(int(setup["connect"]["count"]), 3, out)
        # a data connection for every transfer (in the window: one may be in flight)
        self.assertGreaterEqual(int(setup["data_connection"]["count"]), int(row["requests"]),
                                out)
        self.assertLessEqual(int(setup["data_connection"]["count"]), int(row["requests"]) + 3,
                             out)

    def test_a_slow_login_is_its_own_step(self):
        """A login made slow (a yescrypt hash 8 times the default cost: some
        150 ms) is the login step's time only: not the connect's (libcurl's
        connect time of an FTP transfer runs to the 230; the connect ends at
        the greeting) and not the first requests' in either loop."""
        users = os.path.join(self.tmp, "slow-users")
        with open(users, "w") as f:
            f.write("reader:%s:ro\n" % yescrypt_hash("secret", 8))
        ini = os.path.join(self.tmp, "ftp-get-reader.ini")
        with open(os.path.join(SCENARIOS, "ftp-get.ini")) as src, open(ini, "w") as dst:
            dst.write(src.read().replace("user = anonymous", "user = reader")
                      .replace("password = anonymous@", "password = secret"))
        with RefServer(event_model(), proto="ftp", root=self.fixtures,
                       args=["--users", users]) as ftp:
            for loop in (["--duration", "1"], ["--rate", "40", "--requests", "40"]):
                with self.subTest(loop=loop[0]):
                    row, steps, out = self.run_steps(ini, ftp, "--connections", "2",
                                                     "--threads", "1", *loop)
                    setup = self.check_steps(ini, row, steps, out)
                    login_p50 = int(setup["login"]["lat_p50_us"])
                    self.assertEqual(int(setup["login"]["count"]), 2, out)
                    self.assertGreater(login_p50, 50000, out)  # the hash is slow
                    self.assertLess(int(setup["connect"]["lat_max_us"]), login_p50 / 2, out)
                    for s in steps:
                        if s["kind"] == "step" and int(s["count"]):
                            self.assertLess(int(s["lat_max_us"]), login_p50, (s, out))

    def test_bad_steps_csv(self):
        ini = os.path.join(SCENARIOS, "http-hello.ini")
        rc, out, err, _ = self.loadgen(ini, self.http, "--steps-csv", "", "--duration", "1")
        self.assertEqual(rc, 2, err)
        self.assertIn("--steps-csv", err)
        rc, out, err, _ = self.loadgen(ini, self.http, "--steps-csv", self.tmp, "--duration",
                                       "0.3")
        self.assertEqual(rc, 1, out + err)
        self.assertIn(self.tmp, err)


if __name__ == "__main__":
    unittest.main()
