/*
 * listener.c: the acceptor thread.
 *
 * Ownership: the listening sockets and the reserve descriptor belong to
 * the acceptor thread once it runs; the main thread opens them before and
 * closes them after (listener_open, listener_stop).  A socket accepted
 * on the plain port goes to a worker; one on the TLS port to the TLS
 * handshake thread (tls.c), which hands it to a worker once it is done;
 * one on the web port to the web thread (web.c), through the TLS
 * handshake thread first with web-tls.
 *
 * Out of descriptors (EMFILE/ENFILE), accept() would fail at once and
 * epoll would report the pending connection again and again.  Instead the
 * acceptor frees its reserve descriptor, accepts the connection, tells it
 * "*** error: server full" and closes it, then takes the reserve back; if
 * even that fails, it stops polling the listeners for a while.  Either
 * way no CPU is spun, and it recovers when descriptors free up.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "net.h"
#include "clock.h"
#include "tls.h"
#include "web.h"
#include "worker.h"

#define CHATD_LISTEN_MAX    32
#define LISTENER_PAUSE_MS   100

/* What a listening socket serves. */
enum lkind { L_PLAIN, L_TLS, L_WEB, L_WEB_TLS };

static const char *const lkind_tag[] = {
    [L_PLAIN] = "", [L_TLS] = " (tls)", [L_WEB] = " (web)",
    [L_WEB_TLS] = " (web tls)",
};

static struct {
    int             fds[CHATD_LISTEN_MAX];
    unsigned char   kind[CHATD_LISTEN_MAX]; /* enum lkind of fds[i] */
    int             nfds;
    int             stopfd;         /* eventfd: main -> acceptor */
    int             reserve;        /* spare descriptor for EMFILE */
    pthread_t       thread;
} lst;

/* Open port (of kind) on every address; see listener_open. */
static int
open_port(const char *const *addrs, int naddrs, int *port, int kind,
          char *err, size_t errlen)
{
    int n;

    for (int i = 0; i < (naddrs ? naddrs : 1); i++) {
        n = net_listen(naddrs ? addrs[i] : NULL, port, lst.fds + lst.nfds,
                       CHATD_LISTEN_MAX - lst.nfds, err, errlen);
        if (n < 0)
            return n;
        for (int j = 0; j < n; j++)
            lst.kind[lst.nfds++] = (unsigned char)kind;
    }
    return 0;
}

/*
 * Open the listening sockets: every address of addrs, or all addresses
 * when naddrs is 0, on each port of ports (any may be LISTENER_OFF).  A port 0 picks a free port and is set to it.  Main
 * thread, before listener_start() (or listener_close()).  Returns 0, or
 * what net_listen() returns (NET_BADADDR: an address that does not
 * resolve or is not this host's; -1: another failure), with err naming
 * the address that failed and why.
 */
int
listener_open(const char *const *addrs, int naddrs,
              const struct listener_ports *ports, char *err, size_t errlen)
{
    int rc = 0;

    lst.nfds = 0;
    if (*ports->port != LISTENER_OFF)
        rc = open_port(addrs, naddrs, ports->port, L_PLAIN, err, errlen);
    if (rc == 0 && *ports->tls_port != LISTENER_OFF)
        rc = open_port(addrs, naddrs, ports->tls_port, L_TLS, err, errlen);
    if (rc == 0 && *ports->web_port != LISTENER_OFF)
        rc = open_port(addrs, naddrs, ports->web_port,
                       ports->web_tls ? L_WEB_TLS : L_WEB, err, errlen);
    if (rc < 0)
        listener_close();
    return rc;
}

/* What lfd serves. */
static int
kind_of(int lfd)
{
    for (int i = 0; i < lst.nfds; i++)
        if (lst.fds[i] == lfd)
            return lst.kind[i];
    return L_PLAIN;
}

/* Close the listening sockets (chatd -t opened them only to check).
 * Main thread, while the acceptor does not run. */
