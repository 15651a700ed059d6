#!/usr/bin/env python3
"""Server CPU per request of refserver models (a benchmark, not a test).

Each round starts refserver pinned to CPU 0 (taskset -c 0), loads it with
loadgen pinned to CPU 1 (--requests N of a scenario), and reads the server's
utime+stime from /proc/PID/stat before and after the load. Rounds alternate
between the models; the medians and their ratio to the first model print.
CPU per request is steadier than req/s on a shared machine.

  tests/bench/server_cpu.py --build build --models epoll,coroutine \\
      --scenario scenarios/http-hello.ini --requests 200k --rounds 3
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_round(args, model, root):
    server = subprocess.Popen(
        ["taskset", "-c", "0", os.path.join(args.build, "servers", "refserver"), "--model", model,
         "--proto", "http", "--listen", "127.0.0.1:0", "--root", root, "--quiet"],
        stdout=subprocess.PIPE)
    try:
        line = server.stdout.readline().decode()
        if not line.startswith("listening on "):
            sys.exit("refserver did not start: %r" % line)
        target = line.split()[-1]
        before = cpu_s(server.pid)
        load = subprocess.run(
            ["taskset", "-c", "1", os.path.join(args.build, "loadgen", "loadgen"), "run",
             args.scenario, "--target", target, "--fixtures", root, "--requests", args.requests],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        after = cpu_s(server.pid)
        if load.returncode != 0:
            sys.exit("loadgen failed:\n" + load.stdout.decode(errors="replace"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    n = float(args.requests.lower().replace("k", "e3").replace("m", "e6"))
    return (after - before) / n * 1e6  # microseconds per request


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--models", default="epoll,coroutine")
    ap.add_argument("--scenario", default="scenarios/http-hello.ini")
    ap.add_argument("--requests", default="200k")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    models = args.models.split(",")
    per = {m: [] for m in models}
    with tempfile.TemporaryDirectory() as root:
        subprocess.run([os.path.join(args.build, "loadgen", "loadgen"), "fixtures", root],
                       stdout=subprocess.DEVNULL, check=True)
        for _ in range(args.rounds):
            for m in models:
                per[m].append(one_round(args, m, root))
    base = statistics.median(per[models[0]])
    for m in models:
        med = statistics.median(per[m])
        print("%-10s %6.2f us server CPU per request (median of %d: %s), %.2fx %s"
              % (m, med, args.rounds, " ".join("%.2f" % v for v in per[m]), med / base,
                 models[0]))


if __name__ == "__main__":
    main()
