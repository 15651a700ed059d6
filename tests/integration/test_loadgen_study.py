"""Integration tests of the study's bench (issue 7): CPU pinning, sweeps,
--rate auto, the study's CSV columns, and the usage errors of each.

Pinning is checked on the running processes: /proc/PID/status
Cpus_allowed_list of every process of the server's group and of every thread
of loadgen, read while the run is under way. Runs are short (0.3-1 s) and use
one or two models.
"""
import os
import re
import subprocess
import unittest

from lgutil import CSV_COLUMNS, read_rows
from serverutil import LOADGEN, REFSERVER, SOURCE_DIR, RefServer, wait_until
from test_loadgen_bench import BenchCase, processes_mentioning

SCENARIOS = os.path.join(SOURCE_DIR, "scenarios")
HELLO = os.path.join(SCENARIOS, "http-hello.ini")


def cpus_allowed(path):
    """Cpus_allowed_list of /proc/PID[/task/TID]/status, or None when gone."""
    try:
        with open(os.path.join(path, "status")) as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def thread_cpus(pid):
    """{tid: Cpus_allowed_list} of every thread of pid."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        v = cpus_allowed("/proc/%d/task/%s" % (pid, tid))
        if v is not None:
            out[int(tid)] = v
    return out


def group_of(text):
    """pids of the live refserver processes whose command line holds text."""
    return [pid for pid, cmd in processes_mentioning(text) if cmd.startswith(REFSERVER + " ")]


def available_cpus():
    return sorted(os.sched_getaffinity(0))


class StudyCase(BenchCase):
    """BenchCase's fixtures and bench(); a command line for Popen; CSV paths."""

    def bench_cmd(self, *args):
        return [LOADGEN, "bench", "--server", REFSERVER, "--fixtures", self.fixtures] + list(args)

    def csv_path(self, name):
        p = os.path.join(self.tmp, name)
        if os.path.exists(p):
            os.unlink(p)
        return p


class TestUsage(StudyCase):
    """Bad input: exit 2 and a message that names the problem, before any run."""

    def assert_usage(self, args, mentions):
        rc, out, err = self.bench(*args)
        self.assertEqual(rc, 2, "%r: exit %d\n%s%s" % (args, rc, out, err))
        self.assertIn(mentions, err, args)
        self.assertNotIn("== bench", out)

    def test_bad_cpus(self):
        cpus = available_cpus()
        absent = max(cpus) + 1
        self.assert_usage(["--cpus", "0:0"], "both sets")
        self.assert_usage(["--cpus", "5-2:1"], "backward range")
        self.assert_usage(["--cpus", "0:%d" % absent], "CPU %d is not available" % absent)
        self.assert_usage(["--cpus", "0"], "SERVER:LOADGEN")
        self.assert_usage(["--cpus", ":0"], "empty CPU set")
        self.assert_usage(["--cpus", "0,,1:2"], "empty item")
        self.assert_usage(["--cpus", "x:0"], "not a CPU number")

    def test_bad_sweeps(self):
        self.assert_usage(["--connections", "1,,2"], "empty")
        self.assert_usage(["--connections", "0,16"], "'0' is not an integer")
        self.assert_usage(["--connections", "16,abc"], "'abc' is not an integer")
        self.assert_usage(["--connections", "16,16"], "twice")
        self.assert_usage(["--rate", "1000,0"], "'0' is not a rate")
        self.assert_usage(["--rate", "auto,1000"], "is not a rate")
        self.assert_usage(["--slo", "5ms"], "--slo applies to --rate auto only")
        self.assert_usage(["--rate", "auto", "--slo", "0"], "--slo")

    def test_run_cpus(self):
        absent = max(available_cpus()) + 1
        for bad, says in (("%d" % absent, "not available"), ("1-0", "backward"), ("", "empty")):
            out = subprocess.run([LOADGEN, "run", HELLO, "--target", "127.0.0.1:9",
                                  "--cpus", bad], capture_output=True, timeout=30)
            self.assertEqual(out.returncode, 2, out.stderr.decode())
            self.assertIn(says, out.stderr.decode())


