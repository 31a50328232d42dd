/*
 * conffile.h: chatd.conf, the configuration file: "key = value" lines
 * with "#" comments, naming the keys of settings_keys[].  Main thread
 * only.  (Not "config.h": that name belongs to autoconf.)
 */
#ifndef CHATD_CONFFILE_H
#define CHATD_CONFFILE_H

#include <stddef.h>
#include <stdio.h>

#include "settings.h"

#define CONFFILE_LINE_MAX   4096        /* longest line, bytes */
#define CONFFILE_SIZE_MAX   (1L << 20)  /* largest file, bytes */

int  conffile_parse(const char *name, const char *text, size_t len,
                    struct settings *s, char *err, size_t errlen);
int  conffile_read_file(const char *path, size_t max, int whole,
                        char **text, size_t *len, const char **why);
int  conffile_load(const char *path, int missing_ok, struct settings *s,
                   char *err, size_t errlen);
void conffile_dump(FILE *f, const struct settings *s);

#endif
