/*
 * settings.h: chatd's settings, their defaults, and parsing of option
 * values.  The struct is filled by the main thread before any other thread
 * starts and is read-only while they run.
 */
#ifndef CHATD_SETTINGS_H
#define CHATD_SETTINGS_H

#include <stddef.h>

#define CHATD_DEFAULT_PORT   7777
#define CHATD_BIND_MAX       16
#define CHATD_MOTD_MAX       8192       /* bytes of MOTD file read */
#define CHATD_WORKERS_MAX    256

struct settings {
    int         port;
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
    const char *cluster_url;        /* NULL: no cluster */
    const char *node_name;          /* NULL: HOSTNAME:PORT */
    const char *cluster_channel;
    long        cluster_timeout;    /* seconds */
    int         verbose;
};

/* A setting the command line (and the config file) can name. */
enum settings_type { SET_INT, SET_SIZE, SET_STR, SET_LIST };

struct settings_key {
    const char         *name;       /* long option and config key */
    int                 shortopt;   /* 0 if none */
    enum settings_type  type;
    long                min, max;
    size_t              offset;     /* into struct settings */
    const char         *arg;        /* for --help */
    const char         *help;
};

extern const struct settings_key settings_keys[];

void settings_defaults(struct settings *s);
const struct settings_key *settings_find(const char *name);
int  settings_set(struct settings *s, const struct settings_key *k,
                  const char *value, char *err, size_t errlen);
int  settings_check(struct settings *s, char *err, size_t errlen);
int  settings_parse_size(const char *value, long *out);

#endif
