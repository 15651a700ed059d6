"""test_loadgen_unanswered.py - requests with no answer when the window closes
(DESIGN.md section 5; loadgen/policy.h, "The close").

Each test runs both engines (raw and curl):
- prefork with 2 workers and 16 keep-alive connections: the workers keep two
  connections forever, the other 14 wait in the listen backlog. Those are
  starved connections, each with its request unanswered; the summary shows
  both and the exit status is 1, as for timeouts. epoll (poll in the portable build) serves all 16: 0, 0,
  exit 0.
- Open loop, the server stopped (SIGSTOP) for the last 0.5 s of the window:
  the requests due then are unanswered, the connections are not starved.
- iterative without keep-alive: every request waits in the listen backlog
  behind the other connections' ones, and that wait is in its latency
  (Little's law: req/s x mean latency = connections).
- The server stopped from before the timed run to 0.2 s after it: every
  connection's first answer comes in the drain, so all are starved.
- The server stopped from before the timed run to 0.4 s into the window:
  each connection's first request, begun in the warm-up, is measured from
  the window's start, so the wait shows (latency about 0.4 s, neither 0
  nor the 0.7 s since the request began).

Times: --start-at puts the timed run at a known wall-clock second, and the
signals go at fixed offsets from it (the run's schedule, not a guess about
when something happened); the server's access log tells when the verify
pass is over.
"""
import os
import re
import signal
import subprocess
import threading
import time
import unittest

from lgutil import SCENARIOS, LoadgenRuns
from serverutil import RefServer, event_model, wait_until

ENGINES = ("raw", "curl")
HELLO = os.path.join(SCENARIOS, "http-hello.ini")
CLOSE = os.path.join(SCENARIOS, "http-close.ini")
SUMMARY_RE = re.compile(r"^unanswered (\d+)  starved connections (\d+)$", re.M)
ACCESS_RE = re.compile(r'"GET [^"]*" \d{3} \d+')
START_DELAY_S = 1.5  # from launching loadgen to --start-at: its verify pass fits


