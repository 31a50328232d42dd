/*
 * procstat.h: what chatbench reads about the server process from /proc
 * (Linux only): CPU time, resident memory, read/write syscall counts.
 * Called from chatbench's only thread.
 */
#ifndef CHATBENCH_PROCSTAT_H
#define CHATBENCH_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

struct procstat {
    int      have_cpu;          /* cpu_s is valid */
    int      have_rss;          /* rss_kb is valid */
    int      have_io;           /* syscr, syscw are valid (may need root) */
    double   cpu_s;             /* utime + stime, seconds */
    long     rss_kb;            /* VmRSS */
    uint64_t syscr;             /* read-like syscalls so far */
    uint64_t syscw;             /* write-like syscalls so far */
};

int  procstat_exists(pid_t pid);
void procstat_read(pid_t pid, struct procstat *ps);

#endif
