/*
 * passwd.c: Argon2id hashes of passwords (see passwd.h), through
 * libargon2.  The store thread, or main for --add-account.
 */
#include "config.h"

#include <argon2.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "passwd.h"

#define SALT_LEN 16
#define HASH_LEN 32

/*
 * A dummy hash: what an unknown account is verified against, so that a
 * wrong name costs as much time as a wrong password.  Made on first use.
 */
static char dummy[128];

/* Hash pw into out (cap bytes, encoded).  0, or -1 (errno set). */
int
passwd_hash(const char *pw, char *out, size_t cap)
{
    unsigned char salt[SALT_LEN];
    size_t need = argon2_encodedlen(PASSWD_T, PASSWD_M_KIB, PASSWD_P,
                                    SALT_LEN, HASH_LEN, Argon2_id);

    if (need > cap) {
        errno = ENOBUFS;
        return -1;
    }
    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
        return -1;
    if (argon2id_hash_encoded(PASSWD_T, PASSWD_M_KIB, PASSWD_P, pw,
                              strlen(pw), salt, sizeof(salt), HASH_LEN, out,
                              cap) != ARGON2_OK) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/*
 * 1 if pw matches the encoded hash, else 0.  encoded NULL: an unknown
 * account, verified against a dummy hash (the same cost) and refused.
 */
int
passwd_verify(const char *encoded, const char *pw)
{
    if (encoded == NULL) {
        if (dummy[0] == '\0' &&
            passwd_hash("chatd dummy password", dummy, sizeof(dummy)) < 0)
            return 0;
        (void)argon2id_verify(dummy, pw, strlen(pw));
        return 0;
    }
    return argon2id_verify(encoded, pw, strlen(pw)) == ARGON2_OK;
}
