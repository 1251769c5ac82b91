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

The lake section ingests the same data into a Delta table once and times `edgelog query --lake` on it
against DuckDB (read_parquet) and chDB (file(..., Parquet)) on the lake's own Parquet files, each a whole
process `run.py parquet-peer ENGINE QUESTION LAKE ZONE` (run with the peers' python; it prints the rows as
CSV like `peers.py one`); their answers are checked against edgelog's too.
"""
import argparse, glob, hashlib, json, os, re, shutil, statistics, subprocess, sys, time, urllib.parse

RUN = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(RUN))
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


# The peers on the lake read its Parquet data files directly: DuckDB's delta extension is downloaded on
# first use from extensions.duckdb.org, which this bench cannot count on reaching, so read_parquet on the
# glob. chDB's deltaLakeLocal('LAKE') SETTINGS allow_experimental_delta_kernel_rs=1 does work (chdb 4.4),
# but only on a path inside its user_files path (the working directory), and reading the log costs it
# 0.05-0.1 s a question on the standard lake; file('LAKE/_day=*/*.parquet', Parquet) reads the same files
# as DuckDB with nothing in between, so chDB uses that. Reading the glob is reading the table only if the
# glob is exactly the files the Delta log holds (a fresh ingest removes none): lake_glob_check says so.
def lake_glob(lake):
    return os.path.join(lake, "_day=*", "*.parquet")


def lake_glob_check(lake):
    """None if the glob sees exactly the data files the Delta log holds (its JSON commits replayed), else why not."""
    commits = sorted(glob.glob(os.path.join(lake, "_delta_log", "[0-9]*.json")))
    if not commits or os.path.basename(commits[0]) != "%020d.json" % 0:
        return "the Delta log has no commit 0 to replay, so the glob the peers read is unchecked"
    live = set()
    for path in commits:
        with open(path) as f:
            for line in f:
                action = json.loads(line) if line.strip() else {}
                if "add" in action:
                    live.add(urllib.parse.unquote(action["add"]["path"]))
                if "remove" in action:
                    live.discard(urllib.parse.unquote(action["remove"]["path"]))
    seen = {os.path.relpath(p, lake) for p in glob.glob(lake_glob(lake))}
    if seen != live:
        return "the peers' glob sees %d data files, the Delta log holds %d (%d in only one)" % (len(seen), len(live), len(seen ^ live))
    return None


def lake_zone(edgelog, lake):
    """The zone edgelog shows the lake's `time` in (its stored UTC shown at the format's offset, +09:00 for these
    logs), as a name both peers take, so that their to_char hours are edgelog's. Whole-hour offsets only."""
    out = subprocess.run([edgelog, "query", "-q", "--lake", lake, "-o", "csv", "SELECT time FROM logs LIMIT 1"],
                         capture_output=True, text=True, check=True).stdout.split()
    m = re.search(r"(?:Z|([+-])(\d\d):00)$", out[-1]) if len(out) > 1 else None
    if not m:
        raise SystemExit("lake: cannot tell a whole-hour offset from edgelog's time %r" % out[-1:])
    if not m.group(1) or int(m.group(2)) == 0:
        return "UTC"
    return "Etc/GMT%s%d" % ("-" if m.group(1) == "+" else "+", int(m.group(2)))  # POSIX sign: +09:00 is Etc/GMT-9


TS_LITERAL = re.compile(r"'(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))'")


def parquet_sql(engine, sql):
    """A question (edgelog's SQL, DataFusion's dialect) for a peer on the typed Parquet columns. Two spellings
    differ: to_char(t, f) is strftime in DuckDB and formatDateTime in chDB (same %-codes), and chDB does not
    compare a DateTime64 with a string that has an offset ('...T13:00:00+09:00'), so it parses those literals."""
    if engine == "duckdb":
        return re.sub(r"\bto_char\s*\(", "strftime(", sql)
    sql = re.sub(r"\bto_char\s*\(", "formatDateTime(", sql)
    return TS_LITERAL.sub(r"parseDateTime64BestEffort('\1', 6)", sql)


