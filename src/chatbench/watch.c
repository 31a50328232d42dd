/*
 * watch.c: what chatbench says on stderr while a run goes on: the
 * progress line (on a terminal, once a second) and fatal run errors.
 * Called from chatbench's only thread.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

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
                "(%.0f msg/s), %lld pending   ", phase,
                (double)(now - bench.t_run) / 1e9,
                (unsigned long long)bench.res->sent,
                (unsigned long long)bench.res->delivered,
                (double)(bench.res->delivered - bench.tick_delivered) / dt,
                (long long)(bench.res->sent * bench.per_msg - bench.res->delivered));
    else
        fprintf(stderr, "\r%s: %llu of %zu connections ready   ", phase,
                (unsigned long long)bench.res->connected, bench.nconn);
    bench.on_screen = 1;
    bench.tick_delivered = bench.res->delivered;
    bench.next_tick = now + TICK_NS;
}
