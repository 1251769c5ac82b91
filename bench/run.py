#!/usr/bin/env python3
"""edgelog against its peers, side by side, on the same generated data, in one run.

    python3 bench/run.py                  # the standard size: 3 hosts x 72 h x 30000 lines/h (3.24M lines)
    python3 bench/run.py --scale 10       # 10x the lines per hour
    python3 bench/run.py --quick          # a small size, to check that the bench itself works

It builds edgelog (release), makes the data with `edgelog demo --generate-only`, installs the peers in
bench/.peers (chdb duckdb datafusion pyarrow from PyPI), then runs each question of
../shared/bench/peers.py as whole processes -- edgelog's CLI against `peers.py one ENGINE QUESTION DIR` --
several times, alternating, and prints the median wall time, peak RSS and edgelog's ratio to each peer.
Every edgelog answer is checked against chDB's; a difference fails the run (exit 1). The questions are
then repeated over a local S3-compatible server on 127.0.0.1 (edgelog over s3:// against chDB's s3()),
and a floor line shows the time to only inflate every object with libdeflate on all cores.
"""
import argparse, hashlib, os, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("EDGELOG_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
PEERS = os.path.join(SHARED, "bench", "peers.py")
VENV = os.path.join(ROOT, "bench", ".peers")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
KEY, SECRET = "AKIABENCHEDGELOG", "bench-secret"


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, **kw)


def timed_rss(cmd, env=None):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # Read stdout fully before waiting, so the child never blocks on a full pipe.
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("FAILED (%d): %s\n%s" % (p.returncode, " ".join(cmd), err.decode(errors="replace")))
    return wall, usage.ru_maxrss / 1024.0, out.decode()


def rows(text, header):
    lines = [l for l in text.splitlines() if l.strip()]
    if header:
        lines = lines[1:]
    out = []
    for line in lines:
        cells = []
        for c in line.split(","):
            c = c.strip('"')
            try:
                cells.append(repr(float(c)))
            except ValueError:
                cells.append(c)
        out.append(cells)
    return out


def digest(r):
    return hashlib.sha1("\n".join("|".join(x) for x in r).encode()).hexdigest()[:10]


def questions():
    out = []
    with open(os.path.join(ROOT, "bench", "questions.tsv")) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                out.append((k, v))
    return out


def ensure_peers(engines):
    py = os.path.join(VENV, "bin", "python")
    mods = {"chdb": "chdb", "duckdb": "duckdb", "datafusion": "datafusion"}
    need = [m for m in engines if subprocess.run([py, "-c", "import " + mods[m]], capture_output=True).returncode != 0] \
        if os.path.exists(py) else engines
    if need:
        if not os.path.exists(py):
            sh([sys.executable, "-m", "venv", VENV])
        sh([os.path.join(VENV, "bin", "pip"), "install", "-q"] + need + ["pyarrow"])
    return py


