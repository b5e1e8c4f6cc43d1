#!/bin/sh
# The protocol engine library (core/ftp_*) may use libc only: no sockets, io_uring, OpenSSL or
# file-system calls. This lists the undefined symbols of libftpengine.a and fails on any symbol
# outside an allow-list of pure libc functions, and on any forbidden #include in core/ftp_*.
set -eu
lib=$1; src=$2
allowed='^(memcpy|memmove|memset|memcmp|memchr|strlen|strnlen|strcmp|strncmp|strchr|strrchr|strstr|malloc|calloc|realloc|free|vsnprintf|snprintf|__vsnprintf_chk|__snprintf_chk|__memcpy_chk|__memmove_chk|__memset_chk|__stack_chk_fail|abort|__assert_fail|qsort|bsearch|strtoull|strtoul|strtol|tolower|toupper|__ctype_b_loc|__ctype_tolower_loc|__ctype_toupper_loc|ftp_.*|_GLOBAL_OFFSET_TABLE_|__asan_.*|__ubsan_.*|__sanitizer_.*)$'
bad=$(nm -u "$lib" | awk '{print $2}' | sed 's/@.*//' | sort -u | grep -Ev "$allowed" || true)
if [ -n "$bad" ]; then
  echo "engine purity: libftpengine.a needs symbols outside the libc allow-list:"; echo "$bad"; exit 1
fi
inc=$(grep -lE '#include *[<"](liburing|openssl/|sys/socket|netinet/|arpa/|sys/stat|fcntl|unistd|dirent|sys/uio|linux/)' "$src"/ftp_*.c "$src"/ftp_*.h || true)
if [ -n "$inc" ]; then echo "engine purity: forbidden include in: $inc"; exit 1; fi
echo "engine purity: $(nm -u "$lib" | awk '{print $2}' | sort -u | wc -l) undefined symbols, all libc"
