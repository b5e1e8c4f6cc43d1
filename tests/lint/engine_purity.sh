#!/bin/sh
# The protocol engine (core/engine/, libftpengine.a) may use libc only: no sockets, io_uring,
# OpenSSL or file-system calls, and no header of another project folder. This fails when
#  - nm -u of the library shows a symbol outside an allow-list of pure libc functions (fprintf,
#    fflush and stderr only serve RF_INVARIANT's message before abort; sanitizer and gcov
#    instrumentation symbols are allowed);
#  - a file in core/engine includes a system header of sockets, io_uring, OpenSSL or files;
#  - a file in core/engine includes a quoted header that is not in core/engine itself
#    (core/base/rf_invariant.h, libc-only, is the one exception; see docs/design.md).
# Usage: engine_purity.sh LIBFTPENGINE.A CORE_ENGINE_DIR
set -eu
lib=$1; src=$2
allowed='^(memcpy|memmove|memset|memcmp|memchr|strlen|strnlen|strcmp|strncmp|strchr|strrchr|strstr|strspn|strcspn|malloc|calloc|realloc|free|vsnprintf|snprintf|__vsnprintf_chk|__snprintf_chk|__memcpy_chk|__memmove_chk|__memset_chk|__stack_chk_fail|abort|fprintf|__fprintf_chk|fflush|stderr|qsort|bsearch|strtoull|strtoul|strtol|tolower|toupper|__ctype_b_loc|__ctype_tolower_loc|__ctype_toupper_loc|ftp_.*|_GLOBAL_OFFSET_TABLE_|__asan_.*|__ubsan_.*|__sanitizer_.*|__gcov_.*)$'
bad=$(nm -u "$lib" | awk 'NF >= 2 {print $2}' | sed 's/@.*//' | sort -u | grep -Ev "$allowed" || true)
if [ -n "$bad" ]; then
  echo "engine purity: libftpengine.a needs symbols outside the libc allow-list:"; echo "$bad"; exit 1
fi
inc=$(grep -lE '#include *[<"](liburing|openssl/|sys/socket|netinet/|arpa/|sys/stat|fcntl|unistd|dirent|sys/uio|linux/)' "$src"/*.c "$src"/*.h || true)
if [ -n "$inc" ]; then echo "engine purity: forbidden include in: $inc"; exit 1; fi
foreign=$(grep -HoE '#include *"[^"]+"' "$src"/*.c "$src"/*.h | while IFS= read -r hit; do
  file=${hit%%:*}; hdr=$(echo "$hit" | sed 's/.*"\(.*\)"/\1/')
  [ "$hdr" = rf_invariant.h ] && continue
  [ -f "$src/$hdr" ] || echo "$file includes \"$hdr\""
done)
if [ -n "$foreign" ]; then
  echo "engine purity: engine files include headers from outside core/engine:"; echo "$foreign"; exit 1
fi
echo "engine purity: $(nm -u "$lib" | awk '{print $2}' | sort -u | wc -l) undefined symbols, all libc; includes confined to core/engine"
