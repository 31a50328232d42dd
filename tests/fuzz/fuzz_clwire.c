/*
 * fuzz_clwire.c: libFuzzer harness for what a cluster node reads from
 * outside: messages on the Redis channel (clwire_parse()), the node table
 * that takes them (clnodes_take(), pure: no Redis), and Redis URLs
 * (clwire_parse_url(), clwire_url_redact()).
 *
 * The input's first byte picks the mode.  0: the rest is a URL.  Else the
 * rest is channel messages, one per line, taken in order by a table whose
 * own node is "self".  Checked:
 *
 *   - no crash, leak or sanitizer report;
 *   - every line the table would show clients ends in one LF and holds no
 *     control byte but TAB (remote text is sanitized);
 *   - the table's user count is what paging /who through it lists, and
 *     each room's is what paging /who #room lists;
 *   - a URL that parses has a port in 1-65535 and a host, and its
 *     redacted form never holds the password.
 *
 * Single-threaded.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnodes.h"
#include "clwire.h"
#include "mbox.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *detail, size_t len)
{
    fprintf(stderr, "fuzz_clwire: %s: \"%.*s\"\n", what, (int)len, detail);
    abort();
}

/* A line for clients: LF-terminated, no control bytes but TAB. */
static void
check_line(const struct msg *m)
{
    if (m->len == 0 || m->data[m->len - 1] != '\n')
        fail("line without its LF", m->data, m->len);
    for (uint32_t i = 0; i + 1 < m->len; i++) {
        unsigned char b = (unsigned char)m->data[i];
        if ((b < 0x20 && b != '\t') || b == 0x7f)
            fail("control byte in a line for clients", m->data, m->len);
    }
}

static void
count_nick(void *arg, const char *nick)
{
    (void)nick;
    (*(size_t *)arg)++;
}

static void
check_batch(struct mbox_vec *batch)
{
    for (size_t i = 0; i < batch->len; i++)
        if (batch->v[i].msg != NULL)
            check_line(batch->v[i].msg);
    mbox_vec_free(batch);
}

/* The rooms "here": #dev and #ops (the default room is #lobby). */
static uint32_t
stub_room(void *arg, const char *fold, char name[PROTO_ROOM_MAX + 1])
{
    (void)arg;
    if (strcmp(fold, "#lobby") == 0)
        return MBOX_ROOM_DEFAULT;
    if (strcmp(fold, "#dev") != 0 && strcmp(fold, "#ops") != 0)
        return 0;
    snprintf(name, PROTO_ROOM_MAX + 1, "%s", fold);
    return fold[1] == 'd' ? 5 : 6;
}

/* /who #room through the table lists as many as it counts. */
static void
check_rooms(const struct clnodes *t)
{
    struct clnodes_room v[8];
    size_t cursor = 0, n;

    while ((n = clnodes_rooms_page(t, &cursor, v, 8)) > 0) {
        for (size_t i = 0; i < n; i++) {
            char fold[PROTO_ROOM_MAX + 1];
            size_t listed = 0, node = 0, pos = 0;
            proto_room_fold(v[i].name, fold);
            while (clnodes_room_who_page(t, fold, &node, &pos, 5,
                                         count_nick, &listed))
                ;
            if (listed != v[i].members)
                fail("/who #room pages and its count differ", v[i].name,
                     strlen(v[i].name));
        }
        if (cursor == SIZE_MAX)
            break;
    }
}

/* Every message of the input, in order, through one node table. */
static void
fuzz_messages(const char *p, size_t len)
{
    struct clnodes t;
    struct mbox_vec batch = { 0 };
    const char *end = p + len;
    size_t listed = 0, node = 0, pos = 0;
    int64_t now = 1000;

    clnodes_init(&t, "self", 0x1234);
    t.room_id = stub_room;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct clwire m;
        if (clwire_parse(p, n, &m) == 0 &&
            (clwire_room_type(m.type) || m.type == 'R' || m.type == 'T')) {
            clnodes_take_room(&t, &m, now, &batch);
        } else if (clwire_parse(p, n, &m) == 0) {
            if (clnodes_take(&t, &m, now, &batch) == CLNODES_TAKEN &&
                (m.type == 'P' || m.type == 'A' || m.type == 'M')) {
                size_t k = clnodes_clean(&t, &m, CLWIRE_MAX);
                for (size_t i = 0; i < k; i++)
                    if ((unsigned char)t.clean[i] < 0x20 &&
                        t.clean[i] != '\t')
                        fail("control byte in remote text", t.clean, k);
            }
        }
        check_batch(&batch);
        now += 500;
        p += n + (nl != NULL);
    }
    while (clnodes_who_page(&t, &node, &pos, 7, count_nick, &listed))
        ;
    if (listed != clnodes_users(&t))
        fail("/who pages and the user count differ", "", 0);
    check_rooms(&t);
    clnodes_expire(&t, now + 3600 * 1000, 20000, &batch, NULL, NULL);
    check_batch(&batch);
    clnodes_free(&t);
}

static void
fuzz_url(const char *s, size_t len)
{
    char *url = malloc(len + 1), red[1024];
    struct clwire_url u;

    memcpy(url, s, len);
    url[len] = '\0';
    if (clwire_parse_url(url, &u) == 0) {
        if (u.port < 1 || u.port > 65535 || u.host[0] == '\0')
            fail("bad port or empty host accepted", url, len);
        if (clwire_url_redact(url, red, sizeof(red)) == 0 &&
            u.pass[0] != '\0' && strlen(u.pass) >= 3 &&
            strstr(red, u.pass) != NULL)
            fail("password left in the redacted URL", url, len);
    }
    free(url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] == 0)
        fuzz_url((const char *)data + 1, size - 1);
    else
        fuzz_messages((const char *)data + 1, size - 1);
    return 0;
}
