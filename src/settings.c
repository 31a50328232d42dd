/*
 * settings.c: the table of settings, their defaults and value parsing.
 * Pure (no I/O).  Main thread only: workers never see a struct settings.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addrmask.h"
#include "clwire.h"
#include "hub.h"
#include "proto.h"
#include "rooms.h"
#include "settings.h"
#include "xmalloc.h"

#define OFF(f) offsetof(struct settings, f)

static const char *
room_name_check(const char *value)
{
    const char *why;

    return proto_room_valid(value, &why) ? NULL : why;
}

/* A space-separated list of room names. */
static const char *
room_list_check(const char *value)
{
    char err[128];

    return rooms_check_list(value, err, sizeof(err)) == 0 ? NULL :
           "a list of room names (# and 1-32 of A-Z a-z 0-9 _ -)";
}

static const char *
registration_check(const char *value)
{
    return strcmp(value, "open") == 0 || strcmp(value, "closed") == 0 ?
           NULL : "registration is open or closed";
}

/* A space-separated list of nicknames (the opers key). */
static const char *
opers_check(const char *value)
{
    char name[PROTO_NICK_MAX + 2];
    size_t n;

    for (const char *p = value; *p != '\0'; p += n) {
        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if (n == 0)
            break;
        if (n > PROTO_NICK_MAX)
            return "a list of nicknames (1-24 of A-Z a-z 0-9 _ -)";
        memcpy(name, p, n);
        name[n] = '\0';
        if (!proto_nick_valid(name, NULL) || proto_guest_name(name))
            return "a list of nicknames (1-24 of A-Z a-z 0-9 _ -)";
    }
    return NULL;
}

/* A space-separated list of origins: scheme://host[:port], http or
 * https, no path. */
static const char *
origin_list_check(const char *value)
{
    const char *p = value;

    while (*p != '\0') {
        size_t n = strcspn(p, " \t"), skip;
        if (n > 0) {
            skip = strncmp(p, "http://", 7) == 0 ? 7 :
                   strncmp(p, "https://", 8) == 0 ? 8 : 0;
            if (skip == 0 || n == skip || memchr(p + skip, '/', n - skip))
                return "a list of origins such as "
                       "https://chat.example.org (scheme://host[:port], "
                       "no path)";
        }
        p += n;
        p += strspn(p, " \t");
    }
    return NULL;
}

/* A space-separated list of IP addresses, each maybe with /PREFIX. */
static const char *
address_list_check(const char *value)
{
    const char *p = value;

    while (*p != '\0') {
        size_t n = strcspn(p, " \t");
        if (n > 0 && settings_parse_prefix(p, n, NULL) < 0)
            return "a list of IP addresses, each maybe with /PREFIX, such "
                   "as 127.0.0.1 ::1 10.0.0.0/8";
        p += n;
        p += strspn(p, " \t");
    }
    return NULL;
}

/*
 * Parse one address with an optional /PREFIX (n bytes at text) into *out
 * (NULL: only check).  An IPv4 address is kept as IPv4-mapped IPv6, its
 * prefix counted from 96.  Returns 0, or -1 if it is not one.
 */
int
settings_parse_prefix(const char *text, size_t n, struct settings_prefix *out)
{
    char buf[INET6_ADDRSTRLEN + 8], *slash;
    struct settings_prefix pf = { .bits = 128 };
    struct in_addr a4;
    long bits = -1;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if ((slash = strchr(buf, '/')) != NULL) {
        char *end;
        *slash++ = '\0';
        errno = 0;
        bits = strtol(slash, &end, 10);
        if (*slash == '\0' || *end != '\0' || bits < 0 || bits > 128)
            return -1;
    }
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        if (bits > 32)
            return -1;
        memset(pf.addr, 0, 10);
        pf.addr[10] = pf.addr[11] = 0xff;
        memcpy(pf.addr + 12, &a4, 4);
        pf.bits = bits < 0 ? 128 : 96 + (int)bits;
    } else if (inet_pton(AF_INET6, buf, pf.addr) == 1) {
        pf.bits = bits < 0 ? 128 : (int)bits;
    } else
        return -1;
    if (out != NULL)
        *out = pf;
    return 0;
}

/* connect-rate: none or COUNT/UNIT (addrmask.c). */
static const char *
rate_check(const char *value)
{
    static _Thread_local char why[160];
    struct addr_rate r;

    return addrmask_parse_rate(value, &r, why, sizeof(why)) == 0 ? NULL :
           why;
}

