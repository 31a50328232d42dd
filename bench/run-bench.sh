#!/bin/sh
# run-bench.sh: `make bench`.  Runs chatbench scenarios A-G three times
# each against a fresh chatd and, when redis-server is installed, a
# throwaway redis-server (G: chatd only), then prints the medians
# (min-max) side by side.  The T scenarios run over TLS against chatd's
# TLS port (a certificate made here with the openssl command, for the
# run only): AT and CT are A and C, ET 5,000 idle TLS clients, HT the
# time to connect and welcome 1,000 TLS clients.  The W scenarios run over
# WebSocket against chatd's web-port (chatbench --protocol ws): AW is A,
# EW 5,000 idle WebSocket clients.  Starts the servers on
# loopback only and stops them (by PID) on exit.
#
# Usage: run-bench.sh [BUILDDIR]     (default: the current directory)
# Environment: RUNS (default 3), SCENARIOS (default "A B C D E F G AT CT
# ET HT AW EW"; the T ones only when the openssl command is there), CHATD
# (default BUILDDIR/src/chatd: another build's chatd, to compare).
set -u

builddir=${1:-.}
chatd=${CHATD:-$builddir/src/chatd}
chatbench=$builddir/src/chatbench/chatbench
runs=${RUNS:-3}
tls_scenarios=
command -v openssl >/dev/null 2>&1 && tls_scenarios="AT CT ET HT"
scenarios=${SCENARIOS:-A B C D E F G $tls_scenarios AW EW}

for p in "$chatd" "$chatbench"; do
    if [ ! -x "$p" ]; then
        echo "run-bench.sh: $p not built; run make first" >&2
        exit 2
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatbench.XXXXXX") || exit 1
chatd_pid=
redis_pid=

stop_chatd() {
    [ -n "$chatd_pid" ] && kill "$chatd_pid" 2>/dev/null &&
        wait "$chatd_pid" 2>/dev/null
    chatd_pid=
}
stop_redis() {
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null &&
        wait "$redis_pid" 2>/dev/null
    redis_pid=
}
stop_servers() {
    stop_chatd
    stop_redis
}
trap 'stop_servers; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The scenarios: 64-byte messages.
args_of() {
    case $1 in
    A) echo "-c 100 -s 1 -m 20000 -w 64" ;;
    B) echo "-c 100 -s 100 -m 200 -w 64" ;;
    C) echo "-c 1000 -s 1 -m 2000 -w 64" ;;
    D) echo "-c 100 -s 1 -r 1000 -D 5" ;;
    E) echo "-c 10000 -s 0" ;;
    F) echo "-c 1000 --rooms 100 -s 100 -m 200 -w 64" ;;
    G) echo "-c 10000 -s 0" ;;
    AT) echo "--tls --insecure $(args_of A)" ;;
    CT) echo "--tls --insecure $(args_of C)" ;;
    ET) echo "--tls --insecure -c 5000 -s 0" ;;
    HT) echo "--tls --insecure -c 1000 -s 0" ;;
    AW) echo "$(args_of A)" ;;
    EW) echo "-c 5000 -s 0" ;;
    esac
}
title_of() {
    case $1 in
    A) echo "A: 100 clients, 1 sender, 20000 msgs, window 64" ;;
    B) echo "B: 100 clients, 100 senders x 200 msgs, window 64" ;;
    C) echo "C: 1000 clients, 1 sender, 2000 msgs, window 64" ;;
    D) echo "D: 100 clients, 1 sender, 1000 msgs/s for 5 s" ;;
    E) echo "E: 10000 idle clients" ;;
    F) echo "F: 1000 clients in 100 rooms of 10, 100 senders x 200 msgs" ;;
    G) echo "G: 10000 clients connect into one room (the default room)" ;;
    AT) echo "AT: A over TLS" ;;
    CT) echo "CT: C over TLS" ;;
    ET) echo "ET: 5000 idle TLS clients" ;;
    HT) echo "HT: 1000 TLS clients connecting (handshake and welcome)" ;;
    AW) echo "AW: A over WebSocket" ;;
    EW) echo "EW: 5000 idle WebSocket clients" ;;
    esac
}
metrics_of() {
    case $1 in
    D) echo "p50_us p90_us p99_us p999_us max_us server_cpu_s" ;;
    E|ET|EW) echo "rss_per_conn_b connect_s" ;;
    G) echo "connect_s quiet_s rss_per_conn_b" ;;
    HT) echo "connect_s server_cpu_s" ;;
    *) echo "deliveries_per_s mb_per_s p50_us p99_us max_us server_cpu_s \
writes_per_msg" ;;
    esac
}

