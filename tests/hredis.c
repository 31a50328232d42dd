/*
 * hredis.c: a throwaway redis-server for the cluster tests (see
 * hredis.h).  Everything here belongs to the calling test thread.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "hredis.h"

#define HREDIS_TRIES     20     /* ports tried before giving up */
#define HREDIS_START_MS  10000  /* for one start to be ready or fail */
/* Ports are picked below Linux's ephemeral range (32768 and up by
 * default), so the port-0 listeners and the outgoing connections of the
 * tests themselves never hold one. */
#define HREDIS_PORT_MIN  20000
#define HREDIS_PORT_SPAN 12000

#define READY   "Ready to accept connections"
#define IN_USE  "Address already in use"

/* redis-server from $REDIS_SERVER or the usual places, or NULL. */
const char *
hredis_find(void)
{
    static const char *const paths[] = { "/usr/bin/redis-server",
                                         "/usr/sbin/redis-server",
                                         "/usr/local/bin/redis-server",
                                         NULL };
    const char *env = getenv("REDIS_SERVER");
    struct stat st;

    if (env && *env && stat(env, &st) == 0)
        return env;
    for (int i = 0; paths[i]; i++)
        if (stat(paths[i], &st) == 0)
            return paths[i];
    return NULL;
}

/* A port to try: random, so that suites run at once seldom meet. */
static int
pick_port(void)
{
    static unsigned seed;

    if (seed == 0)
        seed = (unsigned)getpid() ^ (unsigned)h_now_ms();
    return HREDIS_PORT_MIN + rand_r(&seed) % HREDIS_PORT_SPAN;
}

/* Fork and exec redis-server on 127.0.0.1:port, its output to fd. */
static pid_t
spawn(const char *bin, int port, int fd)
{
    char ports[16];
    pid_t pid;

    snprintf(ports, sizeof(ports), "%d", port);
    if ((pid = fork()) != 0)
        return pid;
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execl(bin, bin, "--port", ports, "--bind", "127.0.0.1", "--save", "",
          "--appendonly", "no", "--protected-mode", "no", (char *)NULL);
    _exit(127);
}

/*
 * Start redis on port once and wait until its log says it is ready.
 * Returns 0 when it is (r filled in), 1 if it exited because the port
 * is in use, -1 on any other failure (its log is shown).
 */
static int
start_once(struct hredis *r, const char *bin, int port)
{
    int fd, rc = -1;
    char *log = NULL;

    snprintf(r->logpath, sizeof(r->logpath), "/tmp/chatd-redis-XXXXXX");
    if ((fd = mkstemp(r->logpath)) < 0)
        return -1;
    r->port = port;
    r->pid = spawn(bin, port, fd);
    close(fd);
    for (long end = h_now_ms() + HREDIS_START_MS; r->pid > 0;) {
        int exited = waitpid(r->pid, NULL, WNOHANG) == r->pid;
        free(log);
        log = h_read_file(r->logpath);
        if (strstr(log, READY) != NULL && !exited) {
            free(log);
            return 0;
        }
        if (exited) {
            r->pid = 0;
            rc = strstr(log, IN_USE) != NULL ? 1 : -1;
            break;
        }
        if (h_now_ms() > end)
            break;
        usleep(10000);
    }
    if (rc < 0)
        fprintf(stderr, "redis-server on port %d did not start:\n%s\n",
                port, log ? log : "");
    free(log);
    hredis_stop(r);
    return rc;
}

/*
 * Start redis-server (bin) on 127.0.0.1:port, or on a port of its own
 * when port is 0: on a clash another is tried.  Returns 0 or -1.
 */
int
hredis_start(struct hredis *r, const char *bin, int port)
{
    memset(r, 0, sizeof(*r));
    for (int attempt = 0; attempt < HREDIS_TRIES; attempt++) {
        int rc = start_once(r, bin, port ? port : pick_port());
        if (rc <= 0)
            return rc;
        /* A fixed port (a restart on the one the nodes know) cannot
         * move: wait for whoever holds it to let go. */
        if (port)
            usleep(100000);
    }
    if (port)
        fprintf(stderr, "redis-server: port %d still in use\n", port);
    else
        fprintf(stderr, "redis-server: no free port in %d tries\n",
                HREDIS_TRIES);
    return -1;
}

/* Kill redis (no clean shutdown needed: nothing is saved). */
void
hredis_stop(struct hredis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = 0;
    if (r->logpath[0] != '\0') {
        unlink(r->logpath);
        r->logpath[0] = '\0';
    }
}

/* Send one RESP command to the Redis at port; 0 if it answered. */
int
hredis_cmd(int port, int argc, const char *const *argv)
{
    struct hconn *c = hconn_open(port);
    char line[1024];
    int rc;

    if (c == NULL)
        return -1;
    hconn_send(c, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        hconn_send(c, "$%zu\r\n", strlen(argv[i]));
        hconn_write(c, argv[i], strlen(argv[i]));
        hconn_send(c, "\r\n");
    }
    rc = hconn_line(c, line, sizeof(line), H_TIMEOUT_MS) == 1 ? 0 : -1;
    hconn_close(c);
    return rc;
}
