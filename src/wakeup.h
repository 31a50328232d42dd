/*
 * wakeup.h: an eventfd that wakes a thread sleeping in epoll or poll.
 * wakeup_post(): any thread; wakeup_drain(): the sleeping thread.
 */
#ifndef CHATD_WAKEUP_H
#define CHATD_WAKEUP_H

int  wakeup_open(void);
void wakeup_post(int fd);
void wakeup_drain(int fd);

#endif