# Start chatd on a free port; set chatd_pid and chatd_port.
# Each start logs to a new file, created before the server starts: the
# redirection happens in the child, and an old log would fool the parent.
chatd_flags="-p 0 -w 2 --rate 0 --max-clients 20000 --sendq 64M \
--web-port 0"
if [ -n "$tls_scenarios" ]; then
    # An EC P-256 key, as a certificate from a public CA would have.
    if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
            -subj /CN=localhost >/dev/null 2>&1; then
        chatd_flags="$chatd_flags --tls-port 0 --tls-cert $tmp/cert.pem \
--tls-key $tmp/key.pem"
    else
        echo "run-bench.sh: openssl cannot make a certificate; no TLS" >&2
        tls_scenarios=
        scenarios=$(echo "$scenarios" | sed 's/[A-Z]T//g')
    fi
fi
starts=0
start_chatd() {
    starts=$((starts + 1))
    chatd_log=$tmp/chatd.$starts.log
    : >"$chatd_log"
    # shellcheck disable=SC2086
    "$chatd" $chatd_flags 2>"$chatd_log" &
    chatd_pid=$!
    i=0
    while [ $i -lt 50 ]; do
        chatd_port=$(sed -n 's/.*listening on \[::\]:\([0-9]*\).*/\1/p' \
            "$chatd_log" | head -n 1)
        chatd_tls_port=$(sed -n \
            's/.*listening on \[::\]:\([0-9]*\) (tls).*/\1/p' \
            "$chatd_log" | head -n 1)
        chatd_web_port=$(sed -n \
            's/.*listening on \[::\]:\([0-9]*\) (web).*/\1/p' \
            "$chatd_log" | head -n 1)
        [ -n "$chatd_port" ] && grep -q ' ready: ' "$chatd_log" && return 0
        kill -0 "$chatd_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "run-bench.sh: chatd did not start:" >&2
    cat "$chatd_log" >&2
    exit 1
}

# Start redis-server on a free loopback port; set redis_pid, redis_port.
start_redis() {
    tries=0
    while [ $tries -lt 10 ]; do
        tries=$((tries + 1))
        starts=$((starts + 1))
        redis_log=$tmp/redis.$starts.log
        : >"$redis_log"
        redis_port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
        redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
            --appendonly no --maxclients 15000 --daemonize no \
            >"$redis_log" 2>&1 &
        redis_pid=$!
        i=0
        while [ $i -lt 50 ]; do
            if grep -q 'Ready to accept connections' "$redis_log"; then
                return 0
            fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
            i=$((i + 1))
        done
        kill "$redis_pid" 2>/dev/null
        wait "$redis_pid" 2>/dev/null
        redis_pid=
    done
    echo "run-bench.sh: redis-server did not start; skipping it:" >&2
    tail -n 5 "$redis_log" >&2
    return 1
}

# Print the median and (min-max) of the numbers on stdin, "-" if none.
stats() {
    sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            if (NR == 1) print num(m)
            else printf "%s (%s-%s)\n", num(m), num(v[1]), num(v[NR])
        }
        function num(x) {
            return x >= 1000 ? sprintf("%.0f", x) : sprintf("%.4g", x)
        }'
}

