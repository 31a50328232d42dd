/*
 * render.h: how the chat client shows a line: colours per nickname and
 * per room prefix, for notices and errors, and an optional timestamp.
 * Pure but for reading the clock; the client's main thread.
 */
#ifndef CHAT_RENDER_H
#define CHAT_RENDER_H

#include <stddef.h>
#include <time.h>

#include "proto.h"

struct render {
    int color;          /* emit SGR colour sequences */
    int timestamps;     /* prefix "HH:MM " */
};

/* The marker shown where live traffic begins after a replay. */
#define RENDER_LIVE_MARK "-------- live --------"

char *render_line(const struct render *r, const char *line, time_t now);
size_t render_stamp_len(const char *line);
char *render_server(const struct render *r, int *replaying,
                    const char *line, time_t now);
char *render_own(const struct render *r, enum proto_kind kind,
                 const char *room, const char *nick, const char *text,
                 time_t now);
const char *render_nick_color(const char *nick, size_t len);
const char *render_room_color(const char *room, size_t len);

#endif
