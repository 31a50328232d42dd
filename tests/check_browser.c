/*
 * check_browser.c: the browser client (src/web/index.html) in a real
 * browser.  It starts the real chatd on port 0 with a web port on port 0,
 * headless Chromium through chromedriver (tests/hwebdriver.c), and plain
 * TCP clients as nc would be; the page picks a nick, talks with them,
 * switches rooms by click and by keyboard, shows their markup as text
 * with nothing run, and survives a restart of chatd on the same ports.
 * A page loaded after lines were said shows their replay (chatd runs
 * with --history 5) dimmed, with their times in the browser's time zone
 * (set to Asia/Kolkata, UTC+05:30, so that UTC shown as local fails),
 * and a "live" marker that later lines follow; /history 2 typed in the
 * page does the same.
 * It writes screenshots next to its log (tests/check_browser*.png).
 *
 * One scenario whose steps build on each other, so a plain program
 * rather than a check suite: whatever step fails, the processes it
 * started (chatd, chromedriver's process group with Chromium) are stopped
 * by their ids, and a watchdog SIGKILLs them if the whole takes too long.
 * Every wait has a deadline.
 *
 * The page's script-src hash is checked first, with or without a browser.
 * Without chromium or chromedriver the rest is skipped (exit 77), unless
 * CHATD_REQUIRE_BROWSER is set (.ci/run sets it): then it fails.
 * CHATD_CHROMIUM and CHATD_CHROMEDRIVER name other programs.
 */
#include "config.h"

#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "harness.h"
#include "hwebdriver.h"

#define WATCHDOG_S  240         /* the whole test, at most */
#define PAGE_MS     15000       /* the page shows what it should */
#define BACK_MS     40000       /* reconnected after the restart */

#define IMG_LINE \
    "<img src=x onerror=\"window.pwned=1;document.title='pwned'\">"
#define SCRIPT_LINE "<script>window.pwned=2;document.title='pwned'</script>"

/* The page's script runs (a Content-Security-Policy may stop it). */
static const char JS_RAN[] =
    "return typeof connect === 'function' ? '' : 'the page\\'s script did"
    " not run: see the console; a Content-Security-Policy header that"
    " forbids inline scripts?';";

/* The state line starts with arguments[0]. */
static const char JS_STATE[] =
    "const s = document.getElementById('state');"
    "return s.textContent.startsWith(arguments[0]) ? '' :"
    " 'the state says ' + s.textContent;";

/* The rooms on the side are arguments[0]: names, '*' on the current one,
 * '(N)' for N unread. */
static const char JS_ROOMS[] =
    "const r = [...document.querySelectorAll('#rooms button')].map((b) =>"
    " b.dataset.room + (b.getAttribute('aria-current') === 'true' ? '*' : '')"
    " + (b.querySelector('.unread').textContent ?"
    " '(' + b.querySelector('.unread').textContent + ')' : '')).join(' ');"
    "return r === arguments[0] ? '' : 'the rooms are ' + r;";

/* The room shown has a line "CLASS\tTEXT" (CLASS may be empty): the
 * server's text exactly, in an element of that class. */
static const char JS_SHOWS[] =
    "const [cls, text] = arguments[0].split('\\t');"
    "const l = [...document.querySelectorAll('.log:not([hidden]) li' +"
    " (cls ? '.' + cls.split(' ').join('.') : ''))];"
    "if (l.some((e) => e.lastChild.textContent === text)) return '';"
    "const all = [...document.querySelectorAll('.log:not([hidden]) li')];"
    "return 'the last lines are: ' + all.slice(-4).map((e) =>"
    " e.className + ': ' + e.textContent).join(' | ');";

/* Nothing the other users sent became markup, and nothing ran. */
static const char JS_INERT[] =
    "const n = document.querySelectorAll('#logs img, #logs script').length;"
    "return window.pwned === undefined && !document.title.includes('pwned')"
    " && n === 0 ? '' : 'pwned=' + window.pwned + ', title ' +"
    " document.title + ', ' + n + ' elements made';";

/* The focus is on the button of room arguments[0], and visible. */
static const char JS_FOCUS[] =
    "const a = document.activeElement;"
    "if (!a || a.dataset.room !== arguments[0])"
    " return 'the focus is on ' + (a ? a.outerHTML.slice(0, 80) : 'nothing');"
    "const s = getComputedStyle(a);"
    "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 ?"
    " '' : 'the focus is not visible';";