def versions(py, engines):
    code = "import importlib.metadata as m\nfor e in %r: print(e, m.version(e))" % (list(engines),)
    return subprocess.run([py, "-c", code], capture_output=True, text=True).stdout.split("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the lines per hour")
    ap.add_argument("--quick", action="store_true", help="small data, one run: checks the bench works")
    ap.add_argument("--engines", default="chdb,duckdb,datafusion")
    ap.add_argument("--skip-s3", action="store_true")
    ap.add_argument("--skip-lake", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated question names")
    a = ap.parse_args()
    engines = [e for e in a.engines.split(",") if e]
    if "chdb" not in engines:
        engines.insert(0, "chdb")
    hosts, hours, lph = (3, 72, int(30000 * a.scale)) if not a.quick else (2, 40, 2000)
    runs = 1 if a.quick else a.runs

    # The same build as `cargo run --release -- demo`: nothing is rebuilt after it. The helper tools are
    # their own workspace, so they never change the features DataFusion is built with.
    sh(["cargo", "build", "--release", "-q", "--bin", "edgelog"], cwd=ROOT)
    sh(["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(ROOT, "bench", "tools", "Cargo.toml")], cwd=ROOT,
       env=dict(os.environ, CARGO_TARGET_DIR=TARGET))
    edgelog = os.path.join(TARGET, "release", "edgelog")
    s3_server = os.path.join(TARGET, "release", "s3_server")
    floor_bin = os.path.join(TARGET, "release", "inflate_floor")

    shape = "h%d-%dh-%d" % (hosts, hours, lph)
    data_root = os.path.join(ROOT, "bench", "data")
    data = os.path.join(data_root, shape)
    if not os.path.exists(os.path.join(data, ".complete")):
        shutil.rmtree(data, ignore_errors=True)
        sh([edgelog, "demo", "--generate-only", "--out", data, "--hosts", str(hosts), "--hours", str(hours),
            "--lines-per-hour", str(lph), "--seed", "7"])
        open(os.path.join(data, ".complete"), "w").close()
    py = ensure_peers(engines)

    qs = [(k, v) for k, v in questions() if not a.only or k in a.only.split(",")]
    gz = [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs if f.endswith(".gz")]
    size = sum(os.path.getsize(p) for p in gz)
    print("\n# edgelog vs peers, %s" % time.strftime("%Y-%m-%d"))
    print("machine: %d cores, %.1f GiB; data: %d objects, %.0f MB gzip (%s); runs: %d (median)" % (
        os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, len(gz), size / 1e6, shape, runs))
    print("peers: " + ", ".join(v for v in versions(py, engines) if v))
    failures = []

    def compare(name, ours, theirs, where):
        if rows(ours, True) != rows(theirs, False):
            failures.append("%s %s: edgelog %s != chdb %s" % (where, name, digest(rows(ours, True)), digest(rows(theirs, False))))

    def table(title, results, peers_):
        print("\n## %s\n" % title)
        head = "| question | edgelog s | edgelog MB |" + "".join(" %s s | %s MB | ratio |" % (p, p) for p in peers_)
        print(head)
        print("|" + "---|" * (3 + 3 * len(peers_)))
        for name, r in results:
            e_wall, e_rss = r["edgelog"]
            line = "| %s | %.2f | %.0f |" % (name, e_wall, e_rss)
            for p in peers_:
                if p in r:
                    w, m = r[p]
                    line += " %.2f | %.0f | %.2f |" % (w, m, e_wall / w)
                else:
                    line += " - | - | - |"
            print(line)

    results = []
    chdb_answers = {}
    for name, sql in qs:
        t = {k: [] for k in ["edgelog"] + engines}
        mem = {k: [] for k in t}
        answers = {}
        for _ in range(runs):
            w, m, out = timed_rss([edgelog, "query", "-q", "--from", data, "-o", "csv", sql])
            t["edgelog"].append(w); mem["edgelog"].append(m); answers["edgelog"] = out
            for e in engines:
                w, m, out = timed_rss([py, PEERS, "one", e, name, data])
                t[e].append(w); mem[e].append(m); answers[e] = out
        compare(name, answers["edgelog"], answers["chdb"], "local")
        chdb_answers[name] = answers["chdb"]
        results.append((name, {k: (statistics.median(t[k]), max(mem[k])) for k in t}))
        print("  %-13s edgelog %.2fs chdb %.2fs" % (name, statistics.median(t["edgelog"]), statistics.median(t["chdb"])), file=sys.stderr)
    table("local files", results, engines)

    floor = float(subprocess.run([floor_bin, data], capture_output=True, text=True, check=True).stdout.split()[0])
    full = [r["edgelog"][0] for n, r in results if n != "one_hour"]
    if full:
        print("\nfloor: inflating every object with libdeflate on all cores takes %.2f s; "
              "edgelog full-scan questions take %.2f-%.2f s (%.2f-%.2fx the floor)" % (
                  floor, min(full), max(full), min(full) / floor, max(full) / floor))

    if not a.skip_lake:
        # The lake: one ingest of the same data, then the same questions on it, against chDB on the raw objects.
        lake = os.path.join(data_root, shape + "-lake")
        shutil.rmtree(lake, ignore_errors=True)
        w_in, m_in, _ = timed_rss([edgelog, "ingest", "-q", "--from", data, "--lake", lake])
        lake_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(lake) for f in fs)
        raw_count = dict(results).get("count", {}).get("edgelog", (float("nan"), 0))[0]
        print("\nlake: ingest %.2f s (%.2fx a raw count(*)), peak %.0f MB; lake %.1f MB (%.2fx the gzip)" % (
            w_in, w_in / raw_count, m_in, lake_bytes / 1e6, lake_bytes / size))
        lake_results = []
        for name, sql in qs:
            te, me = [], []
            for _ in range(runs):
                w, m, ours = timed_rss([edgelog, "query", "-q", "--lake", lake, "-o", "csv", sql])
                te.append(w); me.append(m)
            compare(name, ours, chdb_answers[name], "lake")
            chdb_raw = dict(results)[name]["chdb"]
            lake_results.append((name, {"edgelog": (statistics.median(te), max(me)), "chdb": chdb_raw}))
        table("lake (edgelog on its Delta table; chdb on the raw objects, from the table above)", lake_results, ["chdb"])

    if not a.skip_s3:
        server = subprocess.Popen([s3_server, data_root, "0", KEY, SECRET], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        endpoint = server.stdout.readline().strip()
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1")
        s3_results = []
        try:
            for name, sql in qs:
                te, tc, me, mc = [], [], [], []
                for _ in range(runs):
                    w, m, ours = timed_rss([edgelog, "query", "-q", "--from", "s3://%s/sakura-webaccelerator/" % shape, "-o", "csv", sql], env=env)
                    te.append(w); me.append(m)
                    w, m, theirs = timed_rss([py, PEERS, "one", "chdb", name, "%s/%s/sakura-webaccelerator" % (endpoint, shape), "--key", KEY, "--secret", SECRET])
                    tc.append(w); mc.append(m)
                compare(name, ours, theirs, "s3")
                s3_results.append((name, {"edgelog": (statistics.median(te), max(me)), "chdb": (statistics.median(tc), max(mc))}))
        finally:
            server.stdin.close()
            server.wait()
        table("over S3 on 127.0.0.1 (s3s-fs, signatures checked)", s3_results, ["chdb"])

    if failures:
        print("\nANSWERS DIFFER:\n" + "\n".join(failures))
        return 1
    print("\nall edgelog answers equal chDB's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
