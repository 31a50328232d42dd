/*
 * daemon.c: detach, pidfile, privilege drop and sd_notify.
 *
 * Ownership: the state below (the pipe to the waiting parent, the pidfile)
 * belongs to the main thread.  Everything but daemon_notify() and
 * daemon_pidfile_remove() runs before the worker threads exist: fork()
 * copies only the calling thread, and setuid() should change every
 * thread's credentials by changing the only one.
 *
 * The pidfile is removed at exit, after any privilege drop, so it must
 * stay removable by the user chatd becomes: daemon_pidfile_check() makes
 * sure at start-up that the user may write the pidfile's directory (as
 * for /run/chatd/ made for it), and daemon_pidfile() hands the file to
 * that user (needed in a sticky directory such as /tmp).
 *
 * Detaching is done in two steps so that start-up errors still reach the
 * terminal and the exit status: daemon_detach() forks, and the parent
 * waits on a pipe; the child opens everything, then daemon_ready() tells
 * the parent (which exits 0) and points stdin, stdout and stderr at
 * /dev/null.  If the child dies first, the parent exits with its status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static int ready_fd = -1;           /* child's end of the pipe */
static int pidfile_fd = -1;         /* held open and locked */
static char *pidfile_path;          /* to remove at exit */

/*
 * Fork into the background.  The parent does not return: it exits 0 once
 * the child calls daemon_ready(), or with the child's status if the child
 * exits first.  The child starts a new session and returns.
 */
void
daemon_detach(void)
{
    int pfd[2], status;
    pid_t pid;
    char c;
    ssize_t n;

    if (pipe2(pfd, O_CLOEXEC) < 0)
        fatal("pipe");
    if ((pid = fork()) < 0)
        fatal("fork");
    if (pid > 0) {
        close(pfd[1]);
        while ((n = read(pfd[0], &c, 1)) < 0 && errno == EINTR)
            ;
        if (n == 1)
            _exit(0);
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR)
                _exit(1);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
    }
    close(pfd[0]);
    ready_fd = pfd[1];
    if (setsid() < 0)
        fatal("setsid");
    if (chdir("/") < 0)
        fatal("chdir /");
}

/*
 * Start-up is complete: let the waiting parent exit 0 and detach stdin,
 * stdout and stderr (to /dev/null).  No-op unless daemon_detach() ran.
 */
void
daemon_ready(void)
{
    int fd;

    if (ready_fd < 0)
        return;
    if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        fatal("/dev/null");
    if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
        dup2(fd, STDERR_FILENO) < 0)
        fatal("dup2");
    close(fd);
    while (write(ready_fd, "R", 1) < 0 && errno == EINTR)
        ;
    close(ready_fd);
    ready_fd = -1;
}

/* The directory part of path ("." for none) in dir. */
static void
dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/*
 * Whether user, once chatd has become it, may remove path at exit: it
 * needs write and search permission on the directory (the file itself
 * will be the user's).  A child that really becomes the user asks
 * access(2), so groups and ACLs count as they will.  Only root dropping
 * to another user needs this; 0 at once otherwise.  Returns 0, or -1
 * with err set to what is wrong and what to do.  Main thread, before
 * any other thread exists.
 */
