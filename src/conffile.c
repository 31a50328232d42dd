/*
 * conffile.c: parse chatd.conf into a struct settings.
 *
 * Ownership: everything here runs on the main thread, at start and on
 * SIGHUP; the settings it fills are the caller's.  conffile_parse() is
 * pure (no I/O) so that the tests can feed it strings.
 *
 * Grammar, one setting per line:
 *
 *     # comment
 *     key = value        # a comment may follow a blank
 *
 * Blanks around the key, the "=" and the value are ignored; a "#" starts
 * a comment at the start of a line or after a blank, so "motd = a#b" is
 * the file "a#b".  Values are not quoted.  Each key may appear once,
 * except "bind", which adds an address each time.  Values are checked by
 * settings_set(), the same code that checks command-line options.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "settings.h"
#include "xmalloc.h"

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Cut a trailing comment and blanks off line (NUL-terminated, in place).
 * A comment starts with # at the start of the line, or with # after a
 * blank and before a blank or the end: "#dev" after a blank is a room
 * name (rooms = #lobby #dev), not a comment.
 */
static void
strip_comment(char *line)
{
    char *end;

    for (char *p = line; *p != '\0'; p++)
        if (*p == '#' && (p == line || (is_blank(p[-1]) &&
                                        (p[1] == '\0' || is_blank(p[1]) ||
                                         p[1] == '#')))) {
            *p = '\0';
            break;
        }
    end = line + strlen(line);
    while (end > line && is_blank(end[-1]))
        *--end = '\0';
}

/*
 * Parse one line (in place) into key and value.  Returns 0 with *key NULL
 * for a blank or comment line, 0 with both set for a setting, or -1 with
 * a message in err (without the "FILE:LINE: " prefix).
 */
static int
split_line(char *line, char **key, char **value, char *err, size_t errlen)
{
    char *p = line, *k;

    *key = *value = NULL;
    strip_comment(line);
    while (is_blank(*p))
        p++;
    if (*p == '\0')
        return 0;
    k = p;
    while (*p != '\0' && *p != '=' && !is_blank(*p))
        p++;
    if (p == k) {
        snprintf(err, errlen, "missing key before '='");
        return -1;
    }
    if (*p != '\0' && *p != '=')
        *p++ = '\0';
    while (is_blank(*p))
        p++;
    if (*p != '=') {
        *p = '\0';
        snprintf(err, errlen, "%s: expected 'key = value'", k);
        return -1;
    }
    *p++ = '\0';
    while (is_blank(*p))
        p++;
    *key = k;
    *value = p;
    return 0;
}

/*
 * Apply one split line to s, checking the key (known, not repeated) and
 * the value, and note the line it came from in s.
 */
static int
apply(struct settings *s, const char *key, const char *value, int lineno,
      char *err, size_t errlen)
{
    const struct settings_key *k = settings_find(key);
    int first;

    if (k == NULL) {
        snprintf(err, errlen, "%s: unknown key", key);
        return -1;
    }
    first = s->from[k - settings_keys];
    if (first > 0 && k->type != SET_LIST) {
        snprintf(err, errlen, "%s: set again (first set on line %d)", key,
                 first);
        return -1;
    }
    if (value[0] == '\0') {
        snprintf(err, errlen, "%s: missing value", key);
        return -1;
    }
    if (settings_set(s, k, value, err, errlen) < 0)
        return -1;
    settings_note(s, k, lineno);
    return 0;
}

/*
 * Parse len bytes of text, the contents of the file called name, into s.
 * The text is copied into storage s owns (settings_free() releases it),
 * so string values outlive text.  Returns 0, or -1 at the first bad line
 * with "NAME:LINE: key: what is wrong" in err.
 */
int
conffile_parse(const char *name, const char *text, size_t len,
               struct settings *s, char *err, size_t errlen)
{
    char msg[512];
    char *buf, *line, *key, *value;
    size_t off = 0;
    int lineno = 0;