def parquet_peer(engine, name, lake, zone):
    """One question on the lake's Parquet files in this (fresh, timed) process; prints the rows as CSV like
    `peers.py one`. The view `logs` is made in here, inside the timed process, as peers.py builds its table
    expression on the raw objects inside the process it times; it shows `time` in `zone`, as edgelog does."""
    sql = parquet_sql(engine, dict(questions())[name])
    files = lake_glob(lake)
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        con.execute("SET TimeZone = '%s'" % zone)
        # No hive partitioning: `_day` is not a column of edgelog's `logs` and no question uses it.
        con.execute("CREATE VIEW logs AS SELECT * FROM read_parquet('%s', hive_partitioning = false)" % files)
        out = [[("" if v is None else str(v)) for v in r] for r in con.execute(sql).fetchall()]
    elif engine == "chdb":
        import chdb
        # The view is a CTE of the one stateless chdb.query, the call peers.py times on the raw objects: a
        # chdb.connect() or Session, which would keep a CREATE VIEW, costs about 0.2 s more a process.
        view = "logs AS (SELECT * REPLACE (toTimeZone(time, '%s') AS time) FROM file('%s', Parquet))" % (zone, files)
        m = re.match(r"\s*WITH\s", sql, re.I)
        sql = "WITH %s, %s" % (view, sql[m.end():]) if m else "WITH %s %s" % (view, sql)
        text = str(chdb.query(sql, "CSV")).strip()
        out = [[("" if c == "\\N" else c.strip('"')) for c in line.split(",")] for line in text.split("\n") if line]
    else:
        raise SystemExit("parquet-peer: no engine %r (duckdb, chdb)" % engine)
    for r in out:
        print(",".join(r))


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

    def compare(name, ours, theirs, where, peer="chdb"):
        if rows(ours, True) != rows(theirs, False):
            failures.append("%s %s: edgelog %s != %s %s" % (where, name, digest(rows(ours, True)), peer, digest(rows(theirs, False))))

    def table(title, results, peers_, fastest=()):
        # fastest: peers of which the fastest on each question gets a last column, with edgelog's ratio to it.
        print("\n## %s\n" % title)
        head = "| question | edgelog s | edgelog MB |" + "".join(" %s s | %s MB | ratio |" % (p, p) for p in peers_)
        if fastest:
            head += " fastest of %s | ratio |" % " / ".join(fastest)
        print(head)
        print("|" + "---|" * (3 + 3 * len(peers_) + 2 * bool(fastest)))
        for name, r in results:
            e_wall, e_rss = r["edgelog"]
            line = "| %s | %.2f | %.0f |" % (name, e_wall, e_rss)
            for p in peers_:
                if p in r:
                    w, m = r[p]
                    line += " %.2f | %.0f | %.2f |" % (w, m, e_wall / w)
                else:
                    line += " - | - | - |"
            if fastest:
                have = [p for p in fastest if p in r]
                if have:
                    p = min(have, key=lambda p: r[p][0])
                    line += " %s %.2f s | %.2f |" % (p, r[p][0], e_wall / r[p][0])
                else:
                    line += " - | - |"
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
        # The lake: one ingest of the same data, then the same questions on it, against chDB on the raw objects
        # (from the table above) and against DuckDB and chDB on the lake's Parquet files (see parquet_peer), all
        # timed as whole processes, alternating within each run, like the peers on the raw objects.
        lake = os.path.join(data_root, shape + "-lake")
        shutil.rmtree(lake, ignore_errors=True)
        w_in, m_in, _ = timed_rss([edgelog, "ingest", "-q", "--from", data, "--lake", lake])
        lake_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(lake) for f in fs)
        raw_count = dict(results).get("count", {}).get("edgelog", (float("nan"), 0))[0]
        print("\nlake: ingest %.2f s (%.2fx a raw count(*)), peak %.0f MB; lake %.1f MB (%.2fx the gzip)" % (
            w_in, w_in / raw_count, m_in, lake_bytes / 1e6, lake_bytes / size))
        lake_peers = [e for e in ("duckdb", "chdb") if e in engines]
        cols = [e + "_parquet" for e in lake_peers]
        zone = lake_zone(edgelog, lake) if lake_peers else "UTC"
        why = lake_glob_check(lake) if lake_peers else None
        if why:
            failures.append("lake: " + why)
        lake_results = []
        for name, sql in qs:
            t = {k: [] for k in ["edgelog"] + cols}
            mem = {k: [] for k in t}
            answers = {}
            for _ in range(runs):
                w, m, ours = timed_rss([edgelog, "query", "-q", "--lake", lake, "-o", "csv", sql])
                t["edgelog"].append(w); mem["edgelog"].append(m)
                for e, c in zip(lake_peers, cols):
                    w, m, answers[c] = timed_rss([py, RUN, "parquet-peer", e, name, lake, zone])
                    t[c].append(w); mem[c].append(m)
            compare(name, ours, chdb_answers[name], "lake")
            for c in cols:
                compare(name, ours, answers[c], "lake", c)
            r = {k: (statistics.median(t[k]), max(mem[k])) for k in t}
            r["chdb"] = dict(results)[name]["chdb"]
            lake_results.append((name, r))
            print("  %-13s lake: edgelog %.2fs%s" % (name, r["edgelog"][0], "".join(" %s %.2fs" % (c, r[c][0]) for c in cols)), file=sys.stderr)
        table("lake (edgelog on its Delta table; chdb on the raw objects, from the table above; %s on the lake's "
              "Parquet files, time shown in %s)" % (" and ".join(cols) or "no peer", zone), lake_results, ["chdb"] + cols, fastest=cols)

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
    print("\nall edgelog answers equal chDB's" + ("" if a.skip_lake else " (and on the lake, the peers' on its Parquet files)"))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["parquet-peer"]:
        if len(sys.argv) != 6:
            raise SystemExit("usage: run.py parquet-peer ENGINE QUESTION LAKE ZONE")
        sys.exit(parquet_peer(*sys.argv[2:]))
    sys.exit(main())
