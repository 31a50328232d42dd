/*
 * hwebdriver.h: a small WebDriver client for the browser test: it starts
 * chromedriver (which starts headless Chromium) on a free loopback port,
 * speaks WebDriver's JSON over HTTP/1.1 to it on real sockets, and stops
 * it by its process group, which holds Chromium too.  Every call has a
 * deadline.  Single-threaded use per struct.
 */
#ifndef CHATD_HWEBDRIVER_H
#define CHATD_HWEBDRIVER_H

#include <stddef.h>
#include <sys/types.h>

#define WD_ELEM_MAX 512         /* a WebDriver element reference */

/* WebDriver key codes, as JSON escapes for wd_type() and wd_press(). */
#define WD_ENTER "\\uE007"
#define WD_TAB   "\\uE004"
#define WD_SHIFT "\\uE008"

struct wd {
    pid_t   pid;                /* chromedriver, its process group's leader */
    int     port;               /* where it listens, on 127.0.0.1 */
    char    session[128];       /* the session's id, "" when none */
    char    error[512];         /* what the last failed call said */
};

const char *wd_find(const char *env, const char *path);
int   wd_start(struct wd *w, const char *driver, const char *browser,
               const char *logpath);
void  wd_stop(struct wd *w);
void  wd_kill(const struct wd *w);

int   wd_open(struct wd *w, const char *url);
int   wd_element(struct wd *w, const char *css, char *elem);
int   wd_click(struct wd *w, const char *elem);
int   wd_type(struct wd *w, const char *elem, const char *text,
              const char *keys);
int   wd_press(struct wd *w, const char *key, const char *modifier);
char *wd_script(struct wd *w, const char *js, const char *arg);
int   wd_wait(struct wd *w, const char *js, const char *arg, int ms,
              char *last, size_t cap);
int   wd_window(struct wd *w, int width, int height);
int   wd_screenshot(struct wd *w, const char *path);
int   wd_cdp(struct wd *w, const char *cmd, const char *params);

char *json_quote(const char *s);
char *json_string(const char *json, const char *key);

#endif