    s->file = settings_keep(s, name, strlen(name));
    buf = settings_keep(s, text, len);
    while (off < len) {
        char *nl = memchr(buf + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;

        line = buf + off;
        off += n + 1;
        lineno++;
        line[n] = '\0';
        if (memchr(line, '\0', n) != NULL) {
            snprintf(msg, sizeof(msg), "NUL byte in line");
            goto bad;
        }
        if (n > CONFFILE_LINE_MAX) {
            snprintf(msg, sizeof(msg), "line too long (max %d bytes)",
                     CONFFILE_LINE_MAX);
            goto bad;
        }
        if (split_line(line, &key, &value, msg, sizeof(msg)) < 0)
            goto bad;
        if (key != NULL && apply(s, key, value, lineno, msg,
                                 sizeof(msg)) < 0)
            goto bad;
    }
    return 0;

bad:
    snprintf(err, errlen, "%s:%d: %s", name, lineno, msg);
    return -1;
}

/*
 * Read the file at path into a new NUL-terminated buffer (*text, its
 * length in *len; free() it).  With whole set, the file must be a regular
 * file of at most max bytes; else at most max bytes of it are read and
 * the rest is ignored.  Returns 0, or -1 with *why saying what failed:
 * "cannot open" or "cannot read" with errno set, or, errno 0, "not a
 * regular file" or "file too large".  Main thread.
 */
int
conffile_read_file(const char *path, size_t max, int whole, char **text,
                   size_t *len, const char **why)
{
    struct stat st = { 0 };
    size_t cap = max;
    ssize_t n;
    int fd, saved;

    *text = NULL;
    *len = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        *why = "cannot open";
        return -1;
    }
    if (whole && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
                  (size_t)st.st_size > max)) {
        *why = (size_t)st.st_size > max ? "file too large" :
               "not a regular file";
        close(fd);
        errno = 0;
        return -1;
    }
    if (whole)
        cap = (size_t)st.st_size;
    *text = xmalloc(cap + 1);
    while (*len < cap) {
        n = read(fd, *text + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved = errno;
            *why = "cannot read";
            free(*text);
            *text = NULL;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    close(fd);
    (*text)[*len] = '\0';
    return 0;
}

/*
 * Read the file at path and parse it into s (see conffile_parse()).
 * Returns 0; 1 when the file does not exist and missing_ok is set (s is
 * untouched); -1 with "PATH: what is wrong" or "PATH:LINE: ..." in err.
 */
int
conffile_load(const char *path, int missing_ok, struct settings *s,
              char *err, size_t errlen)
{
    const char *why;
    char *text;
    size_t len;
    int rc;

    if (conffile_read_file(path, CONFFILE_SIZE_MAX, 1, &text, &len,
                           &why) < 0) {
        if (errno == ENOENT && missing_ok)
            return 1;
        snprintf(err, errlen, "%s: %s", path, errno ? strerror(errno) : why);
        return -1;
    }
    rc = conffile_parse(path, text, len, s, err, errlen);
    free(text);
    return rc;
}

/*
 * Write every setting of s to f in config-file form ("chatd -t -v"),
 * each with a comment saying where its value came from.
 */
void
conffile_dump(FILE *f, const struct settings *s)
{
    char value[1024], from[1024];

    for (const struct settings_key *k = settings_keys; k->name; k++) {
        if (k->type == SET_LIST) {
            for (int i = 0; i < s->nbind; i++) {
                settings_origin(s, s->bind_from[i], from, sizeof(from));
                fprintf(f, "%s = %s  # %s\n", k->name, s->bind[i], from);
            }
            if (s->nbind == 0)
                fprintf(f, "# %s: all addresses (default)\n", k->name);
            continue;
        }
        settings_format(s, k, value, sizeof(value));
        settings_origin(s, s->from[k - settings_keys], from, sizeof(from));
        if (value[0] == '\0')
            fprintf(f, "# %s: not set (%s)\n", k->name, from);
        else
            fprintf(f, "%s = %s  # %s\n", k->name, value, from);
    }
}
