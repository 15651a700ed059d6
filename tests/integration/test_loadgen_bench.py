"""Integration tests of `loadgen bench`, `loadgen compare` and `ci/plot`.

TestAccounting: the server's CPU and memory from its cgroup over the measured
window, its CPUs' busy time, the /proc fallback, no cgroup left behind.

bench runs two real models (epoll, thread) over http-hello and echo for 1 s
each and must leave a row per (model, scenario) with the server's CPU and
RSS, and no server process behind. A fake server (a Python script given as
--server) offers models that crash at start, ignore SIGTERM, or leave a
process behind: each is a failed row, the bench goes on to a good model and
exits 1. compare must flag a 50 % drop in req/s and pass identical files;
ci/plot must write SVG files.
"""
import csv
import glob
import os
import shutil
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import CSV_COLUMNS, SCENARIOS, make_fixtures, read_rows  # noqa: E402
from serverutil import LOADGEN, REFSERVER, SOURCE_DIR, alive, class_temp_dir  # noqa: E402

PLOT = os.path.join(SOURCE_DIR, "ci", "plot")

# The fake server: `--list-models` offers crash, hang, orphan and good.
#   crash   writes a line on stderr and exits 3 before listening
#   hang    runs the real epoll model as a child, but ignores SIGTERM itself
#   orphan  starts a `sleep` child, then becomes the real epoll model: it
#           exits 0 on SIGTERM and leaves the sleep behind in its group
#   good    the real epoll model
FAKE_SERVER = r'''#!/usr/bin/env python3
import os, signal, subprocess, sys
REAL = os.environ["FAKE_REAL_SERVER"]
args = sys.argv[1:]
if args == ["--list-models"]:
    for m in ("crash", "hang", "orphan", "good"):
        print(m + "  fake")
    sys.exit(0)
i = args.index("--model") + 1
model, args[i] = args[i], "epoll"
if model == "crash":
    sys.stderr.write("fake: crashing on purpose\n")
    sys.exit(3)
if model == "hang":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([REAL] + args)
    while True:
        child.wait()
if model == "orphan":
    subprocess.Popen(["sleep", "60"])
os.execv(REAL, [REAL] + args)
'''


