"""Integration tests of several load generators, one result (issue 11).

Against one refserver (epoll model; poll in the portable build): two `loadgen run` processes started with
one --start-at, each writing its CSV row and its HdrHistogram log (--hdr-log);
the logs are decoded here by a stdlib-only reader of the V2 encoding (base64,
zlib: the reference format, as HdrHistogram's own readers see it); `loadgen
merge` must give a row whose requests are their sum and whose percentiles are
those of the merged decoded histograms. ci/fanout does the same through GNU
parallel with two local "hosts" (--sshlogin 2/:). A combined-format access
log becomes a scenario (`loadgen scenario-from-log`) that runs clean against
refserver and nginx. A scenario's host and header keys reach the server (a
small http.server here records what it receives). Bad input: a truncated
log, logs of different scenarios, a start in the past, a verify pass that
ends after the start, an unknown access-log format.
"""
import base64
import http.server
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import types
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns, read_rows  # noqa: E402
from peer_nginx import NginxPeer  # noqa: E402
from serverutil import LOADGEN, SOURCE_DIR, RefServer, event_model, free_port  # noqa: E402

HELLO = os.path.join(SCENARIOS, "http-hello.ini")
FANOUT = os.path.join(SOURCE_DIR, "ci", "fanout")

# ---- a reference-style reader of HdrHistogram interval logs (V2 encoding) ----

HIST_MAX_US = 60000000


def _zigzag_varints(data):
    """HdrHistogram's ZigZag LEB128 (at most 9 bytes, the 9th with 8 bits)."""
    i = 0
    while i < len(data):
        value = shift = 0
        while True:
            b = data[i]
            i += 1
            if shift == 56:
                value |= b << 56
                break
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        yield (value >> 1) ^ -(value & 1)


def decode_histogram(b64):
    """{counts index: count} of one compressed V2 histogram (lowest 1, 3 digits)."""
    raw = base64.b64decode(b64, validate=True)
    cookie, length = struct.unpack(">ii", raw[:8])
    if cookie & ~0xF0 != 0x1C849304:
        raise ValueError("not a compressed V2 histogram: cookie %#x" % cookie)
    inner = zlib.decompress(raw[8:8 + length])
    cookie, payload, _norm, digits, lowest, _highest, _ratio = struct.unpack(">iiiiqqd",
                                                                            inner[:40])
    if cookie & ~0xF0 != 0x1C849303 or digits != 3 or lowest != 1:
        raise ValueError("unexpected histogram header %#x digits %d lowest %d"
                         % (cookie, digits, lowest))
    counts, index = {}, 0
    for v in _zigzag_varints(inner[40:40 + payload]):
        if v < 0:
            index += -v  # a run of empty counts
        else:
            if v:
                counts[index] = v
            index += 1
    return counts


def read_hlog(path):
    """{'start': StartTime, 'intervals': [(start, length, counts)], 'run': (...)}."""
    log = {"start": None, "base": None, "intervals": [], "run": None, "scenario": None}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#[StartTime: "):
                log["start"] = float(line.split()[1])
            elif line.startswith("#[BaseTime: "):
                log["base"] = float(line.split()[1])
            elif line.startswith("#[Scenario: "):
                log["scenario"] = line[len("#[Scenario: "):-1]
            elif line and not line.startswith(("#", '"')):
                tag = None
                if line.startswith("Tag="):
                    tag, line = line[4:].split(",", 1)
                start, length, _max_ms, b64 = line.split(",")
                entry = (float(start), float(length), decode_histogram(b64))
                if tag == "run":
                    log["run"] = entry
                else:
                    log["intervals"].append(entry)
    return log


def bucket_highest(index):
    """The highest value counted at a counts index (lowest 1, 3 digits)."""
    bucket = (index >> 10) - 1
    sub = (index & 1023) + 1024
    if bucket < 0:
        sub -= 1024
        bucket = 0
    return min((sub << bucket) + (1 << bucket) - 1, HIST_MAX_US)


def percentile(counts, p):
    """hist_percentile's answer: the highest value of the bucket holding rank ceil(p% of n)."""
    total = sum(counts.values())
    want = p / 100.0 * total
    rank = max(1, int(want) + (1 if int(want) < want - 1e-9 else 0))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return bucket_highest(index)
    raise AssertionError("rank past the total")


