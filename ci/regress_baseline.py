"""regress_baseline.py: the baseline file of ci/regress (results/baseline-regress.csv):
its columns, reading it (a malformed file is BadBaseline), writing it, and the
comparison of a run with it. Imported by ci/regress only."""
import csv
import os


def log(msg=""):
    print(msg, flush=True)


COLUMNS = ["model", "protocol", "scenario", "requests", "server_ir_per_req",
           "loadgen_ir_per_req", "pinned_req_per_s", "pinned_cpu_us_per_req",
           "pinned_req_per_s_vs_epoll", "pinned_cpu_per_req_vs_epoll"]
GATED = ["server_ir_per_req", "loadgen_ir_per_req"]


class BadBaseline(Exception):
    """The baseline file cannot be used (reported with exit status 2)."""


def read_baseline(path):
    """{(model, scenario): row} of the baseline. Raises BadBaseline."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in ("model", "scenario") + tuple(GATED) if c not in header]
            if missing:
                raise BadBaseline("%s: line 1: not a regress baseline (missing column%s %s)"
                                  % (path, "s" if len(missing) > 1 else "", ", ".join(missing)))
            rows = {}
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise BadBaseline("%s: line %d: %d fields, the header has %d"
                                      % (path, line, len([v for v in row.values() if v is not None])
                                         + len(row.get(None) or []), len(header)))
                if not row["model"] or not row["scenario"]:
                    raise BadBaseline("%s: line %d: empty model or scenario" % (path, line))
                for col in GATED:
                    if row[col] and not is_number(row[col]):
                        raise BadBaseline("%s: line %d: %s is %r, not a number"
                                          % (path, line, col, row[col]))
                key = (row["model"], row["scenario"])
                if key in rows:
                    raise BadBaseline("%s: line %d: a second row for %s / %s"
                                      % (path, line, key[0], key[1]))
                rows[key] = row
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise BadBaseline("%s: cannot read: %s" % (path, e)) from None


def is_number(s):
    try:
        return float(s) >= 0
    except ValueError:
        return False


def write_baseline(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({c: row.get(c, "") for c in COLUMNS})
    os.replace(tmp, path)


# --- the run -------------------------------------------------------------------


def compare(rows, baseline, built, threshold, path):
    """Prints what moved; returns the list of regressions."""
    regressions, table, new = [], [], []
    for row in rows:
        key = (row["model"], row["scenario"])
        base = baseline.get(key)
        for col in GATED:
            now = row.get(col, "")
            if now == "":
                continue
            if base is None or base.get(col, "") == "":
                new.append("%s / %s (%s)" % (key[0], key[1], col))
                continue
            b, n = float(base[col]), float(now)
            change = (n - b) / b * 100 if b else float("inf")
            verdict = ""
            if change > threshold:
                verdict = "REGRESSION"
                regressions.append("%s / %s: %s %.1f -> %.1f (%+.2f %%)"
                                   % (key[0], key[1], col, b, n, change))
            elif change < -threshold:
                verdict = "better (make regress-baseline?)"
            table.append((key[0], key[1], col.replace("_per_req", ""), b, n, change, verdict))
    log("== instructions per request vs %s (threshold %+.1f %%)" % (path, threshold))
    log("  %-11s %-11s %-10s %12s %12s %9s" % ("model", "scenario", "who", "baseline", "now",
                                               "change"))
    for m, s, who, b, n, ch, verdict in table:
        log("  %-11s %-11s %-10s %12.1f %12.1f %+8.2f%% %s" % (m, s, who, b, n, ch, verdict))
    noisy = [(r, baseline.get((r["model"], r["scenario"]))) for r in rows
             if r.get("pinned_req_per_s_vs_epoll")]
    if noisy:
        log("== pinned ratios to epoll (noisy, not gated): baseline -> now")
        for r, base in noisy:
            b = base or {}
            log("  %-11s req/s %s -> %s   cpu/req %s -> %s"
                % (r["model"], b.get("pinned_req_per_s_vs_epoll") or "-",
                   r["pinned_req_per_s_vs_epoll"], b.get("pinned_cpu_per_req_vs_epoll") or "-",
                   r["pinned_cpu_per_req_vs_epoll"]))
    for item in new:
        log("new (not in the baseline, not gated): %s" % item)
    for (model, scen) in sorted(baseline):
        if model != "loadgen" and model not in built:
            log("baseline row %s / %s: model not built here (not compared)" % (model, scen))
    return regressions