def processes_mentioning(text):
    """pids whose command line contains text (our fixtures path is unique)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd and alive(int(name)):
            found.append((int(name), cmd))
    return found


class BenchCase(unittest.TestCase):
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "lg-bench-test-")
        cls.fixtures = make_fixtures(os.path.join(cls.tmp, "fixtures"))

    def bench(self, *args, server=REFSERVER, env=None, timeout=120):
        cmd = [LOADGEN, "bench", "--server", server, "--fixtures", self.fixtures] + list(args)
        out = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=self.tmp,
                             env=env)
        return out.returncode, out.stdout.decode(), out.stderr.decode()

    def assert_no_server_left(self):
        left = processes_mentioning(self.fixtures)
        for pid, _ in left:  # do not disturb the other tests, then fail
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        self.assertEqual(left, [])


class TestBench(BenchCase):
    def test_two_models_two_scenarios(self):
        out_dir = os.path.join(self.tmp, "results")
        scen = ",".join(os.path.join(SCENARIOS, s) for s in ("http-hello.ini", "echo.ini"))
        rc, out, err = self.bench("--models", "epoll,thread", "--scenarios", scen,
                                  "--duration", "1", "--out-dir", out_dir)
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        self.assertEqual(rc, 0, msg)
        self.assert_no_server_left()
        latest = os.path.join(out_dir, "latest.csv")
        dated = [p for p in glob.glob(os.path.join(out_dir, "*.csv"))
                 if p != latest and not p.endswith(("-steps.csv", "-verdicts.csv"))]
        # one round: the verdicts file has its rows, "too few rounds" each
        with open(os.path.join(out_dir, "latest-verdicts.csv")) as f:
            self.assertTrue(f.readline().startswith("scenario,connections,rate,metric,"))
        self.assertIn("1 round a point: too few for intervals", out)
        self.assertEqual(len(dated), 1, os.listdir(out_dir))
        # the per-step rows beside them: one a step (both scenarios have one
        # step) and one a connect, for each of the 4 runs, in both files
        steps = dated[0][:-4] + "-steps.csv"
        for path in (steps, os.path.join(out_dir, "latest-steps.csv")):
            with open(path, newline="") as f:
                srows = list(csv.DictReader(f))
            self.assertEqual(sorted((r["model"], r["scenario"], r["kind"], r["step"])
                                    for r in srows),
                             sorted((m, s, k, n) for m in ("epoll", "thread")
                                    for s, step in (("echo", "line"), ("http-hello", "index"))
                                    for k, n in (("step", step), ("setup", "connect"))), path)
        self.assertRegex(os.path.basename(dated[0]), r"^\d{4}-\d{2}-\d{2}-[^/]+\.csv$")
        header, rows = read_rows(latest)
        self.assertEqual(header, CSV_COLUMNS)
        self.assertEqual(read_rows(dated[0]), (header, rows))
        keys = sorted((r["model"], r["scenario"]) for r in rows)
        self.assertEqual(keys, [("epoll", "echo"), ("epoll", "http-hello"),
                                ("thread", "echo"), ("thread", "http-hello")], msg)
        for r in rows:
            with self.subTest(model=r["model"], scenario=r["scenario"]):
                self.assertGreater(int(r["requests"]), 0, msg)
                self.assertEqual(int(r["errors"]) + int(r["check_failures"])
                                 + int(r["timeouts"]), 0, msg)
                self.assertGreater(float(r["server_cpu_s"]), 0, msg)
                self.assertGreater(int(r["server_rss_kb"]), 0, msg)
                self.assertGreater(float(r["loadgen_cpu_s"]), 0, msg)
        # The ranked table: one per scenario, every model in it.
        for scenario in ("http-hello", "echo"):
            self.assertRegex(out, r"\n%s \(" % scenario)
        self.assertRegex(out, r"\n  1  +(epoll|thread) +\d+")
        self.assertRegex(out, r"\n  2  +(epoll|thread) +\d+")

    def test_failed_models_are_recorded_and_the_bench_goes_on(self):
        fake = os.path.join(self.tmp, "fake-server")
        with open(fake, "w") as f:
            f.write(FAKE_SERVER)
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR)
        csv_path = os.path.join(self.tmp, "fake.csv")
        env = dict(os.environ, FAKE_REAL_SERVER=REFSERVER)
        rc, out, err = self.bench("--models", "crash,hang,orphan,good", "--scenarios",
                                  os.path.join(SCENARIOS, "http-hello.ini"), "--duration", "1",
                                  "--connections", "8", "--stop-timeout", "2",
                                  "--csv", csv_path, server=fake, env=env)
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        self.assertEqual(rc, 1, msg)
        self.assert_no_server_left()
        header, rows = read_rows(csv_path)
        self.assertEqual(header, CSV_COLUMNS)
        by_model = {r["model"]: r for r in rows}
        self.assertEqual(sorted(by_model), ["crash", "good", "hang", "orphan"], msg)
        for model in ("crash", "hang", "orphan"):
            with self.subTest(model=model):
                self.assertEqual(int(by_model[model]["requests"]), 0, msg)
                self.assertGreaterEqual(int(by_model[model]["errors"]), 1, msg)
        self.assertGreater(int(by_model["good"]["requests"]), 0, msg)
        self.assertEqual(int(by_model["good"]["errors"]), 0, msg)
        # The reasons, in the table.
        self.assertRegex(out, r"crash +FAILED: exited before listening: exit status 3: "
                              r"fake: crashing on purpose")
        self.assertRegex(out, r"hang +FAILED: did not exit within 2 s of SIGTERM")
        self.assertRegex(out, r"orphan +FAILED: left processes behind")
        self.assertRegex(out, r"\n  1  +good +\d+")

    def test_usage_errors(self):
        for args in (["--models", "nosuchmodel"], ["--duration", "0"], ["--repeat", "x"],
                     ["--scenarios", os.path.join(self.tmp, "missing.ini")], ["--bogus", "1"]):
            with self.subTest(args=args):
                rc, out, err = self.bench(*args, timeout=30)
                self.assertEqual(rc, 2, out + err)
                self.assertIn("loadgen bench", err)


# ---- the server's accounting (issue 16) ----

def cgroup_mounts(controller=None):
    """Mount points of every cgroup hierarchy (or of the v1 one holding
    controller), from /proc/self/mountinfo."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields, kind = pre.split(), post.split()
            if len(fields) < 5 or not kind or kind[0] not in ("cgroup", "cgroup2"):
                continue
            if controller is None or (kind[0] == "cgroup" and len(kind) >= 3
                                      and controller in kind[2].split(",")):
                found.append(fields[4])
    return found