/* At phone width nothing sticks out and the message box is on screen. */
static const char JS_FITS[] =
    "const w = window.innerWidth, h = window.innerHeight;"
    "const d = document.documentElement.scrollWidth;"
    "const r = document.getElementById('line').getBoundingClientRect();"
    "return d <= w && r.left >= 0 && r.right <= w && r.bottom <= h ? '' :"
    " 'window ' + w + 'x' + h + ', page ' + d + ' wide, message box ' +"
    " r.left + '..' + r.right + ' to ' + r.bottom;";

/* lum(css colour) and ratio(lum, lum): WCAG's relative luminance and
 * contrast ratio. */
#define JS_CONTRAST \
    "const lum = (c) => c.match(/[\\d.]+/g).slice(0, 3).map((x) => {" \
    " x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) **" \
    " 2.4; }).reduce((a, x, i) => a + x * [0.2126, 0.7152, 0.0722][i], 0);" \
    "const ratio = (a, b) =>" \
    " (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);"

/* The page is in theme arguments[0] ('light' or 'dark'), its text and
 * its times readable (WCAG contrast at least 7 and 4.5). */
static const char JS_THEME[] =
    JS_CONTRAST
    "const s = getComputedStyle(document.body);"
    "const bg = lum(s.backgroundColor), fg = lum(s.color);"
    "const t ="
    " lum(getComputedStyle(document.querySelector('.log time')).color);"
    "return (arguments[0] === 'dark') === (bg < fg) && ratio(bg, fg) >= 7 &&"
    " ratio(bg, t) >= 4.5 ? '' : 'background ' + s.backgroundColor +"
    " ', text ' + s.color + ', contrast ' + ratio(bg, fg).toFixed(1) +"
    " ', times ' + ratio(bg, t).toFixed(1);";

/* The browser's time zone in the history step: UTC+05:30 all year. */
#define TZ_NAME "Asia/Kolkata"

/* Before the rest of a script: room and log, the log of the view of
 * room (from the first field of arguments[0]), li its lines. */
#define JS_ROOM_LOG \
    "const args = arguments[0].split('\\t'), room = args[0];" \
    "const log = [...document.querySelectorAll('.log')]" \
    " .find((l) => l.dataset.room === room);" \
    "if (!log) return 'no view of ' + room;" \
    "const li = [...log.children];"

/*
 * arguments[0] is "ROOM\tT0\tLINE...": the last replay in the view of
 * ROOM is its "*** history of ROOM: N lines" notice, dimmed (class
 * replay), then exactly the N LINEs, dimmed, each with a time of the
 * minute it was said (T0, epoch seconds, or later) shown in TZ_NAME,
 * its UTC stamp in the title, then a visible "live" marker.
 */
static const char JS_REPLAY[] =
    JS_ROOM_LOG
    "const t0 = +args[1], want = args.slice(2);"
    "const heads = li.filter((e) => e.matches('.notice.replay') &&"
    " e.lastChild.textContent.startsWith('*** history of ' + room + ': '));"
    "if (!heads.length) return 'no replay in ' + room;"
    "let i = li.indexOf(heads[heads.length - 1]) + 1;"
    "const n = parseInt(li[i - 1].lastChild.textContent.split(': ')[1]);"
    "const got = [];"
    "for (; i < li.length && li[i].classList.contains('replay'); i++)"
    " got.push(li[i]);"
    "const mark = li[i], text = (e) => e.lastChild.textContent;"
    "if (n !== want.length || got.length !== n)"
    " return 'the replay says ' + n + ' lines, ' + got.length + ' dimmed: '"
    " + got.map(text).join(' | ');"
    "if (!mark || !mark.matches('.live') || mark.textContent !== 'live' ||"
    " mark.hidden || getComputedStyle(mark).display === 'none')"
    " return 'no visible live marker after the replay: ' +"
    " (mark ? mark.outerHTML : 'nothing');"
    "const hm = { timeZone: '" TZ_NAME "', hour: '2-digit',"
    " minute: '2-digit' };"
    "for (let k = 0; k < n; k++) {"
    " const t = got[k].querySelector('time'), when = Date.parse(t.dateTime);"
    " const local = new Date(when).toLocaleTimeString([], hm);"
    " const utc = new Date(when).toISOString().slice(0, 16)"
    "  .replace('T', ' ') + ' UTC';"
    " if (text(got[k]) !== want[k])"
    "  return 'replayed line ' + k + ' is ' + JSON.stringify(text(got[k]));"
    " if (!(when >= Math.floor(t0 / 60) * 60000 && when <= Date.now() &&"
    "  when % 60000 === 0))"
    "  return 'line ' + k + ' has the time ' + t.dateTime + ', not the'"
    "  + ' minute it was said (after ' + new Date(t0 * 1000).toISOString()"
    "  + ')';"
    " if (!t.textContent.endsWith(local) || t.title !== utc)"
    "  return 'line ' + k + ' shows the time ' + t.textContent + ' (' +"
    "  t.title + '), not ' + local + ' (' + utc + ')';"
    "}"
    "return '';";

