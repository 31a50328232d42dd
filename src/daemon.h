/*
 * daemon.h: what running as a service takes: detaching from the terminal,
 * the pidfile, dropping root privileges and telling systemd (sd_notify)
 * how far start-up got.  Main thread only, before other threads start
 * (daemon_notify() and daemon_pidfile_remove(): main thread, any time).
 */
#ifndef CHATD_DAEMON_H
#define CHATD_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

void daemon_detach(void);
void daemon_ready(void);
int  daemon_pidfile_check(const char *path, const char *user, char *err,
                          size_t errlen);
int  daemon_pidfile(const char *path, const char *user, char *err,
                    size_t errlen);
void daemon_pidfile_remove(void);
int  daemon_lookup_user(const char *name, uid_t *uid, gid_t *gid,
                        char *err, size_t errlen);
int  daemon_drop_privileges(const char *name, char *err, size_t errlen);
int  daemon_notify(const char *state);

#endif
