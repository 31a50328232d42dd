/* wakeup.c: eventfd wakeups (see wakeup.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "wakeup.h"

/* A new non-blocking, close-on-exec eventfd, or -1 with errno set. */
int
wakeup_open(void)
{
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* Make fd readable; any thread.  The counter cannot overflow in practice
 * (2^64 - 1 posts), and EAGAIN would mean it is readable anyway. */
void
wakeup_post(int fd)
{
    uint64_t one = 1;

    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

/* Make fd unreadable again; the thread that waits on it. */
void
wakeup_drain(int fd)
{
    uint64_t n;

    while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
}