/* arguments[0] is "ROOM\tTEXT": the view of ROOM has the line TEXT,
 * not dimmed, after its last live marker. */
static const char JS_LIVE_AFTER[] =
    JS_ROOM_LOG
    "const line = li.filter((e) => e.lastChild.textContent === args[1]).pop();"
    "const mark = li.filter((e) => e.matches('.live')).pop();"
    "if (!line) return 'no line ' + JSON.stringify(args[1]) + ' in ' + room;"
    "if (line.matches('.replay')) return 'the live line is dimmed';"
    "return mark && mark.compareDocumentPosition(line) &"
    " Node.DOCUMENT_POSITION_FOLLOWING ? '' :"
    " 'the live line is not after a live marker';";

/* arguments[0] is "ROOM\tTEXT": no line of the view of ROOM holds TEXT. */
static const char JS_ABSENT[] =
    JS_ROOM_LOG
    "const l = li.find((e) => e.textContent.includes(args[1]));"
    "return l ? 'the view of ' + room + ' has ' + l.textContent : '';";

/* In the room shown (theme arguments[0]), replayed lines and the marker
 * are readable (contrast at least 4.5) and replayed lines dimmer than
 * live ones. */
static const char JS_DIMMED[] =
    JS_CONTRAST
    "const q = (css) => document.querySelector('.log:not([hidden]) ' + css);"
    "const old = q('li.message.replay'), now = q('li.message:not(.replay)');"
    "const mark = q('li.live');"
    "if (!old || !now || !mark) return 'no replayed line, live line or"
    " marker shown';"
    "const c = (e) => lum(getComputedStyle(e).color);"
    "const bg = lum(getComputedStyle(document.body).backgroundColor);"
    "const r = ratio(bg, c(old)), l = ratio(bg, c(now)), m = ratio(bg, c(mark));"
    "return r >= 4.5 && r < l && m >= 4.5 ? '' : arguments[0] + ': contrast"
    " of replayed lines ' + r.toFixed(1) + ', live ' + l.toFixed(1) +"
    " ', marker ' + m.toFixed(1);";

/* The last lines of the room shown, for a failure's message. */
static const char JS_LAST[] =
    "return [...document.querySelectorAll('.log:not([hidden]) li')]"
    ".slice(-8).map((e) => e.className + ': ' + e.textContent).join('\\n');";

static const char JS_CLEAR_NICK[] =
    "document.getElementById('nick').value = ''; return '';";

static const char JS_FOCUS_LINE[] =
    "document.getElementById('line').focus(); return '';";

static struct hserver srv;
static struct wd wd;
static const char *prog = "check_browser";
static char outdir[512];
static int tcp_port, web_port;

/* Say what failed; returns -1 for the caller to return. */
static int
bad(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: FAIL: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static void
note(const char *what)
{
    printf("%s: ok: %s\n", prog, what);
    fflush(stdout);
}

/* SIGALRM: too long.  Kill what we started, by id, and fail. */
static void
watchdog(int sig)
{
    static const char msg[] = "check_browser: FAIL: watchdog: too long\n";

    (void)sig;
    wd_kill(&wd);
    if (srv.pid > 0)
        kill(srv.pid, SIGKILL);
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(1);
}

/* ---------------------------------------------------------------- CSP */

/*
 * The page's Content-Security-Policy allows its one script by hash:
 * check that the hash is the script's, so that an edited script without a
 * new hash fails here, browser or not.
 */
static int
check_csp(const char *path)
{
    char *page = h_read_file(path), *open, *close, want[128];
    unsigned char md[EVP_MAX_MD_SIZE], b64[64];
    unsigned int mdlen;
    int rc = 0;

    open = strstr(page, "<script>");
    close = open ? strstr(open, "</script>") : NULL;
    if (close == NULL) {
        free(page);
        return bad("%s: no <script> element", path);
    }
    open += strlen("<script>");
    EVP_Digest(open, (size_t)(close - open), md, &mdlen, EVP_sha256(), NULL);
    EVP_EncodeBlock(b64, md, (int)mdlen);
    snprintf(want, sizeof(want), "script-src 'sha256-%s'", b64);
    if (strstr(page, want) == NULL)
        rc = bad("%s: the script changed: its CSP must say %s", path, want);
    free(page);
    return rc;
}

/* ---------------------------------------------------------------- setup */

/*
 * The port of the first "listening on ADDR:PORT" line of the log whose
 * end is tag (" (web)"; "" for a plain one), or 0.
 */
static int
port_logged(const char *tag)
{
    char *log = hserver_log(&srv), *line, *save = NULL, *colon;
    size_t n = strlen(tag);
    int port = 0;

    for (line = strtok_r(log, "\n", &save); line && port == 0;
         line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "listening on ") == NULL ||
            (colon = strrchr(line, ':')) == NULL)
            continue;
        if (n > 0 ? strlen(line) > n && !strcmp(line + strlen(line) - n, tag)
                  : strchr(colon, ' ') == NULL)
            port = atoi(colon + 1);
    }
    free(log);
    return port;
}

