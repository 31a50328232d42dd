#!/bin/sh
# run.sh: build chatd's libFuzzer harnesses with clang and run each one.
#
# Usage: tests/fuzz/run.sh [SECONDS] [HARNESS...]
#   SECONDS   how long each harness runs (default: $FUZZ_SECONDS, else 60)
#   HARNESS   fuzz_proto, fuzz_config, fuzz_clwire, fuzz_tls, fuzz_http,
#             fuzz_ws (default: all of tests/fuzz/fuzz_*.c)
#
# The harnesses are compiled straight from the sources (every src/*.c but
# main's and the Redis link's) with -fsanitize=fuzzer,address,undefined into a temporary
# directory, and run in parallel from a copy of their seed corpus
# (tests/fuzz/corpus/NAME), so the source tree is never written to.
# Exit status: 0 when every harness ran for SECONDS without a crash, leak
# or sanitizer report; 1 when one failed (its log and the crashing input
# are printed, the input is kept in $FUZZ_ARTIFACTS or the temp dir); 77
# (automake's SKIP) when clang or libFuzzer is missing, unless
# FUZZ_REQUIRED=1, which makes that an error (CI sets it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
names=${*:-$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')}
CLANG=${CLANG:-clang}

skip() {
    echo "fuzz: $*" >&2
    if [ "${FUZZ_REQUIRED:-0}" = 1 ]; then
        echo "fuzz: FUZZ_REQUIRED=1: failing instead of skipping" >&2
        exit 1
    fi
    echo "fuzz: SKIP" >&2
    exit 77
}

command -v "$CLANG" >/dev/null 2>&1 ||
    skip "$CLANG not found (Debian: apt-get install clang libclang-rt-dev)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-fuzz.XXXXXX") || exit 1
keep=0
trap '[ $keep = 1 ] || rm -rf "$tmp"' EXIT

# A tiny config.h: what the sources need from configure's.
cat >"$tmp/config.h" <<'EOH'
#define _GNU_SOURCE 1
#define PACKAGE "chatd"
#define PACKAGE_BUGREPORT "chatd@example.org"
#define PACKAGE_NAME "chatd"
#define PACKAGE_STRING "chatd fuzz"
#define PACKAGE_VERSION "fuzz"
#define VERSION "fuzz"
EOH

san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
flags="-g -O1 -std=gnu11 -pthread -Wall -Wextra -Wno-unused-parameter"
# Every source but chatd's own (chatd.c, cmdline.c); cluster_none.c
# (the build without hiredis) stands in for the Redis link (cluster.c,
# clguests.c, clthread.c, cllink.c).
srcs=$(ls "$top"/src/*.c | grep -v -e '/chatd\.c$' -e '/cmdline\.c$' \
    -e '/cluster\.c$' \
    -e '/clthread\.c$' -e '/cllink\.c$' -e '/clguests\.c$')

# The page the web thread serves is made at build time (src/web/embed.sh).
sh "$top/src/web/embed.sh" web_page "$top/src/web/index.html" \
    >"$tmp/webpage.c" || exit 1
srcs="$srcs $tmp/webpage.c"

printf 'int LLVMFuzzerTestOneInput(const char *d, long n)\n{ return 0; }\n' \
    >"$tmp/probe.c"
"$CLANG" $san -o "$tmp/probe" "$tmp/probe.c" >"$tmp/probe.log" 2>&1 ||
    skip "$CLANG cannot build with libFuzzer (libclang-rt-dev?):" \
         "$(head -n 3 "$tmp/probe.log")"

# The sources include chatd's TLS (tls.c, tport_tls.c): OpenSSL 3.
ssl_libs=$(pkg-config --libs openssl 2>/dev/null) || ssl_libs="-lssl -lcrypto"
for n in $names; do
    echo "fuzz: building $n"
    if ! "$CLANG" $san $flags -I"$tmp" -I"$top/src" -o "$tmp/$n" \
            "$here/$n.c" $srcs $ssl_libs 2>"$tmp/$n.build"; then
        cat "$tmp/$n.build" >&2
        echo "fuzz: $n: build failed" >&2
        exit 1
    fi
    [ -s "$tmp/$n.build" ] && cat "$tmp/$n.build" >&2
    mkdir -p "$tmp/corpus-$n" "$tmp/crash-$n"
    if [ -d "$here/corpus/$n" ]; then
        cp "$here/corpus/$n"/* "$tmp/corpus-$n"/ 2>/dev/null
    fi
done

# Run them all at once, each for $secs seconds.
pids=""
for n in $names; do
    echo "fuzz: running $n for ${secs}s"
    (
        cd "$tmp/crash-$n" &&
        ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$tmp/$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -max_len=8192 -print_final_stats=1 -error_exitcode=1 \
            -artifact_prefix="$tmp/crash-$n/" "$tmp/corpus-$n"
    ) >"$tmp/$n.log" 2>&1 &
    pids="$pids $!:$n"
done

rc=0
for pn in $pids; do
    pid=${pn%%:*}
    n=${pn#*:}
    wait "$pid"
    st=$?
    bad='ERROR: (Address|Leak|libFuzzer|Undefined)|runtime error:'
    if [ $st -ne 0 ] || grep -Eq "$bad" "$tmp/$n.log"; then
        echo "fuzz: $n FAILED (exit $st); log:" >&2
        tail -n 60 "$tmp/$n.log" >&2
        for a in "$tmp/crash-$n"/crash-* "$tmp/crash-$n"/leak-* \
                 "$tmp/crash-$n"/timeout-* "$tmp/crash-$n"/oom-*; do
            [ -f "$a" ] || continue
            echo "fuzz: input $a:" >&2
            od -c "$a" | head -n 20 >&2
            if [ -n "${FUZZ_ARTIFACTS:-}" ]; then
                mkdir -p "$FUZZ_ARTIFACTS" && cp "$a" "$FUZZ_ARTIFACTS"/
            else
                keep=1
            fi
        done
        rc=1
    else
        echo "fuzz: $n ok: $(grep -E '^stat::number_of_executed_units' \
            "$tmp/$n.log" | sed 's/.*: *//') runs in ${secs}s"
    fi
done
[ $keep = 1 ] && echo "fuzz: kept $tmp" >&2
exit $rc
