/*
 * tty.c: the chat client on a terminal (see tty.h), with GNU readline's
 * callback interface: one poll() loop over the signal self-pipe, the
 * socket and stdin; the input history, tab completion and the prompt,
 * which names the current room.
 * Single-threaded; readline's callbacks force the session to be
 * reachable from file-level statics, all owned by the main thread.
 *
 * Incoming lines are printed above the prompt: rl_clear_visible_line(),
 * print, rl_on_new_line(), rl_redisplay(), which draws the prompt and
 * the half-typed line again as they were, point included.  Readline's
 * own signal handling is off (rl_catch_signals = 0); signals arrive via
 * the self-pipe and every way out goes through tty_restore().
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/readline.h>
#include <readline/history.h>

#include "signals.h"
#include "tty.h"
#include "xmalloc.h"

#define TTY_PROMPT "> "           /* the default room's */
#define TTY_PROMPT_NONE "(no room)> "
#define TTY_HISTORY_MAX 1000    /* lines kept in the history file */

static struct session *sess;       /* the session the callbacks serve */
static int          installed;  /* the readline handler is installed */
static int          in_handler; /* inside on_line(): print plainly */
static char        *typed;      /* the line accept_typed() took */
static char        *histfile;   /* NULL: no history file */
static int          hist_added; /* entries added this run */
static int          leaving;    /* a /quit or Ctrl-D: finish up */
static char         prompt[PROTO_ROOM_MAX + 8]; /* what readline shows */

/* ------------------------------------------------------------------ */
/* Output above the prompt                                             */
/* ------------------------------------------------------------------ */

/*
 * Make `prompt` name the current room as the server last said: "> " in
 * the default room (as before rooms), "#dev> " in another, "(no room)> "
 * in none.  Returns nonzero when it changed.
 */
static int
prompt_update(void)
{
    const struct room_in *r = rooms_current(&sess->rooms);
    char now[sizeof(prompt)];

    if (r == NULL)
        snprintf(now, sizeof(now), "%s", TTY_PROMPT_NONE);
    else if (r->is_default)
        snprintf(now, sizeof(now), "%s", TTY_PROMPT);
    else
        snprintf(now, sizeof(now), "%s> ", r->name);
    if (strcmp(now, prompt) == 0)
        return 0;
    memcpy(prompt, now, sizeof(prompt));
    return 1;
}

/*
 * Show text (lines ending in LF; may be NULL) above the prompt without
 * disturbing the line being typed, and free it.
 */
static void
show(char *text)
{
    if (text == NULL)
        return;
    if (installed && !in_handler) {
        rl_clear_visible_line();
        if (prompt_update())
            rl_set_prompt(prompt);
        fputs(text, stdout);
        fflush(stdout);
        rl_on_new_line();
        rl_redisplay();
    } else {
        fputs(text, stdout);
        fflush(stdout);
    }
    free(text);
}

/* ------------------------------------------------------------------ */
/* History                                                             */
/* ------------------------------------------------------------------ */

/* mkdir -p dir (modified in place, restored), mode 0700.  0 or -1. */
static int
mkdir_p(char *dir)
{
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int rc = mkdir(dir, 0700);
        *p = c;
        if (rc < 0 && errno != EEXIST)
            return -1;
        if (c == '\0')
            return 0;
    }
}

/*
 * Where history lives: $XDG_STATE_HOME/chat/history (by default
 * ~/.local/state/chat/history), or ~/.chat_history when that directory
 * cannot be made.  Returns a malloc'd path, or NULL without a home.
 */
static char *
history_path(void)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[4096];
    char *path;
    int n;

    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(dir, sizeof(dir), "%s/chat", xdg);
    else if (home != NULL && home[0] == '/')
        n = snprintf(dir, sizeof(dir), "%s/.local/state/chat", home);
    else
        return NULL;
    if (n > 0 && (size_t)n < sizeof(dir) - 8 && mkdir_p(dir) == 0) {
        path = xmalloc(strlen(dir) + 9);
        sprintf(path, "%s/history", dir);
        return path;
    }
    if (home == NULL || home[0] != '/')
        return NULL;
    path = xmalloc(strlen(home) + 15);
    sprintf(path, "%s/.chat_history", home);
    return path;
}

/* Start the history: bounded in memory, loaded from the file. */
static void
history_load(void)
{
    using_history();
    stifle_history(TTY_HISTORY_MAX);
    if ((histfile = history_path()) == NULL)
        return;
    errno = read_history(histfile);
    if (errno != 0 && errno != ENOENT)
        warn("%s", histfile);
}

/*
 * Append this run's lines to the history file and trim it to
 * TTY_HISTORY_MAX lines.  Appending, not rewriting, keeps the lines of
 * two clients that ran at the same time.
 */