@unittest.skipIf(len(available_cpus()) < 2, "pinning needs 2 CPUs")
class TestPinning(StudyCase):
    def test_bench_pins_the_server_group_and_itself(self):
        cpus = available_cpus()
        server, loadgen = str(cpus[-1]), str(cpus[0])
        path = self.csv_path("pin.csv")
        proc = subprocess.Popen(
            # 4 connections for prefork's 4 workers: more would be starved (a failed row).
            self.bench_cmd("--models", "prefork", "--scenarios", HELLO, "--duration", "1",
                           "--connections", "4", "--cpus", "%s:%s" % (server, loadgen),
                           "--csv", path),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.tmp)
        try:
            # prefork: the parent and its workers, every one on the server's CPU.
            seen = wait_until(lambda: len(group_of(self.fixtures)) >= 3 and
                              {cpus_allowed("/proc/%d" % p) for p in group_of(self.fixtures)},
                              timeout=30)
            threads = thread_cpus(proc.pid)
        finally:
            out, err = proc.communicate(timeout=120)
        msg = "\nstdout:\n%s\nstderr:\n%s" % (out.decode(), err.decode())
        self.assertEqual(proc.returncode, 0, msg)
        self.assertEqual(seen - {None}, {server}, msg)
        self.assertTrue(threads, msg)
        self.assertEqual(set(threads.values()), {loadgen}, msg)
        self.assertIn("server on CPU %s, loadgen on CPU %s" % (server, loadgen), out.decode())
        header, rows = read_rows(path)
        self.assertEqual(header, CSV_COLUMNS)
        self.assertEqual(len(rows), 1, msg)
        r = rows[0]
        self.assertEqual((r["server_cpus"], r["loadgen_cpus"]), (server, loadgen))
        # The peak PSS of the group: more than nothing; from /proc, less than
        # the VmHWM sum (prefork's workers share the parent's pages). From a
        # cgroup, server_rss_kb is the group's charge (kernel memory in,
        # library pages others loaded first out): no order between the two.
        self.assertGreater(int(r["server_pss_kb"]), 0)
        self.assertGreater(int(r["server_rss_kb"]), 0)
        if r["server_accounting"].endswith("proc"):
            self.assertLess(int(r["server_pss_kb"]), int(r["server_rss_kb"]))
        self.assertIn(r["loadgen_bound"], ("0", "1"))
        self.assertEqual((r["unanswered"], r["starved_connections"]), ("0", "0"))

    def test_run_pins_itself(self):
        cpu = str(available_cpus()[-1])
        path = self.csv_path("run-pin.csv")
        with RefServer("epoll", root=self.fixtures) as srv:
            proc = subprocess.Popen(
                [LOADGEN, "run", HELLO, "--target", "%s:%d" % (srv.host, srv.port),
                 "--fixtures", self.fixtures, "--duration", "1", "--cpus", cpu, "--csv", path],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                # Its engine threads exist once the timed run is under way.
                threads = wait_until(lambda: len(thread_cpus(proc.pid)) >= 3
                                     and thread_cpus(proc.pid), timeout=30)
            finally:
                out, err = proc.communicate(timeout=60)
        msg = "\nstdout:\n%s\nstderr:\n%s" % (out.decode(), err.decode())
        self.assertEqual(proc.returncode, 0, msg)
        self.assertTrue(threads, msg)
        self.assertEqual(set(threads.values()), {cpu}, msg)
        _, rows = read_rows(path)
        self.assertEqual(rows[0]["loadgen_cpus"], cpu)
        self.assertEqual(rows[0]["server_cpus"], "")
        self.assertEqual(rows[0]["server_pss_kb"], "")  # only bench knows the server


class TestSweeps(StudyCase):
    def test_connection_points_with_repeats(self):
        path = self.csv_path("sweep.csv")
        rc, out, err = self.bench("--models", "epoll,thread", "--scenarios", HELLO,
                                  "--connections", "1,4", "--repeat", "2", "--duration", "0.3",
                                  "--cpus", "none", "--csv", path)
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        self.assertEqual(rc, 0, msg)
        _, rows = read_rows(path)
        keys = sorted((r["model"], int(r["connections"]), r["rate"]) for r in rows)
        # 2 rounds: each model once a round, and epoll (the reference) twice:
        # its second run is the A/A control (aa_twin 1)
        self.assertEqual(keys, sorted([(m, c, "0") for m in ("epoll", "epoll", "thread")
                                       for c in (1, 4)] * 2), msg)
        self.assertEqual(sorted((r["round"], r["aa_twin"]) for r in rows if r["model"] == "epoll"),
                         sorted([("1", "0"), ("1", "1"), ("2", "0"), ("2", "1")] * 2), msg)
        for r in rows:
            self.assertEqual(int(r["threads"]), min(2, int(r["connections"])))
            self.assertEqual((r["server_cpus"], r["loadgen_cpus"]), ("", ""))
            self.assertGreater(int(r["server_pss_kb"]), 0, msg)
        self.assertIn("server and loadgen share the CPUs", out)
        # One table per point; medians with (min-max) over the two runs.
        self.assertIn("http-hello (http), 1 connections, closed loop, medians (min-max)", out)
        self.assertIn("http-hello (http), 4 connections, closed loop", out)
        # Led by server CPU per request and its inverse (they do not depend on
        # the client), then req/s with its (min-max); ranked by CPU per request.
        self.assertRegex(out, r"\n  #  model +cpu/req us req/s/core +req/s ")
        self.assertRegex(out, r"\n  1  +(epoll|thread) +[\d.]+ +\d+ +\d+ \(\d")
        for table in out.split("medians (min-max) of the clean runs\n")[1:]:
            cpu = [float(m.group(1)) for m in
                   re.finditer(r"^  \d+  +\S+ +([\d.]+) +\d+ ", table, re.M)]
            self.assertEqual(len(cpu), 2, table)
            self.assertEqual(cpu, sorted(cpu), table)
        self.assertIn("[12/12", out)  # progress: run 12 of 12
        self.assertIn("2 rounds a point: too few for intervals", out)

    def test_rate_points(self):
        path = self.csv_path("rates.csv")
        rc, out, err = self.bench("--models", "epoll", "--scenarios", HELLO, "--connections",
                                  "4", "--rate", "300,600", "--duration", "0.3", "--csv", path)
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        self.assertEqual(rc, 0, msg)
        _, rows = read_rows(path)
        self.assertEqual(sorted(float(r["rate"]) for r in rows), [300, 600], msg)
        self.assertIn("4 connections, open loop at 300 req/s", out)
        self.assertIn("4 connections, open loop at 600 req/s", out)

    def test_rate_auto_finds_a_sustainable_rate(self):
        path = self.csv_path("auto.csv")
        rc, out, err = self.bench("--models", "epoll", "--scenarios", HELLO, "--connections",
                                  "4", "--rate", "auto", "--slo", "200ms", "--duration", "0.3",
                                  "--csv", path)
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        self.assertEqual(rc, 0, msg)
        _, rows = read_rows(path)
        # The closed-loop run C, then 1 to 5 open-loop tries: the first at 0.7 C;
        # until one fails each pass doubles the next (the maximum is found, not
        # capped at C), then bisection stays below the lowest failure.
        self.assertEqual(rows[0]["rate"], "0", msg)
        closed = float(rows[0]["req_per_s"])
        tries = [float(r["rate"]) for r in rows[1:]]
        self.assertTrue(1 <= len(tries) <= 5, msg)
        self.assertAlmostEqual(tries[0], round(closed * 0.7), delta=1, msg=msg)
        for before, t in zip(tries, tries[1:]):
            self.assertGreater(t, 0, msg)
            if t > max(tries[:tries.index(before) + 1]):  # upward: only by doubling
                self.assertEqual(t, 2 * before, msg)
        self.assertIn("max sustainable throughput (p99 <= 200000 us, no errors)", out)
        self.assertRegex(out, r"\n  1  +epoll +\d+ +\d+", msg)


class TestStudyScript(StudyCase):
    """ci/study itself, one phase at a time (STUDY_PHASES): the FTP rate
    sweep, and the phase selection's bad input."""

    def study(self, phases, *args):
        env = dict(os.environ, STUDY_PHASES=phases, OUT=os.path.join(self.tmp, "study-out"),
                   LOADGEN=LOADGEN, REFSERVER=REFSERVER)
        r = subprocess.run([os.path.join(SOURCE_DIR, "ci", "study")] + list(args), cwd=SOURCE_DIR,
                           env=env, capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout, r.stderr

    def test_ftp_phase_uploads_as_a_writer(self):
        """ftp-put STORs, which refserver allows only a --users rw login: the
        study's FTP phase must give the server a writer and log in as it
        (before, every ftp-put run of the study failed with 550)."""
        rc, out, err = self.study("4", "--models", "epoll", "--rate", "20,40",
                                  "--duration", "1", "--rounds", "1")
        self.assertEqual(rc, 0, out[-3000:] + err[-3000:])
        _, rows = read_rows(os.path.join(self.tmp, "study-out", "latest.csv"))
        rows = [r for r in rows if r["scenario"] == "ftp-put"]
        self.assertEqual(len(rows), 2, out[-3000:])
        for r in rows:  # a failed verify pass (the 550) is a row with errors >= 1
            self.assertEqual((r["errors"], r["check_failures"], r["timeouts"]), ("0", "0", "0"), r)
        # each connection's login (a password hash) comes first: a loaded
        # machine may starve one point's short window, not both
        self.assertGreater(sum(int(r["requests"]) for r in rows), 0, rows)
        self.assertNotIn("got 550", out)  # the verify failure of an anonymous STOR
        # every file the study writes has the mode cp would give a new one
        # (0666 less the umask), the dated and latest CSVs (once mktemp's 0600) too
        umask = os.umask(0)
        os.umask(umask)
        out_dir = os.path.join(self.tmp, "study-out")
        names = sorted(n for n in os.listdir(out_dir) if os.path.isfile(os.path.join(out_dir, n)))
        self.assertIn("latest.csv", names)
        self.assertIn("latest-steps.csv", names)  # the per-step rows kept too
        self.assertFalse([n for n in os.listdir(out_dir) if n.startswith(".study-")])
        for name in names:
            mode = os.stat(os.path.join(out_dir, name)).st_mode & 0o777
            self.assertEqual(oct(mode), oct(0o666 & ~umask), name)

    def test_quick_runs_its_three_points_in_rounds(self):
        """QUICK=1: http-hello at 64 and 1,024 connections, echo at 1,024,
        under their own names, round 1 at every point before round 2."""
        env = dict(os.environ, QUICK="1", ROUNDS="2", OUT=os.path.join(self.tmp, "quick-out"),
                   LOADGEN=LOADGEN, REFSERVER=REFSERVER)
        r = subprocess.run([os.path.join(SOURCE_DIR, "ci", "study"), "--models", "epoll",
                            "--duration", "0.1"], cwd=SOURCE_DIR, env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        _, rows = read_rows(os.path.join(self.tmp, "quick-out", "latest.csv"))
        points = [("http-hello", "64"), ("http-hello", "1024"), ("echo", "1024")]
        # epoll and its A/A twin at each point, a round at a time
        want = [(k, s, c) for k in ("1", "2") for (s, c) in points for _ in range(2)]
        self.assertEqual([(x["round"], x["scenario"], x["connections"]) for x in rows], want)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "quick-out",
                                                    "latest-verdicts.csv")))

    def test_bad_phase_numbers(self):
        for bad in ("5", "0", "x", "4 x", "-1"):
            with self.subTest(phases=bad):
                rc, out, err = self.study(bad)
                self.assertEqual(rc, 2, out + err)
                self.assertIn("STUDY_PHASES", err)
                self.assertNotIn("== study phase", out)


if __name__ == "__main__":
    unittest.main()
