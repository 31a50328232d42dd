/*
 * srvline.h: split a line the server sent into its kind, the nickname in
 * its prefix and its text (protocol v1, "Server -> client" in chatd(8)).
 * The kinds are libchatd's enum proto_kind, the ones proto_format()
 * writes: this is its inverse.  Pure: no I/O, no state; the chat
 * client's main thread calls it.
 */
#ifndef CHAT_SRVLINE_H
#define CHAT_SRVLINE_H

#include <stddef.h>

#include "proto.h"

struct srvline {
    int known;          /* 0: none of the protocol's forms; kind unset */
    enum proto_kind kind;
    const char *nick;   /* into the line; NULL for notices and plain */
    size_t nicklen;
    const char *text;   /* after the prefix ("*** " kept out) */
};

void srvline_parse(const char *line, struct srvline *sl);
int  srvline_nick_char(int c);

#endif