/* chatd on tcp and web (0: any free port); the ports it took are kept. */
static int
start_chatd(int tcp, int web)
{
    char ptcp[16], pweb[16];
    const char *argv[] = { "chatd", "-p", ptcp, "-w", "2", "--web-port",
                           pweb, "--history", "5", NULL };

    snprintf(ptcp, sizeof(ptcp), "%d", tcp);
    snprintf(pweb, sizeof(pweb), "%d", web);
    if (hserver_start_argv(&srv, argv) < 0) {
        char *log = hserver_log(&srv);
        bad("chatd did not start; its log:\n%s", log);
        free(log);
        return -1;
    }
    tcp_port = port_logged("");
    if ((web_port = port_logged(" (web)")) <= 0)
        return bad("chatd logged no \"listening on ... (web)\" line");
    return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Wait up to ms for the page to satisfy js with arg. */
static int
page(const char *what, const char *js, const char *arg, int ms)
{
    char last[2048];

    char *lines;

    if (wd_wait(&wd, js, arg, ms, last, sizeof(last)) == 0)
        return 0;
    lines = wd_script(&wd, JS_LAST, NULL);
    bad("%s (%s): %s\nthe page's last lines:\n%s", what, arg ? arg : "",
        last, lines ? lines : wd.error);
    free(lines);
    return -1;
}

/* Run js, which returns "" when it worked. */
static int
run_js(const char *js)
{
    char *r = wd_script(&wd, js, NULL);
    int ok = r != NULL && *r == '\0';

    free(r);
    return ok ? 0 : bad("script: %s", wd.error);
}

/* Type text into the element css, then Enter. */
static int
type_enter(const char *css, const char *text)
{
    char elem[WD_ELEM_MAX];

    if (wd_element(&wd, css, elem) < 0 ||
        wd_type(&wd, elem, text, WD_ENTER) < 0)
        return bad("typing \"%s\" into %s: %s", text, css, wd.error);
    return 0;
}

static int
click(const char *css)
{
    char elem[WD_ELEM_MAX];

    if (wd_element(&wd, css, elem) < 0 || wd_click(&wd, elem) < 0)
        return bad("clicking %s: %s", css, wd.error);
    return 0;
}

/* The TCP client c gets a line containing want. */
static int
hears(struct hconn *c, const char *who, const char *want)
{
    char line[4096];
    int rc = hconn_expect(c, want, line, sizeof(line), PAGE_MS);

    if (rc != 1)
        return bad("%s expected \"%s\", got %s", who, want,
                    rc == 0 ? "nothing (timeout)" : "EOF");
    return 0;
}

/* A TCP client with nickname nick, or NULL. */
static struct hconn *
tcp_client(const char *nick)
{
    struct hconn *c = hconn_join(tcp_port, NULL, 0);

    if (c == NULL || !hconn_nick(c, nick)) {
        hconn_close(c);
        bad("TCP client %s could not join", nick);
        return NULL;
    }
    return c;
}

/* ---------------------------------------------------------------- steps */

/* The page is served, a nick is picked, and bob on TCP sees it. */
static int
step_join(struct hconn *bob)
{
    char url[64];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", web_port);
    if (wd_open(&wd, url) < 0)
        return bad("opening %s: %s", url, wd.error);
    if (page("the script", JS_RAN, NULL, PAGE_MS) < 0 ||
        page("the join form", JS_STATE, "offline", PAGE_MS) < 0 ||
        type_enter("#nick", "alice") < 0 ||
        page("online", JS_STATE, "online as alice", PAGE_MS) < 0 ||
        hears(bob, "bob", "is now known as alice") < 0 ||
        page("the default room", JS_ROOMS, "#lobby*", PAGE_MS) < 0)
        return -1;
    note("the page is served, joins and takes the nick alice");
    return 0;
}

/* A line typed in the page reaches bob; bob's line shows in the page. */
static int
step_talk(struct hconn *bob)
{
    if (type_enter("#line", "hello from the browser") < 0 ||
        hears(bob, "bob", "<alice> hello from the browser") < 0 ||
        page("own line marked", JS_SHOWS,
             "own\t<alice> hello from the browser", PAGE_MS) < 0)
        return -1;
    if (hconn_send(bob, "hi from nc\n") < 0 ||
        page("bob's line", JS_SHOWS, "message\t<bob> hi from nc",
             PAGE_MS) < 0)
        return -1;
    note("a browser line reaches TCP; a TCP line shows in the browser");
    return 0;
}

/* /join typed, a click back to the lobby, unread counts. */
static int
step_rooms(struct hconn *bob)
{
    if (type_enter("#line", "/join #dev") < 0 ||
        page("joined #dev", JS_ROOMS, "#lobby #dev*", PAGE_MS) < 0 ||
        hconn_send(bob, "/join #dev\n") < 0 ||
        hears(bob, "bob", "*** you joined #dev: 2 users") < 0 ||
        page("bob in #dev", JS_SHOWS, "notice\t*** bob has joined",
             PAGE_MS) < 0 ||
        hconn_send(bob, "in dev\n") < 0 ||
        page("bob's line in #dev", JS_SHOWS, "\t<bob> in dev", PAGE_MS) < 0)
        return -1;
    if (click("#rooms button[data-room='#lobby']") < 0 ||
        page("switched by click", JS_ROOMS, "#lobby* #dev", PAGE_MS) < 0 ||
        hconn_send(bob, "more in dev\n") < 0 ||
        page("unread", JS_ROOMS, "#lobby* #dev(1)", PAGE_MS) < 0 ||
        type_enter("#line", "back in the lobby") < 0 ||
        hears(bob, "bob", "<alice> back in the lobby") < 0)
        return -1;
    note("rooms: /join, switch by click, unread counts");
    return 0;
}

/* Shift+Tab from the message box reaches the rooms; Enter switches. */
static int
step_keyboard(void)
{
    if (run_js(JS_FOCUS_LINE) < 0)
        return -1;
    if (wd_press(&wd, WD_TAB, WD_SHIFT) < 0)
        return bad("Shift+Tab: %s", wd.error);
    if (page("Shift+Tab to the rooms", JS_FOCUS, "#dev", PAGE_MS) < 0)
        return -1;
    if (wd_press(&wd, WD_ENTER, NULL) < 0)
        return bad("Enter: %s", wd.error);
    if (page("switched by keyboard", JS_ROOMS, "#lobby #dev*",
             PAGE_MS) < 0 ||
        page("the unread line", JS_SHOWS, "\t<bob> more in dev",
             PAGE_MS) < 0)
        return -1;
    note("keyboard: Shift+Tab reaches the rooms (focus visible), Enter "
         "switches");
    return 0;
}

/* Markup from bob is shown as text; nothing of it runs. */
static int
step_markup(struct hconn *bob)
{
    if (hconn_send(bob, IMG_LINE "\n" SCRIPT_LINE "\n"
                   "after the markup\n") < 0 ||
        page("the img line as text", JS_SHOWS, "\t<bob> " IMG_LINE,
             PAGE_MS) < 0 ||
        page("the script line as text", JS_SHOWS, "\t<bob> " SCRIPT_LINE,
             PAGE_MS) < 0 ||
        page("the line after", JS_SHOWS, "\t<bob> after the markup",
             PAGE_MS) < 0 ||
        page("nothing ran", JS_INERT, NULL, 1) < 0)
        return -1;
    note("<img onerror> and <script> from TCP are text; nothing ran");
    return 0;
}

/* Private messages both ways, shown as such. */
static int
step_private(struct hconn *bob)
{
    if (hconn_send(bob, "/msg alice psst\n") < 0 ||
        page("bob's private line", JS_SHOWS, "private\t*bob* psst",
             PAGE_MS) < 0 ||
        type_enter("#line", "/msg bob hush") < 0 ||
        hears(bob, "bob", "*alice* hush") < 0 ||
        page("our private line", JS_SHOWS, "private own\t-> *bob* hush",
             PAGE_MS) < 0)
        return -1;
    note("private messages both ways, marked private");
    return 0;
}

/* The page rejoins the default room it had left, and switches back. */
static int
back_to_lobby(void)
{
    if (type_enter("#line", "/join #lobby") < 0 ||
        page("the lobby joined again", JS_ROOMS, "#dev #lobby*",
             PAGE_MS) < 0 ||
        click("#rooms button[data-room='#dev']") < 0 ||
        page("back in #dev", JS_ROOMS, "#dev* #lobby", PAGE_MS) < 0)
        return -1;
    return 0;
}

/*
 * Out of the default room, chatd stops and starts again on its ports:
 * the page comes back by itself, as alice, in #dev and not in the
 * default room, and talks.
 */
static int
step_restart(void)
{
    struct hconn *carol;
    int rc, tcp = tcp_port, web = web_port;

    if (type_enter("#line", "/part #lobby") < 0 ||
        page("the lobby left", JS_ROOMS, "#dev*", PAGE_MS) < 0)
        return -1;
    if ((rc = hserver_stop(&srv)) != 0)
        return bad("chatd exited %d on SIGTERM", rc);
    if (page("offline shown", JS_STATE, "offline", PAGE_MS) < 0 ||
        start_chatd(tcp, web) < 0 ||
        page("back online", JS_STATE, "online as alice", BACK_MS) < 0 ||
        page("rooms rejoined", JS_ROOMS, "#dev*", PAGE_MS) < 0)
        return -1;
    if ((carol = tcp_client("carol")) == NULL)
        return -1;
    rc = hconn_send(carol, "/join #dev\n") < 0 ||
         hears(carol, "carol", "*** you joined #dev: 2 users") < 0 ||
         hconn_send(carol, "after the restart\n") < 0 ||
         page("carol's line", JS_SHOWS, "\t<carol> after the restart",
              PAGE_MS) < 0 ||
         type_enter("#line", "glad to be back") < 0 ||
         hears(carol, "carol", "#dev <alice> glad to be back") < 0 ||
         back_to_lobby() < 0 ? -1 : 0;
    hconn_close(carol);
    if (rc == 0)
        note("chatd restarted on its ports: the page reconnected, took "
             "alice and #dev back, stayed out of the lobby");
    return rc;
}

static int
screenshot(const char *name)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/%s", outdir, name);
    if (wd_screenshot(&wd, path) < 0)
        return bad("screenshot %s: %s", path, wd.error);
    printf("%s: screenshot: %s\n", prog, path);
    return 0;
}

