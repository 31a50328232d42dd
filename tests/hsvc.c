/*
 * hsvc.c: the service suites' scratch directory and chatd runs
 * (hsvc.h), on the test's thread.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsvc.h"

char dir[64];

void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/check_service.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Remove dir and the files the test made in it. */
void
teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[512];

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Write text to dir/name; returns the path (static buffer per call). */
const char *
put(const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    FILE *f;

    snprintf(path, 512, "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* Run chatd with args (NULL-terminated) to completion; returns its exit
 * status, its output in out. */
int
run(char *out, size_t cap, const char *arg, ...)
{
    const char *argv[32] = { hserver_chatd() };
    size_t n = 1;
    va_list ap;
    int status;

    va_start(ap, arg);
    for (; arg != NULL && n < 31; arg = va_arg(ap, const char *))
        argv[n++] = arg;
    va_end(ap);
    argv[n] = NULL;
    ck_assert_int_eq(h_run(argv, out, cap, &status), 0);
    return status;
}

/* chatd on port 0 with the file conf and one more argument (or NULL). */
void
start(struct hserver *s, const char *conf, const char *extra)
{
    const char *argv[] = { "chatd", "-p", "0", "-w", "2", "-b",
                           "127.0.0.1", "-c", conf, extra, NULL };

    ck_assert_msg(hserver_start_argv(s, argv) == 0, "chatd did not start");
}
