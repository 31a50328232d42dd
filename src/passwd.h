/*
 * passwd.h: password hashes: Argon2id with chatd's parameters
 * (PASSWD_T passes over PASSWD_M_KIB KiB, PASSWD_P lane), a 16-byte
 * random salt, a 32-byte hash, all written into the encoded string
 * ($argon2id$v=19$m=...,t=...,p=...$salt$hash) so that the parameters
 * can be raised later and old hashes still verify.  Slow on purpose
 * (tens of milliseconds): the store thread and main only, never a
 * worker.
 */
#ifndef CHATD_PASSWD_H
#define CHATD_PASSWD_H

#include <stddef.h>

#define PASSWD_T      2
#define PASSWD_M_KIB  19456         /* 19 MiB */
#define PASSWD_P      1

int passwd_hash(const char *pw, char *out, size_t cap);
int passwd_verify(const char *encoded, const char *pw);

#endif