/* A phone-width window: nothing wider than it, the message box on it. */
static int
step_phone(void)
{
    if (wd_window(&wd, 360, 740) < 0)
        return bad("window size: %s", wd.error);
    if (page("phone width", JS_FITS, NULL, PAGE_MS) < 0 ||
        screenshot("check_browser-phone.png") < 0)
        return -1;
    note("fits a 360 px wide window");
    return 0;
}

/* Readable in the light, and in the dark when the system asks for it. */
static int
step_themes(void)
{
    if (page("light theme", JS_THEME, "light", PAGE_MS) < 0)
        return -1;
    if (wd_cdp(&wd, "Emulation.setEmulatedMedia", "{\"features\":[{\"name\":"
               "\"prefers-color-scheme\",\"value\":\"dark\"}]}") < 0)
        return bad("prefers-color-scheme: dark: %s", wd.error);
    if (page("dark theme", JS_THEME, "dark", PAGE_MS) < 0 ||
        screenshot("check_browser-dark.png") < 0)
        return -1;
    note("readable in light and dark (prefers-color-scheme)");
    return 0;
}

/*
 * A reloaded page asks for a nick someone holds (as the page's own old
 * connection may, until the server sees it close): it says so once, asks
 * again by itself, and gets it when it is free.
 */
static int
step_nick_retry(void)
{
    struct hconn *dora = tcp_client("eve");
    char url[64];
    int rc;

    if (dora == NULL)
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", web_port);
    if (wd_open(&wd, url) < 0)
        rc = bad("opening %s again: %s", url, wd.error);
    else
        rc = page("reloaded", JS_STATE, "offline", PAGE_MS) < 0 ||
             run_js(JS_CLEAR_NICK) < 0 || type_enter("#nick", "eve") < 0 ||
             page("eve refused", JS_SHOWS,
                  "error\t*** error: nickname is already in use: eve",
                  PAGE_MS) < 0 ||
             hconn_send(dora, "/nick dora\n") < 0 ||
             page("eve taken when free", JS_STATE, "online as eve",
                  PAGE_MS) < 0 ? -1 : 0;
    hconn_close(dora);
    if (rc == 0)
        note("a nick in use is asked for again until it is free");
    return rc;
}

