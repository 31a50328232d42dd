/*
 * acctadd.h: chatd --add-account (acctadd.c).  Main thread only.
 */
#ifndef CHATD_ACCTADD_H
#define CHATD_ACCTADD_H

struct settings;

int acctadd_run(const struct settings *s);

#endif
