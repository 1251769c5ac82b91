#!/usr/bin/env python3
"""The cluster's overhead: the benchmark's questions on 1 scheduler + 2 executors (one core each, pinned with
taskset) against the same binary answering alone, over the same objects on a local S3-compatible server, and
over a lake on it. Every cluster answer is checked against the local one (a difference fails the run).

    cargo build --release --features cluster
    cargo build --release --manifest-path bench/tools/Cargo.toml
    python3 bench/cluster.py [--runs 3] [--partitions 4] [--data bench/data/h3-72h-30000]

Besides the wall times it reports what the projection in bench/CLUSTER.md needs: the local scan's throughput
per core (compressed bytes and rows), and the shuffle each question writes (the executors' work folders,
measured before Ballista cleans them up).
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
KEY, SECRET = "AKIABENCHEDGELOG", "bench-secret"


def questions():
    with open(os.path.join(ROOT, "bench", "questions.tsv")) as f:
        return [tuple(l.rstrip("\n").split("\t", 1)) for l in f if l.strip() and not l.startswith("#")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def timed(cmd, env):
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit("FAILED (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return wall, p.stdout


def du(path):
    total = 0
    for d, _, fs in os.walk(path):
        for f in fs:
            try:
                total += os.path.getsize(os.path.join(d, f))
            except OSError:
                pass
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--data", default=os.path.join(ROOT, "bench", "data", "h3-72h-30000"))
    ap.add_argument("--bin", default=os.path.join(TARGET, "release", "edgelog"))
    a = ap.parse_args()
    edgelog, s3_server = a.bin, os.path.join(TARGET, "release", "s3_server")
    data = os.path.abspath(a.data)
    shape = os.path.basename(data)
    root = tempfile.mkdtemp(prefix="edgelog-cluster-bench-")
    # The S3 root: the raw objects (a symlink) and a lake made from them once.
    os.symlink(data, os.path.join(root, shape))
    os.makedirs(os.path.join(root, "lakes"))
    server = subprocess.Popen([s3_server, root, "0", KEY, SECRET], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    endpoint = server.stdout.readline().strip()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_ENDPOINT_URL=endpoint,
               AWS_REGION="us-east-1")
    raw = "s3://%s/sakura-webaccelerator/" % shape
    lake = "s3://lakes/edge/"
    procs = []
    try:
        subprocess.run([edgelog, "ingest", "-q", "--from", raw, "--lake", lake], env=env, check=True)
        port = free_port()
        sched = "127.0.0.1:%d" % port
        procs.append(subprocess.Popen([edgelog, "cluster", "scheduler", "--listen", sched], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        work = []
        for core in (0, 1):
            w = os.path.join(root, "work-%d" % core)
            work.append(w)
            procs.append(subprocess.Popen(["taskset", "-c", str(core), edgelog, "cluster", "executor", "--scheduler", sched,
                                           "--listen", "127.0.0.1:%d" % free_port(), "--concurrency", "1", "--work-dir", w],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = "df://" + sched
        cluster = ["--cluster", url, "--cluster-partitions", str(a.partitions)]
        for _ in range(100):
            if subprocess.run([edgelog, "query", "-q"] + cluster + ["--cluster-timeout", "5s", "--from", raw,
                                                                   "SELECT 1 FROM logs LIMIT 1"], env=env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.3)
        gz = [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs if f.endswith(".gz")]
        size = sum(os.path.getsize(p) for p in gz)
        _, count = timed([edgelog, "query", "-q", "-o", "csv", "--from", raw, "SELECT count(*) FROM logs"], env)
        rows = int(count.split()[-1])
        print("\n# edgelog cluster overhead, %s" % time.strftime("%Y-%m-%d"))
        print("machine: %d cores; data: %d objects, %.0f MB gzip, %d rows (%s) on S3 at 127.0.0.1; lake: %s; "
              "cluster: 1 scheduler + 2 executors pinned to one core each, %d partitions; runs: %d (median)"
              % (os.cpu_count(), len(gz), size / 1e6, rows, shape, lake, a.partitions, a.runs))
        print()
        print("| question | source | local s | cluster s | cluster/local | shuffle written |")
        print("|---|---|---:|---:|---:|---:|")
        failures, ratios = [], {"raw": [], "lake": []}
        for name, sql in questions():
            for source, flag in (("raw", ["--from", raw]), ("lake", ["--lake", lake])):
                tl, tc, shuffled = [], [], None
                for i in range(a.runs):
                    w, ours = timed([edgelog, "query", "-q", "-o", "csv"] + flag + [sql], env)
                    tl.append(w)
                    before = sum(du(x) for x in work)
                    w, theirs = timed([edgelog, "query", "-q", "-o", "csv"] + cluster + flag + [sql], env)
                    tc.append(w)
                    if i == 0:
                        shuffled = sum(du(x) for x in work) - before
                    if ours != theirs:
                        failures.append("%s %s: local %r != cluster %r" % (source, name, ours[:200], theirs[:200]))
                l, c = statistics.median(tl), statistics.median(tc)
                ratios[source].append(c / l)
                print("| %s | %s | %.2f | %.2f | %.2fx | %.1f MB |" % (name, source, l, c, c / l, shuffled / 1e6), flush=True)
        for source, rs in ratios.items():
            print("\n%s: geometric mean cluster/local %.2fx" % (source, statistics.geometric_mean(rs)))
        # The scan's throughput per core, for the projection: the count question alone, here (2 cores).
        t = statistics.median(timed([edgelog, "query", "-q", "--from", raw, "SELECT count(*), sum(bytes_sent) FROM logs"], env)[0]
                              for _ in range(a.runs))
        tl = statistics.median(timed([edgelog, "query", "-q", "--lake", lake, "SELECT count(*), sum(bytes_sent) FROM logs"], env)[0]
                               for _ in range(a.runs))
        cores = os.cpu_count()
        print("\nscan throughput per core (count + sum over all rows, %d cores): raw %.1f MB gzip/s, %.0f k rows/s; "
              "lake %.0f k rows/s" % (cores, size / t / cores / 1e6, rows / t / cores / 1e3, rows / tl / cores / 1e3))
        if failures:
            print("\nDIFFERENT ANSWERS:\n" + "\n".join(failures))
            sys.exit(1)
    finally:
        for p in procs:
            p.kill()
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