def merge_counts(*hists):
    out = {}
    for h in hists:
        for k, v in h.items():
            out[k] = out.get(k, 0) + v
    return out


# ---- an HTTP server that records the headers it receives ----

class _Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        with self.server.lock:
            self.server.seen.append((self.path, list(self.headers.items())))
        body = b"recorded\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_recorder(test):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    srv.daemon_threads = True
    srv.seen, srv.lock = [], threading.Lock()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    test.addCleanup(srv.server_close)
    test.addCleanup(srv.shutdown)
    return types.SimpleNamespace(host="127.0.0.1", port=srv.server_address[1], srv=srv)


class FleetCase(LoadgenRuns, unittest.TestCase):
    TMP_PREFIX = "lg-fleet-test-"
    server = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = RefServer(event_model(), root=cls.fixtures)
        cls.addClassCleanup(cls.server.close)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def target(self, peer=None):
        peer = peer or self.server
        return "%s:%d" % (peer.host, peer.port)

    def run_cmd(self, args, timeout=60):
        out = subprocess.run(args, capture_output=True, timeout=timeout)
        return out.returncode, out.stdout.decode(), out.stderr.decode()

    def hello_run(self, name, *extra):
        """The `loadgen run` of http-hello writing NAME.csv and NAME.hlog."""
        return [LOADGEN, "run", HELLO, "--target", self.target(), "--fixtures", self.fixtures,
                "--csv", self.path(name + ".csv"), "--hdr-log", self.path(name + ".hlog"),
                "--threads", "2", "--connections", "4"] + list(extra)

    def assert_log_matches_row(self, hlog, row, duration):
        """The decoded log: intervals back to back covering the window, their
        sum equal to the whole-run line, whose count is the CSV's requests."""
        run_start, run_len, run = hlog["run"]
        self.assertEqual(run_start, 0.0)
        self.assertAlmostEqual(run_len, duration, delta=0.05)
        self.assertEqual(sum(run.values()), int(row["requests"]))
        self.assertEqual(merge_counts(*(h for _, _, h in hlog["intervals"])), run)
        expect_start = 0.0
        for start, length, _ in hlog["intervals"]:
            self.assertAlmostEqual(start, expect_start, delta=0.0015)
            expect_start = start + length
        self.assertAlmostEqual(expect_start, run_len, delta=0.0015)
        self.assertEqual(percentile(run, 50), int(row["lat_p50_us"]))
        self.assertEqual(percentile(run, 99), int(row["lat_p99_us"]))


