/*
 * net.h: socket helpers.  No shared state; any thread.
 */
#ifndef CHATD_NET_H
#define CHATD_NET_H

#include <stddef.h>
#include <sys/socket.h>

#define NET_ADDRSTRLEN 64       /* "[ffff:...]:65535" fits */
#define NET_BADADDR    (-2)     /* net_listen(): no such address here */

int   net_listen(const char *addr, int *port, int *fds, int maxfds,
                 char *err, size_t errlen);
char *net_addr_string(const struct sockaddr *sa, char *buf, size_t len);
int   net_local_string(int fd, char *buf, size_t len);
int   net_peer_string(int fd, char *buf, size_t len);

#endif