void
listener_close(void)
{
    while (lst.nfds > 0)
        close(lst.fds[--lst.nfds]);
}

/* Refuse one pending connection using the reserve descriptor (on a TLS
 * or web port, without a word: it would not be what the client
 * speaks). */
static int
refuse_with_reserve(int lfd)
{
    static const char full[] = "*** error: server full\n";

    if (lst.reserve < 0)
        return -1;
    close(lst.reserve);
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0 && kind_of(lfd) == L_PLAIN) {
        ssize_t n = send(fd, full, sizeof(full) - 1,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;
    }
    if (fd >= 0)
        close(fd);
    lst.reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : -1;
}

/*
 * Accept everything pending on lfd.  Returns 0, or -1 when out of
 * descriptors and the listeners must pause.
 */
static int
accept_all(int lfd)
{
    static int64_t last_warn;
    int kind = kind_of(lfd);

    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            if (kind == L_TLS)
                tls_handoff(fd);
            else if (kind == L_WEB_TLS)
                tls_handoff_web(fd);
            else if (kind == L_WEB)
                web_handoff(fd);
            else
                worker_handoff(fd);
            continue;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            if (clock_ms() - last_warn > 10000) {
                log_warn("accept: refusing connections");
                last_warn = clock_ms();
            }
            if (refuse_with_reserve(lfd) == 0)
                continue;
            return -1;
        default:                    /* EAGAIN and the rest */
            return 0;
        }
    }
}

static void
watch_listeners(int epfd, int on)
{
    for (int i = 0; i < lst.nfds; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = lst.fds[i] };
        if (epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, lst.fds[i],
                      &ev) < 0)
            fatal("epoll_ctl");
    }
}

static void *
listener_main(void *arg)
{
    struct epoll_event events[CHATD_LISTEN_MAX + 1];
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lst.stopfd };
    int epfd, paused = 0;

    (void)arg;
    log_set_role("acceptor");
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        fatal("epoll_create1");
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lst.stopfd, &ev) < 0)
        fatal("epoll_ctl");
    watch_listeners(epfd, 1);
    for (;;) {
        int n = epoll_wait(epfd, events, CHATD_LISTEN_MAX + 1,
                           paused ? LISTENER_PAUSE_MS : -1);
        if (n < 0 && errno != EINTR)
            fatal("epoll_wait");
        if (n == 0 && paused) {
            watch_listeners(epfd, 1);
            paused = 0;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == lst.stopfd) {
                close(epfd);
                return NULL;
            }
            if (!paused && accept_all(events[i].data.fd) < 0) {
                watch_listeners(epfd, 0);
                paused = 1;
            }
        }
    }
}

/*
 * Start the acceptor thread and log "listening on ADDR" for each socket,
 * "listening on ADDR (tls)" for a TLS one, "(web)" or "(web tls)" for
 * the web port: scripts and tests wait for that line.  Main thread, after the workers
 * started.
 */
void
listener_start(void)
{
    char a[NET_ADDRSTRLEN];
    int rc;

    lst.reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if ((lst.stopfd = eventfd(0, EFD_CLOEXEC)) < 0)
        fatal("eventfd");
    if ((rc = pthread_create(&lst.thread, NULL, listener_main, NULL)) != 0) {
        errno = rc;
        fatal("pthread_create");
    }
    for (int i = 0; i < lst.nfds; i++) {
        net_local_string(lst.fds[i], a, sizeof(a));
        log_info("listening on %s%s", a, lkind_tag[lst.kind[i]]);
    }
}

/* Stop accepting: end the thread and close the listening sockets.  Main
 * thread. */
void
listener_stop(void)
{
    uint64_t one = 1;
    ssize_t n = write(lst.stopfd, &one, sizeof(one));
    int rc;

    (void)n;
    if ((rc = pthread_join(lst.thread, NULL)) != 0) {
        errno = rc;
        fatal("pthread_join");
    }
    listener_close();
    close(lst.stopfd);
    if (lst.reserve >= 0)
        close(lst.reserve);
}
