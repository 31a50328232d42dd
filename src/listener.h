/*
 * listener.h: the acceptor thread, the only caller of accept().  It owns
 * the listening sockets and hands each accepted socket to the least
 * loaded worker.
 */
#ifndef CHATD_LISTENER_H
#define CHATD_LISTENER_H


#include <stddef.h>

int  listener_open(const char *const *addrs, int naddrs, int *port,
                   char *err, size_t errlen);
void listener_close(void);
void listener_start(void);
void listener_stop(void);

#endif