/* ---------------------------------------------------------------- history */

#define SEP "\u2028"             /* a line separator, kept by chatd */

/* The replay last shown in room's view is lines (NULL-terminated), said
 * at t0 or later. */
static int
replay_is(const char *what, const char *room, time_t t0,
          const char *const *lines)
{
    char arg[1024];
    size_t n = (size_t)snprintf(arg, sizeof(arg), "%s\t%lld", room,
                                (long long)t0);

    for (; *lines != NULL && n < sizeof(arg); lines++)
        n += (size_t)snprintf(arg + n, sizeof(arg) - n, "\t%s", *lines);
    return page(what, JS_REPLAY, arg, PAGE_MS);
}

/* js (JS_LIVE_AFTER, JS_ABSENT) holds for room's view and text. */
static int
room_has(const char *what, const char *js, const char *room,
         const char *text)
{
    char arg[512];

    snprintf(arg, sizeof(arg), "%s\t%s", room, text);
    return page(what, js, arg, PAGE_MS);
}

/* fay says lines in the lobby and in #news; all of them are stored when
 * this returns. */
static int
history_said(struct hconn *fay)
{
    char line[1024];

    if (hconn_send(fay, "old 1\nold 2\nold 3\n/me waves\nold " SEP
                   " 5\n/join #news\n") < 0 ||
        hears(fay, "fay", "*** you joined #news") < 0 ||
        hconn_send(fay, "news 1\nnews " SEP " 2\n") < 0 ||
        hconn_roundtrip(fay, line, sizeof(line)) != 1)
        return bad("fay's lines were not all said");
    return 0;
}

