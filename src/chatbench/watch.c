/*
 * watch.c: what chatbench says on stderr while a run goes on: the
 * progress line (on a terminal, once a second), fatal run errors, and the
 * stall watchdog, which ends a run that cannot finish and says why.
 * Called from chatbench's only thread.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

/* End the progress line, if one is showing, before other output. */
void
watch_end_line(void)
{
    if (bench.on_screen)
        fputc('\n', stderr);
    bench.on_screen = 0;
}

/* Report a fatal run error (printf-style) and mark the run failed. */
void __attribute__((format(printf, 1, 2)))
bench_fail(const char *fmt, ...)
{
    va_list ap;

    watch_end_line();
    fputs("chatbench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    bench.failed = 1;
}

/* Print the progress line (terminal only), at most once per second. */
void
watch_progress(const char *phase, uint64_t now)
{
    double dt;

    if (!bench.conf->progress || now < bench.next_tick)
        return;
    dt = (double)(now - bench.next_tick + TICK_NS) / 1e9;
    if (bench.sending)
        fprintf(stderr, "\r%s: %.0fs sent %llu delivered %llu "
                "(%.0f deliveries/s), %lld pending   ", phase,
                (double)(now - bench.t_run) / 1e9,
                (unsigned long long)bench.res->sent,
                (unsigned long long)bench.res->delivered,
                (double)(bench.res->delivered - bench.tick_delivered) / dt,
                (long long)(bench.due - bench.res->delivered));
    else
        fprintf(stderr, "\r%s: %llu of %zu connections ready   ", phase,
                (unsigned long long)bench.res->connected, bench.nconn);
    bench.on_screen = 1;
    bench.tick_delivered = bench.res->delivered;
    bench.next_tick = now + TICK_NS;
}

/* ------------------------------------------------- stall watchdog */

/*
 * The watchdog looks at the deliveries of the last STALL_NS.  A run
 * "looks rate-limited" when fewer than LIMITED_MSGS messages per sender
 * and second get through, fewer than LIMITED_TOTAL deliveries per second
 * in all, and (with -r) less than LIMITED_SHARE of the rate asked for:
 * what flood control does (chatd's default is 20 lines/s), not what an
 * overloaded server does.
 */
#define STALL_NS 3000000000ull
#define SAMPLE_NS 1000000000ull
#define LIMITED_MSGS 1000.0
#define LIMITED_TOTAL 1e6
#define LIMITED_SHARE 0.9
#define LIMITED_LONG_S 10.0     /* stop a rate-limited run this far off */

static char hint[512];          /* bench.res->hint */

static const char rate_hint[] = "the server seems to be rate-limiting its "
    "clients: start chatd with --rate 0";

/* Say why the run stalls (printf-style) and keep it for the report. */
static void __attribute__((format(printf, 1, 2)))
say_stall(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(hint, sizeof(hint), fmt, ap);
    va_end(ap);
    watch_end_line();
    fprintf(stderr, "chatbench: %s\n", hint);
    bench.res->hint = hint;
}

/*
 * Rule 1: deliveries are due but none came for STALL_NS while the
 * senders still had work (after that, --drain-ms decides).
 */
static int
no_delivery(uint64_t now)
{
    const struct bench_result *r = bench.res;
    uint64_t due = bench.due - r->delivered;

    if (bench.due <= r->delivered ||
        now - bench.last_delivery < STALL_NS || send_finished())
        return 0;
    say_stall("no delivery for %.0f s with %llu due: the server seems to "
              "be stalled, or rate-limiting its clients (start chatd "
              "with --rate 0)", (double)STALL_NS / 1e9,
              (unsigned long long)due);
    return 1;
}

/*
 * Once a second, note the deliveries so far; returns the rate over the
 * ring (deliveries/s), or -1 while less than STALL_NS is known.
 */
static double
sample(uint64_t now)
{
    uint32_t n = bench.nsample, last, first;

    if (n == 0) {
        bench.sample_t[0] = bench.t_run;
        bench.sample_d[0] = 0;
        bench.nsample = n = 1;
    }
    last = (n - 1) % STALL_SAMPLES;
    if (now - bench.sample_t[last] < SAMPLE_NS)
        return -1;
    bench.sample_t[n % STALL_SAMPLES] = now;
    bench.sample_d[n % STALL_SAMPLES] = bench.res->delivered;
    bench.nsample = ++n;
    if (n < STALL_SAMPLES)
        return -1;
    first = n % STALL_SAMPLES;
    last = (n - 1) % STALL_SAMPLES;
    return (double)(bench.sample_d[last] - bench.sample_d[first]) * 1e9 /
        (double)(bench.sample_t[last] - bench.sample_t[first]);
}

/*
 * Whether the run should end now because it cannot finish: rule 1 (no
 * delivery at all), or, from the last STALL_NS, rule 2 (at this rate
 * what is due would take past -T) or rule 3 (it looks rate-limited and
 * would take more than LIMITED_LONG_S).  A run that looks rate-limited
 * but will end soon (-D alone, say) goes on with a warning.  Says why on
 * stderr and in bench.res->hint.
 */
int
watch_stalled(uint64_t now)
{
    const struct bench_conf *c = bench.conf;
    const struct bench_result *r = bench.res;
    uint64_t want = c->timed ? bench.due : bench.planned_due;
    double rate, per, left, need;
    int limited;

    if (no_delivery(now))
        return 1;
    if ((rate = sample(now)) < 0 || want <= r->delivered)
        return 0;
    per = rate / bench.per_msg / (double)bench.nsnd;
    limited = per < LIMITED_MSGS && rate < LIMITED_TOTAL &&
        (c->rate == 0 || per * bench.nsnd < LIMITED_SHARE * c->rate);
    left = (double)(bench.deadline - now) / 1e9;
    need = rate > 0 ? (double)(want - r->delivered) / rate : 1e300;
    if (need > left) {
        say_stall("at %.0f deliveries/s (the last %.0f s), the %llu still "
                  "due need %.0f s, more than the %.0f s left (-T): %s",
                  rate, (double)STALL_NS / 1e9,
                  (unsigned long long)(want - r->delivered), need, left,
                  limited ? rate_hint : "the server cannot keep up with "
                  "this load; raise -T or send less");
        return 1;
    }
    if (limited && (need > LIMITED_LONG_S || !bench.warned)) {
        say_stall("only %.1f messages/s per sender got through in the last "
                  "%.0f s (%.0f deliveries/s): %s", per,
                  (double)STALL_NS / 1e9, rate, rate_hint);
        bench.warned = 1;
        return need > LIMITED_LONG_S;
    }
    return 0;
}
