#!/usr/bin/env bash
# Coverage-guided fuzzing of edgelog-parse: cargo-fuzz + libFuzzer, one
# target after another, each for SECONDS (default 60).
#
#   bench/fuzz.sh [SECONDS] [TARGET...]
#
#   bench/fuzz.sh                    every target, 60 s each
#   bench/fuzz.sh 300 inflate times  two targets, 5 min each
#   bench/fuzz.sh --list             the targets
#   bench/fuzz.sh --seeds [TARGET...] only (re)build the seed corpora
#
# Targets (fuzz/fuzz_targets/*.rs): json_line sakura_line text_tokens
# log_format times inflate inflate_damaged w3c_directives.
#
# Seed corpora are (re)built into fuzz/corpus/TARGET/ from tests/data/, from
# ../shared/corpus/ beside the repository when it is there (real access logs),
# and from a few hand-written seeds; what the fuzzer finds stays there for
# the next run. Crashes go to fuzz/artifacts/TARGET/, each run's log to
# fuzz/artifacts/TARGET/last-run.log. Ends with one line per target (runs, new
# coverage, crashes) and exits 1 when any target crashed.
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none. AddressSanitizer works on
#                   stable Rust here: rust-std ships its runtime
#                   (librustc-stable_rt.asan.a) and RUSTC_BOOTSTRAP=1 lets
#                   stable rustc take the -Z flags cargo-fuzz passes. When
#                   the address build fails (a toolchain without that
#                   runtime) and FUZZ_SANITIZER is not set, the script falls
#                   back to `none`: panics, failed assertions and the
#                   targets' own checks are still found, memory errors only
#                   when they panic. (libdeflate's C code is not
#                   instrumented either way.)
#   FUZZ_NICE       niceness of the fuzzing processes (default 15).
#   FUZZ_ARGS       more libFuzzer flags, e.g. "-max_len=8192 -jobs=2".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ="$ROOT/fuzz"
SHARED=$(cd "$ROOT/../shared/corpus" 2>/dev/null && pwd || echo "$ROOT/../shared/corpus")
DATA="$ROOT/tests/data"
ALL_TARGETS=(json_line sakura_line text_tokens log_format times inflate inflate_damaged w3c_directives)

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

SECS=60
SEEDS_ONLY=0
if [[ $# -gt 0 ]]; then
    case $1 in
        -h | --help) usage; exit 0 ;;
        --list) printf '%s\n' "${ALL_TARGETS[@]}"; exit 0 ;;
        --seeds) SEEDS_ONLY=1; shift ;;
    esac
