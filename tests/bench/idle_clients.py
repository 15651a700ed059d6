#!/usr/bin/env python3
"""Idle keep-alive clients against one refserver model (a benchmark, not a test).

Opens N clients one after the other, each sending one GET over keep-alive
and reading its answer, then keeps them all open and idle, and measures:
  open        the time to open all N (a scheduler that looks at every
              waiting client per wake-up makes this O(N^2))
  fresh       the latency of a fresh client's GET afterwards (median of 21)
  server CPU  user+system time the server spent while they were opened
              (steadier than the wall clock on a shared machine)
  pss         the server's proportional set size per idle client
              (/proc/PID/smaps_rollup, after minus before)

  tests/bench/idle_clients.py --refserver build/servers/refserver \\
      --model coroutine --clients 10k

Raises RLIMIT_NOFILE to its hard limit for itself and the server. Wall-clock
figures are only as steady as the machine is idle.
"""
import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BODY = b"hello, idle world\n"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def count(text):
    text = text.lower()
    mult = {"k": 1000, "m": 1000000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * mult)


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """utime + stime of pid, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(args, root):
    cmd = [args.refserver, "--model", args.model, "--proto", "http", "--listen",
           "127.0.0.1:0", "--root", root, "--idle-timeout", "0", "--quiet",
           # the default reserves 2 descriptors a client (FTP's data channel)
           "--max-conn", str(count(args.clients) + 32)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, preexec_fn=raise_nofile)
    line = proc.stdout.readline().decode()
    if not line.startswith("listening on "):
        proc.kill()
        sys.exit("refserver did not start: %r" % line)
    host, port = line.split()[-1].rsplit(":", 1)
    return proc, (host, int(port))


def get(sock):
    """One GET /hello.txt over keep-alive; the whole answer is read."""
    sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("server closed the connection")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(4096)
    if not head.startswith(b"HTTP/1.1 200") or body != BODY:
        raise RuntimeError("unexpected answer: %r" % head[:80])


def fresh_latency_ms(addr, rounds=21):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        with socket.create_connection(addr) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            get(s)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refserver", required=True)
    ap.add_argument("--model", default="coroutine")
    ap.add_argument("--clients", default="10k", help="how many (10k, 10000)")
    args = ap.parse_args()
    n = count(args.clients)
    if raise_nofile() < n + 100:
        sys.exit("RLIMIT_NOFILE hard limit too low for %d clients" % n)
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "hello.txt"), "wb") as f:
            f.write(BODY)
        proc, addr = start_server(args, root)
        try:
            before_ms = fresh_latency_ms(addr)
            pss0 = pss_kib(proc.pid)
            clients = []
            cpu0 = cpu_s(proc.pid)
            t0 = time.perf_counter()
            for _ in range(n):
                s = socket.create_connection(addr)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                get(s)
                clients.append(s)
            open_s = time.perf_counter() - t0
            open_cpu = cpu_s(proc.pid) - cpu0
            after_ms = fresh_latency_ms(addr)
            pss1 = pss_kib(proc.pid)
            print("%s: %d idle clients opened in %.2f s (server CPU %.2f s); fresh request "
                  "%.3f ms before, %.3f ms with them (median of 21); PSS %.1f KiB per idle "
                  "client" % (args.model, n, open_s, open_cpu, before_ms, after_ms,
                              (pss1 - pss0) / n))
            for s in clients:
                s.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
