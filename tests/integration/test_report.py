"""Integration tests of ci/report: the page is self-contained and opens in a
real browser without a console message.

Headless Chromium (Debian's `chromium`, installed by ci/setup) loads the
page from a file with a fresh profile and no network features, logs every
console message to stderr (--enable-logging=stderr: lines with ":CONSOLE"),
and writes a screenshot. The report has no script, so any console line -
an error, an uncaught exception, even a log - fails the test. That check is
itself tested: pages that call console.error or throw must fail it.
"""
import csv
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

from lgutil import CSV_COLUMNS
from serverutil import SOURCE_DIR

REPORT = os.path.join(SOURCE_DIR, "ci", "report")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--hide-scrollbars"]


def open_in_chromium(page, screenshot, tmp, size="1200,3000"):
    """Load page (a file) in headless Chromium: (console lines, stderr)."""
    profile = tempfile.mkdtemp(prefix="profile-", dir=tmp)
    cmd = [CHROMIUM] + FLAGS + ["--user-data-dir=" + profile, "--window-size=" + size,
                                "--screenshot=" + screenshot, "file://" + page]
    out = subprocess.run(cmd, capture_output=True, timeout=120, cwd=tmp)
    err = out.stderr.decode(errors="replace")
    if out.returncode != 0 or not os.path.exists(screenshot):
        raise AssertionError("chromium failed (exit %d):\n%s" % (out.returncode, err))
    return [line for line in err.splitlines() if ":CONSOLE" in line], err


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def row(model, scenario, rps, connections=64, rate=0, p99=2000, errors=0, pss=None):
    return {
        "started_at": "2026-01-01T00:00:00Z", "git_rev": "abc1234", "host": "h",
        "model": model, "protocol": "http", "scenario": scenario, "engine": "raw",
        "threads": 2, "connections": connections, "rate": rate, "duration_s": "1.000",
        "requests": int(rps), "errors": errors, "check_failures": 0, "timeouts": 0,
        "bytes": int(rps) * 300, "req_per_s": "%.2f" % rps, "mb_per_s": "%.2f" % (rps * 3e-4),
        "lat_min_us": 20, "lat_mean_us": 500, "lat_p50_us": 400, "lat_p90_us": 900,
        "lat_p99_us": p99, "lat_p999_us": p99 * 2, "lat_max_us": p99 * 4,
        "server_cpu_s": "%.3f" % (rps * 1e-5), "server_rss_kb": 2600, "loadgen_cpu_s": "0.5",
        "unanswered": 0, "starved_connections": 0,
        "server_pss_kb": pss if pss is not None else 2000 + connections * 12,
        "loadgen_bound": 0, "server_cpus": "0", "loadgen_cpus": "1", "refused": 0,
        "server_accounting": "cgroup1", "server_cpuset_busy_s": "%.3f" % (rps * 1.1e-5),
        "round": "", "aa_twin": "",
    }


def study_rows():
    """A small study: two models swept over connections, select refusing past
    1,024, and an open-loop rate sweep."""
    rows = []
    for conn in (1, 64, 4096):
        rows.append(row("epoll", "http-hello", 20000 + conn * 5, connections=conn))
        rows.append(row("epoll", "http-hello", 21000 + conn * 5, connections=conn))  # a repeat
        rows.append(row("select", "http-hello", 15000 + conn, connections=conn,
                        errors=3000 if conn > 1024 else 0, p99=4000))
    for rate, p99e, p99s in ((1000, 500, 800), (10000, 900, 30000), (30000, 60000, 90000)):
        rows.append(row("epoll", "http-hello", rate * 0.99, connections=64, rate=rate, p99=p99e))
        rows.append(row("select", "http-hello", rate * 0.99, connections=64, rate=rate,
                        p99=p99s))
    # poll was offered only up to 10,000 and kept it: a lower bound, not a maximum
    for rate in (1000, 10000):
        rows.append(row("poll", "http-hello", rate * 0.99, connections=64, rate=rate, p99=700))
    return rows