/* exempt: none, or addresses and prefixes (addrmask.c). */
static const char *
exempt_check(const char *value)
{
    static _Thread_local char why[192];
    struct addr_list l;

    return addrmask_parse_list(value, &l, why, sizeof(why)) == 0 ? NULL :
           why;
}

/*
 * Every setting, in the order --help and the config dump show them.
 * -c, -t, -h and -V are command-line only and live in chatd.c.
 */
const struct settings_key settings_keys[] = {
    { "port", 'p', SET_PORT, 0, 65535, OFF(port), 0, "PORT",
      "TCP port, 0 picks a free one, off for none\n(default 7777)", NULL },
    { "tls-port", 0, SET_PORT, 0, 65535, OFF(tls_port), 0, "PORT",
      "also serve TLS on PORT, such as 7443 (default off)", NULL },
    { "tls-cert", 0, SET_STR, 0, 0, OFF(tls_cert), 1, "FILE",
      "TLS certificate, PEM, chain first (SIGHUP reloads)", NULL },
    { "tls-key", 0, SET_STR, 0, 0, OFF(tls_key), 1, "FILE",
      "TLS private key, PEM", NULL },
    { "web-port", 0, SET_PORT, 0, 65535, OFF(web_port), 0, "PORT",
      "also serve the web client, WebSocket and /metrics\non PORT, "
      "such as 8080 (default off)", NULL },
    { "web-tls", 0, SET_BOOL, 0, 1, OFF(web_tls), 0, NULL,
      "serve web-port over TLS (HTTPS), with tls-cert", NULL },
    { "web-origins", 0, SET_STR, 0, 0, OFF(web_origins), 0, "LIST",
      "the Origins allowed to open a WebSocket\n(default: the page's own)",
      origin_list_check },
    { "web-proxies", 0, SET_STR, 0, 0, OFF(web_proxies), 0, "LIST",
      "proxies whose X-Forwarded-For is believed\n(default: none)",
      address_list_check },
    { "bind", 'b', SET_LIST, 0, 0, OFF(bind), 0, "ADDR",
      "listen on ADDR only, such as 127.0.0.1 or ::1;\n"
      "repeatable (default: every address)", NULL },
    { "workers", 'w', SET_INT, 1, CHATD_WORKERS_MAX, OFF(workers), 0, "N",
      "worker threads (default: online CPUs)", NULL },
    { "max-clients", 0, SET_INT, 1, 1000000, OFF(max_clients), 1, "N",
      "most clients connected at once (default 1024)", NULL },
    { "max-line", 0, SET_INT, 64, 65536, OFF(max_line), 0, "BYTES",
      "longest line a client may send (default 1024)", NULL },
    { "sendq", 0, SET_SIZE, 4096, 1L << 30, OFF(sendq), 1, "BYTES",
      "unsent bytes that cut a client off (default 1M)", NULL },
    { "rate", 0, SET_INT, 0, 1000000, OFF(rate), 1, "N",
      "lines/s per client, 0 for no limit (default 20)", NULL },
    { "burst", 0, SET_INT, 1, 1000000, OFF(burst), 1, "N",
      "lines a client may send at once (default 40)", NULL },
    { "history", 0, SET_INT, 0, 10000, OFF(history), 0, "N",
      "public lines replayed to newcomers (default 0)", NULL },
    { "motd", 0, SET_STR, 0, 0, OFF(motd_file), 1, "FILE",
      "message of the day shown on connect", NULL },
    { "user", 'u', SET_STR, 0, 0, OFF(user), 0, "USER",
      "drop privileges to USER once listening", NULL },
    { "daemon", 'd', SET_BOOL, 0, 1, OFF(daemon), 0, NULL,
      "detach from the terminal and log to syslog", NULL },
    { "pidfile", 0, SET_STR, 0, 0, OFF(pidfile), 0, "FILE",
      "write the process ID to FILE", NULL },
    { "syslog", 0, SET_BOOL, 0, 1, OFF(syslog), 0, NULL,
      "log to syslog instead of stderr", NULL },
    { "verbose", 'v', SET_COUNT, 0, CHATD_VERBOSE_MAX, OFF(verbose), 1,
      NULL, "log debug messages", NULL },
    { "cluster", 0, SET_STR, 0, 0, OFF(cluster_url), 0, "URL",
      "join the cluster whose Redis server is at URL,\n"
      "such as redis://127.0.0.1:6379 (default: none)", NULL },
    { "node-name", 0, SET_STR, 0, 0, OFF(node_name), 0, "NAME",
      "this node's name (default: host name:port)", NULL },
    { "cluster-channel", 0, SET_STR, 0, 0, OFF(cluster_channel), 0, "NAME",
      "Redis channel and key prefix (default chatd)", NULL },
    { "cluster-timeout", 0, SET_INT, 2, 300, OFF(cluster_timeout), 0, "SECS",
      "silence after which a node is gone (default 20)", NULL },
    { "default-room", 0, SET_STR, 0, 0, OFF(default_room), 0, "#ROOM",
      "the room every client is in on connecting\n(default #lobby)",
      room_name_check },
    { "rooms", 0, SET_STR, 0, 0, OFF(rooms), 0, "'#A #B'",
      "rooms that always exist (default: the default room)",
      room_list_check },
    { "max-rooms", 0, SET_INT, 1, 1000000, OFF(max_rooms), 0, "N",
      "at most N rooms (default 1000)", NULL },
    { "max-joins", 0, SET_INT, 1, HUB_JOINS_MAX, OFF(max_joins), 0, "N",
      "at most N rooms per client (default 20)", NULL },
    { "announce-limit", 0, SET_INT, 0, 1000000, OFF(announce_limit), 0,
      "N", "rooms of more than N members announce no joins\nor leaves "
      "(default 200)", NULL },
    { "state-dir", 0, SET_STR, 0, 0, OFF(state_dir), 0, "DIR",
      "keep accounts, bans and mutes in DIR/chatd.db\n"
      "(default: none, nothing is kept)", NULL },
    { "history-keep", 0, SET_INT, 0, 1000000, OFF(history_keep), 0, "N",
      "public lines kept per room in DIR/history.db,\n0 to keep none "
      "(default 10000)", NULL },
    { "registration", 0, SET_STR, 0, 0, OFF(registration), 0, "MODE",
      "open or closed: may users /register nicknames\n(default open)",
      registration_check },
    { "login-required", 0, SET_BOOL, 0, 1, OFF(login_required), 0, NULL,
      "only logged-in users may talk (needs state-dir)", NULL },
    { "opers", 0, SET_STR, 0, 0, OFF(opers), 0, "'A B'",
      "accounts that are operators once logged in\n(needs state-dir)",
      opers_check },
    { "login-delay", 0, SET_INT, 0, 60000, OFF(login_delay), 0, "MS",
      "wait after a failed login, doubled per failure\nfrom the address "
      "up to 16 times (default 1000)", NULL },
    { "max-per-address", 0, SET_INT, 0, 1000000, OFF(max_per_address), 1,
      "N", "connections at once from one address (IPv6: one\n/64), "
      "0 for no limit (default 16)", NULL },
    { "connect-rate", 0, SET_STR, 0, 0, OFF(connect_rate), 1, "N/UNIT",
      "new connections from one address, UNIT s, min\nor h, or none "
      "(default 30/min)", rate_check },
    { "exempt", 0, SET_STR, 0, 0, OFF(exempt), 1, "'ADDR/N ...'",
      "addresses and prefixes the two limits above skip,\nor none "
      "(default '127.0.0.0/8 ::1')", exempt_check },
    { NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL }
};

