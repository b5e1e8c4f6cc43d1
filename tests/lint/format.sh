#!/bin/sh
# format.sh — the C formatting lint: every C file listed in tests/lint/format-files.txt must equal
# clang-format's output for it (style: .clang-format at the top of the tree) and have no line over
# 120 columns. The list names files or folders (every *.c and *.h below a folder), one a line, #
# comments allowed; it is the one place that says how much of the tree the lint covers.
# Must not: change a file, unless --fix is given (then it rewrites the listed files, or the paths
# given after SOURCE_DIR, in place with clang-format -i, and checks nothing; a file with lines
# over 120 columns is then wrapped by one pass at ColumnLimit 120).
# Usage: format.sh [--fix] SOURCE_DIR [PATH...]
# Exit: 0 clean, 1 a file differs (its diff is printed), 77 clang-format is not installed.
set -eu
fix=0
if [ "${1:-}" = --fix ]; then fix=1; shift; fi
top=${1:?usage: format.sh [--fix] SOURCE_DIR [PATH...]}
shift
cd "$top"
cf=
for c in clang-format-14 clang-format; do
  if command -v "$c" >/dev/null 2>&1; then cf=$c; break; fi
done
if [ -z "$cf" ]; then echo "format lint: clang-format is not installed (tools/deps installs it)"; exit 77; fi

if [ $# -gt 0 ]; then
  entries=$*
else
  entries=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' tests/lint/format-files.txt | grep -v '^$')
fi
files=
for e in $entries; do
  if [ -d "$e" ]; then
    files="$files $(find "$e" -name '*.[ch]' | sort)"
  elif [ -f "$e" ]; then
    files="$files $e"
  else
    echo "format lint: $e is listed but does not exist"; exit 1
  fi
done

if [ $fix -eq 1 ]; then
  # .clang-format keeps the author's line breaks (ColumnLimit 0), so a file that still has lines
  # over 120 columns is formatted once at ColumnLimit 120 (which wraps them) and again as usual.
  wide=$(mktemp /tmp/ringftpd-clang-format-120.XXXXXX)
  sed 's/^ColumnLimit:.*/ColumnLimit: 120/' .clang-format > "$wide"
  for f in $files; do
    "$cf" -i --style=file "$f"
    if LC_ALL=C.UTF-8 grep -qE '^.{121,}' "$f"; then
      "$cf" -i --style=file:"$wide" "$f"
      "$cf" -i --style=file "$f"
    fi
  done
  rm -f "$wide"
  echo "format: rewrote $(echo $files | wc -w) files with $cf"
  exit 0
fi

status=0
n=0
for f in $files; do
  n=$((n + 1))
  if ! "$cf" --style=file "$f" | diff -u "$f" - >/tmp/ringftpd-format.$$ 2>&1; then
    echo "format lint: $f differs from $cf's output:"
    sed 's/^/  /' /tmp/ringftpd-format.$$ | head -n 60
    status=1
  fi
  long=$(LC_ALL=C.UTF-8 grep -nE '^.{121,}' "$f" | cut -d: -f1 | sed "s|^|  $f:|; s|\$|: over 120 columns|" || true)
  if [ -n "$long" ]; then echo "format lint: lines over 120 columns:"; echo "$long"; status=1; fi
done
rm -f /tmp/ringftpd-format.$$
[ $status -eq 0 ] && echo "format lint: $n files match .clang-format ($cf)"
exit $status
