#!/bin/sh
# Bounded strings only (docs/design.md). strcpy, strcat, sprintf, vsprintf, strtok, gets and stpcpy
# must not be called in the project's C sources. Comments are stripped first (gcc -fpreprocessed),
# so prose that happens to contain such a word does not count.
set -eu
top=$1
status=0
for f in $(find "$top/core" "$top/io" "$top/vfs" "$top/tls" "$top/bench" "$top/tools" -name '*.[ch]' 2>/dev/null); do
  hits=$(gcc -fpreprocessed -dD -E -P "$f" 2>/dev/null |
         grep -nE '(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|vsprintf|strtok|gets|stpcpy)[[:space:]]*\(' || true)
  if [ -n "$hits" ]; then echo "banned call in $f:"; echo "$hits"; status=1; fi
done
[ $status -eq 0 ] && echo "banned calls: none"
exit $status
