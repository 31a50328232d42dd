/*
 * net.c: listening sockets and address formatting.  No shared state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "net.h"

/*
 * Format sa as "1.2.3.4:port" or "[::1]:port" into buf.  Returns buf.
 */
char *
net_addr_string(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
    } else {
        snprintf(buf, len, "(unknown)");
    }
    return buf;
}

/*
 * Format a socket's local (peer 0) or peer address into buf.  Returns 0,
 * or -1 with "(unknown)" in buf.
 */
static int
sock_string(int fd, int peer, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl) :
                getsockname(fd, (struct sockaddr *)&ss, &sl)) < 0) {
        snprintf(buf, len, "(unknown)");
        return -1;
    }
    net_addr_string((struct sockaddr *)&ss, buf, len);
    return 0;
}

/* Local and peer address of a socket; 0 or -1 (buf says "(unknown)"). */
int
net_local_string(int fd, char *buf, size_t len)
{
    return sock_string(fd, 0, buf, len);
}

int
net_peer_string(int fd, char *buf, size_t len)
{
    return sock_string(fd, 1, buf, len);
}

static int
bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * Open one listening socket on ai.  On failure, err names the address
 * and, when it reads otherwise, how it was given (given: "-b 1.2.3" is
 * 1.2.0.3).
 */
static int
listen_one(const struct addrinfo *ai, const char *given, char *err,
           size_t errlen)
{
    int fd, on = 1, saved;
    char a[NET_ADDRSTRLEN], host[NET_ADDRSTRLEN];

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        goto fail;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        goto fail;
    if (ai->ai_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
        goto fail;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0)
        goto fail;
    return fd;
fail:
    saved = errno;
    net_addr_string(ai->ai_addr, a, sizeof(a));
    snprintf(host, sizeof(host), "%s%s%s:", given && strchr(given, ':') ?
             "[" : "", given ? given : "", given && strchr(given, ':') ?
             "]" : "");
    if (given == NULL || strncmp(a, host, strlen(host)) == 0)
        snprintf(err, errlen, "cannot listen on %s: %s", a,
                 strerror(saved));
    else
        snprintf(err, errlen, "cannot listen on %s (bind %s): %s", a, given,
                 strerror(saved));
    if (fd >= 0)
        close(fd);
    errno = saved;
    return -1;
}

/*
 * Open listening sockets for addr (NULL: every address, IPv6 and IPv4) on
 * *port.  When *port is 0, the first socket picks a free port and *port is
 * set to it, so every address listens on the same one.  Stores up to maxfds
 * non-blocking, close-on-exec descriptors in fds and returns their number.
 * On failure, returns NET_BADADDR when addr does not resolve or names no
 * address of this host, else -1 (the port is in use, say), with a message
 * in err.  An address family the host lacks is skipped when addr is NULL.
 */
static int
listen_all(const char *addr, int *port, int *fds, int maxfds, char *err,
           size_t errlen)
{
    struct addrinfo hints, *res, *ai;
    char portstr[16];
    int n = 0, rc, saved;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (addr && (strchr(addr, ':') || !addr[strspn(addr, "0123456789.")]))
        hints.ai_flags |= AI_NUMERICHOST;       /* no resolver for these */
    snprintf(portstr, sizeof(portstr), "%d", *port);
    if ((rc = getaddrinfo(addr, portstr, &hints, &res)) != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", addr ? addr : "*",
                 gai_strerror(rc));
        return NET_BADADDR;
    }
    /* Put IPv6 first so that "listening on [::]:N" is the first line. */
    for (int pass = 0; pass < 2; pass++) {
        for (ai = res; ai != NULL && n < maxfds; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET6) != (pass == 0))
                continue;
            if (*port != 0) {
                if (ai->ai_family == AF_INET6)
                    ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port =
                        htons((uint16_t)*port);
                else
                    ((struct sockaddr_in *)ai->ai_addr)->sin_port =
                        htons((uint16_t)*port);
            }
            int fd = listen_one(ai, addr, err, errlen);
            if (fd < 0) {
                rc = errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL ?
                     NET_BADADDR : -1;
                if (addr == NULL && rc == NET_BADADDR)
                    continue;
                goto fail;
            }
            fds[n++] = fd;
            if (*port == 0)
                *port = bound_port(fd);
        }
    }
    freeaddrinfo(res);
    if (n == 0) {
        snprintf(err, errlen, "no address to listen on for %s",
                 addr ? addr : "*");
        return NET_BADADDR;
    }
    return n;
fail:
    saved = errno;
    freeaddrinfo(res);
    while (n > 0)
        close(fds[--n]);
    errno = saved;
    return rc;
}

/*
 * As listen_all().  When *port is 0 and the port the first socket picked
 * is taken for a later address (an outgoing connection may hold it on
 * 127.0.0.1 while it is free on ::), all are closed and another port is
 * tried, a bounded number of times.
 */
int
net_listen(const char *addr, int *port, int *fds, int maxfds, char *err,
           size_t errlen)
{
    int rc, tries = 0;

    if (*port != 0)
        return listen_all(addr, port, fds, maxfds, err, errlen);
    do {
        *port = 0;
        rc = listen_all(addr, port, fds, maxfds, err, errlen);
    } while (rc == -1 && errno == EADDRINUSE && ++tries < 32);
    return rc;
}