class TestTwoRunsOneWindow(FleetCase):
    def test_two_processes_one_start_merge(self):
        start_at = int(time.time()) + 3  # 2 to 3 s away: both verify passes are done by then
        procs = [subprocess.Popen(self.hello_run(n, "--start-at", str(start_at), "--duration",
                                                 "2", "--hdr-interval", "500ms"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for n in ("a", "b")]
        outs = [p.communicate(timeout=60) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, (out + err).decode())
        # Neither can have ended before its window: start_at + 2 s.
        self.assertGreaterEqual(time.time(), start_at + 2)
        rows, logs = [], []
        for n in ("a", "b"):
            _, r = read_rows(self.path(n + ".csv"))
            rows.append(r[-1])
            log = read_hlog(self.path(n + ".hlog"))
            logs.append(log)
            self.assertEqual(log["start"], float(start_at))  # the window starts at --start-at
            self.assertEqual(log["base"], float(start_at))
            self.assertEqual(log["scenario"], "http-hello")
            self.assertGreaterEqual(len(log["intervals"]), 4)
            self.assert_log_matches_row(log, r[-1], 2.0)

        merged = self.path("merged.csv")
        rc, out, err = self.run_cmd([LOADGEN, "merge", self.path("a.csv"), self.path("b.csv"),
                                     "--hdr-logs", self.path("a.hlog") + "," + self.path("b.hlog"),
                                     "--csv", merged, "--label", "fleet"])
        self.assertEqual(rc, 0, out + err)
        _, mrows = read_rows(merged)
        self.assertEqual(len(mrows), 1)
        m = mrows[0]
        self.assertEqual(m["model"], "fleet")
        self.assertEqual(int(m["requests"]), sum(int(r["requests"]) for r in rows))
        self.assertEqual(int(m["connections"]), 8)
        self.assertAlmostEqual(float(m["duration_s"]), 2.0, delta=0.01)
        both = merge_counts(logs[0]["run"][2], logs[1]["run"][2])
        lo = min(int(r["lat_min_us"]) for r in rows)
        hi = max(int(r["lat_max_us"]) for r in rows)
        for col, p in (("lat_p50_us", 50), ("lat_p90_us", 90), ("lat_p99_us", 99),
                       ("lat_p999_us", 99.9)):
            with self.subTest(column=col):
                want = min(max(percentile(both, p), lo), hi)
                self.assertEqual(int(m[col]), want)
                # A percentile of the union lies between the runs' own.
                self.assertGreaterEqual(int(m[col]), min(int(r[col]) for r in rows))
                self.assertLessEqual(int(m[col]), max(int(r[col]) for r in rows))

    def test_warmup_is_not_in_the_log(self):
        rc, out, err = self.run_cmd(self.hello_run("w", "--warmup", "500ms", "--duration",
                                                   "1200ms"))
        self.assertEqual(rc, 0, out + err)
        _, rows = read_rows(self.path("w.csv"))
        log = read_hlog(self.path("w.hlog"))
        # 1.2 s at 1 s intervals: one whole interval and a last one of 0.2 s.
        self.assertEqual([round(iv[1], 3) for iv in log["intervals"]], [1.0, 0.2])
        self.assert_log_matches_row(log, rows[-1], 1.2)

    def test_requests_run_log_equals_the_row(self):
        rc, out, err = self.run_cmd(self.hello_run("n", "--requests", "3000", "--engine", "curl",
                                                   "--hdr-interval", "100ms"))
        self.assertEqual(rc, 0, out + err)
        _, rows = read_rows(self.path("n.csv"))
        self.assertEqual(int(rows[-1]["requests"]), 3000)
        log = read_hlog(self.path("n.hlog"))
        self.assert_log_matches_row(log, rows[-1], float(rows[-1]["duration_s"]))

    def test_failed_verify_leaves_no_log(self):
        closed = types.SimpleNamespace(host="127.0.0.1", port=free_port())
        hlog = self.path("none.hlog")
        rc, out, err = self.run_cmd([LOADGEN, "run", HELLO, "--target", self.target(closed),
                                     "--fixtures", self.fixtures, "--hdr-log", hlog])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("verify", err)
        self.assertFalse(os.path.exists(hlog))
        self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith("none.hlog")], [])


class TestFanout(FleetCase):
    def test_two_local_hosts(self):
        self.assertIsNotNone(shutil.which("parallel"), "GNU parallel missing (ci/setup)")
        out_dir, merged = self.path("fanout"), self.path("fleet.csv")
        rc, out, err = self.run_cmd([FANOUT, "--sshlogin", "2/:", "--connections", "5",
                                     "--start-in", "3", "--out", out_dir, "--loadgen", LOADGEN,
                                     "--csv", merged, "--label", "fleet", "--",
                                     HELLO, "--target", self.target(), "--fixtures",
                                     self.fixtures, "--duration", "2", "--threads", "1"],
                                    timeout=90)
        self.assertEqual(rc, 0, out + err)
        runs = [read_rows(os.path.join(out_dir, "fanout-%d.csv" % i))[1][-1] for i in (1, 2)]
        self.assertEqual(sorted(int(r["connections"]) for r in runs), [2, 3])
        logs = [read_hlog(os.path.join(out_dir, "fanout-%d.hlog" % i)) for i in (1, 2)]
        self.assertEqual(logs[0]["start"], logs[1]["start"])  # one --start-at
        for log, row in zip(logs, runs):
            self.assert_log_matches_row(log, row, 2.0)
        _, rows = read_rows(merged)
        self.assertEqual(len(rows), 1)
        self.assertEqual(int(rows[0]["requests"]), sum(int(r["requests"]) for r in runs))
        self.assertEqual(int(rows[0]["connections"]), 5)
        both = merge_counts(logs[0]["run"][2], logs[1]["run"][2])
        self.assertEqual(int(rows[0]["lat_p99_us"]),
                         min(max(percentile(both, 99), min(int(r["lat_min_us"]) for r in runs)),
                             max(int(r["lat_max_us"]) for r in runs)))


