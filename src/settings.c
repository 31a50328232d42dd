/*
 * settings.c: defaults and value parsing for chatd's settings.  Pure
 * (no I/O); used by the main thread only, before workers start.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "settings.h"

#define OFF(f) offsetof(struct settings, f)

/* Every setting with a value; flags (-v, -h, -V) live in chatd.c. */
const struct settings_key settings_keys[] = {
    { "port", 'p', SET_INT, 0, 65535, OFF(port), "PORT",
      "TCP port to listen on, 0 picks a free one (default 7777)" },
    { "bind", 'b', SET_LIST, 0, 0, OFF(bind), "ADDR",
      "address to listen on, repeatable (default: all, IPv6 and IPv4)" },
    { "workers", 'w', SET_INT, 1, CHATD_WORKERS_MAX, OFF(workers), "N",
      "worker threads (default: online CPUs)" },
    { "max-clients", 0, SET_INT, 1, 1000000, OFF(max_clients), "N",
      "most clients connected at once (default 1024)" },
    { "max-line", 0, SET_INT, 64, 65536, OFF(max_line), "BYTES",
      "longest line a client may send (default 1024)" },
    { "sendq", 0, SET_SIZE, 4096, 1L << 30, OFF(sendq), "BYTES",
      "unsent bytes after which a client is cut (default 1M)" },
    { "rate", 0, SET_INT, 0, 1000000, OFF(rate), "N",
      "lines per second per client, 0 for no limit (default 20)" },
    { "burst", 0, SET_INT, 1, 1000000, OFF(burst), "N",
      "lines a client may send at once (default 40)" },
    { "history", 0, SET_INT, 0, 10000, OFF(history), "N",
      "public messages replayed to a new client (default 0)" },
    { "motd", 0, SET_STR, 0, 0, OFF(motd_file), "FILE",
      "message of the day shown on connect" },
    { "cluster", 0, SET_STR, 0, 0, OFF(cluster_url), "URL",
      "join the cluster at redis://HOST:PORT (default: off)" },
    { "node-name", 0, SET_STR, 0, 0, OFF(node_name), "NAME",
      "this node's name in the cluster (default: HOSTNAME:PORT)" },
    { "cluster-channel", 0, SET_STR, 0, 0, OFF(cluster_channel), "NAME",
      "Redis channel (and key prefix) of the chat (default chatd)" },
    { "cluster-timeout", 0, SET_INT, 2, 300, OFF(cluster_timeout), "SECS",
      "a node silent this long is gone, its users leave (default 20)" },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

void
settings_defaults(struct settings *s)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    memset(s, 0, sizeof(*s));
    s->port = CHATD_DEFAULT_PORT;
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
}

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

static int
parse_number(const struct settings_key *k, const char *value, long *out)
{
    char *end;

    if (k->type == SET_SIZE)
        return settings_parse_size(value, out);
    errno = 0;
    if (value[0] == '\0' || value[0] == ' ' || value[0] == '+')
        return -1;
    *out = strtol(value, &end, 10);
    return (errno != 0 || *end != '\0') ? -1 : 0;
}

/*
 * Set k to value in s.  Returns 0, or -1 with a message in err that names
 * the key, the value and what would be accepted.
 */
int
settings_set(struct settings *s, const struct settings_key *k,
             const char *value, char *err, size_t errlen)
{
    char *base = (char *)s;
    long v;

    switch (k->type) {
    case SET_STR:
        if (value[0] == '\0') {
            snprintf(err, errlen, "%s: empty value", k->name);
            return -1;
        }
        *(const char **)(base + k->offset) = value;
        return 0;
    case SET_LIST:
        if (value[0] == '\0') {
            snprintf(err, errlen, "%s: empty address", k->name);
            return -1;
        }
        if (s->nbind >= CHATD_BIND_MAX) {
            snprintf(err, errlen, "%s: at most %d addresses", k->name,
                     CHATD_BIND_MAX);
            return -1;
        }
        s->bind[s->nbind++] = value;
        return 0;
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
        if (k->offset == OFF(port) || k->offset == OFF(workers))
            *(int *)(base + k->offset) = (int)v;
        else
            *(long *)(base + k->offset) = v;
        return 0;
    }
    return -1;
}

/*
 * Check that the settings fit together: the server's own bursts (MOTD,
 * history, a /who list of every client) must fit well inside sendq, so no
 * honest client is ever cut for them.  Returns 0 or -1 with err set.
 */
int
settings_check(struct settings *s, char *err, size_t errlen)
{
    long line = s->max_line * 3 + PROTO_PREFIX_MAX; /* sanitized worst */
    long burst = CHATD_MOTD_MAX * 2 + s->history * line +
                 s->max_clients * (PROTO_NICK_MAX + 2) + 4096;

    if (burst > s->sendq / 2) {
        snprintf(err, errlen, "sendq: %ld bytes is too small for "
                 "max-clients %ld, history %ld and max-line %ld "
                 "(at least %ld needed)", s->sendq, s->max_clients,
                 s->history, s->max_line, burst * 2);
        return -1;
    }
    return 0;
}
