"""lgutil.py - what the loadgen integration tests share (stdlib only).

    CSV_COLUMNS                     DESIGN.md section 7's columns, in order
    SCENARIOS                       the shipped scenarios/ directory
    read_rows(path) -> (header, rows as dicts)
    make_fixtures(path) -> path     the tree `loadgen fixtures` makes, at path
    flip_bit(path, offset, mask=1)  replace a file by a copy with one bit changed
    LoadgenRuns                     unittest.TestCase mixin: fixtures for the
                                    class, `loadgen run` to its end or in the
                                    background, the checks of a clean run
"""
import csv
import os
import subprocess
import threading

from serverutil import LOADGEN_CMD, SOURCE_DIR, class_temp_dir, scaled

CSV_COLUMNS = [
    "started_at", "git_rev", "host", "model", "protocol", "scenario", "engine", "threads",
    "connections", "rate", "duration_s", "requests", "errors", "check_failures", "timeouts",
    "bytes", "req_per_s", "mb_per_s", "lat_min_us", "lat_mean_us", "lat_p50_us", "lat_p90_us",
    "lat_p99_us", "lat_p999_us", "lat_max_us", "server_cpu_s", "server_rss_kb", "loadgen_cpu_s",
    "unanswered", "starved_connections", "server_pss_kb", "loadgen_bound", "server_cpus",
    "loadgen_cpus", "refused",
    "server_accounting", "server_cpuset_busy_s", "round", "aa_twin",
]

SCENARIOS = os.path.join(SOURCE_DIR, "scenarios")


def read_rows(path):
    """The header and the rows (as dicts) of a loadgen CSV file."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


def make_fixtures(path, timeout=120):
    """Runs `loadgen fixtures path`; returns path."""
    out = subprocess.run(LOADGEN_CMD + ["fixtures", path], capture_output=True,
                         timeout=scaled(timeout))
    if out.returncode != 0:
        raise RuntimeError("loadgen fixtures %s failed: %s" % (path, out.stderr.decode()))
    return path


def flip_bit(path, offset, mask=0x01):
    """Replaces the file at path (atomically: a server reading it sees the old
    or the new bytes) by a copy whose byte at offset is XORed with mask."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[offset] ^= mask
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class LoadgenRuns:
    """Mixin for a unittest.TestCase whose tests run `loadgen run`.

    setUpClass makes cls.tmp (a temp dir removed after the class) and
    cls.fixtures in it. A target is anything with .host and .port: a RefServer,
    an NginxPeer, a VsftpdPeer, or a types.SimpleNamespace for a closed port.
    """
    TMP_PREFIX = "lg-test-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = class_temp_dir(cls, cls.TMP_PREFIX)
        cls.fixtures = make_fixtures(os.path.join(cls.tmp, "fixtures"))

    def _fresh_csv(self, name):
        path = os.path.join(self.tmp, name + ".csv")
        if os.path.exists(path):
            os.unlink(path)
        return path

    def run_command(self, scenario, target, csv_path, args, fixtures=None):
        """The `loadgen run` command line against target, writing csv_path."""
        return LOADGEN_CMD + ["run", scenario, "--target", "%s:%d" % (target.host, target.port),
                              "--fixtures", fixtures or self.fixtures,
                              "--csv", csv_path] + list(args)

    def _rows(self, csv_path):
        header, rows = read_rows(csv_path)
        self.assertEqual(header, CSV_COLUMNS)
        return rows

    def loadgen(self, scenario, target, *args, fixtures=None, timeout=120):
        """Runs `loadgen run` to its end: (exit status, stdout, stderr, CSV rows);
        no rows when it wrote no CSV file."""
        csv_path = self._fresh_csv("run-%d" % threading.get_ident())
        out = subprocess.run(self.run_command(scenario, target, csv_path, args, fixtures),
                             capture_output=True, timeout=scaled(timeout))
        rows = self._rows(csv_path) if os.path.exists(csv_path) else []
        return out.returncode, out.stdout.decode(), out.stderr.decode(), rows

    def start_with_progress(self, scenario, target, *args, fixtures=None):
        """Starts `loadgen run --progress`; returns (process, CSV path) once the
        timed run is under way: its first progress line, a second in, appeared."""
        csv_path = self._fresh_csv("progress-" + self.id().rsplit(".", 1)[-1])
        cmd = self.run_command(scenario, target, csv_path, list(args) + ["--progress"], fixtures)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        first = proc.stderr.readline()  # blocks until the run has lasted a second
        if not first.startswith(b"["):
            proc.kill()
            self.fail("loadgen printed no progress line: %r" % (first + proc.stderr.read()))
        return proc, csv_path

    def finish(self, proc, csv_path, timeout=60):
        """Waits for a start_with_progress() run: (exit status, stdout, stderr, its row)."""
        out, err = proc.communicate(timeout=scaled(timeout))
        rows = self._rows(csv_path)
        self.assertEqual(len(rows), 1, out + err)
        return proc.returncode, out.decode(), err.decode(), rows[0]

    def assert_clean_run(self, rc, out, err, rows, engine=None, protocol=None, received=True):
        """A run that succeeded: exit 0, one row, requests and no failure of any
        kind, ordered percentiles, loadgen CPU time spent and no more than its
        threads could spend. received=False: the run only sent (uploads).
        Returns the row."""
        msg = "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        self.assertEqual(rc, 0, msg)
        self.assertEqual(len(rows), 1, msg)
        row = rows[0]
        if engine:
            self.assertEqual(row["engine"], engine, msg)
        if protocol:
            self.assertEqual(row["protocol"], protocol, msg)
        self.assertGreater(int(row["requests"]), 0, msg)
        for col in ("errors", "check_failures", "timeouts", "refused"):
            self.assertEqual(int(row[col]), 0, "%s\n%s" % (col, msg))
        if received:
            self.assertGreater(int(row["bytes"]), 0, msg)
        self.assertGreater(float(row["req_per_s"]), 0, msg)
        self.assertGreater(int(row["lat_min_us"]), 0, msg)
        self.assertGreaterEqual(int(row["lat_p99_us"]), int(row["lat_p50_us"]), msg)
        self.assertGreaterEqual(int(row["lat_max_us"]), int(row["lat_p99_us"]), msg)
        # CPU time of the timed run: some was spent, and no more than the
        # worker threads (and the main one) could spend in its wall time.
        cpu, wall = float(row["loadgen_cpu_s"]), float(row["duration_s"])
        self.assertGreater(cpu, 0, msg)
        self.assertLessEqual(cpu, (int(row["threads"]) + 1) * wall + 0.25, msg)
        return row
