"""Integration tests of rounds, the A/A control and verdicts (issue 17):
bench's round and aa_twin columns and its verdicts file, `loadgen verdicts`
giving the identical file on a rerun, `loadgen compare` with intervals
(benchstat's "~"), and the bad input: too few rounds, a file without rounds,
a malformed round, an unknown reference.

Runs are short (0.3 s) with two models at one point.
"""
import csv
import os
import shutil
import subprocess
import unittest

from lgutil import CSV_COLUMNS, read_rows
from serverutil import LOADGEN, SOURCE_DIR, event_model
from test_loadgen_bench import BenchCase

HELLO = os.path.join(SOURCE_DIR, "scenarios", "http-hello.ini")
VERDICT_COLUMNS = ["scenario", "connections", "rate", "metric", "model", "reference", "ratio",
                   "ci_low", "ci_high", "verdict", "rounds", "rank", "value", "note"]
METRICS = {"server_cpu_us_per_req", "req_per_s", "lat_p99_us", "kib_per_conn"}
# the reference bench picks: epoll, poll in the portable build (docs/portable.md)
REF = event_model()
OTHER = "poll" if REF == "epoll" else "select"  # built, not run: a bad --reference


def loadgen(*args):
    out = subprocess.run([LOADGEN] + list(args), capture_output=True, timeout=60)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def read_verdicts(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [dict(zip(header, row)) for row in r]


class TestRounds(BenchCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One bench of 3 rounds, shared by the tests: epoll (the reference,
        # twice a round) and thread, 16 connections, 0.3 s a run.
        cls.csv = os.path.join(cls.tmp, "r3.csv")
        cmd = [LOADGEN, "bench", "--server", os.environ["REFSERVER"], "--fixtures",
               cls.fixtures, "--models", "thread," + REF, "--scenarios", HELLO,
               "--connections", "16", "--duration", "0.3", "--rounds", "3", "--csv", cls.csv]
        out = subprocess.run(cmd, capture_output=True, timeout=300, cwd=cls.tmp)
        cls.rc, cls.out, cls.err = out.returncode, out.stdout.decode(), out.stderr.decode()

    def msg(self):
        return "exit %d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)

    def test_rows_have_rounds_and_the_aa_twin(self):
        self.assertEqual(self.rc, 0, self.msg())
        header, rows = read_rows(self.csv)
        self.assertEqual(header, CSV_COLUMNS)
        self.assertEqual(header[-2:], ["round", "aa_twin"])  # appended at the end
        self.assertEqual(len(rows), 9, self.msg())  # (thread, epoll, epoll's twin) x 3
        for k in ("1", "2", "3"):
            this = sorted((r["model"], r["aa_twin"]) for r in rows if r["round"] == k)
            self.assertEqual(this, sorted([(REF, "0"), (REF, "1"), ("thread", "0")]))
        # the order rotates: not the same model first in every round
        firsts = {[r for r in rows if r["round"] == k][0]["model"] + "/" +
                  [r for r in rows if r["round"] == k][0]["aa_twin"] for k in ("1", "2", "3")}
        self.assertEqual(len(firsts), 3, firsts)
        self.assertIn("round 2, A/A twin", self.out)

    def test_verdicts_file_and_table(self):
        self.assertEqual(self.rc, 0, self.msg())
        path = self.csv[:-4] + "-verdicts.csv"
        header, vs = read_verdicts(path)
        self.assertEqual(header, VERDICT_COLUMNS)
        self.assertEqual({v["metric"] for v in vs}, METRICS)
        self.assertEqual(len(vs), 8)  # 4 metrics x (thread, the A/A control)
        for v in vs:
            self.assertEqual(v["reference"], REF)
            self.assertIn(v["verdict"], ("better", "worse", "same"))
            self.assertEqual(v["rounds"], "3")
            lo, ratio, hi = float(v["ci_low"]), float(v["ratio"]), float(v["ci_high"])
            self.assertTrue(lo <= ratio <= hi, v)
        aa = [v for v in vs if v["model"] == REF]
        self.assertEqual(len(aa), 4)
        self.assertTrue(all("A/A control" in v["note"] for v in aa))
        # thread's memory per connection (a stack each) is clearly more than
        # epoll's, even at 16 connections where the process's own share is most
        kib = [v for v in vs if v["model"] == "thread" and v["metric"] == "kib_per_conn"][0]
        self.assertEqual(kib["verdict"], "worse", kib)
        self.assertGreater(float(kib["ci_low"]), 1.2, kib)
        self.assertIn("ratios to %s, medians of same-round pairs" % REF, self.out)
        self.assertIn("%s (A/A)" % REF, self.out)

    def test_verdicts_rerun_gives_the_identical_file(self):
        self.assertEqual(self.rc, 0, self.msg())
        again = os.path.join(self.tmp, "again-verdicts.csv")
        rc, out, err = loadgen("verdicts", self.csv, "--csv", again)
        self.assertEqual(rc, 0, err)
        with open(again) as f, open(self.csv[:-4] + "-verdicts.csv") as g:
            self.assertEqual(f.read(), g.read())
        self.assertIn("# = tier by server CPU per request", out)

    def test_compare_two_benches_with_intervals(self):
        self.assertEqual(self.rc, 0, self.msg())
        rc, out, err = loadgen("compare", self.csv, self.csv, "--reference", REF)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("3 rounds", out)
        self.assertIn("] ~", out)  # the same file: every verdict same
        self.assertIn("verdicts: 0 better, 0 worse,", out)

    def test_too_few_rounds(self):
        self.assertEqual(self.rc, 0, self.msg())
        # the first two rounds only
        few = os.path.join(self.tmp, "r2.csv")
        with open(self.csv) as f, open(few, "w") as g:
            for line in f:
                if not line.rstrip("\n").endswith((",3,0", ",3,1")):
                    g.write(line)
        out_csv = os.path.join(self.tmp, "r2-verdicts.csv")
        rc, out, err = loadgen("verdicts", few, "--csv", out_csv)
        self.assertEqual(rc, 0, err)
        _, vs = read_verdicts(out_csv)
        self.assertEqual(len(vs), 8)
        for v in vs:
            self.assertEqual((v["verdict"], v["rounds"], v["ci_low"], v["ci_high"]),
                             ("same", "2", "", ""), v)
            self.assertIn("too few rounds", v["note"])
        self.assertIn("too few rounds", out)
        rc, out, err = loadgen("compare", few, self.csv)
        self.assertIn("(too few rounds) ~", out)
        self.assertNotIn("REGRESSION", out)


class TestRoundsSpreadOverTheBench(BenchCase):
    def test_round_one_at_every_point_before_round_two_at_any(self):
        # two scenarios x two connection points x 2 rounds, the reference
        # and its twin: a point's rounds are not run back to back, so the
        # machine's drift over the bench lands in every point's rounds
        path = os.path.join(self.tmp, "spread.csv")
        echo = os.path.join(SOURCE_DIR, "scenarios", "echo.ini")
        rc, out, err = self.bench("--models", REF, "--scenarios", HELLO + "," + echo,
                                  "--connections", "1,2", "--duration", "0.1", "--rounds", "2",
                                  "--csv", path)
        self.assertEqual(rc, 0, out + err)
        _, rows = read_rows(path)
        order = [(r["round"], r["scenario"], r["connections"]) for r in rows]
        points = [(s, c) for s in ("http-hello", "echo") for c in ("1", "2")]
        # each point: the reference and its A/A twin, in the file's order
        want = [(k, s, c) for k in ("1", "2") for (s, c) in points for _ in range(2)]
        self.assertEqual(order, want)
        twins = [(r["round"], r["scenario"], r["connections"]) for r in rows
                 if r["aa_twin"] == "1"]
        self.assertEqual(twins, [(k, s, c) for k in ("1", "2") for (s, c) in points])


class TestBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="lg-verdicts-test-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write(self, name, header, rows):
        path = os.path.join(self.tmp, name)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for r in rows:
                w.writerow([r.get(c, "") for c in header])
        return path

    def row(self, model, rps, rnd=""):
        return {"started_at": "2026-01-01T00:00:00Z", "git_rev": "abc", "host": "h",
                "model": model, "protocol": "http", "scenario": "http-hello", "engine": "raw",
                "threads": 1, "connections": 16, "rate": 0, "duration_s": "1.000",
                "requests": int(rps), "errors": 0, "check_failures": 0, "timeouts": 0,
                "bytes": int(rps) * 100, "req_per_s": "%.2f" % rps, "mb_per_s": "1.00",
                "lat_min_us": 1, "lat_mean_us": 2, "lat_p50_us": 2, "lat_p90_us": 3,
                "lat_p99_us": 4, "lat_p999_us": 5, "lat_max_us": 6,
                "server_cpu_s": "%.3f" % (rps * 1e-5), "server_rss_kb": 1000,
                "loadgen_cpu_s": "0.5", "unanswered": 0, "starved_connections": 0,
                "server_pss_kb": 500, "loadgen_bound": 0, "refused": 0,
                "round": rnd, "aa_twin": "0" if rnd else ""}

    def test_old_file_without_rounds(self):
        old_header = CSV_COLUMNS[:CSV_COLUMNS.index("server_cpuset_busy_s") + 1]
        a = self.write("old-a.csv", old_header, [self.row("epoll", 1000), self.row("poll", 900)])
        b = self.write("old-b.csv", old_header, [self.row("epoll", 1000), self.row("poll", 500)])
        rc, out, err = loadgen("verdicts", a)
        self.assertEqual(rc, 0, err)
        self.assertIn("has no rounds", out)
        rc, out, err = loadgen("compare", a, b)
        self.assertEqual(rc, 1, out + err)  # the threshold, as before
        self.assertIn("note: neither file has rounds", out)
        self.assertIn("REGRESSION", out)

    def test_malformed_round_and_unknown_reference(self):
        bad = self.write("bad.csv", CSV_COLUMNS, [self.row("epoll", 1000, "1"),
                                                  self.row("poll", 900, "x")])
        rc, out, err = loadgen("verdicts", bad)
        self.assertEqual(rc, 2)
        self.assertIn("bad.csv:3: round: 'x' is not a round number", err)
        good = self.write("good.csv", CSV_COLUMNS, [self.row("epoll", 1000, "1"),
                                                    self.row("poll", 900, "1")])
        rc, out, err = loadgen("verdicts", good, "--reference", "uring")
        self.assertEqual(rc, 2)
        self.assertIn("no reference", err)
        # no --reference and no epoll or poll row: a note, no verdicts, not an error
        alone = self.write("alone.csv", CSV_COLUMNS, [self.row("thread", 1000, "1")])
        out_csv = os.path.join(self.tmp, "alone-verdicts.csv")
        rc, out, err = loadgen("verdicts", alone, "--csv", out_csv)
        self.assertEqual(rc, 0, err)
        self.assertIn("no verdicts", out)
        self.assertEqual(read_verdicts(out_csv), (VERDICT_COLUMNS, []))
        rc, out, err = loadgen("verdicts")
        self.assertEqual(rc, 2)
        self.assertIn("needs a result CSV", err)
        rc, out, err = loadgen("bench", "--server", os.environ["REFSERVER"], "--models", REF,
                               "--reference", OTHER, "--scenarios", HELLO)
        self.assertEqual(rc, 2)
        self.assertIn("--reference %s: not among the models run" % OTHER, err)


if __name__ == "__main__":
    unittest.main()
