#!/bin/sh
# reconfigure.sh: re-running configure with another --sysconfdir, then
# make, rebuilds chatd so that it reads the new directory's chatd.conf;
# re-running it with the same directories rebuilds nothing.  Run by "make
# installcheck" (and so by "make distcheck") from the top build
# directory, with MAKE in the environment.
#
# It builds chatd (--without-cluster, to be quick) from a clean copy of
# the sources ("make distdir") in a scratch directory, so the build tree
# it is run from is left as it was.
set -eu

fail() { echo "reconfigure: FAIL: $*" >&2; exit 1; }
note() { echo "reconfigure: $*"; }
: "${MAKE:=make}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatd-reconfigure.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
log=$tmp/log

# A nested make must not inherit the outer one's command-line variables
# (DESTDIR=..., prefix=...).
unset MAKEFLAGS MFLAGS || true

$MAKE distdir distdir="$tmp/src" >"$log" 2>&1 ||
    { cat "$log"; fail "make distdir"; }
mkdir "$tmp/build"
cd "$tmp/build"

# build DIR: configure with --sysconfdir=$tmp/DIR, then make src/chatd.
build() {
    "$tmp/src/configure" -q --without-cluster --sysconfdir="$tmp/$1" \
        >"$log" 2>&1 || { cat "$log"; fail "configure --sysconfdir=$1"; }
    $MAKE src/chatd >"$log" 2>&1 || { cat "$log"; fail "make src/chatd"; }
}

# names DIR: "chatd -t" names $tmp/DIR/chatd.conf.
names() {
    ./src/chatd -t >"$log" 2>&1 || { cat "$log"; fail "chatd -t"; }
    grep -qF "$tmp/$1/chatd.conf" "$log" || {
        cat "$log"
        fail "configured with --sysconfdir=$tmp/$1, chatd -t names" \
             "another file"
    }
}

build one
names one
build two
names two
touch "$tmp/mark"
build two
test -z "$(find src/chatd src/chatd.o -newer "$tmp/mark")" ||
    fail "configure with the same directories rebuilt chatd"
note "OK"