fi
if [[ $# -gt 0 ]]; then
    if [[ $1 =~ ^[0-9]+$ ]]; then
        SECS=$((10#$1))
        shift
    fi
fi
if [[ $SECS -lt 1 ]]; then
    echo "fuzz.sh: SECONDS must be at least 1" >&2
    exit 2
fi
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
    if [[ ! " ${ALL_TARGETS[*]} " == *" $t "* ]]; then
        echo "fuzz.sh: unknown target '$t' (targets: ${ALL_TARGETS[*]})" >&2
        exit 2
    fi
done

SANITIZER=${FUZZ_SANITIZER:-address}
# Stable rustc with the -Z flags cargo-fuzz passes (sanitizer, coverage).
export RUSTC_BOOTSTRAP=1
# The fuzz crate's own target dir, whatever the caller's CARGO_TARGET_DIR.
export CARGO_TARGET_DIR="$FUZZ/target"
NICE=${FUZZ_NICE:-15}
read -r -a EXTRA_ARGS <<<"${FUZZ_ARGS:-}"

if [[ $SEEDS_ONLY -eq 0 ]] && ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz (cargo install cargo-fuzz --locked)" >&2
    nice -n "$NICE" cargo install cargo-fuzz --locked
fi

# ---------------------------------------------------------------- seeds ----

# Text files of the seed sources (not the .gz ones, not SOURCES.md).
text_files() {
    local d
    for d in "$DATA" "$SHARED"; do
        [[ -d $d ]] || continue
        find "$d" -type f ! -name '*.gz' ! -name '*.zst' ! -name 'SOURCES.md' ! -name 'README.md' | LC_ALL=C sort
    done
}
gz_files() {
    local d
    for d in "$DATA" "$SHARED"; do
        [[ -d $d ]] || continue
        find "$d" -type f -name '*.gz' | LC_ALL=C sort
    done
}
# The text of a file, inflated when it is gzip. (A reader that stops early
# is no error: with pipefail, SIGPIPE would end the script.)
content() {
    case $1 in
        *.gz) gzip -dc -- "$1" 2>/dev/null || true ;;
        *) cat -- "$1" 2>/dev/null || true ;;
    esac
}
mapfile -t TEXT_FILES < <(text_files)
mapfile -t GZ_FILES < <(gz_files)
# A short, stable name for a source file.
tag() {
    local rel=$1
    rel=${rel#"$DATA/"}
    rel=${rel#"$SHARED/"}
    printf '%s' "$rel" | tr -c 'A-Za-z0-9._-' '_' | tail -c 60
}

# Writes lines of stdin as seed files DIR/PREFIX-N: the first 20 lines and
# then every STEP-th line, up to MAX lines, each at most 4 KiB. Reads all of
# stdin (stopping early would break the writer's pipe).
sample_lines() {
    local dir=$1 prefix=$2 max=${3:-60} step=${4:-0}
    LC_ALL=C awk -v dir="$dir" -v prefix="$prefix" -v max="$max" -v step="$step" '
        BEGIN { n = 0 }
        length($0) > 0 && length($0) <= 4096 && (NR <= 20 || (step > 0 && NR % step == 0)) {
            if (n >= max) next
            f = dir "/" prefix "-" NR
            printf "%s", $0 > f
            close(f)
            n++
        }'
}
# Sampling step for a file of N lines so that about 40 more lines are taken.
step_for() {
    local n
    n=$(content "$1" | wc -l)
    echo $(((n + 39) / 40))
}
# Writes each match of the extended regex PATTERN in stdin as a seed, up to MAX.
sample_matches() {
    local dir=$1 prefix=$2 pattern=$3 max=${4:-40}
    { grep -oE -- "$pattern" || true; } | LC_ALL=C sort -u | sample_lines "$dir" "$prefix" "$max" 1
}
# One hand-written seed (printf format and arguments).
seed() {
    local dir=$1 name=$2
    shift 2
    # shellcheck disable=SC2059
    printf "$@" >"$dir/hand-$name"
}

seed_json_line() {
    local dir=$1 f first
    for f in "${TEXT_FILES[@]}" "${GZ_FILES[@]}"; do
        first=$(content "$f" | awk 'NR == 1 { print; } { }')
        if [[ $first =~ ^[[:space:]]*\{ ]]; then
            content "$f" | sample_lines "$dir" "$(tag "$f")" 60 "$(step_for "$f")"
        fi
    done
    seed "$dir" empty '{}'
    seed "$dir" kinds '{"a":"x", "b" : 12.5e3 ,"c":true,"d":null,"e":{"n":[1,"}"]},"f":false}'
    seed "$dir" escapes '{"k":"a\\"b\\\\c\\/d\\n\\t\\u00e9\\u3042\\ud83d\\ude00"}'
    seed "$dir" surrogate '{"k":"\\ud83d","l":"\\ude00x"}'
    seed "$dir" cut '{"a":"x","b":'
    seed "$dir" trailing '{"a":"b"} x'
    seed "$dir" wide "{$(for i in $(seq 1 40); do printf '"k%d":"v%d",' "$i" "$i"; done)\"z\":\"\"}"
}

seed_sakura_line() {
    local dir=$1 f
    while IFS= read -r f; do
        content "$f" | sample_lines "$dir" "$(tag "$f")" 80 1
        # The key itself, as the object's name.
        printf '%s' "${f#"$DATA/sakura/"}" >"$dir/key-$(tag "$f")"
    done < <(find "$DATA/sakura" -type f -name 'access-*' | LC_ALL=C sort)
    # Other dialects' JSON lines (unknown keys, numbers, nesting).
    for f in "${TEXT_FILES[@]}"; do
        case $f in
            *.json | *.ndjson | */nginx_json.log | */fastly.log | */cloudflare_logpush/*)
                content "$f" | sample_lines "$dir" "$(tag "$f")" 10 ;;
        esac
    done
    seed "$dir" line '{"time":"2024-11-27T13:28:34+09:00","http_host":"example.user.webaccel.jp","scheme":"http","remote_addr":"192.0.2.1","remote_port":"46145","remote_user":"","request":"GET / HTTP/1.1","status":"200","bytes_sent":"3590","body_bytes_sent":"3068","referer":"-","x_cache":"MISS","msec":"1732681714.282","request_id":"abc","user_agent":"Mozilla/5.0 \\"x\\""}'
    seed "$dir" numbers '{"status":200,"bytes_sent":null,"msec":"1732681714.5","extra":"x","other":{"a":1}}'
    seed "$dir" bad '{"status":"abc","remote_port":"70000","time":"yesterday"}'
    seed "$dir" key 'sakura-webaccelerator/example.user.webaccel.jp/2024/11/27/access-20241127T13.log.gz'
    seed "$dir" key-zst 'x/access-20241127T13.log.zst'
    seed "$dir" floats '1732681714.282\n0.1\n123456789012345.5\n1e5\n-0.0\ninf\nNaN\n00000000000000001.25'
}

seed_text_tokens() {
    local dir=$1 f
    for f in "${TEXT_FILES[@]}" "${GZ_FILES[@]}"; do
        content "$f" | sample_lines "$dir" "$(tag "$f")" 30 "$(step_for "$f")"
        content "$f" | sample_matches "$dir" "clf-$(tag "$f")" '[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9:.]+ [-+][0-9:]+' 10
    done
    seed "$dir" quoted '1.2.3.4 - - [17/May/2015:08:05:32 +0000] "GET / HTTP/1.1" 200 "a \\"b\\" c"'
    seed "$dir" doubled '404 " ""garbage"" w/ spaces " 0'
    seed "$dir" escapes 'a\\x22b\\\\c\\"d%%2520(X)+a%%zz%%41'
    seed "$dir" clf '01/Aug/1995:00:03:53 -0400\n17/May/2015:08:05:32.123 +05:30'
    seed "$dir" epoch '1712790000123000000\n1653485132\n1607374321.541\n9999999999999999999'
    seed "$dir" cut 'a "cut'
}

# An nginx log_format or Apache LogFormat and the lines of one file it reads.
format_seed() {
    local dir=$1 name=$2 format=$3 file=$4
    [[ -f $file ]] || return 0
    { printf '%s\n' "$format"; content "$file" | awk 'NR <= 8'; } >"$dir/$name"
}

seed_log_format() {
    local dir=$1
    local combined='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
    local apache='%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
    format_seed "$dir" combined-nginx "$combined" "$SHARED/nginx_combined/nginx_logs_elastic_demo_prefix.txt"
    format_seed "$dir" combined-apache "$apache" "$SHARED/apache_combined/elastic_examples_apache_logs"
    format_seed "$dir" combined-bad "$apache" "$SHARED/apache_combined/lnav_logfile_bad_access_log.0"
    format_seed "$dir" common '%h %l %u %t "%r" %>s %b' "$SHARED/clf_nasa/NASA_access_log_Aug95_head"
    format_seed "$dir" xff "$combined \"\$http_x_forwarded_for\"" "$SHARED/nginx_combined_xff/lnav_logfile_shop_access_log.0"
    format_seed "$dir" request-time "$combined \$request_time" "$DATA/formats/combined_request_time.log"
    format_seed "$dir" usec '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D' "$DATA/formats/combined_usec.log"
    format_seed "$dir" vhost '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"' "$DATA/formats/vhost_combined.log"
    format_seed "$dir" braces '${remote_addr} [$time_local] "$request" $status ${body_bytes_sent}b' "$DATA/formats/combined_usec.log"
    seed "$dir" conditions '%%h %%400,501{User-agent}i %%!200r %%{%%d/%%b/%%Y}t %%{msec}t %%T %%{ms}T %%%% "%%>s"\n1.2.3.4 ua GET 01/Jan/2024 1 2 3 %% "200"\n'
    seed "$dir" quoted-pair '"$request_method $request_uri" $status\n"GET /a b" 200\n'
    seed "$dir" bad-formats '$a$b\n%%Z\n${unclosed\n%%{x\n$\n%%'
}

seed_w3c_directives() {
    local dir=$1 f
    # Whole W3C / CloudFront files from the shared corpus: directives and entries.
    for f in "${TEXT_FILES[@]}" "${GZ_FILES[@]}"; do
        case $f in
            */w3c_iis/* | */cloudfront_standard/* | */cloudfront_realtime/*)
                content "$f" | head -c 8192 >"$dir/file-$(tag "$f")" ;;
        esac
    done
    seed "$dir" iis '#Software: Microsoft IIS 4.0\n#Version: 1.0\n#Date: 2002-05-24 20:18:01\n#GMT-Offset: -0800\n#Fields: date time c-ip cs-method cs-uri-stem sc-status\n20:18:01 172.224.24.114 GET /Default.htm 200'
    seed "$dir" odd '#Fields:\n#Date: 24/05/2002\n#GMT-Offset: +24:00\n#Start-Date: 2002-05-2\n# Fields: a b\n"quoted ""value""" + - x'
}

seed_times() {
    local dir=$1 f
    for f in "${TEXT_FILES[@]}" "${GZ_FILES[@]}"; do
        content "$f" | sample_matches "$dir" "iso-$(tag "$f")" '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(Z|[-+][0-9]{2}:?([0-9]{2})?)?' 10
        content "$f" | sample_matches "$dir" "req-$(tag "$f")" '"[A-Z_-]{1,12} [^"]{0,200}"' 10
    done
    seed "$dir" iso '2024-11-27T13:28:34+09:00\n2024-11-27T04:28:34.282999999Z\n2024-11-27 13:28:34+0900\n2024-02-29\n2024-11-27T13:00+09:00'
    seed "$dir" offsets '+09:00\n-0430\nUTC\nZ\n+05\n-23:59'
    seed "$dir" epoch '1732681714.282\n1732681714\n.5'
    seed "$dir" requests 'GET / HTTP/1.1\nPOST /api/x?id=1&b=2 HTTP/2.0\nGET /old\nGET  HTTP/1.1\n-\n\x16\x03\x01 x'
}

seed_inflate() {
    local dir=$1 f t
    for f in "${GZ_FILES[@]}"; do
        cp -- "$f" "$dir/gz-$(tag "$f")"
    done
    for f in "${TEXT_FILES[@]}"; do
        t=$(tag "$f")
        head -c 2048 -- "$f" | gzip -c >"$dir/chunk-$t"
        # Two members, then two members and zero padding.
        { head -c 600 -- "$f" | gzip -1 -c; tail -c 600 -- "$f" | gzip -9 -c; } >"$dir/members-$t"
        { cat "$dir/members-$t"; head -c 16 /dev/zero; } >"$dir/padded-$t"
    done
    printf '' | gzip -c >"$dir/empty"
    printf 'x' | gzip -c >"$dir/one"
    { printf 'x' | gzip -c; printf 'junk'; } >"$dir/trailing-junk"
}

# Input of inflate_damaged: 7 header bytes (see its source), then text.
seed_inflate_damaged() {
    local dir=$1 f i=0 head
    for f in "${TEXT_FILES[@]}"; do
        i=$((i + 1))
        # members 1-4, levels 0-9, name/extra, padding, position, XOR 0 or not.
        head=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x%02x' \
            $(((i % 4) | ((i % 10) << 2) | ((i % 4) << 6))) $((i % 3)) $((i * 37 % 256)) $((i % 2)) $((i % 3 == 0 ? 0 : i % 256)))
        { printf '%b' "$head"; head -c 1500 -- "$f"; } >"$dir/text-$(tag "$f")"
    done
    seed "$dir" plain '\x00\x00\x00\x00\x00\x00\x00hello, gzip'
    seed "$dir" damaged '\x03\x00\x10\x00\x00\x00\x80line one\nline two\nline three\n'
}

build_seeds() {
    local t=$1 dir="$FUZZ/corpus/$1"
    mkdir -p "$dir"
    "seed_$t" "$dir"
    find "$dir" -type f -size 0 -delete
    echo "$t: $(find "$dir" -type f | wc -l) corpus files in ${dir#"$ROOT/"}"
}

[[ -d $SHARED ]] || echo "fuzz.sh: no ${SHARED#"$ROOT/"}; seeds from tests/data and by hand only" >&2

# ------------------------------------------------------------------ runs ----

if [[ $SEEDS_ONLY -eq 1 ]]; then
    for t in "${TARGETS[@]}"; do
        build_seeds "$t"
    done
    exit 0
fi

# One build of every target first, so that a build error is said once (and
# the address sanitizer can be given up for `none` where it cannot build).
mkdir -p "$FUZZ/artifacts"
build_log="$FUZZ/artifacts/build.log"
echo "== building the fuzz targets (sanitizer: $SANITIZER; log: ${build_log#"$ROOT/"})"
if ! (cd "$ROOT" && nice -n "$NICE" cargo fuzz build --fuzz-dir "$FUZZ" -s "$SANITIZER") >"$build_log" 2>&1; then
    if [[ $SANITIZER == address && -z ${FUZZ_SANITIZER:-} ]]; then
        echo "fuzz.sh: the AddressSanitizer build failed; going on with -s none" >&2
        grep -E '^error' "$build_log" | head -n 5 >&2 || true
        SANITIZER=none
        (cd "$ROOT" && nice -n "$NICE" cargo fuzz build --fuzz-dir "$FUZZ" -s none) >"$build_log" 2>&1 || {
            tail -n 30 "$build_log" >&2
            exit 1
        }
    else
        tail -n 30 "$build_log" >&2
        exit 1
    fi
fi

declare -A SUMMARY
status=0
for t in "${TARGETS[@]}"; do
    build_seeds "$t"
    mkdir -p "$FUZZ/artifacts/$t"
    log="$FUZZ/artifacts/$t/last-run.log"
    before=$(find "$FUZZ/artifacts/$t" -type f ! -name '*.log' | wc -l)
    echo "== $t: fuzzing for ${SECS}s (sanitizer: $SANITIZER; log: ${log#"$ROOT/"})"
    rc=0
    (cd "$ROOT" && nice -n "$NICE" cargo fuzz run --fuzz-dir "$FUZZ" -s "$SANITIZER" "$t" -- \
        -max_total_time="$SECS" -print_final_stats=1 "${EXTRA_ARGS[@]}") >"$log" 2>&1 || rc=$?
    after=$(find "$FUZZ/artifacts/$t" -type f ! -name '*.log' | wc -l)
    # Final stats; a run that crashed has none, so its last status line then.
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1 || true)
    [[ -n $runs ]] || runs=$(grep -oE '^#[0-9]+' "$log" | tr -d '#' | tail -n 1 || true)
    new=$(grep -oE 'stat::new_units_added: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1 || true)
    [[ -n $new ]] || new=$(grep -cE '^#[0-9]+[[:space:]]+NEW ' "$log" || true)
    cov=$(grep -oE ' cov: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1 || true)
    corpus=$(find "$FUZZ/corpus/$t" -type f | wc -l)
    crashes=$((after - before))
    if [[ $rc -ne 0 && $crashes -eq 0 ]]; then
        # It failed without writing an artifact (a build error, say).
        crashes="?"
    fi
    if [[ $rc -ne 0 ]]; then
        status=1
        echo "   failed (exit $rc):"
        { grep -E -A2 '^thread .* panicked|^==[0-9]+==.*ERROR|^error(\[|:)' "$log" || tail -n 8 "$log"; } | head -n 16 | sed 's/^/   /'
        grep -E 'Test unit written|cargo fuzz tmin .*/(crash|oom|timeout|leak)-' "$log" | sed 's/^[[:space:]]*/   /' || true
    fi
    SUMMARY[$t]=$(printf '%-16s %6ss  %12s runs  %6s new units  cov %6s  corpus %6s  crashes %s' \
        "$t" "$SECS" "${runs:-?}" "${new:-?}" "${cov:-?}" "$corpus" "$crashes")
done

echo
echo "== summary (sanitizer: $SANITIZER)"
for t in "${TARGETS[@]}"; do
    echo "${SUMMARY[$t]}"
done
exit "$status"
