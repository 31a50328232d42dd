/*
 * web_int.h: the web thread's connection and settings, private to web.c
 * (the thread: connections, reading, writing, hand-off) and webanswer.c
 * (what each request is answered).  The web thread's alone; web_opts is
 * written by the main thread before the thread starts, then read-only.
 */
#ifndef CHATD_WEB_INT_H
#define CHATD_WEB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "net.h"
#include "settings.h"
#include "web.h"

#define WEB_PROXIES  64

enum wstate { W_READ, W_WRITE, W_DRAIN };

/* One connection; the web thread's. */
struct wconn {
    struct transport *tp;
    int64_t           deadline;
    unsigned          events;       /* registered with epoll */
    enum wstate       state;
    unsigned          close_after:1;    /* an error was answered */
    unsigned          upgrade:1;        /* hand off once 101 is sent */
    struct wconn     *prev, *next;      /* by deadline */
    char             *head;             /* the answer's head */
    size_t            head_len;
    const char       *body;             /* its body (web_page or own) */
    size_t            body_len;
    char             *own;              /* a body to free */
    size_t            woff;             /* bytes of head + body sent */
    size_t            used;             /* bytes of the request answered */
    char             *fwd;              /* X-Forwarded-For, believed */
    char              addr[NET_ADDRSTRLEN];
    size_t            len, scanned;
    char              buf[HTTP_HEAD_MAX];
};


struct web_opts {
    struct web_conf        conf;
    struct settings_prefix proxies[WEB_PROXIES];
    int                    nproxies;
};

extern struct web_opts web_opts;

void webanswer(struct wconn *c, const struct http_req *req, size_t nconns);
void webanswer_error(struct wconn *c, int status, const char *extra,
                     const char *why);
void webanswer_free(struct wconn *c);

#endif