ACCESS_LOG = r'''127.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 1234 "-" "curl/8.0"
127.0.0.1 - - [28/Nov/2026:10:00:01 +0000] "GET /index.html HTTP/1.1" 200 1234 "-" "curl/8.0"
10.0.0.7 - alice [28/Nov/2026:10:00:01 +0000] "GET /hello.txt?lang=en HTTP/1.1" 200 13 "http://example.com/" "Mozilla/5.0 (X11; Linux)"
127.0.0.1 - - [28/Nov/2026:10:00:02 +0000] "GET /dir/readme.txt HTTP/1.1" 200 10 "-" "-"
127.0.0.1 - - [28/Nov/2026:10:00:02 +0000] "GET /1k.bin HTTP/1.1" 304 0 "-" "-"
127.0.0.1 - - [28/Nov/2026:10:00:03 +0000] "HEAD /64k.bin HTTP/1.1" 200 0 "-" "-"
127.0.0.1 - - [28/Nov/2026:10:00:03 +0000] "GET /no-such-file.txt HTTP/1.1" 404 150 "-" "-"
this line is not an access log line
127.0.0.1 - - [28/Nov/2026:10:00:04 +0000] "GET /a.txt HTTP/1.1" 200
127.0.0.1 - - [28/Nov/2026 "GET /b.txt HTTP/1.1" 200 5 "-" "-"
'''


class TestAccessLogReplay(FleetCase):
    def make_scenario(self):
        log, ini = self.path("access.log"), self.path("replay.ini")
        with open(log, "w") as f:
            f.write(ACCESS_LOG)
        rc, out, err = self.run_cmd([LOADGEN, "scenario-from-log", log, "--fixtures",
                                     self.fixtures, "--out", ini])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("3 malformed", err)
        with open(ini) as f:
            text = f.read()
        self.assertIn("path = /hello.txt?lang=en", text)
        self.assertIn("expect_status = 404", text)
        self.assertIn("expect_body = dir/readme.txt", text)
        return ini

    def test_replay_runs_clean_against_refserver_and_nginx(self):
        ini = self.make_scenario()
        reason = NginxPeer.available()
        self.assertIsNone(reason, reason)
        with NginxPeer(self.fixtures) as ng:
            for name, peer in (("refserver", self.server), ("nginx", ng)):
                for engine in ("raw", "curl"):
                    with self.subTest(server=name, engine=engine):
                        res = self.loadgen(ini, peer, "--duration", "1", "--engine", engine,
                                           "--connections", "4", "--threads", "2")
                        row = self.assert_clean_run(*res, engine=engine)
                        self.assertEqual(row["scenario"], "access")

    def test_unknown_format_is_refused(self):
        log, ini = self.path("access2.log"), self.path("never.ini")
        with open(log, "w") as f:
            f.write(ACCESS_LOG)
        rc, out, err = self.run_cmd([LOADGEN, "scenario-from-log", log, "--format", "w3c",
                                     "--out", ini])
        self.assertEqual(rc, 2, out + err)
        self.assertIn("w3c", err)
        self.assertFalse(os.path.exists(ini))


class TestHeaders(FleetCase):
    SCENARIO = """[scenario]
protocol = http
[step api]
path = /api/items?id=7
host = shop.example
header = Accept: application/json
header = X-Trace:  abc 123
header = X-Trace: second
[step plain]
path = /plain
"""

    def test_host_and_headers_reach_the_server(self):
        ini = self.path("headers.ini")
        with open(ini, "w") as f:
            f.write(self.SCENARIO)
        for engine in ("raw", "curl"):
            with self.subTest(engine=engine):
                rec = start_recorder(self)
                rc, out, err, rows = self.loadgen(ini, rec, "--requests", "20", "--engine",
                                                  engine, "--connections", "2")
                self.assertEqual(rc, 0, out + err)
                with rec.srv.lock:
                    seen = list(rec.srv.seen)
                # the verify pass (one each) and the 20 measured requests
                self.assertGreaterEqual(len(seen), 22)
                api = [h for p, h in seen if p == "/api/items?id=7"]
                plain = [h for p, h in seen if p == "/plain"]
                self.assertEqual(len(api) + len(plain), len(seen))
                self.assertGreaterEqual(min(len(api), len(plain)), 10)
                for headers in api:
                    self.assertIn(("Host", "shop.example"), headers)
                    self.assertIn(("Accept", "application/json"), headers)
                    traces = [v for k, v in headers if k == "X-Trace"]
                    self.assertEqual(traces, ["abc 123", "second"], json.dumps(headers))
                    self.assertEqual([k for k, _ in headers].count("Host"), 1)
                for headers in plain:
                    self.assertIn(("Host", "%s:%d" % (rec.host, rec.port)), headers)
                    self.assertNotIn("X-Trace", [k for k, _ in headers])