static void
history_save(void)
{
    FILE *f;
    int n = hist_added < history_length ? hist_added : history_length;

    if (histfile == NULL || n == 0)
        goto out;
    if ((f = fopen(histfile, "a")) == NULL) {   /* append_history needs it */
        warn("%s", histfile);
        goto out;
    }
    fclose(f);
    if ((errno = append_history(n, histfile)) != 0 ||
        (errno = history_truncate_file(histfile, TTY_HISTORY_MAX)) != 0)
        warn("%s", histfile);
out:
    free(histfile);
    histfile = NULL;
    hist_added = 0;
}

/* Add a line sent to the history, unless it repeats the last one. */
static void
history_note(const char *line)
{
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base +
                                                        history_length - 1)
                                          : NULL;

    if (last != NULL && strcmp(last->line, line) == 0)
        return;
    add_history(line);
    hist_added++;
}

/* ------------------------------------------------------------------ */
/* Completion                                                          */
/* ------------------------------------------------------------------ */

static const char *const commands[] = {
    "/help", "/history", "/join", "/me", "/msg", "/nick", "/part", "/quit",
    "/rooms", "/topic", "/who", NULL
};

/* Readline generator: the commands starting with text. */
static char *
command_gen(const char *text, int state)
{
    static size_t i, len;

    if (state == 0) {
        i = 0;
        len = strlen(text);
    }
    while (commands[i] != NULL)
        if (strncmp(commands[i++], text, len) == 0)
            return xstrdup(commands[i - 1]);
    return NULL;
}

/* Readline generator: the nicknames seen that start with text. */
static char *
nick_gen(const char *text, int state)
{
    static size_t i, len;
    const struct nicks *ns = &sess->nicks;

    if (state == 0) {
        i = 0;
        len = strlen(text);
    }
    while (i < ns->n)
        if (strncasecmp(ns->v[i++], text, len) == 0)
            return xstrdup(ns->v[i - 1]);
    return NULL;
}

/* Readline generator: the room names seen that start with text. */
static char *
room_gen(const char *text, int state)
{
    static size_t i, len;
    const struct rooms *rs = &sess->rooms;

    if (state == 0) {
        i = 0;
        len = strlen(text);
    }
    while (i < rs->nseen)
        if (strncasecmp(rs->seen[i++], text, len) == 0)
            return xstrdup(rs->seen[i - 1]);
    return NULL;
}

/*
 * Is the word at start the first argument of a command that takes a
 * room: "/join ", "/part " or "/who " (any case, any spaces)?
 */
static int
room_argument(int start)
{
    static const char *const takes_room[] = { "join", "part", "who", NULL };
    const char *b = rl_line_buffer;
    size_t i = strspn(b, " "), n, sp;

    if ((int)i >= start || b[i] != '/')
        return 0;
    n = strcspn(b + i + 1, " ");            /* the command's name */
    sp = strspn(b + i + 1 + n, " ");
    if (sp == 0 || (int)(i + 1 + n + sp) != start)
        return 0;
    for (size_t k = 0; takes_room[k] != NULL; k++)
        if (strlen(takes_room[k]) == n &&
            strncasecmp(b + i + 1, takes_room[k], n) == 0)
            return 1;
    return 0;
}

/*
 * Tab: /commands as the first word; room names as the first argument of
 * /join, /part and /who, or any word starting with '#'; nicknames
 * anywhere else; no file names.
 */
static char **
complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1;
    if (start == 0 && text[0] == '/')
        return rl_completion_matches(text, command_gen);
    if (text[0] == '#' || room_argument(start))
        return rl_completion_matches(text, room_gen);
    return rl_completion_matches(text, nick_gen);
}

/* ------------------------------------------------------------------ */
/* Lines typed                                                         */
/* ------------------------------------------------------------------ */

/*
 * Enter: take the line and hand an empty one to readline's accept-line,
 * so the typed text leaves the screen (with rl_erase_empty_line nothing
 * is redrawn) and our echo, formatted as the others see it, takes its
 * place.  on_line() sends what was taken.
 */
static int
accept_typed(int count, int key)
{
    free(typed);
    typed = xstrdup(rl_line_buffer);
    rl_clear_visible_line();
    rl_replace_line("", 0);
    return rl_newline(count, key);
}

/*
 * Send text: each of its lines (a bracketed paste of several lines is
 * one readline line holding CRs or LFs) as its own message, in order.
 */
static void
send_text(const char *text)
{
    const char *p = text;

    while (*p != '\0') {
        size_t n = strcspn(p, "\r\n");
        if (n > 0) {
            char *line = xmalloc(n + 1);
            memcpy(line, p, n);
            line[n] = '\0';
            history_note(line);
            show(session_submit(sess, line, n));
            free(line);
        }
        p += n;
        if (*p != '\0')
            p++;
    }
}

/*
 * Readline's line handler: NULL at Ctrl-D on an empty line, else the
 * line (empty when accept_typed() took it).  Runs with the terminal restored.
 */