/* A page loaded now is replayed the lobby's lines as it connects, and
 * #news's as it joins; fay's later lines follow the marker. */
static int
history_replays(struct hconn *fay, time_t t0)
{
    static const char *const lobby[] = { "<fay> old 1", "<fay> old 2",
        "<fay> old 3", "* fay waves", "<fay> old " SEP " 5", NULL };
    static const char *const news[] = { "<fay> news 1",
        "<fay> news " SEP " 2", NULL };

    if (run_js(JS_CLEAR_NICK) < 0 || type_enter("#nick", "hana") < 0 ||
        page("online as hana", JS_STATE, "online as hana", PAGE_MS) < 0 ||
        page("in the lobby", JS_ROOMS, "#lobby*", PAGE_MS) < 0 ||
        replay_is("the lobby's replay", "#lobby", t0, lobby) < 0 ||
        hconn_send(fay, "/join #lobby\nlive in the lobby\n") < 0 ||
        room_has("a live line after the marker", JS_LIVE_AFTER, "#lobby",
                 "<fay> live in the lobby") < 0 ||
        type_enter("#line", "/join #news") < 0 ||
        page("joined #news", JS_ROOMS, "#lobby #news*", PAGE_MS) < 0 ||
        replay_is("#news's replay", "#news", t0, news) < 0 ||
        room_has("#news's replay only in #news", JS_ABSENT, "#lobby",
                 "news 1") < 0 ||
        room_has("the page's /topic answer hidden", JS_ABSENT, "#lobby",
                 "topic") < 0)
        return -1;
    note("a replay on connecting and on /join: dimmed, in its room's view, "
         "times in the browser's zone, a live marker, live lines after it");
    return 0;
}

/* /history 2 typed in the page replays #news's last two lines. */
static int
history_typed(struct hconn *fay, time_t t0)
{
    static const char *const last[] = { "<fay> news " SEP " 2",
        "<fay> news live" SEP "too", NULL };

    if (hconn_send(fay, "/join #news\nnews live" SEP "too\n") < 0 ||
        room_has("a live line in #news", JS_LIVE_AFTER, "#news",
                 "<fay> news live" SEP "too") < 0 ||
        type_enter("#line", "/history 2") < 0 ||
        replay_is("/history 2", "#news", t0, last) < 0 ||
        room_has("no echo of /history", JS_ABSENT, "#news",
                 "/history") < 0)
        return -1;
    note("/history 2 typed in the page: the last two lines, dimmed, a "
         "new marker");
    return 0;
}

