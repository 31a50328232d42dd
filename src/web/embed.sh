#!/bin/sh
# embed.sh: write a C file holding FILE as an array, for chatd to serve
# from memory (src/web.c's web_page and web_page_len).
#
# Usage: sh embed.sh NAME FILE > OUT.c
#   NAME  the array's name (web_page: also NAME_len)
#
# Only od and awk (POSIX), so a fresh machine needs nothing more: the
# build runs it (Makefile.am) and so does tests/fuzz/run.sh.
set -eu
name=$1
file=$2
test -r "$file" || { echo "embed.sh: cannot read $file" >&2; exit 1; }
echo "/* Made by src/web/embed.sh from $(basename "$file"); do not edit. */"
echo '#include <stddef.h>'
echo "extern const unsigned char ${name}[];"
echo "extern const size_t ${name}_len;"
echo "const unsigned char ${name}[] = {"
od -An -v -tx1 "$file" | awk '
    { line = ""; for (i = 1; i <= NF; i++) { line = line "0x" $i ","; n++ }
      if (line != "") print "    " line }
    END { print "    0x00"; print "};"; printf "const size_t '"$name"'_len = %d;\n", n }'