def cgroups_of(pid):
    """Groups named loadgen-PID-N anywhere in the first 4 levels of every
    cgroup hierarchy: a bench's groups, which must be gone once it ended."""
    left = []
    for top in cgroup_mounts():
        base = top.rstrip("/").count("/")
        for dirpath, dirnames, _ in os.walk(top):
            left += [os.path.join(dirpath, d) for d in dirnames
                     if d.startswith("loadgen-%d-" % pid)]
            if dirpath.count("/") - base >= 3:
                dirnames[:] = []
    return left


def cgroups_writable():
    """A root process here can make groups (this machine: cgroup v1
    controllers, and cgroup v2 at /sys/fs/cgroup/unified); a stock non-root
    user cannot."""
    if os.geteuid() != 0:
        return False
    return any(os.access(m, os.W_OK) for m in cgroup_mounts())


def cpu_busy_ticks(cpu):
    """user + nice + system + irq + softirq of one CPU from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            fields = line.split()
            if fields[0] == "cpu%d" % cpu:
                v = [int(x) for x in fields[1:8]]
                return v[0] + v[1] + v[2] + v[5] + v[6]
    raise AssertionError("no cpu%d line in /proc/stat" % cpu)


def others_share(cpu, seconds=0.5):
    """How busy cpu is with other work while we do nothing on it (0..1)."""
    hz = os.sysconf("SC_CLK_TCK")
    b0 = cpu_busy_ticks(cpu)
    time.sleep(seconds)
    return (cpu_busy_ticks(cpu) - b0) / hz / seconds


class OthersOnCpu:
    """The time other tasks ran on cpu while a command of ours ran: with a
    cgroup v1 cpuacct hierarchy (root), the command runs in a group of its
    own, and the others' time is the hierarchy root's per-CPU usage less
    that group's; else the larger of two probes, before and after."""

    def __init__(self, cpu):
        self.cpu, self.group, self.root = cpu, None, None
        for m in cgroup_mounts("cpuacct"):
            if os.geteuid() == 0 and os.path.exists(os.path.join(m, "cpuacct.usage_percpu")):
                self.root = m
                self.group = os.path.join(m, "lg-test-others-%d" % os.getpid())
                try:
                    os.mkdir(self.group)
                except OSError:
                    self.group = None
                break

    def usage(self, path):
        with open(os.path.join(path, "cpuacct.usage_percpu")) as f:
            return int(f.read().split()[self.cpu]) / 1e9

    def prefix(self):
        """What runs the command in the group (a shell that joins, then execs)."""
        if not self.group:
            return []
        return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', self.group]

    def __enter__(self):
        if self.group:
            self.r0, self.g0 = self.usage(self.root), self.usage(self.group)
        else:
            self.before = others_share(self.cpu)
        return self

    def __exit__(self, *exc):
        if self.group:
            self.seconds = (self.usage(self.root) - self.r0) - (self.usage(self.group) - self.g0)
            try:
                os.rmdir(self.group)
            except OSError:  # a group the bench left inside: that test fails on its own
                pass
        else:
            self.seconds = max(self.before, others_share(self.cpu))  # a share, as good as seconds
        return False


