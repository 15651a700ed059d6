"""One scenario, two engines: `loadgen run --engine raw` and `--engine curl`
must mean the same thing (loadgen/policy.h).

refserver (epoll model; poll in the portable build) serves the fixtures with --access-log, so the server
side counts every request by path. A weighted scenario with a fixed
--requests count runs on both engines: the same number of requests, no
errors, and each step's share of the requests close to its weight, on the
server's side as well as the client's. Then warm-up: a file is served wrong
only during the warm-up; neither engine may count those answers (nor any
warm-up request), and the measured count stays exact.
"""
import collections
import http.client
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import CSV_COLUMNS, make_fixtures, read_rows  # noqa: E402
from serverutil import LOADGEN, RefServer, class_temp_dir, event_model, wait_until  # noqa: E402

ENGINES = ("raw", "curl")
WEIGHTS = {"/index.html": 6, "/hello.txt": 3, "/1k.bin": 1}
FILES = {"/index.html": "index.html", "/hello.txt": "hello.txt", "/1k.bin": "1k.bin"}
REQUESTS = 3000
SHARE_TOLERANCE = 0.04  # absolute; one standard deviation is under 0.01 here

# refserver --access-log: PEER "METHOD TARGET" STATUS BYTES
ACCESS_RE = re.compile(r'^\S+ "(\S+) (\S+)" (\d+) \d+$', re.M)


