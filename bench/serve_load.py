#!/usr/bin/env python3
"""Load on `edgelog serve` (not a timed test): 50 dashboard clients refreshing
the 24 h overview and 8 clients sending distinct SQL questions, at once.

    python3 bench/serve_load.py --bin target/release/edgelog --lake LAKE [--from LOGS] [--seconds 60]

Prints throughput, p50/p99 latency per kind, errors (must be 0), the server's
peak memory (VmHWM) and how many scans ran (from /metrics)."""
import argparse, json, os, re, statistics, subprocess, threading, time, urllib.request

SQL = [
    "SELECT status, count(*) FROM logs GROUP BY status",
    "SELECT host, count(*) FROM logs GROUP BY host ORDER BY 2 DESC LIMIT 10",
    "SELECT path, count(*) FROM logs GROUP BY path ORDER BY 2 DESC LIMIT 10",
    "SELECT client_ip, sum(bytes) FROM logs GROUP BY client_ip ORDER BY 2 DESC LIMIT 10",
    "SELECT date_trunc('hour', time) h, count(*) FROM logs GROUP BY h ORDER BY h",
    "SELECT cache_status, count(*) FROM logs GROUP BY cache_status",
    "SELECT count(*) FROM logs WHERE status >= 500",
    "SELECT approx_percentile_cont(bytes, 0.99) FROM logs",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/edgelog")
    ap.add_argument("--lake")
    ap.add_argument("--from", dest="src")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--refresh", type=float, default=5, help="each dashboard client's refresh interval")
    ap.add_argument("--range", default="last=24h", help="the dashboard's range parameters")
    a = ap.parse_args()
    args = [a.bin, "serve", "--listen", "127.0.0.1:0", "--cache-ttl", f"{max(1, int(a.refresh))}s", "-q"]
    if a.lake:
        args += ["--lake", a.lake]
    if a.src:
        args += ["--from", a.src]
    srv = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    port = None
    for line in srv.stderr:
        m = re.search(r"at http://127\.0\.0\.1:(\d+)/", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        raise SystemExit(f"serve did not start: {srv.stderr.read() if srv.stderr else ''}")
    base = f"http://127.0.0.1:{port}"
    lat = {"report": [], "query": []}
    errors = []
    stop = time.time() + a.seconds
    lock = threading.Lock()

    def ask(kind, req):
        t = time.time()
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                r.read()
            with lock:
                lat[kind].append(time.time() - t)
        except Exception as e:  # noqa: BLE001 - every failure counts
            with lock:
                errors.append(f"{kind}: {e}")

    def viewer(i):
        time.sleep(i * a.refresh / 50)
        while time.time() < stop:
            t = time.time()
            ask("report", f"{base}/api/report?panels=overview,traffic,status&{a.range}")
            time.sleep(max(0, a.refresh - (time.time() - t)))

    def analyst(i):
        n = 0
        while time.time() < stop:
            sql = SQL[(i + n) % len(SQL)] + f" -- {i}.{n}"
            ask("query", urllib.request.Request(f"{base}/api/query?format=csv&{a.range}", data=sql.encode()))
            n += 1

    threads = [threading.Thread(target=viewer, args=(i,)) for i in range(50)]
    threads += [threading.Thread(target=analyst, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    peak = 0
    while any(t.is_alive() for t in threads):
        try:
            for line in open(f"/proc/{srv.pid}/status"):
                if line.startswith("VmHWM"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.5)
    metrics = urllib.request.urlopen(f"{base}/metrics").read().decode()
    scans = {m.group(1): float(m.group(2)) for m in re.finditer(r'edgelog_scans_total\{what="(\w+)"\} (\S+)', metrics)}
    srv.terminate()
    srv.wait()
    out = {"seconds": a.seconds, "errors": len(errors), "first_errors": errors[:3], "peak_rss_mb": round(peak / 1024),
           "scans": scans, "refresh_intervals": round(a.seconds / a.refresh)}
    for kind, v in lat.items():
        v.sort()
        if v:
            out[kind] = {"requests": len(v), "per_s": round(len(v) / a.seconds, 1),
                         "p50_ms": round(statistics.median(v) * 1000), "p99_ms": round(v[int(len(v) * 0.99) - 1] * 1000)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
