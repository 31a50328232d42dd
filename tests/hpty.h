/*
 * hpty.h: the chat client ($CHAT) in a pseudo-terminal, against a real
 * chatd ($CHATD, via harness.c), for check_client and check_client_exit.
 * openpty + fork, so the test keeps the slave side and can read its
 * termios after the client exits.  The server of a TCase belongs to its
 * fixture (server_up, server_down); everything else runs in check's
 * forked child, on one thread.
 */
#ifndef CHATD_HPTY_H
#define CHATD_HPTY_H

#include <stddef.h>
#include <sys/types.h>
#include <termios.h>

#include "harness.h"

struct pty {
    pid_t   pid;
    int     master, slave;
    char    out[1 << 17];   /* everything the client wrote */
    size_t  len;
    char    plain[1 << 17]; /* out without escape sequences and CRs */
    char    home[64];       /* HOME and XDG_STATE_HOME of the client */
};

extern struct hserver server;

void  server_up(void);
void  server_down(void);
const char *chat_path(void);
int   pty_read(struct pty *p, int ms);
long  pty_expect(struct pty *p, const char *needle, size_t from, int ms);
void  pty_type(struct pty *p, const char *s);
void  pty_spawn(struct pty *p, const char *homedir, const char *const *env,
                const char *const *args);
int   pty_exit(struct pty *p, int ms);
void  pty_close(struct pty *p, int clean);
tcflag_t pty_lflag(struct pty *p);
long  pty_find_sgr(const char *s);
int   pty_wait_raw(struct pty *p, int ms);
struct hconn *start_pair(struct pty *p, const char *home,
                         const char *const *env);
void  quit_pair(struct pty *p, struct hconn *bob, int keep);

#endif