@unittest.skipIf(not shutil.which("gnuplot"), "gnuplot not installed (ci/setup installs it)")
class TestReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not CHROMIUM:
            raise AssertionError("chromium not installed: run ci/setup (make test does)")
        cls.tmp = tempfile.mkdtemp(prefix="report-test-")
        cls.csv = os.path.join(cls.tmp, "study.csv")
        with open(cls.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for r in study_rows():
                w.writerow([r[c] for c in CSV_COLUMNS])
        # the per-step rows beside it (study-steps.csv): epoll's two repeats
        # at the bar charts' point, a step and the connect
        step_cols = ["started_at", "git_rev", "host", "model", "protocol", "scenario",
                     "connections", "rate", "step", "kind", "count", "failures", "refused",
                     "lat_p50_us", "lat_p90_us", "lat_p99_us", "lat_max_us"]
        with open(os.path.join(cls.tmp, "study-steps.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(step_cols)
            for p99 in (900, 1100):
                for step, kind, n in (("index", "step", 5000), ("connect", "setup", 4096)):
                    w.writerow(["2026-01-01T00:00:00Z", "abc1234", "h", "epoll", "http",
                                "http-hello", 4096, "0.00", step, kind, n, 0, 0, 100, 500,
                                p99, p99 * 2])
        # the verdicts beside it (study-verdicts.csv): select's CPU per
        # request worse than epoll's, its req/s same, the A/A control
        vcols = ["scenario", "connections", "rate", "metric", "model", "reference", "ratio",
                 "ci_low", "ci_high", "verdict", "rounds", "rank", "value", "note"]
        with open(os.path.join(cls.tmp, "study-verdicts.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(vcols)
            for conn in (1, 64, 4096):
                w.writerow(["http-hello", conn, 0, "server_cpu_us_per_req", "select", "epoll",
                            "1.3000", "1.2000", "1.4500", "worse", 5, 2, "13.0000", ""])
                w.writerow(["http-hello", conn, 0, "req_per_s", "select", "epoll", "0.9000",
                            "0.7000", "1.1000", "same", 5, 1, "15000.0000",
                            "loadgen-bound: req/s measures the client"])
                w.writerow(["http-hello", conn, 0, "req_per_s", "epoll", "epoll", "1.0100",
                            "0.9000", "1.1200", "same", 5, 1, "20000.0000", "A/A control"])
                w.writerow(["http-hello", conn, 0, "server_cpu_us_per_req", "epoll", "epoll",
                            "1.0000", "0.9500", "1.0500", "same", 5, 1, "10.0000",
                            "A/A control"])
        cls.page = os.path.join(cls.tmp, "report.html")
        out = subprocess.run([sys.executable, REPORT, cls.csv, cls.page], capture_output=True,
                             timeout=120)
        if out.returncode != 0:
            raise AssertionError("ci/report failed: %s" % out.stderr.decode())
        with open(cls.page) as f:
            cls.html = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_page_is_self_contained(self):
        self.assertNotRegex(self.html, r"<script|<link|<iframe|<img|@import|url\(")
        # Only the SVG namespaces name a URL; nothing is fetched.
        for url in re.findall(r"https?://[^\s'\"<>]+", self.html):
            self.assertRegex(url, r"^http://www\.w3\.org/", url)
        self.assertNotRegex(self.html, r"(src|href)=['\"](?!#)")

    def test_page_opens_with_what_the_run_can_and_cannot_tell(self):
        h = self.html
        self.assertLess(h.index("What this run can tell"), h.index("Machine and settings"))
        self.assertIn("<b>http-hello, 4,096 connections</b>: select spends 1.30x [1.20, 1.45] "
                      "epoll's server CPU per request (worse)", h)
        self.assertIn("What it cannot tell", h)
        self.assertIn("req_per_s: the reference against itself (the A/A control) moved by up "
                      "to [0.90, 1.12]", h)
        self.assertIn("loadgen-bound points", h)
        self.assertIn("3 of 6 comparisons are <i>same</i>", h)
        # the tables: led by CPU per request and its inverse, the verdicts beside them
        self.assertIn("<th>server CPU µs/req</th><th>req/s per server core</th>"
                      "<th>CPU/req x epoll</th>", h)
        self.assertIn("1.30x [1.20, 1.45] <small>worse</small>", h)

    def test_page_holds_tables_curves_and_what_they_show(self):
        h = self.html
        self.assertIn("<h2 id='http-hello'>http-hello</h2>", h)
        for what in ("64 connections, closed loop", "max sustainable throughput",
                     "kernel", "git revision", "abc1234", "server CPUs",
                     "server CPU and memory from</td><td>cgroup1"):
            self.assertIn(what, h)
        self.assertEqual(h.count("<svg"), 7)  # bars, percentiles, 4 curves, rate
        self.assertEqual(len(set(re.findall(r"id=[\"'](c\d+-gnuplot_canvas)", h))), 7)
        # Derived from the numbers: the repeat's spread, the leader, the
        # select refusals, the marginal memory, the sustainable rates.
        self.assertIn("20,820 <small>(20,320-21,320)</small>", h)
        self.assertIn("At 4096 connections epoll leads", h)
        self.assertIn("select from 4096 connections on: 3,000 errors (select cannot watch", h)
        self.assertIn("epoll 12.0 KiB", h)
        # a maximum never capped by the highest rate offered: "at least"
        self.assertIn("epoll 10,000 req/s, poll &ge; 10,000 req/s, select 1,000 req/s", h)
        self.assertIn("<td>poll</td><td>&ge; 10,000</td>", h)
        # the per-step table from study-steps.csv: counts summed, p99 the median
        self.assertIn("per step, 4096 connections, closed loop", h)
        self.assertIn("<tr><td>epoll</td><td>index</td><td>10,000</td><td>0</td><td>0</td>"
                      "<td>100</td><td>1,000</td><td>2,000</td></tr>", h)
        self.assertIn("<td>(setup) connect</td><td>8,192</td>", h)

    def test_page_opens_in_chromium_without_console_messages(self):
        shot = os.path.join(self.tmp, "report.png")
        console, err = open_in_chromium(self.page, shot, self.tmp)
        self.assertEqual(console, [], err)
        width, height = png_size(shot)
        self.assertEqual((width, height), (1200, 3000))
        self.assertGreater(os.path.getsize(shot), 50000)  # charts drawn, not a blank page
        keep = os.environ.get("REPORT_SCREENSHOT")
        if keep:
            shutil.copy(shot, keep)

    def test_the_console_check_catches_errors(self):
        pages = {"error": "console.error('deliberate error')",
                 "throw": "undefined_function_called()",
                 "log": "console.log('anything at all')"}
        for name, script in pages.items():
            with self.subTest(page=name):
                page = os.path.join(self.tmp, name + ".html")
                with open(page, "w") as f:
                    f.write("<!doctype html><html><head><meta charset='utf-8'><title>t</title>"
                            "</head><body><p>x</p><script>%s</script></body></html>" % script)
                console, err = open_in_chromium(page, os.path.join(self.tmp, name + ".png"),
                                                self.tmp, size="400,300")
                self.assertEqual(len(console), 1, err)


if __name__ == "__main__":
    unittest.main()