@unittest.skipIf(len(os.sched_getaffinity(0)) < 2, "pinning needs 2 CPUs")
class TestAccounting(BenchCase):
    """The server's CPU and memory from the kernel's accounting of its cgroup
    over the measured window; its CPUs' busy time beside it; /proc when no
    cgroup can be made; nothing left behind.

    Bounds, from runs on this 2-core machine (echo, 256 connections, 1 s,
    server on the first CPU, loadgen on the second), while other builds and
    tests ran: fork's CPU per request was 2.5-4.7 times epoll's in the same
    bench call (the bug this replaces reported fork at 0.2 of epoll's: 0.9 us
    a line), so 1.0 leaves a margin either way. fork's CPU was 0.95-0.99 of its
    CPU's busy time when that CPU was otherwise quiet, 0.14-0.24 when other
    builds ran there (their time is busy time too): that bound (0.6, the
    issue's) is checked only when other tasks ran less than 0.1 s on that CPU
    over the whole bench call (cpuacct: the hierarchy's root less the bench's
    own group), so at most a tenth of fork's window was someone else's."""

    def run_bench(self, *args, env=None, prefix=()):
        cmd = list(prefix) + [LOADGEN, "bench", "--server", REFSERVER, "--fixtures",
                              self.fixtures] + list(args)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=self.tmp, env=env)
        out, err = proc.communicate(timeout=120)
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, out.decode(),
                                                     err.decode())
        self.assertEqual(cgroups_of(proc.pid), [], msg)  # no group left behind
        self.assert_no_server_left()
        return proc.returncode, out.decode(), err.decode(), msg

    def assert_ran(self, rc, rows, msg):
        """Exit 0, or 1 only for connections a slow build (sanitizers) left
        unserved at 256 connections: no error, no check failure."""
        self.assertIn(rc, (0, 1), msg)
        for r in rows:
            self.assertGreater(int(r["requests"]), 0, msg)
            self.assertEqual(int(r["errors"]) + int(r["check_failures"]) + int(r["timeouts"]), 0,
                             msg)
        if rc == 1:
            self.assertTrue(any(int(r["unanswered"]) + int(r["starved_connections"]) for r in rows),
                            msg)

    def pinned(self):
        cpus = sorted(os.sched_getaffinity(0))
        return cpus[0], "%d:%d" % (cpus[0], cpus[1])

    def test_fork_and_epoll_from_the_kernels_accounting(self):
        server_cpu, pair = self.pinned()
        csv_path = os.path.join(self.tmp, "acct.csv")
        with OthersOnCpu(server_cpu) as others:
            rc, out, err, msg = self.run_bench(
                "--models", "fork,epoll", "--scenarios", os.path.join(SCENARIOS, "echo.ini"),
                "--connections", "256", "--duration", "1", "--cpus", pair, "--csv", csv_path,
                prefix=others.prefix())
        header, rows = read_rows(csv_path)
        self.assert_ran(rc, rows, msg)
        self.assertEqual(header, CSV_COLUMNS)
        by_model = {r["model"]: r for r in rows}
        self.assertEqual(sorted(by_model), ["epoll", "fork"], msg)
        for r in rows:
            with self.subTest(model=r["model"]):
                if cgroups_writable():
                    self.assertIn(r["server_accounting"], ("cgroup1", "cgroup2"), msg)
                else:
                    self.assertIn(r["server_accounting"].split("/")[0],
                                  ("cgroup1", "cgroup2", "proc"), msg)
                self.assertGreater(float(r["server_cpu_s"]), 0, msg)
                self.assertGreater(float(r["server_cpuset_busy_s"]), 0, msg)
                self.assertGreater(int(r["server_rss_kb"]), 0, msg)
                self.assertGreater(int(r["server_pss_kb"]), 0, msg)
        per_req = {m: float(r["server_cpu_s"]) / int(r["requests"]) for m, r in by_model.items()}
        self.assertGreaterEqual(per_req["fork"], 1.0 * per_req["epoll"],
                                "fork's CPU per request below epoll's: its exited or exiting "
                                "processes are missed\n" + msg)
        fork = by_model["fork"]
        ratio = float(fork["server_cpu_s"]) / float(fork["server_cpuset_busy_s"])
        with self.subTest("fork's CPU over its CPU's busy time", ratio=ratio):
            if others.seconds > 0.1:
                self.skipTest("other work ran on CPU %d (%.2f s): the ratio (%.2f) cannot be judged"
                              % (server_cpu, others.seconds, ratio))
            self.assertGreater(ratio, 0.6, msg)

    def test_no_cgroup_when_switched_off(self):
        _, pair = self.pinned()
        csv_path = os.path.join(self.tmp, "proc.csv")
        env = dict(os.environ, LOADGEN_NO_CGROUP="1")
        rc, out, err, msg = self.run_bench(
            "--models", "epoll", "--scenarios", os.path.join(SCENARIOS, "echo.ini"),
            "--connections", "16", "--duration", "0.5", "--cpus", pair, "--csv", csv_path,
            env=env)
        self.assertEqual(rc, 0, msg)
        _, rows = read_rows(csv_path)
        self.assertEqual([r["server_accounting"] for r in rows], ["proc"], msg)
        self.assertGreater(float(rows[0]["server_cpu_s"]), 0, msg)
        self.assertGreater(int(rows[0]["server_rss_kb"]), 0, msg)
        notes = [line for line in err.splitlines() if "LOADGEN_NO_CGROUP" in line]
        self.assertEqual(len(notes), 1, msg)

    def bench_read_only(self, mounts, csv_path, *args):
        """loadgen bench in a mount namespace of its own where mounts are
        read-only: (exit status, stdout, stderr, msg)."""
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.skipTest("needs root and unshare")
        probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("no mount namespace here: " + probe.stderr.decode())
        _, pair = self.pinned()
        remount = "; ".join("mount -o remount,bind,ro %s" % m for m in mounts)
        script = "%s && exec \"$@\"" % (remount or "true")
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
               LOADGEN, "bench", "--server", REFSERVER, "--fixtures", self.fixtures,
               "--scenarios", os.path.join(SCENARIOS, "echo.ini"), "--cpus", pair,
               "--csv", csv_path] + list(args)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.tmp)
        out, err = proc.communicate(timeout=120)
        out, err = out.decode(), err.decode()
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, out, err)
        self.assertEqual(cgroups_of(proc.pid), [], msg)
        self.assert_no_server_left()
        return proc.returncode, out, err, msg

    def test_a_cgroup_that_cannot_be_made_is_a_note(self):
        """Every cgroup hierarchy read-only (in a mount namespace of the
        bench's own): one line says so, /proc accounts, the run is clean."""
        csv_path = os.path.join(self.tmp, "ro.csv")
        rc, out, err, msg = self.bench_read_only(cgroup_mounts(), csv_path, "--models",
                                                 "epoll,fork", "--connections", "256",
                                                 "--duration", "1")
        _, rows = read_rows(csv_path)
        self.assert_ran(rc, rows, msg)
        self.assertEqual([r["server_accounting"] for r in rows], ["proc", "proc"], msg)
        for r in rows:
            self.assertGreater(float(r["server_cpu_s"]), 0, msg)
        # /proc counts fork's 256 small children too (in ns, not in 10 ms ticks
        # rounded down per process, which lost most of them)
        per_req = {r["model"]: float(r["server_cpu_s"]) / int(r["requests"]) for r in rows}
        self.assertGreaterEqual(per_req["fork"], 1.0 * per_req["epoll"], msg)
        notes = [line for line in err.splitlines() if "cgroup" in line]
        self.assertEqual(len(notes), 1, msg)  # once a bench, one line
        self.assertIn("no cgroup for the server", notes[0], msg)
        self.assertIn("from /proc", notes[0], msg)

    def test_memory_from_proc_when_no_memory_group_can_be_made(self):
        """Only the memory hierarchies read-only: CPU from a cgroup, memory
        from /proc, the row says both (cgroupN/proc), one note says why."""
        memory = cgroup_mounts("memory")
        if not memory or not cgroups_writable():
            self.skipTest("no cgroup v1 memory hierarchy, or no cgroups to make here")
        csv_path = os.path.join(self.tmp, "ro-mem.csv")
        rc, out, err, msg = self.bench_read_only(memory, csv_path, "--models", "epoll",
                                                 "--connections", "16", "--duration", "0.5")
        _, rows = read_rows(csv_path)
        self.assert_ran(rc, rows, msg)
        self.assertIn(rows[0]["server_accounting"], ("cgroup1/proc", "cgroup2/proc"), msg)
        self.assertGreater(int(rows[0]["server_rss_kb"]), 0, msg)
        notes = [line for line in err.splitlines() if "cgroup" in line]
        self.assertEqual(len(notes), 1, msg)
        self.assertIn("the server's memory from /proc", notes[0], msg)


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([r.get(c, "") for c in CSV_COLUMNS])


