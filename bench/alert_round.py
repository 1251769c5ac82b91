#!/usr/bin/env python3
"""Cost of one `edgelog watch --once` round: 1 rule against 20 rules over the
same source and window (answered from one shared scan), whole processes,
alternating, median of N. Usage: bench/alert_round.py [DATA] [--at TIME] [-n 5]
DATA defaults to bench/data/h3-72h-30000 (bench/run.py makes it)."""
import argparse, os, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
QUERIES = [
    ("host", "avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END)", "> 0.05", "< 0.01"),
    ("host", "avg(CASE WHEN status >= 400 AND status < 500 THEN 1.0 ELSE 0.0 END)", "> 0.2", "< 0.1"),
    ("host", "avg(CASE WHEN cache_status = 'HIT' THEN 1.0 ELSE 0.0 END)", "< 0.5", "> 0.6"),
    ("host", "sum(bytes_sent) / 1e9", "> 50", "< 40"),
    ("host", "count(DISTINCT client_ip) * 1.0", "> 100000", "< 50000"),
    ("host", "avg(CASE WHEN method = 'POST' THEN 1.0 ELSE 0.0 END)", "> 0.5", "< 0.3"),
    ("host", "approx_percentile_cont(bytes_sent, 0.99)", "> 1e9", "< 1e8"),
    ("host", "avg(CASE WHEN status = 404 THEN 1.0 ELSE 0.0 END)", "> 0.3", "< 0.1"),
    ("host", "avg(CASE WHEN user_agent LIKE '%bot%' THEN 1.0 ELSE 0.0 END)", "> 0.5", "< 0.3"),
    ("host", "avg(CASE WHEN status = 503 THEN 1.0 ELSE 0.0 END)", "> 0.05", "< 0.01"),
    ("status", "count(*) * 1.0", "> 1e9", "< 1e8"),
    ("cache_status", "count(*) * 1.0", "> 1e9", "< 1e8"),
    ("method", "count(*) * 1.0", "> 1e9", "< 1e8"),
    ("host", "max(bytes_sent) * 1.0", "> 1e12", "< 1e11"),
    ("host", "avg(CASE WHEN scheme = 'http' THEN 1.0 ELSE 0.0 END)", "> 0.9", "< 0.5"),
    ("host", "avg(CASE WHEN status = 304 THEN 1.0 ELSE 0.0 END)", "> 0.9", "< 0.5"),
    ("host", "avg(CASE WHEN status >= 300 AND status < 400 THEN 1.0 ELSE 0.0 END)", "> 0.9", "< 0.5"),
    ("host", "avg(CASE WHEN path LIKE '/api/%' THEN 1.0 ELSE 0.0 END)", "> 0.9", "< 0.5"),
    ("host", "avg(CASE WHEN referer = '' THEN 1.0 ELSE 0.0 END)", "> 0.99", "< 0.9"),
    ("host", "count(*) * 1.0", "< 10", "> 100"),
]

def rules(path, data, n):
    with open(path, "w") as f:
        for i, (group, value, fire, recover) in enumerate(QUERIES[:n]):
            f.write(f'''
[[rule]]
name = "rule {i}"
from = ["{data}"]
format = "sakura"
every = "1m"
window = "15m"
query = "SELECT {group}, count(*) AS requests, {value} AS v FROM logs GROUP BY {group}"
group_by = ["{group}"]
fire = "v {fire}"
recover = "v {recover}"
''')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=os.path.join(HERE, "data", "h3-72h-30000"))
    ap.add_argument("--at", default="2024-11-28T12:07:00+09:00")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "edgelog"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    files = {}
    for n in (1, 20):
        files[n] = os.path.join(tmp, f"r{n}.toml")
        rules(files[n], a.data, n)
    times = {1: [], 20: []}
    for k in range(a.n + 1):
        for n in (1, 20):
            state = tempfile.mkdtemp(dir=tmp)
            t = time.perf_counter()
            r = subprocess.run([a.bin, "watch", "--rules", files[n], "--state", state, "--once", "--at", a.at, "-q"],
                               capture_output=True, text=True)
            dt = time.perf_counter() - t
            if r.returncode not in (0, 1):
                raise SystemExit(f"{n} rules: exit {r.returncode}: {r.stderr}")
            if k > 0:  # the first pair warms the page cache
                times[n].append(dt)
    one, twenty = statistics.median(times[1]), statistics.median(times[20])
    print(f"one round at {a.at} over {a.data}, median of {a.n} (whole processes):")
    print(f"  1 rule:   {one:.3f} s  {['%.3f' % x for x in times[1]]}")
    print(f"  20 rules: {twenty:.3f} s  {['%.3f' % x for x in times[20]]}")
    print(f"  ratio 20/1: {twenty / one:.2f}x")

if __name__ == "__main__":
    main()