/* Replayed lines are readable and dimmer than live ones, dark and light. */
static int
history_themes(void)
{
    if (page("dimmed, dark", JS_DIMMED, "dark", PAGE_MS) < 0)
        return -1;
    if (wd_cdp(&wd, "Emulation.setEmulatedMedia", "{\"features\":[{\"name\":"
               "\"prefers-color-scheme\",\"value\":\"light\"}]}") < 0)
        return bad("prefers-color-scheme: light: %s", wd.error);
    if (page("light again", JS_THEME, "light", PAGE_MS) < 0 ||
        page("dimmed, light", JS_DIMMED, "light", PAGE_MS) < 0 ||
        screenshot("check_browser-history.png") < 0)
        return -1;
    note("replayed lines readable and dimmer than live ones, dark and light");
    return 0;
}

/*
 * History: fay says lines while no page is in; then a page loaded in
 * UTC+05:30 joins as hana and is replayed them.
 */
static int
step_history(void)
{
    struct hconn *fay;
    time_t t0 = time(NULL);
    char url[64];
    int rc;

    if (wd_cdp(&wd, "Emulation.setTimezoneOverride",
               "{\"timezoneId\":\"" TZ_NAME "\"}") < 0)
        return bad("time zone " TZ_NAME ": %s", wd.error);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", web_port);
    if (wd_open(&wd, url) < 0)
        return bad("opening %s again: %s", url, wd.error);
    if (page("reloaded", JS_STATE, "offline", PAGE_MS) < 0 ||
        (fay = tcp_client("fay")) == NULL)
        return -1;
    rc = history_said(fay) < 0 || history_replays(fay, t0) < 0 ||
         history_typed(fay, t0) < 0 || history_themes() < 0 ? -1 : 0;
    hconn_close(fay);
    return rc;
}

/* ---------------------------------------------------------------- main */

static int
scenario(void)
{
    struct hconn *bob = tcp_client("bob");
    int rc;

    if (bob == NULL)
        return -1;
    rc = step_join(bob) < 0 || step_talk(bob) < 0 || step_rooms(bob) < 0 ||
         step_keyboard() < 0 || step_markup(bob) < 0 ||
         step_private(bob) < 0 ? -1 : 0;
    hconn_close(bob);
    if (rc == 0)
        rc = step_restart() < 0 || screenshot("check_browser.png") < 0 ||
             step_phone() < 0 || step_themes() < 0 ||
             step_nick_retry() < 0 || step_history() < 0 ? -1 : 0;
    return rc;
}

/* Start chatd and the browser, run the scenario, stop both. */
static int
run(const char *driver, const char *browser)
{
    char log[600];
    int rc;

    snprintf(log, sizeof(log), "%s/check_browser-driver.log", outdir);
    if (start_chatd(0, 0) < 0) {
        hserver_stop(&srv);
        return -1;
    }
    if (wd_start(&wd, driver, browser, log) < 0) {
        bad("%s", wd.error);
        hserver_stop(&srv);
        return -1;
    }
    rc = scenario();
    wd_stop(&wd);
    if (srv.pid > 0 && hserver_stop(&srv) != 0)
        rc = bad("chatd did not exit 0");
    return rc;
}

int
main(int argc, char **argv)
{
    const char *srcdir = getenv("srcdir"), *browser, *driver;
    char path[600], self[512];

    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    snprintf(self, sizeof(self), "%s", argv[0]);
    snprintf(outdir, sizeof(outdir), "%s", dirname(self));
    snprintf(path, sizeof(path), "%s/src/web/index.html",
             srcdir ? srcdir : "..");
    if (check_csp(path) < 0)
        return EXIT_FAILURE;
    note("the page's script-src hash is its script's");
    browser = wd_find("CHATD_CHROMIUM", "/usr/bin/chromium");
    driver = wd_find("CHATD_CHROMEDRIVER", "/usr/bin/chromedriver");
    if (browser == NULL || driver == NULL) {
        fprintf(stderr, "%s: %s not found (apt-get install chromium "
                "chromium-driver)%s\n", prog,
                browser == NULL ? "chromium" : "chromedriver",
                getenv("CHATD_REQUIRE_BROWSER") ? " and CHATD_REQUIRE_BROWSER"
                " is set" : ": browser test skipped");
        return getenv("CHATD_REQUIRE_BROWSER") ? EXIT_FAILURE : 77;
    }
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_S);
    return run(driver, browser) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