class Unanswered(LoadgenRuns, unittest.TestCase):
    TMP_PREFIX = "lg-unanswered-test-"

    def summary(self, out):
        m = SUMMARY_RE.search(out)
        self.assertIsNotNone(m, "no unanswered/starved summary line:\n" + out)
        return int(m.group(1)), int(m.group(2))

    def counts(self, row):
        return int(row["unanswered"]), int(row["starved_connections"])

    def run_both(self, server, scenario, *args):
        """loadgen run on each engine: {engine: (rc, out, err, row)}."""
        results = {}
        for engine in ENGINES:
            rc, out, err, rows = self.loadgen(scenario, server, "--engine", engine, *args)
            self.assertEqual(len(rows), 1, "exit %d\n%s\n%s" % (rc, out, err))
            results[engine] = (rc, out, err, rows[0])
        return results

    def run_both_at(self, server, scenario, start_at, *args):
        """Both engines at once, their timed runs starting at start_at
        (wall-clock seconds): {engine: Popen}, with the CSV path as .csv_path."""
        procs = {}
        for engine in ENGINES:
            csv_path = self._fresh_csv("%s-%s" % (self.id().rsplit(".", 1)[-1], engine))
            cmd = self.run_command(scenario, server, csv_path,
                                   ["--engine", engine, "--start-at", "%.3f" % start_at]
                                   + list(args))
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            p.csv_path = csv_path
            self.addCleanup(lambda p=p: p.poll() is None and p.kill())
            procs[engine] = p
        return procs

    def finish_all(self, procs):
        """{engine: (rc, out, err, row)} once every run ended."""
        results = {}
        for engine, p in procs.items():
            out, err = p.communicate(timeout=60)
            rows = self._rows(p.csv_path)
            msg = "exit %d\n%s\n%s" % (p.returncode, out.decode(), err.decode())
            self.assertEqual(len(rows), 1, msg)
            results[engine] = (p.returncode, out.decode(), err.decode(), rows[0])
        return results

    def stop_server_for(self, server, stop_at, cont_at):
        """SIGSTOP the server at wall-clock stop_at, SIGCONT at cont_at (or
        at the test's end when cont_at is None)."""
        self.addCleanup(server.send_signal, signal.SIGCONT)

        def at(when, sig):
            time.sleep(max(0.0, when - time.time()))
            server.send_signal(sig)

        def plan():
            at(stop_at, signal.SIGSTOP)
            if cont_at is not None:
                at(cont_at, signal.SIGCONT)
        t = threading.Thread(target=plan, daemon=True)
        t.start()
        self.addCleanup(t.join)

    def wait_verified(self, server, passes):
        """Until the server logged the verify passes' requests."""
        self.assertTrue(wait_until(lambda: len(ACCESS_RE.findall(server.stderr_text())) >= passes,
                                   timeout=20),
                        "no verify pass reached the server:\n" + server.stderr_text()[-2000:])

    # -- tests --

    def test_prefork_queue_is_starved_and_counted(self):
        with RefServer("prefork", root=self.fixtures, args=["--workers", "2"]) as server:
            results = self.run_both(server, HELLO, "--connections", "16", "--threads", "2",
                                    "--duration", "1.5s")
        for engine, (rc, out, err, row) in results.items():
            with self.subTest(engine=engine):
                msg = "exit %d\n%s\n%s" % (rc, out, err)
                unanswered, starved = self.counts(row)
                self.assertGreaterEqual(starved, 12, msg)  # most never got a turn
                self.assertLessEqual(starved, 14, msg)     # two were served
                self.assertGreaterEqual(unanswered, starved, msg)
                self.assertEqual(self.summary(out), (unanswered, starved), msg)
                self.assertEqual(rc, 1, msg)  # like timeouts
                self.assertGreater(int(row["requests"]), 0, msg)
                # Pending, not timed out (the timeout is 5 s): no double count.
                self.assertEqual(int(row["timeouts"]), 0, msg)
                self.assertEqual(int(row["errors"]), 0, msg)

    def test_event_model_serves_everyone(self):
        with RefServer(event_model(), root=self.fixtures) as server:
            closed = self.run_both(server, HELLO, "--connections", "16", "--threads", "2",
                                   "--duration", "1s")
            opened = self.run_both(server, HELLO, "--connections", "16", "--threads", "2",
                                   "--duration", "1s", "--rate", "1000")
        for loop, results in (("closed", closed), ("open", opened)):
            for engine, (rc, out, err, row) in results.items():
                with self.subTest(loop=loop, engine=engine):
                    self.assert_clean_run(rc, out, err, [row], engine=engine)
                    self.assertEqual(self.counts(row), (0, 0), out)
                    self.assertEqual(self.summary(out), (0, 0), out)

    def test_open_loop_stall_at_the_end_is_unanswered(self):
        rate, stall = 400, 0.5
        with RefServer(event_model(), root=self.fixtures) as server:
            start = time.time() + START_DELAY_S
            procs = self.run_both_at(server, HELLO, start, "--connections", "4", "--threads",
                                     "1", "--duration", "1.5s", "--rate", str(rate))
            self.stop_server_for(server, start + 1.5 - stall, None)
            results = self.finish_all(procs)
            server.send_signal(signal.SIGCONT)
        for engine, (rc, out, err, row) in results.items():
            with self.subTest(engine=engine):
                msg = "exit %d\n%s\n%s" % (rc, out, err)
                unanswered, starved = self.counts(row)
                # Both engines load the server: together 2 x 400/s, each one's
                # slots in the last 0.5 s are ~200 (and what was in flight).
                self.assertGreater(unanswered, 0, msg)
                self.assertGreaterEqual(unanswered, rate * stall / 2, msg)
                self.assertLessEqual(unanswered, rate * (stall + 0.3), msg)
                self.assertEqual(starved, 0, msg)  # every connection had answers
                self.assertEqual(self.summary(out), (unanswered, 0), msg)
                self.assertEqual(rc, 1, msg)
                self.assertEqual(int(row["timeouts"]), 0, msg)
                self.assertGreater(int(row["requests"]), 0, msg)

    def test_backlog_wait_is_in_the_latency(self):
        conns = 16
        with RefServer("iterative", root=self.fixtures) as server:
            results = self.run_both(server, CLOSE, "--connections", str(conns), "--threads",
                                    "2", "--duration", "1s")
        for engine, (rc, out, err, row) in results.items():
            with self.subTest(engine=engine):
                self.assert_clean_run(rc, out, err, [row], engine=engine)
                # One request served at a time, 16 always outstanding: each
                # one's latency spans the 15 others' service (Little's law).
                # Measured from the accept it would be ~1 x, not 16 x.
                outstanding = float(row["req_per_s"]) * float(row["lat_mean_us"]) / 1e6
                self.assertGreater(outstanding, conns / 2, out)
                self.assertLess(outstanding, conns * 1.5, out)

    def test_answered_only_after_the_window_is_starved(self):
        conns, after = 8, 0.2
        with RefServer(event_model(), root=self.fixtures, args=["--access-log"]) as server:
            start = time.time() + START_DELAY_S
            procs = self.run_both_at(server, HELLO, start, "--connections", str(conns),
                                     "--threads", "2", "--duration", "1s")
            self.wait_verified(server, len(ENGINES))
            self.assertLess(time.time(), start, "the verify passes ended after --start-at")
            # Stopped through the whole window, back in the drain (>= 0.5 s):
            # every connection's first answer comes only after the close, as
            # for a client that waited in a busy server's listen backlog.
            self.stop_server_for(server, time.time(), start + 1.0 + after)
            results = self.finish_all(procs)
        for engine, (rc, out, err, row) in results.items():
            with self.subTest(engine=engine):
                msg = "exit %d\n%s\n%s" % (rc, out, err)
                unanswered, starved = self.counts(row)
                self.assertEqual(starved, conns, msg)
                # answered in the drain, but not when the window closed
                self.assertEqual(unanswered, conns, msg)
                self.assertEqual(int(row["requests"]), 0, msg)
                self.assertEqual(self.summary(out), (conns, conns), msg)
                self.assertEqual(rc, 1, msg)

    def test_first_request_waiting_into_the_window(self):
        warmup, into = 0.3, 0.4
        with RefServer(event_model(), root=self.fixtures, args=["--access-log"]) as server:
            start = time.time() + START_DELAY_S
            procs = self.run_both_at(server, HELLO, start, "--connections", "8", "--threads",
                                     "2", "--duration", "1s", "--warmup", "%gs" % warmup)
            self.wait_verified(server, len(ENGINES))
            self.assertLess(time.time(), start, "the verify passes ended after --start-at")
            # Stopped before the timed run: every connection's first request waits.
            self.stop_server_for(server, time.time(), start + warmup + into)
            results = self.finish_all(procs)
        for engine, (rc, out, err, row) in results.items():
            with self.subTest(engine=engine):
                self.assert_clean_run(rc, out, err, [row], engine=engine)
                self.assertEqual(self.counts(row), (0, 0), out)
                # The first requests waited from the start (0.7 s before the
                # server woke), measured from the window's start: ~0.4 s.
                slowest = int(row["lat_max_us"]) / 1e6
                self.assertGreaterEqual(slowest, into - 0.1, out)
                self.assertLess(slowest, warmup + into - 0.1, out)


if __name__ == "__main__":
    unittest.main()
