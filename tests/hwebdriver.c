/*
 * hwebdriver.c: the browser test's WebDriver client (see hwebdriver.h).
 * Everything here belongs to the calling test thread.  chromedriver runs in
 * a process group of its own, so that stopping it by that group's id also
 * stops the Chromium it started, and nothing else.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/evp.h>

#include "harness.h"
#include "hwebdriver.h"

#define WD_CALL_MS   30000      /* one WebDriver command, at most */
#define WD_READY_MS  20000      /* chromedriver up and ready */
#define WD_ELEM_KEY  "element-6066-11e4-a52e-4f735466cecf"

/* The program named by environment variable env, else path; NULL unless
 * it is an executable file. */
const char *
wd_find(const char *env, const char *path)
{
    const char *p = getenv(env);

    if (p == NULL || *p == '\0')
        p = path;
    return access(p, X_OK) == 0 ? p : NULL;
}

/* ------------------------------------------------------------------ */
/* JSON: just what WebDriver's answers need                            */
/* ------------------------------------------------------------------ */

/* s as a JSON string, quotes included (malloc'd). */
char *
json_quote(const char *s)
{
    char *out = malloc(strlen(s) * 6 + 3), *o = out;

    if (out == NULL)
        abort();
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            o += sprintf(o, "\\u%04x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* Append code point cp to o as UTF-8; returns the new end. */
static char *
put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* The \uXXXX escape at p (p points at the 'u'), surrogate pairs joined;
 * *end is set past it.  Bad hex gives U+FFFD. */
static unsigned long
unescape_u(const char *p, const char **end)
{
    char hex[5] = { 0 };
    unsigned long cp, lo;

    memcpy(hex, p + 1, 4);
    *end = p + 5;
    if (strspn(hex, "0123456789abcdefABCDEF") != 4)
        return 0xfffd;
    cp = strtoul(hex, NULL, 16);
    if (cp >= 0xd800 && cp < 0xdc00 && (*end)[0] == '\\' &&
        (*end)[1] == 'u') {
        lo = unescape_u(*end + 1, end);
        return lo >= 0xdc00 && lo < 0xe000
               ? 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00) : 0xfffd;
    }
    return cp;
}

/* The JSON string starting at the quote p, unescaped (malloc'd). */
static char *
unquote(const char *p)
{
    char *out = malloc(strlen(p) + 1), *o = out;

    if (out == NULL)
        abort();
    for (p++; *p && *p != '"'; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        switch (*++p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': o = put_utf8(o, unescape_u(p, &p)); p--; break;
        case '\0': p--; break;
        default: *o++ = *p; break;
        }
    }
    *o = '\0';
    return out;
}

/*
 * The string value of the first member called key in json (malloc'd), or
 * NULL when there is none or it is not a string.  A plain search, enough
 * for WebDriver's answers, whose keys we look for are never in values.
 */
char *
json_string(const char *json, const char *key)
{
    char *q = json_quote(key);
    const char *p = strstr(json, q);

    if (p != NULL) {
        p += strlen(q);
        p += strspn(p, " \t\r\n");
        if (*p == ':') {
            p++;
            p += strspn(p, " \t\r\n");
        } else {
            p = NULL;
        }
    }
    free(q);
    return p != NULL && *p == '"' ? unquote(p) : NULL;
}

/* ------------------------------------------------------------------ */
/* HTTP/1.1 to chromedriver                                            */
/* ------------------------------------------------------------------ */

/* Write all of buf to fd before end (h_now_ms()); 0 or -1. */
static int
send_all(int fd, const char *buf, size_t len, long end)
{
    while (len > 0) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        long left = end - h_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        }
    }
    return 0;
}

/* Is the answer in buf (len bytes, NUL-terminated) complete: headers
 * and Content-Length bytes of body?  Without the header, only EOF says. */
static int
complete(const char *buf, size_t len)
{
    const char *end = strstr(buf, "\r\n\r\n"), *cl;
    size_t body;

    if (end == NULL)
        return 0;
    for (cl = buf; cl < end; cl = strchr(cl, '\n') + 1)
        if (strncasecmp(cl, "Content-Length:", 15) == 0) {
            body = strtoul(cl + 15, NULL, 10);
            return len >= (size_t)(end + 4 - buf) + body;
        }
    return 0;
}

/* Read the whole answer before end; malloc'd and NUL-terminated, or
 * NULL. */
