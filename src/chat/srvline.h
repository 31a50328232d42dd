/*
 * srvline.h: split a line the server sent into its room (the "#room "
 * prefix of a room other than the default one), its kind, the nickname
 * in its prefix and its text (protocol v1, "Server -> client" in
 * chatd(8), and ROOMS).
 * The kinds are libchatd's enum proto_kind, the ones proto_format()
 * writes: this is its inverse.  Pure: no I/O, no state; the chat
 * client's main thread calls it.
 */
#ifndef CHAT_SRVLINE_H
#define CHAT_SRVLINE_H

#include <stddef.h>

#include "proto.h"

struct srvline {
    const char *room;   /* into the line: "#name"; NULL for v1 lines */
    size_t roomlen;
    const char *body;   /* the line past "#room ", or the whole line */
    int known;          /* 0: none of the protocol's forms; kind unset */
    enum proto_kind kind;
    const char *nick;   /* into the line; NULL for notices and plain */
    size_t nicklen;
    const char *text;   /* after the prefix ("*** " kept out) */
};

void srvline_parse(const char *line, struct srvline *sl);
int  srvline_nick_char(int c);
size_t srvline_room_len(const char *s);

#endif