_Static_assert(sizeof(settings_keys) / sizeof(settings_keys[0]) - 1 <=
               CHATD_KEYS_MAX, "raise CHATD_KEYS_MAX");

/* A string the settings own (see settings_keep()). */
struct settings_buf {
    struct settings_buf *next;
    char                 text[];
};

void
settings_defaults(struct settings *s)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    memset(s, 0, sizeof(*s));
    s->port = CHATD_DEFAULT_PORT;
    s->tls_port = CHATD_PORT_OFF;
    s->web_port = CHATD_PORT_OFF;
    s->workers = ncpu < 1 ? 1 : ncpu > CHATD_WORKERS_MAX ?
        CHATD_WORKERS_MAX : (int)ncpu;
    s->max_clients = 1024;
    s->max_line = 1024;
    s->sendq = 1L << 20;
    s->rate = 20;
    s->burst = 40;
    s->history = 0;
    s->cluster_channel = "chatd";
    s->cluster_timeout = 20;
    s->default_room = HUB_DEFAULT_ROOM;
    s->max_rooms = HUB_MAX_ROOMS;
    s->max_joins = HUB_MAX_JOINS;
    s->announce_limit = HUB_ANNOUNCE_LIMIT;
    s->registration = "open";
    s->login_delay = 1000;
    s->history_keep = 10000;
    s->max_per_address = 16;
    s->connect_rate = "30/min";
    s->exempt = "127.0.0.0/8 ::1";
}

