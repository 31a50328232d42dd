/*
 * settings.h: chatd's settings, their defaults, and parsing of option
 * values: the one table of keys shared by the command line (chatd.c) and
 * the config file (conffile.c).  A struct settings belongs to the main
 * thread; workers see only the struct worker_conf built from it.
 */
#ifndef CHATD_SETTINGS_H
#define CHATD_SETTINGS_H

#include <stddef.h>

#define CHATD_DEFAULT_PORT   7777
#define CHATD_PORT_OFF       (-1)       /* port or tls-port = off */
#define CHATD_BIND_MAX       16
#define CHATD_MOTD_MAX       8192       /* bytes of MOTD file read */
#define CHATD_WORKERS_MAX    256
#define CHATD_VERBOSE_MAX    2
#define CHATD_KEYS_MAX       64         /* entries of settings_keys[] */

/* Where a setting's value came from (struct settings' from[]): one of
 * these, or the line of the config file that set it. */
#define SETTINGS_DEFAULT     0
#define SETTINGS_CMDLINE     (-1)

struct settings_buf;

struct settings {
    int         port;           /* CHATD_PORT_OFF: no plain TCP */
    int         tls_port;       /* CHATD_PORT_OFF (default): no TLS */
    const char *tls_cert;       /* PEM, chain first */
    const char *tls_key;
    int         web_port;       /* CHATD_PORT_OFF (default): no web */
    int         web_tls;        /* web-port speaks HTTPS */
    const char *web_origins;    /* NULL: the page's own origin */
    const char *web_proxies;    /* NULL: trust no X-Forwarded-For */
    const char *bind[CHATD_BIND_MAX];
    int         nbind;
    int         workers;
    long        max_clients;
    long        max_line;
    long        sendq;
    long        rate;
    long        burst;
    long        history;
    const char *motd_file;
    const char *user;           /* drop privileges to this user */
    const char *pidfile;
    int         daemon;         /* detach; log to syslog */
    int         syslog;         /* log to syslog */
    const char *cluster_url;        /* NULL: no cluster */
    const char *node_name;          /* NULL: HOSTNAME:PORT */
    const char *cluster_channel;
    long        cluster_timeout;    /* seconds */
    const char *default_room;
    const char *rooms;              /* rooms that always exist */
    long        max_rooms;
    long        max_joins;
    long        announce_limit;
    const char *state_dir;          /* NULL: no accounts, memory only */
    long        history_keep;       /* lines stored per room; 0: none */
    const char *registration;       /* "open" or "closed" */
    int         login_required;
    const char *opers;              /* space-separated account names */
    long        login_delay;        /* ms after a failed login */
    long        max_per_address;    /* 0: no limit */
    const char *connect_rate;       /* "30/min", or "none" */
    const char *exempt;             /* "127.0.0.0/8 ::1", or "none" */
    int         verbose;
    /* Where each value came from, for "chatd -t -v". */
    const char *file;               /* the config file, if it set any */
    int         from[CHATD_KEYS_MAX];   /* by key index: SETTINGS_*, line */
    int         bind_from[CHATD_BIND_MAX];  /* the same, per address */
    struct settings_buf *bufs;  /* strings the values point into */
};

/*
 * A setting the command line and the config file can name.  SET_BOOL and
 * SET_COUNT are flags on the command line (no argument; a SET_COUNT flag
 * counts its repeats, like -vv) and take a value in the config file.
 */
enum settings_type {
    SET_INT, SET_SIZE, SET_STR, SET_LIST, SET_BOOL, SET_COUNT,
    SET_PORT                        /* SET_INT, or "off" */
};

struct settings_key {
    const char         *name;       /* long option and config key */
    int                 shortopt;   /* 0 if none */
    enum settings_type  type;
    long                min, max;
    size_t              offset;     /* into struct settings */
    int                 live;       /* SIGHUP applies it without restart */
    const char         *arg;        /* for --help; NULL for a flag */
    const char         *help;
    /* A check of a SET_STR value beyond "not empty": NULL, or what is
     * wrong with it (for "KEY: 'VALUE': what"). */
    const char       *(*check)(const char *value);
};

/* An address prefix (web-proxies): IPv6, IPv4 as IPv4-mapped. */
struct settings_prefix {
    unsigned char addr[16];
    int           bits;
};

extern const struct settings_key settings_keys[];

void settings_defaults(struct settings *s);
void settings_free(struct settings *s);
char *settings_keep(struct settings *s, const char *text, size_t len);
const struct settings_key *settings_find(const char *name);
int  settings_set(struct settings *s, const struct settings_key *k,
                  const char *value, char *err, size_t errlen);
void settings_reset(struct settings *s, const struct settings_key *k);
void settings_note(struct settings *s, const struct settings_key *k,
                   int from);
int  settings_origin(const struct settings *s, int from, char *out,
                     size_t len);
int  settings_equal(const struct settings *a, const struct settings *b,
                    const struct settings_key *k);
int  settings_format(const struct settings *s, const struct settings_key *k,
                     char *out, size_t len);
int  settings_parse_size(const char *value, long *out);
int  settings_check(const struct settings *s, char *err, size_t errlen);
int  settings_parse_prefix(const char *text, size_t n,
                           struct settings_prefix *out);

#endif
