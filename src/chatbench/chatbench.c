/*
 * chatbench.c: main(): options, limits, one run and its report.  The
 * options are in options.c, the run in loop.c and the files it names,
 * the report in report.c.  chatbench has one thread, which owns all of
 * its data.
 *
 * Exit status: 0 when nothing was lost, duplicated, corrupted or
 * misrouted (and, in
 * the idle mode, every client connected), 1 otherwise or on a run error,
 * 2 on bad usage.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "bench.h"

/* Parse, check, run, report; see the exit status above. */
int
main(int argc, char **argv)
{
    struct bench_conf c = {
        .proto = BENCH_CHAT, .host = "127.0.0.1", .port = "7777",
        .channel = "chatbench", .clients = 10, .senders = 1, .size = 64,
        .messages = 1000, .window = 64, .rate = 0, .duration = 10,
        .drain_ms = 2000, .timeout_s = 120
    };
    static struct bench_result r;      /* large: the histogram */
    int failed;

    options_parse(argc, argv, &c);
    options_check_limits(&c);
    c.progress = isatty(STDERR_FILENO);
    failed = bench_run(&c, &r) < 0;
    report_human(&c, &r);
    report_line(&c, &r);
    if (fflush(stdout) != 0) {
        perror("chatbench: stdout");
        return 1;
    }
    if (failed || r.connected < (uint64_t)c.clients)
        return 1;
    if (c.senders > 0 && (r.sent < r.planned || r.delivered < r.expected ||
                          r.dup > 0 || r.corrupt > 0 || r.misrouted > 0))
        return 1;
    return 0;
}
