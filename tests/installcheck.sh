#!/bin/sh
# installcheck.sh: check what "make install" put in place.  Run by "make
# installcheck" (and so by "make distcheck") with the install directories
# in the environment: DESTDIR (may be empty), sbindir, sysconfdir, mandir,
# unitdir (empty when configured --without-systemdsystemunitdir).
#
#   - chatd(8) and chatd.conf(5) are lint-clean (mandoc -Tlint, groff -ww)
#     and "man -l" and "man" (with MANPATH) show them;
#   - chatd, its --help and its man pages name $sysconfdir/chatd.conf, the
#     directory of this configure, as the default configuration file;
#   - the sample chatd.conf passes "chatd -t";
#   - chatd.service names the installed chatd and passes
#     "systemd-analyze verify", with the man pages found where they are.
# A missing tool skips its check, with a note; with INSTALLCHECK_REQUIRED=1
# (as .ci/run sets) it fails instead.
set -eu

root=${DESTDIR:-}
case $root in
    ''|/*) ;;
    *) root=$(pwd)/$root ;;             # make install DESTDIR=relative
esac
fail() { echo "installcheck: FAIL: $*" >&2; exit 1; }
note() { echo "installcheck: $*"; }
have() {
    command -v "$1" >/dev/null 2>&1 && return 0
    test "${INSTALLCHECK_REQUIRED:-0}" != 1 || fail "$1 not found"
    return 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-installcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

chatd=$root$sbindir/chatd
test -x "$chatd" || fail "$chatd not installed"
"$chatd" --version >/dev/null || fail "chatd --version"

for page in "$root$mandir/man8/chatd.8" "$root$mandir/man5/chatd.conf.5"; do
    test -f "$page" || fail "$page not installed"
    if have mandoc; then
        mandoc -Tlint -W warning "$page" || fail "mandoc -Tlint $page"
    else
        note "no mandoc: lint skipped"
    fi
    if have groff; then
        groff -ww -mandoc -Tutf8 -z "$page" >"$tmp/groff" 2>&1 ||
            fail "groff $page"
        test ! -s "$tmp/groff" || { cat "$tmp/groff"; fail "groff -ww $page"; }
    fi
    if have man; then
        MANWIDTH=80 man -l "$page" >"$tmp/man" 2>"$tmp/man.err" ||
            fail "man -l $page"
        test ! -s "$tmp/man.err" || { cat "$tmp/man.err"; fail "man -l $page"; }
        grep -q 'chatd' "$tmp/man" || fail "man -l $page shows no chatd"
    else
        note "no man: man -l skipped"
    fi
done
if have man; then
    MANPATH=$root$mandir man chatd 2>/dev/null | grep -q 'PROTOCOL' ||
        fail "man chatd (MANPATH=$root$mandir) lacks PROTOCOL"
    MANPATH=$root$mandir man 5 chatd.conf 2>/dev/null | grep -q 'sendq' ||
        fail "man 5 chatd.conf lacks sendq"
fi

conf=$root$sysconfdir/chatd.conf
test -f "$conf" || fail "$conf not installed"
"$chatd" -t -c "$conf" || fail "chatd -t -c $conf"
if grep -n '@[a-z_]*@' "$conf"; then
    fail "$conf: unsubstituted @dir@"
fi

# The default configuration file is the one of this configure.
"$chatd" --help >"$tmp/help" 2>&1 || fail "chatd --help"
grep -qF "$sysconfdir/chatd.conf" "$tmp/help" ||
    fail "chatd --help does not name $sysconfdir/chatd.conf"
if test -z "$root"; then
    "$chatd" -t >"$tmp/t" 2>&1 || { cat "$tmp/t"; fail "chatd -t"; }
    grep -qF "$sysconfdir/chatd.conf: configuration OK" "$tmp/t" ||
        { cat "$tmp/t"; fail "chatd -t does not read $sysconfdir/chatd.conf"; }
fi
for page in "$root$mandir/man8/chatd.8" "$root$mandir/man5/chatd.conf.5"; do
    grep -qF "$sysconfdir/chatd.conf" "$page" ||
        fail "$page does not name $sysconfdir/chatd.conf"
done

if test -n "${unitdir:-}"; then
    unit=$root$unitdir/chatd.service
    test -f "$unit" || fail "$unit not installed"
    grep -q "^ExecStart=$sbindir/chatd " "$unit" ||
        fail "$unit does not run $sbindir/chatd"
    if have systemd-analyze && test -z "$root"; then
        # Installed for real: verify the unit as it is (its man: links
        # must lead to the pages without help from MANPATH).
        systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
    elif have systemd-analyze; then
        # Under DESTDIR: verify a copy that names the files where they
        # are now, and let man look in the staged man directory.
        sed -e "s|$sbindir/chatd|$chatd|g" \
            -e "s|$sysconfdir/chatd.conf|$conf|g" \
            -e "s|man:$mandir/|man:$root$mandir/|g" "$unit" \
            >"$tmp/chatd.service"
        MANPATH=$root$mandir systemd-analyze verify "$tmp/chatd.service" ||
            fail "systemd-analyze verify $unit"
    else
        note "no systemd-analyze: unit verification skipped"
    fi
fi
note "OK"