def weighted_scenario(path):
    lines = ["[scenario]", "protocol = http", "connections = 8", "threads = 2",
             "timeout = 10s", ""]
    for target, weight in WEIGHTS.items():
        lines += ["[step %s]" % FILES[target], "path = %s" % target, "weight = %d" % weight,
                  "expect = file", "expect_body = %s" % FILES[target], ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


class EnginesAgree(unittest.TestCase):
    tmp = fixtures = served = server = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "lg-engines-test-")
        cls.fixtures = make_fixtures(os.path.join(cls.tmp, "fixtures"))
        # The server gets its own copy: the warm-up test alters a file in it.
        cls.served = os.path.join(cls.tmp, "served")
        shutil.copytree(cls.fixtures, cls.served)
        cls.scenario = weighted_scenario(os.path.join(cls.tmp, "weighted.ini"))
        cls.server = RefServer(event_model(), root=cls.served, args=["--access-log"])

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.close()

    # -- helpers --

    def command(self, engine, csv_path, *args):
        return [LOADGEN, "run", self.scenario, "--target",
                "%s:%d" % (self.server.host, self.server.port), "--fixtures", self.fixtures,
                "--csv", csv_path, "--engine", engine] + list(args)

    def read_row(self, csv_path, engine, msg):
        header, rows = read_rows(csv_path)
        self.assertEqual(header, CSV_COLUMNS, msg)
        self.assertEqual(len(rows), 1, msg)
        self.assertEqual(rows[0]["engine"], engine, msg)
        return rows[0]

    def run_loadgen(self, engine, *args):
        csv_path = os.path.join(self.tmp, "%s-%s.csv" % (self.id().rsplit(".", 1)[-1], engine))
        out = subprocess.run(self.command(engine, csv_path, *args), capture_output=True,
                             timeout=300)
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (out.returncode, out.stdout.decode(),
                                                     out.stderr.decode())
        self.assertEqual(out.returncode, 0, msg)
        return self.read_row(csv_path, engine, msg), msg

    def log_mark(self):
        return len(self.server.stderr_text())

    def served_count(self, mark):
        return len(ACCESS_RE.findall(self.server.stderr_text()[mark:]))

    def served_since(self, mark, want_total):
        """Requests the server logged after mark, by path, once there are at
        least want_total of them (the log line may follow the answer)."""
        def counts():
            c = collections.Counter(m.group(2) for m in
                                    ACCESS_RE.finditer(self.server.stderr_text()[mark:]))
            return c if sum(c.values()) >= want_total else None
        got = wait_until(counts, timeout=30)
        self.assertIsNotNone(got, "the server logged fewer than %d requests:\n%s"
                             % (want_total, self.server.stderr_text()[mark:][-2000:]))
        return got

    def assert_clean(self, row, msg):
        for col in ("errors", "check_failures", "timeouts"):
            self.assertEqual(int(row[col]), 0, "%s\n%s" % (col, msg))

    # -- tests --

    def test_same_requests_and_step_shares(self):
        total_w = sum(WEIGHTS.values())
        shares = {}
        for engine in ENGINES:
            with self.subTest(engine=engine):
                mark = self.log_mark()
                row, msg = self.run_loadgen(engine, "--requests", str(REQUESTS))
                self.assertEqual(int(row["requests"]), REQUESTS, msg)
                self.assert_clean(row, msg)
                # The verify pass asks for each distinct step once, the run REQUESTS times.
                served = self.served_since(mark, REQUESTS + len(WEIGHTS))
                self.assertEqual(sum(served.values()), REQUESTS + len(WEIGHTS), served)
                self.assertEqual(set(served), set(WEIGHTS), served)
                shares[engine] = {p: (served[p] - 1) / REQUESTS for p in WEIGHTS}
                for path, weight in WEIGHTS.items():
                    self.assertAlmostEqual(shares[engine][path], weight / total_w,
                                           delta=SHARE_TOLERANCE,
                                           msg="%s: %s" % (path, shares[engine]))
        self.assertEqual(set(shares), set(ENGINES))
        for path in WEIGHTS:
            self.assertAlmostEqual(shares["raw"][path], shares["curl"][path],
                                   delta=SHARE_TOLERANCE, msg="%s: %s" % (path, shares))

    def get_index(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            conn.request("GET", "/index.html")
            return conn.getresponse().read()
        finally:
            conn.close()

    def replace_index(self, data):
        index = os.path.join(self.served, "index.html")
        tmp = index + ".new"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, index)
        self.assertTrue(wait_until(lambda: self.get_index() == data, timeout=10),
                        "refserver does not serve the replaced index.html")

    def test_warmup_is_not_counted(self):
        """index.html is served with one byte changed during the warm-up only:
        those answers are check failures nobody may count, and the warm-up's
        requests do not count towards --requests either."""
        index = os.path.join(self.served, "index.html")
        with open(index, "rb") as f:
            good = f.read()
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 0x01
        requests = 500
        for engine in ENGINES:
            with self.subTest(engine=engine):
                csv_path = os.path.join(self.tmp, "warmup-%s.csv" % engine)
                mark = self.log_mark()
                # Open loop at 2000/s: enough load, an access log Python keeps up with.
                proc = subprocess.Popen(self.command(engine, csv_path, "--requests",
                                                     str(requests), "--warmup", "5",
                                                     "--rate", "2000", "--progress"),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                self.addCleanup(lambda p=proc: p.poll() is None and p.kill())
                first = proc.stderr.readline()  # the timed run has lasted a second
                if not first.startswith(b"["):
                    proc.kill()
                    self.fail("loadgen printed no progress line: %r" % (first + proc.stderr.read()))
                try:
                    self.replace_index(bytes(bad))
                    # Wrong answers go out (index.html is 60 % of them) while
                    # the warm-up lasts.
                    seen = self.served_count(mark)
                    self.assertTrue(wait_until(lambda: self.served_count(mark) >= seen + 200,
                                               timeout=10), "no load during the warm-up")
                finally:
                    self.replace_index(good)
                out, err = proc.communicate(timeout=120)
                msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, out.decode(),
                                                             (first + err).decode())
                self.assertEqual(proc.returncode, 0, msg)
                row = self.read_row(csv_path, engine, msg)
                self.assertEqual(int(row["requests"]), requests, msg)
                self.assert_clean(row, msg)
                # The server answered the verify pass, the warm-up (at least
                # the 200 wrong answers and their neighbours) and the run.
                self.served_since(mark, requests + len(WEIGHTS) + 200)


if __name__ == "__main__":
    unittest.main()
