/*
 * srvline.h: split a line the server sent into its kind, the nickname in
 * its prefix and its text (protocol v1, "Server -> client" in chatd(8)).
 * Pure: no I/O, no state; the chat client's main thread calls it.
 */
#ifndef CHAT_SRVLINE_H
#define CHAT_SRVLINE_H

#include <stddef.h>

enum srvline_kind {
    SRV_PLAIN = 0,      /* none of the forms below */
    SRV_PUBLIC,         /* <nick> text */
    SRV_ACTION,         /* * nick text */
    SRV_PRIVATE,        /* *nick* text */
    SRV_SENT,           /* -> *nick* text */
    SRV_NOTICE,         /* *** text */
    SRV_ERROR           /* *** error: text */
};

struct srvline {
    enum srvline_kind kind;
    const char *nick;   /* into the line; NULL for notices and plain */
    size_t nicklen;
    const char *text;   /* after the prefix ("*** " kept out) */
};

void srvline_parse(const char *line, struct srvline *sl);
int  srvline_nick_char(int c);

#endif