failed=0

# run SERVER SCENARIO: run chatbench $runs times, keeping the summaries.
# Scenarios E and G measure memory per connection (G also the time until
# all are welcomed and the join notices are over), so each of their runs
# gets a fresh server: a heap grown by an earlier run would hide the
# cost, and G's clients must find an empty room.
run() {
    server=$1 sc=$2
    fresh=0
    case $sc in E|ET|EW|G) fresh=1 ;; esac
    n=1
    while [ "$n" -le "$runs" ]; do
        if [ $fresh -eq 1 ] && [ "$server" = chatd ]; then
            stop_chatd
            start_chatd
        elif [ $fresh -eq 1 ]; then
            stop_redis
            start_redis || { failed=1; return; }
        fi
        if [ "$server" = chatd ] && [ "${sc%W}" != "$sc" ]; then
            set -- --protocol ws -p "$chatd_web_port" \
                --server-pid "$chatd_pid"
        elif [ "$server" = chatd ] && [ "${sc%T}" != "$sc" ]; then
            set -- --protocol chat -p "$chatd_tls_port" \
                --server-pid "$chatd_pid"
        elif [ "$server" = chatd ]; then
            set -- --protocol chat -p "$chatd_port" --server-pid "$chatd_pid"
        else
            set -- --protocol redis -p "$redis_port" \
                --server-pid "$redis_pid"
        fi
        # shellcheck disable=SC2046
        echo "  $server $sc run $n: chatbench $* $(args_of "$sc")"
        "$chatbench" "$@" $(args_of "$sc") -T 120 \
            >"$tmp/out.$server.$sc.$n" 2>"$tmp/err.$server.$sc.$n"
        rc=$?
        grep '^chatbench: proto=' "$tmp/out.$server.$sc.$n" \
            >>"$tmp/lines.$server.$sc"
        if [ $rc -ne 0 ]; then
            echo "  FAILED (exit $rc):" >&2
            cat "$tmp/out.$server.$sc.$n" "$tmp/err.$server.$sc.$n" >&2
            failed=1
        fi
        # let the server finish the departures before the next run
        sleep 1
        n=$((n + 1))
    done
}

start=$(date +%s)
start_chatd
echo "chatd $chatd_flags: pid $chatd_pid, port $chatd_port"
have_redis=0
if command -v redis-server >/dev/null 2>&1 && start_redis; then
    have_redis=1
    echo "redis-server --port $redis_port --bind 127.0.0.1 --save '' \
--appendonly no --maxclients 15000: pid $redis_pid"
else
    echo "redis-server: not installed; chatd only"
fi

for sc in $scenarios; do
    echo "$(title_of "$sc")"
    run chatd "$sc"
    # G is about chatd's rooms; redis's connect time and memory are in
    # E; redis-server here speaks no TLS nor WebSocket: the T and W
    # scenarios are chatd's
    [ $have_redis -eq 1 ] && [ "$sc" != G ] && [ "${sc%T}" = "$sc" ] &&
        [ "${sc%W}" = "$sc" ] && run redis "$sc"
done
stop_servers

echo
printf '%-18s %-26s %-26s\n' "" "chatd (median, min-max)" \
    "redis (median, min-max)"
for sc in $scenarios; do
    echo "$(title_of "$sc")"
    for m in $(metrics_of "$sc"); do
        col() {
            f=$tmp/lines.$1.$sc
            [ -f "$f" ] || { echo "-"; return; }
            sed -n "s/.* $m=\([^ ]*\).*/\1/p" "$f" | stats
        }
        printf '  %-16s %-26s %-26s\n' "$m" "$(col chatd)" "$(col redis)"
    done
done
echo
echo "$runs runs each, $(( $(date +%s) - start )) s in all; chatd: \
$chatd_flags; latency from the intended send time; \
$(nproc 2>/dev/null || echo '?') CPUs, servers and chatbench on one host."
exit $failed
