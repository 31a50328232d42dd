/*
 * webmetrics.h: the text of GET /metrics (Prometheus text format).  The
 * web thread; reads counters only.
 */
#ifndef CHATD_WEBMETRICS_H
#define CHATD_WEBMETRICS_H

#include <stddef.h>

char *webmetrics_text(size_t *len, size_t web_conns);

#endif