/* Free the strings s owns (settings_keep()); s must not be used after. */
void
settings_free(struct settings *s)
{
    struct settings_buf *b, *next;

    for (b = s->bufs; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    s->bufs = NULL;
}

/*
 * Copy len bytes of text into storage owned by s, NUL-terminated, so that
 * string values can point into it; settings_free() releases it.
 */
char *
settings_keep(struct settings *s, const char *text, size_t len)
{
    struct settings_buf *b = xmalloc(sizeof(*b) + len + 1);

    memcpy(b->text, text, len);
    b->text[len] = '\0';
    b->next = s->bufs;
    s->bufs = b;
    return b->text;
}

/* Whether k is stored as an int (else a long, a string or the list). */
static int
is_int(const struct settings_key *k)
{
    return k->type == SET_BOOL || k->type == SET_COUNT ||
           k->type == SET_PORT || k->offset == OFF(workers);
}

static long
get_number(const struct settings *s, const struct settings_key *k)
{
    const char *base = (const char *)s;

    if (is_int(k))
        return *(const int *)(base + k->offset);
    return *(const long *)(base + k->offset);
}

static void
put_number(struct settings *s, const struct settings_key *k, long v)
{
    char *base = (char *)s;

    if (is_int(k))
        *(int *)(base + k->offset) = (int)v;
    else
        *(long *)(base + k->offset) = v;
}

static const char *
get_string(const struct settings *s, const struct settings_key *k)
{
    return *(const char *const *)((const char *)s + k->offset);
}

/* The key called name, or NULL. */
const struct settings_key *
settings_find(const char *name)
{
    for (const struct settings_key *k = settings_keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/*
 * Parse a byte count: digits with an optional K, M or G suffix (powers of
 * 1024).  Returns 0, or -1 when value is not such a number or overflows.
 */
int
settings_parse_size(const char *value, long *out)
{
    char *end;
    long mult = 1;

    errno = 0;
    if (value[0] < '0' || value[0] > '9')
        return -1;
    long v = strtol(value, &end, 10);
    if (errno != 0)
        return -1;
    switch (*end) {
    case 'k': case 'K': mult = 1L << 10; end++; break;
    case 'm': case 'M': mult = 1L << 20; end++; break;
    case 'g': case 'G': mult = 1L << 30; end++; break;
    default: break;
    }
    if (*end != '\0' || v > LONG_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

/* Parse a whole number or a size for k; 0, or -1 if it is none. */
static int
parse_number(const struct settings_key *k, const char *value, long *out)
{
    char *end;

    if (k->type == SET_SIZE)
        return settings_parse_size(value, out);
    errno = 0;
    /* strtol() would skip leading white space and take a '+'. */
    if (value[0] != '-' && (value[0] < '0' || value[0] > '9'))
        return -1;
    *out = strtol(value, &end, 10);
    return (errno != 0 || *end != '\0') ? -1 : 0;
}

/* Parse a config-file boolean; returns 0 or 1, or -1 if it is none. */
static int
parse_bool(const char *value)
{
    static const char *const yes[] = { "yes", "true", "on", "1", NULL };
    static const char *const no[] = { "no", "false", "off", "0", NULL };

    for (int i = 0; yes[i]; i++)
        if (strcasecmp(value, yes[i]) == 0)
            return 1;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(value, no[i]) == 0)
            return 0;
    return -1;
}

/*
 * Check an address for "bind".  One of digits and dots only must be a
 * dotted quad (inet_aton() would read "1.2.3" as 1.2.0.3, and a resolver
 * would look "999.1.1.1" up as a name); one with a ':' an IPv6 address,
 * with an optional %scope.  A name is resolved when chatd listens.
 * Returns NULL, or what the address is not.
 */
static const char *
bad_address(const char *value)
{
    unsigned char a[sizeof(struct in6_addr)];
    char v6[INET6_ADDRSTRLEN];
    size_t n;

    if (value[strspn(value, "0123456789.")] == '\0')
        return inet_pton(AF_INET, value, a) == 1 ? NULL : "an IPv4 address";
    if (strchr(value, ':') == NULL)
        return NULL;
    n = strcspn(value, "%");
    if (n >= sizeof(v6))
        return "an IPv6 address";
    memcpy(v6, value, n);
    v6[n] = '\0';
    return inet_pton(AF_INET6, v6, a) == 1 ? NULL : "an IPv6 address";
}

/* Add one listening address (the bind key); 0, or -1 with err set. */
static int
add_address(struct settings *s, const struct settings_key *k,
            const char *value, char *err, size_t errlen)
{
    const char *what;

    if (value[0] == '\0') {
        snprintf(err, errlen, "%s: empty address", k->name);
        return -1;
    }
    if ((what = bad_address(value)) != NULL) {
        snprintf(err, errlen, "%s: '%s' is not %s", k->name, value, what);
        return -1;
    }
    if (s->nbind >= CHATD_BIND_MAX) {
        snprintf(err, errlen, "%s: at most %d addresses", k->name,
                 CHATD_BIND_MAX);
        return -1;
    }
    s->bind[s->nbind++] = value;
    return 0;
}

/*
 * Set k to value in s.  String values are not copied: value must live as
 * long as s (argv, or a string from settings_keep()).  value NULL is a
 * flag given on the command line: it turns a SET_BOOL on and counts a
 * SET_COUNT up.  Returns 0, or -1 with a message in err that names the
 * key, the value and what would be accepted.
 */
int
settings_set(struct settings *s, const struct settings_key *k,
             const char *value, char *err, size_t errlen)
{
    const char *why;
    long v;
    int b;

    if (value == NULL && k->type != SET_BOOL && k->type != SET_COUNT) {
        snprintf(err, errlen, "%s: missing value", k->name);
        return -1;
    }
    switch (k->type) {
    case SET_STR:
        if (value[0] == '\0') {
            snprintf(err, errlen, "%s: empty value", k->name);
            return -1;
        }
        if (k->check != NULL && (why = k->check(value)) != NULL) {
            snprintf(err, errlen, "%s: '%s': %s", k->name, value, why);
            return -1;
        }
        *(const char **)((char *)s + k->offset) = value;
        return 0;
    case SET_LIST:
        return add_address(s, k, value, err, errlen);
    case SET_BOOL:
        if ((b = value ? parse_bool(value) : 1) < 0) {
            snprintf(err, errlen, "%s: '%s' is not yes or no", k->name,
                     value);
            return -1;
        }
        put_number(s, k, b);
        return 0;
    case SET_PORT:
        if (strcasecmp(value, "off") == 0) {
            put_number(s, k, CHATD_PORT_OFF);
            return 0;
        }
        if (parse_number(k, value, &v) < 0 || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s: '%s' is not off or a whole number "
                     "from %ld to %ld", k->name, value, k->min, k->max);
            return -1;
        }
        put_number(s, k, v);
        return 0;
    case SET_COUNT:
        if (value == NULL) {
            v = get_number(s, k);
            put_number(s, k, v < k->max ? v + 1 : v);
            return 0;
        }
        /* FALLTHROUGH */
    case SET_INT:
    case SET_SIZE:
        if (parse_number(k, value, &v) < 0 || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s: '%s' is not %s from %ld to %ld",
                     k->name, value,
                     k->type == SET_SIZE ? "a size (K, M, G suffixes)"
                                         : "a whole number",
                     k->min, k->max);
            return -1;
        }
        put_number(s, k, v);
        return 0;
    }
    return -1;
}

/* Put k back to its default (a list becomes empty). */
void
settings_reset(struct settings *s, const struct settings_key *k)
{
    struct settings d;

    settings_defaults(&d);
    if (k->type == SET_LIST)
        s->nbind = 0;
    else if (k->type == SET_STR)
        *(const char **)((char *)s + k->offset) = get_string(&d, k);
    else
        put_number(s, k, get_number(&d, k));
    s->from[k - settings_keys] = SETTINGS_DEFAULT;
}

/*
 * Record where k's value (just set by settings_set()) came from: from is
 * SETTINGS_CMDLINE or a line of the config file s->file.  For the list,
 * the address set last is the one noted.
 */
void
settings_note(struct settings *s, const struct settings_key *k, int from)
{
    s->from[k - settings_keys] = from;
    if (k->type == SET_LIST && s->nbind > 0)
        s->bind_from[s->nbind - 1] = from;
}

/*
 * Say where a value came from, given its from[] or bind_from[] entry:
 * "default", "command line" or "FILE:LINE".  Returns what snprintf()
 * returns.
 */
int
settings_origin(const struct settings *s, int from, char *out, size_t len)
{
    if (from == SETTINGS_DEFAULT)
        return snprintf(out, len, "default");
    if (from == SETTINGS_CMDLINE)
        return snprintf(out, len, "command line");
    return snprintf(out, len, "%s:%d", s->file ? s->file : "?", from);
}

/* 1 if k has the same value in a and b, else 0. */
int
settings_equal(const struct settings *a, const struct settings *b,
               const struct settings_key *k)
{
    const char *x, *y;

    switch (k->type) {
    case SET_LIST:
        if (a->nbind != b->nbind)
            return 0;
        for (int i = 0; i < a->nbind; i++)
            if (strcmp(a->bind[i], b->bind[i]) != 0)
                return 0;
        return 1;
    case SET_STR:
        x = get_string(a, k);
        y = get_string(b, k);
        return x == y || (x && y && strcmp(x, y) == 0);
    default:
        return get_number(a, k) == get_number(b, k);
    }
}

/*
 * Write k's value in s as the config file would spell it (a list: its
 * items separated by spaces; an unset string: "").  Returns what
 * snprintf() returns.
 */
int
settings_format(const struct settings *s, const struct settings_key *k,
                char *out, size_t len)
{
    const char *str;
    size_t n = 0;

    switch (k->type) {
    case SET_LIST:
        if (len > 0)
            out[0] = '\0';
        for (int i = 0; i < s->nbind && n < len; i++)
            n += (size_t)snprintf(out + n, len - n, "%s%s", i ? " " : "",
                                  s->bind[i]);
        return (int)n;
    case SET_STR:
        str = get_string(s, k);
        if (str != NULL && k->offset == OFF(cluster_url))
            return clwire_url_redact(str, out, len);    /* no password */
        return snprintf(out, len, "%s", str ? str : "");
    case SET_BOOL:
        return snprintf(out, len, "%s", get_number(s, k) ? "yes" : "no");
    case SET_PORT:
        if (get_number(s, k) == CHATD_PORT_OFF)
            return snprintf(out, len, "off");
        return snprintf(out, len, "%ld", get_number(s, k));
    default:
        return snprintf(out, len, "%ld", get_number(s, k));
    }
}

/*
 * The checks across keys, once the whole configuration is read: TLS
 * (tls-port, web-tls) needs a certificate and a key, something must
 * listen, and no two ports are one.  Returns 0,
 * or -1 with err saying what to set.
 */
int
settings_check(const struct settings *s, char *err, size_t errlen)
{
    if (s->tls_port != CHATD_PORT_OFF &&
        (s->tls_cert == NULL || s->tls_key == NULL)) {
        snprintf(err, errlen, "tls-port %d needs tls-cert and tls-key",
                 s->tls_port);
        return -1;
    }
    if (s->web_tls && s->web_port == CHATD_PORT_OFF) {
        snprintf(err, errlen, "web-tls needs web-port");
        return -1;
    }
    if (s->web_tls && (s->tls_cert == NULL || s->tls_key == NULL)) {
        snprintf(err, errlen, "web-tls needs tls-cert and tls-key");
        return -1;
    }
    if (s->port == CHATD_PORT_OFF && s->tls_port == CHATD_PORT_OFF &&
        s->web_port == CHATD_PORT_OFF) {
        snprintf(err, errlen, "port is off and neither tls-port nor "
                 "web-port is set: nothing to listen on");
        return -1;
    }
    if ((s->login_required || s->opers) && s->state_dir == NULL &&
        s->cluster_url == NULL) {
        snprintf(err, errlen, "%s needs accounts: set state-dir",
                 s->login_required ? "login-required" : "opers");
        return -1;
    }
    if (s->port != CHATD_PORT_OFF && s->port != 0 && s->port == s->tls_port) {
        snprintf(err, errlen, "port and tls-port are both %d", s->port);
        return -1;
    }
    if (s->web_port > 0 && (s->web_port == s->port ||
                            s->web_port == s->tls_port)) {
        snprintf(err, errlen, "web-port %d is also %s", s->web_port,
                 s->web_port == s->port ? "port" : "tls-port");
        return -1;
    }
    return 0;
}
