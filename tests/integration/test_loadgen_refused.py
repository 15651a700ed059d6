"""Refusals at a documented limit are counted apart from wrong answers
(DESIGN.md section 5; loadgen/http/check.h, check_status).

refserver with --max-conn 2 refuses the clients past it at once, each in its
protocol's documented form: HTTP 503 with Connection: close, FTP 421, echo
"server busy" and the close. loadgen runs more connections than that, for a
second, and must put those answers in `refused` (CSV column, summary line),
never in `check_failures`: a refusal is the server's capacity, a wrong byte
is a bug. A run whose only trouble is refusals exits 0, as wrk does with
non-2xx answers; a wrong answer still fails it (test_loadgen_http.py).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns  # noqa: E402
from serverutil import RefServer, event_model  # noqa: E402

RUN = ("--connections", "8", "--threads", "1", "--duration", "1", "--timeout", "2")


class TestRefused(LoadgenRuns, unittest.TestCase):
    TMP_PREFIX = "lg-refused-test-"

    def refusing_server(self, proto):
        srv = RefServer(event_model(), proto=proto, root=self.fixtures,
                        args=("--max-conn", "2", "--max-per-ip", "0"))
        self.addCleanup(srv.close)
        return srv

    def assert_refused(self, rc, out, err, rows):
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        self.assertEqual(len(rows), 1, msg)
        row = rows[0]
        self.assertGreater(int(row["refused"]), 0, msg)
        self.assertGreater(int(row["requests"]), int(row["refused"]), msg)  # 2 were served
        self.assertEqual(int(row["check_failures"]), 0, msg)
        self.assertIn("refused %s" % row["refused"], out, msg)
        return row

    def test_http_503_raw_engine(self):
        srv = self.refusing_server("http")
        rc, out, err, rows = self.loadgen(os.path.join(SCENARIOS, "http-hello.ini"), srv, *RUN,
                                          "--engine", "raw")
        self.assert_refused(rc, out, err, rows)
        self.assertEqual(int(rows[0]["errors"]), 0, out + err)

    def test_http_503_curl_engine(self):
        srv = self.refusing_server("http")
        rc, out, err, rows = self.loadgen(os.path.join(SCENARIOS, "http-hello.ini"), srv, *RUN,
                                          "--engine", "curl")
        self.assert_refused(rc, out, err, rows)

    def test_echo_server_busy(self):
        srv = self.refusing_server("echo")
        rc, out, err, rows = self.loadgen(os.path.join(SCENARIOS, "echo.ini"), srv, *RUN)
        self.assert_refused(rc, out, err, rows)

    def test_ftp_421(self):
        srv = self.refusing_server("ftp")
        rc, out, err, rows = self.loadgen(os.path.join(SCENARIOS, "ftp-get.ini"), srv,
                                          "--connections", "6", "--threads", "1",
                                          "--duration", "1", "--timeout", "3")
        self.assert_refused(rc, out, err, rows)


if __name__ == "__main__":
    unittest.main()
