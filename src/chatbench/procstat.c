/*
 * procstat.c: sample a process's CPU time, RSS and syscall counters from
 * /proc/PID/{stat,status,io}.  Used by chatbench's only thread; keeps no
 * state of its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

/*
 * Read all of /proc/PID/name into buf (NUL-terminated).  Returns the
 * length, or -1 with errno set.
 */
static ssize_t
read_proc(pid_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    size_t len = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    while (len + 1 < cap) {
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    return (ssize_t)len;
}

/* Whether pid names a live process whose /proc/PID/stat we can read. */
int
procstat_exists(pid_t pid)
{
    char buf[1024];

    return pid > 0 && read_proc(pid, "stat", buf, sizeof(buf)) > 0;
}

/* Find "key:" at the start of a line of text; return the number after it. */
static int
field_u64(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);

    for (const char *p = text; p != NULL && *p; ) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p + klen + 1, &end, 10);
            if (errno != 0 || end == p + klen + 1)
                return -1;
            *out = v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

/*
 * Sample pid into *ps.  Anything that cannot be read is marked missing
 * (have_* = 0) rather than failing: /proc/PID/io, for one, needs the
 * right to ptrace the process.
 */
void
procstat_read(pid_t pid, struct procstat *ps)
{
    char buf[4096];
    uint64_t v;

    memset(ps, 0, sizeof(*ps));
    /* stat: "pid (comm) state ..."; comm may hold spaces and parens */
    if (read_proc(pid, "stat", buf, sizeof(buf)) > 0) {
        char *p = strrchr(buf, ')');
        unsigned long long ut, st;
        long tick = sysconf(_SC_CLK_TCK);
        /* after ")": state(3) ... utime is field 14, stime 15 */
        if (p != NULL && tick > 0 &&
            sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                   "%llu %llu", &ut, &st) == 2) {
            ps->cpu_s = (double)(ut + st) / (double)tick;
            ps->have_cpu = 1;
        }
    }
    if (read_proc(pid, "status", buf, sizeof(buf)) > 0 &&
        field_u64(buf, "VmRSS", &v) == 0) {
        ps->rss_kb = (long)v;
        ps->have_rss = 1;
    }
    if (read_proc(pid, "io", buf, sizeof(buf)) > 0 &&
        field_u64(buf, "syscr", &ps->syscr) == 0 &&
        field_u64(buf, "syscw", &ps->syscw) == 0)
        ps->have_io = 1;
}
