/*
 * xmalloc.h: allocation that aborts on out-of-memory.  A chat server that
 * cannot allocate a few hundred bytes has no sane way to go on (smallchat's
 * chatMalloc makes the same choice); memory use is bounded by the limits.
 */
#ifndef CHATD_XMALLOC_H
#define CHATD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
