/*
 * chat.c: the chat client's main(): the command line, connecting, the
 * signals, and the choice of front end: the terminal one (tty.c) when
 * stdin is a terminal, else the script one (pipemode.c).  Each is handed
 * the open session (session.h) and returns the exit status; neither
 * calls back into this file.  Single-threaded.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipemode.h"
#include "proto.h"
#include "session.h"
#include "signals.h"
#include "tty.h"

#define USAGE "usage: chat [-t] [-n nick] [--no-color] " \
    "[--tls [--ca FILE] [--insecure]]\n            [host [port]]\n"

/* A bad command line: the synopsis and a pointer to --help, exit 2. */
static void
usage_error(void)
{
    fputs(USAGE "Try 'chat --help' for more.\n", stderr);
    exit(CHAT_EXIT_USAGE);
}

/* --help: the synopsis, the options and an example, on stdout. */
static void
usage(void)
{
    printf(USAGE
        "\n"
        "Talk on a chatd server (default: localhost port 7777, or 7443\n"
        "with --tls).\n"
        "\n"
        "  -n, --nick NICK   take this nickname on connecting\n"
        "      --tls         connect over TLS, checking the server's\n"
        "                    certificate against the system's CAs and\n"
        "                    its name against host\n"
        "      --ca FILE     trust the CA (or certificate) in FILE\n"
        "                    instead (implies --tls)\n"
        "      --insecure    do not check the certificate (implies\n"
        "                    --tls; anyone in between can listen)\n"
        "  -t, --timestamps  show the time before each line\n"
        "      --no-color    no colours (also: NO_COLOR set, or stdout\n"
        "                    not a terminal)\n"
        "  -h, --help        show this help and exit\n"
        "  -V, --version     show the version and exit\n"
        "\n"
        "On a terminal, type a line and press Enter to send it; /help\n"
        "lists the server's commands, /join #room talks in a room\n"
        "(the prompt names it), /quit or Ctrl-D leaves.  With\n"
        "stdin not a terminal, each input line is sent as it is, and\n"
        "the exit status is 3 if the server refused the nickname\n"
        "(then nothing is sent) or answered a line with an error:\n"
        "  echo \"deploy done\" | chat -n ci chat.example.org\n"
        "See chat(1).\n");
}

/* Colour is on unless asked off, NO_COLOR is set, or not a terminal. */
static int
want_color(int no_color)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

    if (no_color || (nc != NULL && *nc != '\0'))
        return 0;
    if (term != NULL && strcmp(term, "dumb") == 0)
        return 0;
    return isatty(STDOUT_FILENO);
}

/*
 * Check the port argument: 1 to 65535 in decimal digits only, or a TCP
 * service name that this host knows.  Returns the port to connect to
 * (a number is written to buf without leading zeros); exits 2 with a
 * message otherwise, where getaddrinfo() would have wrapped a number
 * over 65535 round to another port.
 */
static const char *
check_port(const char *arg, char *buf, size_t cap)
{
    size_t n = strspn(arg, "0123456789");
    unsigned long v = 0;

    if (n == 0 && arg[0] != '\0') {
        if (getservbyname(arg, "tcp") == NULL)
            errx(CHAT_EXIT_USAGE, "bad port '%s': not a number nor a "
                 "known service name", arg);
        return arg;
    }
    for (size_t i = 0; i < n && v <= 65535; i++)
        v = v * 10 + (unsigned long)(arg[i] - '0');
    if (n == 0 || arg[n] != '\0' || v < 1 || v > 65535)
        errx(CHAT_EXIT_USAGE, "bad port '%s': a port is a number from 1 "
             "to 65535", arg);
    snprintf(buf, cap, "%lu", v);
    return buf;
}

/* Parse the command line into o; exits on --help, --version, errors. */
static void
parse_args(struct chat_opts *o, int argc, char **argv)
{
    enum { OPT_NO_COLOR = 256, OPT_TLS, OPT_CA, OPT_INSECURE };
    static const struct option longopts[] = {
        { "tls",        no_argument,       NULL, OPT_TLS },
        { "ca",         required_argument, NULL, OPT_CA },
        { "insecure",   no_argument,       NULL, OPT_INSECURE },
        { "nick",       required_argument, NULL, 'n' },
        { "timestamps", no_argument,       NULL, 't' },
        { "no-color",   no_argument,       NULL, OPT_NO_COLOR },
        { "no-colour",  no_argument,       NULL, OPT_NO_COLOR },
        { "help",       no_argument,       NULL, 'h' },
        { "version",    no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    static char port[8];
    const char *why;
    int c, no_color = 0;

    while ((c = getopt_long(argc, argv, "hn:tV", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!proto_nick_valid(optarg, &why))
                errx(CHAT_EXIT_USAGE, "bad nickname '%s': %s", optarg, why);
            o->nick = optarg;
            break;
        case 't':
            o->render.timestamps = 1;
            break;
        case OPT_NO_COLOR:
            no_color = 1;
            break;
        case OPT_TLS:
            o->tls.on = 1;
            break;
        case OPT_CA:
            o->tls.on = 1;
            o->tls.ca = optarg;
            break;
        case OPT_INSECURE:
            o->tls.on = 1;
            o->tls.insecure = 1;
            break;
        case 'h':
            usage();
            exit(CHAT_EXIT_OK);
        case 'V':
            printf("chat (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            exit(CHAT_EXIT_OK);
        default:
            usage_error();
        }
    }
    argc -= optind;
    argv += optind;
    if (argc > 2)
        usage_error();
    o->host = argc > 0 ? argv[0] : "localhost";
    o->port = argc > 1 ? check_port(argv[1], port, sizeof(port)) :
              o->tls.on ? "7443" : "7777";
    if (o->tls.ca != NULL && o->tls.insecure)
        errx(CHAT_EXIT_USAGE, "--ca and --insecure contradict each other");
    if (o->tls.insecure)
        warnx("--insecure: not checking the server's certificate");
    o->render.color = want_color(no_color);
}

/*
 * Parse the options, connect (with default signal handling: nothing to
 * restore yet), then hand the session to the terminal or the script
 * front end by whether stdin is a terminal.  Returns the exit status of
 * chat(1).
 */
int
main(int argc, char **argv)
{
    struct chat_opts opts;
    struct session s;
    char why[512];
    int tty, sigfd, rc;

    memset(&opts, 0, sizeof(opts));
    parse_args(&opts, argc, argv);
    session_init(&s, &opts, -1);
    signal(SIGPIPE, SIG_IGN);           /* TLS writes: EPIPE instead */
    if (conn_open(&s.conn, opts.host, opts.port, &opts.tls, why,
                  sizeof(why)) < 0) {
        warnx("%s", why);
        session_free(&s);
        return CHAT_EXIT_FAIL;
    }
    tty = isatty(STDIN_FILENO);
    if ((sigfd = signals_init(tty)) < 0)
        err(CHAT_EXIT_FAIL, "signals");
    s.sigfd = sigfd;
    rc = tty ? tty_run(&s) : pipe_run(&s);
    session_free(&s);
    return rc;
}
