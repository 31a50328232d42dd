/*
 * hredis.h: a throwaway redis-server for the cluster tests, on a loopback
 * port of its own, without persistence.  Its log goes to a temporary
 * file: it is ready when the log says so, and a port someone else holds
 * shows there too, so another is tried (nothing probes a port first and
 * hopes it is still free later).  Single-threaded use per struct.
 */
#ifndef CHATD_HREDIS_H
#define CHATD_HREDIS_H

#include <sys/types.h>

struct hredis {
    pid_t   pid;                /* 0 when not running */
    int     port;
    char    logpath[64];        /* its stdout and stderr */
};

const char *hredis_find(void);
int   hredis_start(struct hredis *r, const char *bin, int port);
void  hredis_stop(struct hredis *r);
int   hredis_cmd(int port, int argc, const char *const *argv);

#endif
