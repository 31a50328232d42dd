/*
 * cmdline.h: chatd's command line: the options table made from the
 * settings keys, --help, option errors, and applying the options to a
 * struct settings (cmdline.c).  Main thread only.
 */
#ifndef CHATD_CMDLINE_H
#define CHATD_CMDLINE_H

struct settings;

/* What the command line says beyond the settings; main thread. */
struct cmdline {
    const char     *progname;
    int             argc;
    char          **argv;
    const char     *config;         /* -c, or the default */
    int             config_given;   /* -c was given: it must exist */
    int             check;          /* -t */
    const char     *add_account;    /* --add-account NAME */
    int             add_oper;       /* --oper */
    long            fd_room;        /* most clients the fd limit allows */
    char            startdir[4096]; /* to resolve relative paths */
};

extern struct cmdline cmd;

void cmdline_build(void);
void cmdline_apply(struct settings *s, int first_pass);

#endif
