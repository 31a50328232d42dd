/*
 * addrlimit.h: the per-address limits, max-per-address and connect-rate,
 * with the exempt list (pure parts: addrmask.h).  The acceptor asks
 * addrlimit_admit() about each connection it accepts and refuses the
 * ones over a limit; whichever thread later closes an admitted socket
 * calls addrlimit_close() (or addrlimit_release() just before its own
 * close()), which gives the connection's count back.
 */
#ifndef CHATD_ADDRLIMIT_H
#define CHATD_ADDRLIMIT_H

#include <stddef.h>
#include <sys/socket.h>

/* Main thread: before the acceptor starts; after every other thread
 * ended. */
void addrlimit_init(void);
void addrlimit_free(void);
/* Main thread, any time (SIGHUP): values checked by settings.c. */
int  addrlimit_set(long max, const char *rate, const char *exempt,
                   char *err, size_t errlen);

/* The acceptor thread. */
int  addrlimit_admit(int fd, const struct sockaddr *sa, char *why,
                     size_t len);

/* Any thread, for a socket it owns. */
void addrlimit_release(int fd);
void addrlimit_close(int fd);

#endif
