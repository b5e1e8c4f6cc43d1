#!/bin/sh
# House rule 3: bounded strings only. strcpy, strcat, sprintf, vsprintf, strtok, gets (and their
# unbounded cousins) must not appear in the project's C sources.
set -eu
top=$1
hits=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|gets|stpcpy)\s*\(' \
        $(find "$top/core" "$top/io" "$top/vfs" "$top/tls" "$top/bench" "$top/tools" -name '*.[ch]' 2>/dev/null) \
        2>/dev/null | grep -vE '\b(snprintf|vsnprintf|strtok_r)\b' || true)
if [ -n "$hits" ]; then echo "banned calls found:"; echo "$hits"; exit 1; fi
echo "banned calls: none"
