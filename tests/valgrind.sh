#!/bin/sh
# valgrind.sh: run the integration tests with chatd under valgrind's
# memcheck and fail on any memory error or definite/indirect leak.
#
# Usage: tests/valgrind.sh [BUILDDIR]   (default: the current directory)
#
# Every chatd the tests start runs as
#   valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
#            --error-exitcode=1 chatd ...
# through a wrapper given to the tests as $CHATD.  The tests stop each
# chatd with SIGTERM and require exit status 0, so a valgrind error fails
# the test that started it; the valgrind logs are checked too.  The
# hostile cases in $VALGRIND_CASES (default: the ones that fit valgrind's
# speed) run from tests/check_hostile and tests/check_hostile_conn (a
# case runs in the suite that has it; in the other it is no test at all),
# then tests/check_server, check_load, check_process and check_rooms
# whole, then the TLS cases in $VALGRIND_TLS_CASES from tests/check_tls.
# Exit 77 (SKIP) without valgrind, unless VALGRIND_REQUIRED=1.
set -u
build=$(cd "${1:-.}" && pwd)
chatd="$build/src/chatd"
cases=${VALGRIND_CASES:-"NoNewline1M Slowloris NonReader HalfClose Rst
    NickRace FdLimit Emfile"}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2
    [ "${VALGRIND_REQUIRED:-0}" = 1 ] && exit 1
    exit 77
fi
for f in "$chatd" "$build/tests/check_hostile" \
        "$build/tests/check_hostile_conn"; do
    [ -x "$f" ] && continue
    echo "valgrind.sh: $f not built (make check)" >&2
    exit 1
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-vg.XXXXXX") || exit 1
trap '[ -n "${VALGRIND_KEEP:-}" ] || rm -rf "$tmp"' EXIT
cat >"$tmp/chatd" <<EOW
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \\
    --error-exitcode=1 --log-file="$tmp/vg.%p.log" "$chatd" "\$@"
EOW
chmod +x "$tmp/chatd"

rc=0
run() {
    echo "valgrind.sh: $*"
    if ! env CHATD="$tmp/chatd" CHATD_NO_RSS=1 CK_DEFAULT_TIMEOUT=300 \
            "$@" >"$tmp/out" 2>&1; then
        cat "$tmp/out" >&2
        rc=1
    fi
}
for c in $cases; do
    for s in check_hostile check_hostile_conn; do
        run env CK_RUN_CASE="$c" "$build/tests/$s"
    done
done
for s in check_server check_load check_process check_rooms; do
    [ -x "$build/tests/$s" ] && run "$build/tests/$s"
done
# TLS: the server's TLS paths (handshakes, reload, records, a slow TLS
# reader); the 1,000-handshake storm and the 10 s half handshake
# (Hostile) are left to the sanitizer runs for speed.
for c in ${VALGRIND_TLS_CASES:-Server Config}; do
    [ -x "$build/tests/check_tls" ] &&
        run env CK_RUN_CASE="$c" "$build/tests/check_tls"
done

for log in "$tmp"/vg.*.log; do
    [ -s "$log" ] || continue
    echo "valgrind.sh: $log:" >&2
    cat "$log" >&2
    rc=1
done
[ $rc -eq 0 ] && echo "valgrind.sh: clean"
exit $rc