def sample_row(model, scenario, rps, connections=64):
    return {
        "started_at": "2024-01-01T00:00:00Z", "git_rev": "abc1234", "host": "h",
        "model": model, "protocol": "http", "scenario": scenario, "engine": "raw",
        "threads": 2, "connections": connections, "rate": 0, "duration_s": "1.000",
        "requests": int(rps), "errors": 0, "check_failures": 0, "timeouts": 0,
        "bytes": int(rps) * 300, "req_per_s": "%.2f" % rps, "mb_per_s": "%.2f" % (rps * 3e-4),
        "lat_min_us": 20, "lat_mean_us": 500, "lat_p50_us": 400, "lat_p90_us": 900,
        "lat_p99_us": 2000, "lat_p999_us": 5000, "lat_max_us": 9000,
        "server_cpu_s": "%.3f" % (rps * 1e-5), "server_rss_kb": 2600, "loadgen_cpu_s": "0.5",
    }


class TestCompare(BenchCase):
    def compare(self, a, b, *args):
        out = subprocess.run([LOADGEN, "compare", a, b] + list(args), capture_output=True,
                             timeout=30)
        return out.returncode, out.stdout.decode(), out.stderr.decode()

    def test_lower_throughput_is_a_regression_identical_is_not(self):
        a = os.path.join(self.tmp, "a.csv")
        b = os.path.join(self.tmp, "b.csv")
        write_csv(a, [sample_row("epoll", "http-hello", 40000),
                      sample_row("thread", "http-hello", 30000)])
        write_csv(b, [sample_row("epoll", "http-hello", 20000),
                      sample_row("thread", "http-hello", 30000)])
        rc, out, err = self.compare(a, a)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("no regression", out)
        rc, out, err = self.compare(a, b)
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"http-hello +epoll +64c +req/s +40000 +20000 +-50\.0% +REGRESSION")

    def test_bad_header_is_usage_error_with_file_and_line(self):
        bad = os.path.join(self.tmp, "bad.csv")
        with open(bad, "w") as f:
            f.write("started_at,git_rev,HOST\n")
        rc, out, err = self.compare(bad, bad)
        self.assertEqual(rc, 2, out + err)
        self.assertIn(bad + ":1:", err)


class TestPlot(BenchCase):
    def test_plot_writes_svg_files(self):
        src = os.path.join(self.tmp, "plot.csv")
        rows = []
        for model, rps in (("epoll", 40000), ("thread", 30000)):
            for conn in (16, 64):
                rows.append(sample_row(model, "http-hello", rps * conn / 64, conn))
            rows.append(sample_row(model, "echo", rps * 2))
        write_csv(src, rows)
        out_dir = os.path.join(self.tmp, "plots")
        out = subprocess.run([sys.executable, PLOT, src, out_dir], capture_output=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        listed = out.stdout.decode().split()
        self.assertTrue(listed)
        names = sorted(os.path.basename(p) for p in listed)
        self.assertIn("throughput-http-hello.svg", names)
        self.assertIn("latency-echo.svg", names)
        self.assertIn("connections-http-hello.svg", names)  # 16 and 64 connections
        self.assertNotIn("connections-echo.svg", names)     # one value only
        for p in listed:
            with open(p) as f:
                text = f.read()
            self.assertIn("<svg", text, p)
            self.assertIn("epoll", text, p)


if __name__ == "__main__":
    unittest.main()