int
daemon_pidfile_check(const char *path, const char *user, char *err,
                     size_t errlen)
{
    char dir[4096];
    uid_t uid;
    gid_t gid;
    int status, code;
    pid_t pid;

    if (user == NULL || geteuid() != 0)
        return 0;
    if (daemon_lookup_user(user, &uid, &gid, err, errlen) < 0)
        return -1;
    if (uid == 0)
        return 0;
    dir_of(path, dir, sizeof(dir));
    if ((pid = fork()) < 0) {
        snprintf(err, errlen, "pidfile %s: fork: %s", path, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char e[256];
        if (daemon_drop_privileges(user, e, sizeof(e)) < 0)
            _exit(255);
        _exit(access(dir, W_OK | X_OK) == 0 ? 0 : errno & 0xff);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(err, errlen, "pidfile %s: waitpid: %s", path,
                     strerror(errno));
            return -1;
        }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
    if (code == 0)
        return 0;
    if (code == EACCES || code == EPERM || code == EROFS)
        snprintf(err, errlen, "pidfile %s: user %s could not remove it at "
                 "exit (no write permission on %s): put it in a directory "
                 "%s may write, such as /run/chatd made with "
                 "'install -d -o %s /run/chatd'", path, user, dir, user,
                 user);
    else if (code == 255)
        snprintf(err, errlen, "pidfile %s: cannot check it as user %s",
                 path, user);
    else
        snprintf(err, errlen, "pidfile %s: %s: %s", path, dir,
                 strerror(code));
    return -1;
}

/* Give the open pidfile fd to user.  Returns 0, or -1 with err set. */
static int
give_pidfile(int fd, const char *path, const char *user, char *err,
             size_t errlen)
{
    uid_t uid;
    gid_t gid;

    if (daemon_lookup_user(user, &uid, &gid, err, errlen) < 0)
        return -1;
    if (fchown(fd, uid, gid) < 0) {
        snprintf(err, errlen, "pidfile %s: cannot give it to %s: %s", path,
                 user, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Write our process ID to path and keep the file open and locked, so a
 * second chatd with the same pidfile fails instead of overwriting it.
 * When root will become user, the file is given to user, who removes it
 * at exit (see daemon_pidfile_check()).  Returns 0, or -1 with err set.
 */
int
daemon_pidfile(const char *path, const char *user, char *err,
               size_t errlen)
{
    char buf[32];
    int fd, len, ok;

    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        ssize_t n = errno == EWOULDBLOCK ?
            read(fd, buf, sizeof(buf) - 1) : -1;
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (n > 0)
            snprintf(err, errlen, "pidfile %s: chatd is already running "
                     "as pid %s", path, buf);
        else
            snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    ok = ftruncate(fd, 0) == 0 && write(fd, buf, (size_t)len) == len;
    if (!ok)
        snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
    else if (user != NULL && geteuid() == 0)
        ok = give_pidfile(fd, path, user, err, errlen) == 0;
    if (!ok) {
        close(fd);
        unlink(path);
        return -1;
    }
    pidfile_fd = fd;
    free(pidfile_path);
    if ((pidfile_path = strdup(path)) == NULL)
        fatal("strdup");
    return 0;
}

/*
 * Remove the pidfile at exit.  After dropping privileges this is allowed
 * because start-up checked it; a failure is logged, not fatal.
 */
void
daemon_pidfile_remove(void)
{
    if (pidfile_path == NULL)
        return;
    if (unlink(pidfile_path) < 0)
        log_warn("cannot remove pidfile %s", pidfile_path);
    close(pidfile_fd);
    pidfile_fd = -1;
    free(pidfile_path);
    pidfile_path = NULL;
}

/* Look name up in the password database.  Returns 0, or -1 with err. */
int
daemon_lookup_user(const char *name, uid_t *uid, gid_t *gid, char *err,
                   size_t errlen)
{
    struct passwd *pw;

    errno = 0;
    if ((pw = getpwnam(name)) == NULL) {
        snprintf(err, errlen, "user: %s: %s", name,
                 errno ? strerror(errno) : "no such user");
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/*
 * Become user name: its groups, its group, then its user ID, and make
 * sure root cannot be regained.  Call after opening the listeners and
 * before starting any thread.  Returns 0, or -1 with err set.
 */
int
daemon_drop_privileges(const char *name, char *err, size_t errlen)
{
    uid_t uid;
    gid_t gid;

    if (daemon_lookup_user(name, &uid, &gid, err, errlen) < 0)
        return -1;
    if (geteuid() != 0 && geteuid() == uid && getuid() == uid)
        return 0;                       /* already that user */
    if (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        snprintf(err, errlen, "user: cannot become %s: %s", name,
                 strerror(errno));
        return -1;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "user: %s: could regain root privileges",
                 name);
        return -1;
    }
    return 0;
}

/*
 * Send state ("READY=1", ...) to the service manager, as sd_notify(3)
 * does: one datagram to the AF_UNIX socket named in $NOTIFY_SOCKET (a
 * path, or an abstract name after "@").  Returns 0 (also when there is
 * no service manager to tell), or -1 with errno set.
 */
int
daemon_notify(const char *state)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len;
    ssize_t n;
    int fd;

    if (path == NULL || path[0] == '\0')
        return 0;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
               (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
    return n < 0 ? -1 : 0;
}