static char *
recv_all(int fd, long end)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);

    while (buf != NULL) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        long left = end - h_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
            abort();
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            len += (size_t)n;
            buf[len] = '\0';
            if (complete(buf, len))
                return buf;
            continue;
        }
        buf[len] = '\0';
        return n == 0 ? buf : (free(buf), NULL);
    }
    free(buf);
    return NULL;
}

/* A connected socket to 127.0.0.1:port, or -1. */
static int
dial(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/*
 * One request: method path with the JSON body json (NULL: none).  Returns
 * the HTTP status with the answer's body in *body (malloc'd), or -1 when
 * there was no answer within ms.
 */
static int
http_call(int port, const char *method, const char *path, const char *json,
          char **body, int ms)
{
    long end = h_now_ms() + ms;
    size_t blen = json ? strlen(json) : 0;
    char head[512], *resp, *p;
    int fd, status = -1, n;

    *body = NULL;
    if ((fd = dial(port)) < 0)
        return -1;
    n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d"
                 "\r\nContent-Type: application/json; charset=utf-8\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                 method, path, port, blen);
    if (send_all(fd, head, (size_t)n, end) == 0 &&
        send_all(fd, json ? json : "", blen, end) == 0 &&
        (resp = recv_all(fd, end)) != NULL) {
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
            status = -1;
        p = strstr(resp, "\r\n\r\n");
        *body = strdup(p != NULL ? p + 4 : "");
        free(resp);
    }
    close(fd);
    return status;
}

/*
 * A WebDriver command of the session (path after /session/ID, "" for the
 * session itself).  Returns the answer's body (malloc'd) when the status
 * is 200, else NULL with w->error saying why.
 */
static char *
command(struct wd *w, const char *method, const char *path, const char *json)
{
    char url[512], *body = NULL, *msg;
    int status;

    snprintf(url, sizeof(url), "/session/%s%s", w->session, path);
    status = http_call(w->port, method, url, json, &body, WD_CALL_MS);
    if (status == 200)
        return body;
    msg = body ? json_string(body, "message") : NULL;
    snprintf(w->error, sizeof(w->error), "%s %s: %s", method, path,
             msg ? msg : status < 0 ? "no answer" : "an error");
    free(msg);
    free(body);
    return NULL;
}

/* command() whose answer is only a success or not: 0 or -1. */
static int
command_ok(struct wd *w, const char *method, const char *path,
           const char *json)
{
    char *body = command(w, method, path, json);

    free(body);
    return body != NULL ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* chromedriver's life                                                 */
/* ------------------------------------------------------------------ */

/* A loopback port nobody listens on now (the driver binds it next). */
static int
free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Start driver --port=w->port in a process group of its own; its output
 * goes to logpath.  0 or -1. */
static int
spawn(struct wd *w, const char *driver, const char *logpath)
{
    char arg[32];
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

    if (fd < 0)
        return -1;
    snprintf(arg, sizeof(arg), "--port=%d", w->port);
    w->pid = fork();
    if (w->pid == 0) {
        setpgid(0, 0);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execl(driver, driver, arg, (char *)NULL);
        _exit(127);
    }
    close(fd);
    if (w->pid < 0)
        return -1;
    setpgid(w->pid, w->pid);    /* no race with the child's own call */
    return 0;
}

/* Wait until the driver says it is ready; 0 or -1 (gone or too slow). */
static int
wait_ready(struct wd *w)
{
    long end = h_now_ms() + WD_READY_MS;
    char *body;
    int ready;

    while (h_now_ms() < end) {
        if (waitpid(w->pid, NULL, WNOHANG) == w->pid) {
            w->pid = 0;
            return -1;
        }
        ready = http_call(w->port, "GET", "/status", NULL, &body, 2000) ==
                200 && strstr(body, "\"ready\":true") != NULL;
        free(body);
        if (ready)
            return 0;
        usleep(50000);
    }
    return -1;
}

/* A new session in headless Chromium (browser is its program). */
static int
new_session(struct wd *w, const char *browser)
{
    char *bin = json_quote(browser), json[1024], *body, *id = NULL;
    int status;

    snprintf(json, sizeof(json),
             "{\"capabilities\":{\"alwaysMatch\":{\"browserName\":\"chrome\","
             "\"goog:chromeOptions\":{\"binary\":%s,\"args\":["
             "\"--headless=new\",\"--no-sandbox\",\"--disable-gpu\","
             "\"--disable-dev-shm-usage\",\"--no-first-run\","
             "\"--disable-extensions\",\"--disable-background-networking\","
             "\"--window-size=900,640\"]}}}}", bin);
    free(bin);
    status = http_call(w->port, "POST", "/session", json, &body, WD_CALL_MS);
    if (status == 200)
        id = json_string(body, "sessionId");
    if (id == NULL || strlen(id) >= sizeof(w->session)) {
        char *msg = body ? json_string(body, "message") : NULL;
        snprintf(w->error, sizeof(w->error), "new session: %s",
                 msg ? msg : "no answer");
        free(msg);
        free(id);
        free(body);
        return -1;
    }
    snprintf(w->session, sizeof(w->session), "%s", id);
    free(id);
    free(body);
    return 0;
}

/*
 * Start driver on a free port (a port someone took meanwhile makes it
 * exit: try another, three times) and open a session in browser.  The
 * driver's log goes to logpath.  0, or -1 with w->error saying why
 * (whatever started is stopped again).
 */
int
wd_start(struct wd *w, const char *driver, const char *browser,
         const char *logpath)
{
    memset(w, 0, sizeof(*w));
    for (int i = 0; i < 3 && w->pid == 0; i++) {
        if ((w->port = free_port()) < 0 || spawn(w, driver, logpath) < 0)
            break;
        if (wait_ready(w) < 0)
            wd_stop(w);
    }
    if (w->pid <= 0) {
        snprintf(w->error, sizeof(w->error), "%s did not start (see %s)",
                 driver, logpath);
        return -1;
    }
    if (new_session(w, browser) < 0) {
        char why[sizeof(w->error)];
        memcpy(why, w->error, sizeof(why));
        wd_stop(w);
        memcpy(w->error, why, sizeof(why));
        return -1;
    }
    return 0;
}

/* SIGKILL the driver's process group (the driver and its Chromium) at
 * once; async-signal-safe, for a watchdog. */
void
wd_kill(const struct wd *w)
{
    if (w->pid > 0)
        kill(-w->pid, SIGKILL);
}

/* End the session (Chromium quits), then stop the driver's process
 * group: SIGTERM, and SIGKILL after 5 s. */
void
wd_stop(struct wd *w)
{
    long end = h_now_ms() + 5000;
    char *body;

    if (w->session[0] != '\0') {
        free(command(w, "DELETE", "", NULL));
        w->session[0] = '\0';
    }
    if (w->pid <= 0)
        return;
    http_call(w->port, "GET", "/shutdown", NULL, &body, 2000);
    free(body);
    kill(-w->pid, SIGTERM);
    while (waitpid(w->pid, NULL, WNOHANG) == 0 && h_now_ms() < end)
        usleep(20000);
    kill(-w->pid, SIGKILL);     /* whatever of the group is left */
    waitpid(w->pid, NULL, WNOHANG);
    w->pid = 0;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

int
wd_open(struct wd *w, const char *url)
{
    char *q = json_quote(url), json[1024];

    snprintf(json, sizeof(json), "{\"url\":%s}", q);
    free(q);
    return command_ok(w, "POST", "/url", json);
}

/* The first element matching css; its reference goes to elem
 * (WD_ELEM_MAX bytes).  0 or -1. */
int
wd_element(struct wd *w, const char *css, char *elem)
{
    char *q = json_quote(css), json[1024], *body, *id = NULL;

    snprintf(json, sizeof(json), "{\"using\":\"css selector\",\"value\":%s}",
             q);
    free(q);
    if ((body = command(w, "POST", "/element", json)) == NULL)
        return -1;
    id = json_string(body, WD_ELEM_KEY);
    if (id == NULL || strlen(id) >= WD_ELEM_MAX) {
        snprintf(w->error, sizeof(w->error), "%s: %.200s", css, body);
        free(body);
        free(id);
        return -1;
    }
    free(body);
    strcpy(elem, id);
    free(id);
    return 0;
}

int
wd_click(struct wd *w, const char *elem)
{
    char path[256];

    snprintf(path, sizeof(path), "/element/%s/click", elem);
    return command_ok(w, "POST", path, "{}");
}

/* Type text into elem, then keys (WD_* escapes, may be ""). */
int
wd_type(struct wd *w, const char *elem, const char *text, const char *keys)
{
    char path[256], *q = json_quote(text), *json;
    int rc;

    q[strlen(q) - 1] = '\0';    /* keys go inside the quotes */
    if (asprintf(&json, "{\"text\":%s%s\"}", q, keys) < 0)
        abort();
    free(q);
    snprintf(path, sizeof(path), "/element/%s/value", elem);
    rc = command_ok(w, "POST", path, json);
    free(json);
    return rc;
}

/* Press key (a WD_* escape) on whatever has the focus, modifier (NULL:
 * none) held down. */
int
wd_press(struct wd *w, const char *key, const char *modifier)
{
    char json[512];

    snprintf(json, sizeof(json),
             "{\"actions\":[{\"type\":\"key\",\"id\":\"kb\",\"actions\":["
             "%s%s%s{\"type\":\"keyDown\",\"value\":\"%s\"},"
             "{\"type\":\"keyUp\",\"value\":\"%s\"}%s%s%s]}]}",
             modifier ? "{\"type\":\"keyDown\",\"value\":\"" : "",
             modifier ? modifier : "", modifier ? "\"}," : "", key, key,
             modifier ? ",{\"type\":\"keyUp\",\"value\":\"" : "",
             modifier ? modifier : "", modifier ? "\"}" : "");
    return command_ok(w, "POST", "/actions", json);
}

/*
 * Run js in the page (arg, if not NULL, is its arguments[0]).  Returns
 * the string it returned (malloc'd); NULL when it failed or returned
 * anything else.
 */
char *
wd_script(struct wd *w, const char *js, const char *arg)
{
    char *qjs = json_quote(js), *qarg = json_quote(arg ? arg : ""), *json,
         *body, *out = NULL;

    if (asprintf(&json, "{\"script\":%s,\"args\":[%s]}", qjs,
                 arg ? qarg : "") < 0)
        abort();
    free(qjs);
    free(qarg);
    if ((body = command(w, "POST", "/execute/sync", json)) != NULL)
        out = json_string(body, "value");
    free(json);
    free(body);
    return out;
}

/*
 * Run js every 50 ms until it returns "" (done) or ms pass: 0 when done,
 * else -1 with the last thing it said (what is still missing) in last.
 */
int
wd_wait(struct wd *w, const char *js, const char *arg, int ms, char *last,
        size_t cap)
{
    long end = h_now_ms() + ms;

    snprintf(last, cap, "(nothing yet)");
    do {
        char *r = wd_script(w, js, arg);
        if (r != NULL && *r == '\0') {
            free(r);
            return 0;
        }
        snprintf(last, cap, "%s", r ? r : w->error);
        free(r);
        usleep(50000);
    } while (h_now_ms() < end);
    return -1;
}

int
wd_window(struct wd *w, int width, int height)
{
    char json[128];

    snprintf(json, sizeof(json), "{\"width\":%d,\"height\":%d}", width,
             height);
    return command_ok(w, "POST", "/window/rect", json);
}

/* A Chrome DevTools command (cmd, its params a JSON object) through
 * chromedriver, for what WebDriver has no command for. */
int
wd_cdp(struct wd *w, const char *cmd, const char *params)
{
    char *q = json_quote(cmd), *json;
    int rc;

    if (asprintf(&json, "{\"cmd\":%s,\"params\":%s}", q, params) < 0)
        abort();
    free(q);
    rc = command_ok(w, "POST", "/goog/cdp/execute", json);
    free(json);
    return rc;
}

/* Decode base64 b64 and write it to path; 0 or -1. */
static int
write_base64(const char *b64, const char *path)
{
    size_t len = strlen(b64);
    unsigned char *png = malloc(len / 4 * 3 + 3);
    int n, rc = -1;
    FILE *f;

    if (png == NULL)
        abort();
    n = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)len);
    if (n > 0 && len >= 2) {
        n -= (b64[len - 1] == '=') + (b64[len - 2] == '=');
        if ((f = fopen(path, "wb")) != NULL) {
            rc = fwrite(png, 1, (size_t)n, f) == (size_t)n ? 0 : -1;
            rc = fclose(f) == 0 ? rc : -1;
        }
    }
    free(png);
    return rc;
}

/* A PNG of the window, written to path. */
int
wd_screenshot(struct wd *w, const char *path)
{
    char *body = command(w, "GET", "/screenshot", NULL), *b64;
    int rc = -1;

    if (body != NULL && (b64 = json_string(body, "value")) != NULL) {
        rc = write_base64(b64, path);
        free(b64);
    }
    free(body);
    return rc;
}
