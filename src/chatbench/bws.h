/*
 * bws.h: chatbench's WebSocket (--protocol ws): the chat protocol in
 * text frames, as a browser speaks it to chatd's web port (bws.c): the
 * upgrade request, the server's frames turned into lines, the lines
 * queued turned into masked client frames.  chatbench's only thread.
 */
#ifndef CHATBENCH_BWS_H
#define CHATBENCH_BWS_H

#include <stddef.h>

struct conn;

void bws_upgrade(struct conn *c);
long bws_input(struct conn *c, char *buf, size_t have, size_t *lines);
void bws_frame_out(struct conn *c);

#endif