static void
on_line(char *line)
{
    in_handler = 1;
    if (line == NULL) {
        fputs("\n", stdout);
        free(session_submit(sess, "/quit", 5));
    } else {
        send_text(typed != NULL ? typed : line);
    }
    free(typed);
    typed = NULL;
    free(line);
    if (sess->quit_sent) {
        rl_callback_handler_remove();
        installed = 0;
        leaving = 1;
    }
    in_handler = 0;
}

/* ------------------------------------------------------------------ */
/* Terminal state                                                      */
/* ------------------------------------------------------------------ */

/*
 * Configure readline: our signal handling, not its own; Enter bound to
 * accept_typed() in the emacs and vi maps (also as chat-accept-line for
 * inputrc); completion; no active-region highlight without colour.
 * Then install the handler, which takes the terminal and shows the
 * prompt.
 */
static void
tty_setup(void)
{
    rl_readline_name = "chat";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_erase_empty_line = 1;
    rl_attempted_completion_function = complete;
    rl_completer_word_break_characters = " \t\n";
    rl_variable_bind("completion-ignore-case", "on");
    if (!sess->opts->render.color)
        rl_variable_bind("enable-active-region", "off");
    rl_add_defun("chat-accept-line", accept_typed, -1);
    rl_bind_key_in_map('\r', accept_typed, emacs_standard_keymap);
    rl_bind_key_in_map('\n', accept_typed, emacs_standard_keymap);
    rl_bind_key_in_map('\r', accept_typed, vi_insertion_keymap);
    rl_bind_key_in_map('\n', accept_typed, vi_insertion_keymap);
    rl_bind_key_in_map('\r', accept_typed, vi_movement_keymap);
    rl_bind_key_in_map('\n', accept_typed, vi_movement_keymap);
    prompt_update();
    rl_callback_handler_install(prompt, on_line);
    installed = 1;
}

/*
 * Give the terminal back as it was: leave readline (the half-typed line
 * stays visible; keep it in the history when keep is set) and save the
 * history.  Safe to call more than once.
 */
static void
tty_restore(int keep)
{
    if (installed) {
        if (keep && rl_end > 0)
            history_note(rl_line_buffer);
        rl_callback_sigcleanup();
        rl_callback_handler_remove();
        installed = 0;
        fputs("\n", stdout);
        fflush(stdout);
    }
    history_save();
}

/*
 * Ctrl-Z: restore the terminal, stop, and on SIGCONT take the terminal
 * again with the half-typed line as it was.
 */
static void
suspend(void)
{
    struct sigaction sa, old;
    char *line = xstrdup(rl_line_buffer);
    int point = rl_point;

    rl_callback_sigcleanup();
    rl_callback_handler_remove();
    fputs("\n", stdout);
    fflush(stdout);
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    if (sigaction(SIGTSTP, &sa, &old) == 0) {
        raise(SIGTSTP);         /* stops here until SIGCONT */
        sigaction(SIGTSTP, &old, NULL);
    }
    rl_callback_handler_install(prompt, on_line);
    rl_replace_line(line, 0);
    rl_point = point;
    rl_redisplay();
    free(line);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

/* Act on a caught signal; returns an exit status, or -1 to go on. */
static int
on_signal_caught(int sig)
{
    switch (sig) {
    case 0:
        return -1;
    case SIGWINCH:
        rl_resize_terminal();
        return -1;
    case SIGTSTP:
        suspend();
        return -1;
    default:
        tty_restore(0);
        return signals_status(sig);
    }
}

/* The server's side of one poll round; returns -1 to go on. */
static int
on_server(short revents)
{
    char *text;
    int rc = session_serve(sess, revents, &text);

    show(text);
    if (rc > 0)
        return -1;
    tty_restore(1);
    session_lost(sess, rc);
    return CHAT_EXIT_FAIL;
}

/*
 * Run a terminal session: take the nickname, ask /who (which seeds
 * completion), then serve the user until /quit, Ctrl-D, a signal or the
 * server going away.  Returns the exit status.
 */
int
tty_run(struct session *s)
{
    int rc = -1;

    sess = s;
    history_load();
    tty_setup();
    session_ask_nick(s);
    free(session_submit(s, "/who", 4));
    while (rc < 0 && !leaving) {
        struct pollfd pfd[3];

        if (conn_flush(&s->conn) < 0)
            return on_server(POLLOUT);
        session_pollfds(s, pfd);
        pfd[2] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            tty_restore(0);
            warn("poll");
            return CHAT_EXIT_FAIL;
        }
        if ((rc = on_signal_caught(signals_take(s->sigfd))) >= 0)
            break;
        if ((rc = on_server(pfd[1].revents)) >= 0)
            break;
        if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
            rl_callback_read_char();
    }
    if (rc >= 0)
        return rc;
    tty_restore(0);
    return session_finish(s);
}
