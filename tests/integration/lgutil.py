"""lgutil.py - what the loadgen integration tests share (stdlib only).

    CSV_COLUMNS                     DESIGN.md section 7's columns, in order
    read_rows(path) -> (header, rows as dicts)
    make_fixtures(prefix) -> (tmp dir, fixture tree made by `loadgen fixtures`)
"""
import csv
import os
import subprocess
import tempfile

from serverutil import LOADGEN

CSV_COLUMNS = [
    "started_at", "git_rev", "host", "model", "protocol", "scenario", "engine", "threads",
    "connections", "rate", "duration_s", "requests", "errors", "check_failures", "timeouts",
    "bytes", "req_per_s", "mb_per_s", "lat_min_us", "lat_mean_us", "lat_p50_us", "lat_p90_us",
    "lat_p99_us", "lat_p999_us", "lat_max_us", "server_cpu_s", "server_rss_kb", "loadgen_cpu_s",
    "unanswered", "starved_connections", "server_pss_kb", "loadgen_bound", "server_cpus",
    "loadgen_cpus",
]


def read_rows(path):
    """The header and the rows (as dicts) of a loadgen CSV file."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


def make_fixtures(prefix, timeout=120):
    """A new temp dir holding `loadgen fixtures` output: (tmp, fixtures).
    The caller removes tmp."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    fixtures = os.path.join(tmp, "fixtures")
    out = subprocess.run([LOADGEN, "fixtures", fixtures], capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("loadgen fixtures failed: %s" % out.stderr.decode())
    return tmp, fixtures