class TestBadInput(FleetCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, scenario, extra in (("x", HELLO, ["--duration", "1"]),
                                      ("y", os.path.join(SCENARIOS, "http-close.ini"),
                                       ["--duration", "1", "--connections", "2"])):
            out = subprocess.run([LOADGEN, "run", scenario, "--target",
                                  "%s:%d" % (cls.server.host, cls.server.port), "--fixtures",
                                  cls.fixtures, "--csv", os.path.join(cls.tmp, name + ".csv"),
                                  "--hdr-log", os.path.join(cls.tmp, name + ".hlog")] + extra,
                                 capture_output=True, timeout=60)
            if out.returncode != 0:
                raise RuntimeError("run %s failed: %s" % (name, out.stderr.decode()))

    def merge(self, csvs, hlogs, out_name):
        out = self.path(out_name)
        rc, so, se = self.run_cmd([LOADGEN, "merge"] + [self.path(c) for c in csvs] +
                                  ["--hdr-logs", ",".join(self.path(h) for h in hlogs),
                                   "--csv", out])
        return rc, so + se, out

    def test_truncated_log(self):
        with open(self.path("x.hlog")) as f:
            text = f.read()
        last = text.rstrip("\n").rfind("\n")
        with open(self.path("cut.hlog"), "w") as f:
            f.write(text[:last + 60])  # the run line cut in its histogram
        rc, msg, out = self.merge(["x.csv", "x.csv"], ["x.hlog", "cut.hlog"], "m1.csv")
        self.assertEqual(rc, 2, msg)
        self.assertIn("cut.hlog", msg)
        self.assertFalse(os.path.exists(out))

    def test_different_scenarios(self):
        rc, msg, out = self.merge(["x.csv", "y.csv"], ["x.hlog", "y.hlog"], "m2.csv")
        self.assertEqual(rc, 2, msg)
        self.assertIn("different scenarios", msg)
        self.assertFalse(os.path.exists(out))

    def test_start_at_in_the_past(self):
        csv = self.path("past.csv")
        rc, out, err = self.run_cmd(self.hello_run("past", "--start-at",
                                                   str(int(time.time()) - 5)))
        self.assertEqual(rc, 2, out + err)
        self.assertIn("in the past", err)
        self.assertFalse(os.path.exists(csv))
        for bad in ("soon", "-5", "1e10", "17000000000000"):
            with self.subTest(value=bad):
                rc, out, err = self.run_cmd(self.hello_run("past", "--start-at", bad))
                self.assertEqual(rc, 2, out + err)
                self.assertIn("--start-at", err)

    def test_verify_pass_ending_after_the_start(self):
        rec = start_recorder(self)
        ini = self.path("slow.ini")
        with open(ini, "w") as f:
            f.write("[scenario]\nprotocol = http\n[step slow]\npath = /slow\n")
        hlog = self.path("slow.hlog")
        rc, out, err = self.run_cmd([LOADGEN, "run", ini, "--target", self.target(rec),
                                     "--start-at", "%.3f" % (time.time() + 0.8),
                                     "--hdr-log", hlog])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("verify pass ended", err)
        self.assertNotIn("requests", out)  # no timed run
        self.assertFalse(os.path.exists(hlog))

    def test_bad_interval(self):
        for bad in ("0", "5ms", "2h", "x"):
            with self.subTest(value=bad):
                rc, out, err = self.run_cmd(self.hello_run("iv", "--hdr-interval", bad))
                self.assertEqual(rc, 2, out + err)
                self.assertIn("--hdr-interval", err)


if __name__ == "__main__":
    unittest.main()
