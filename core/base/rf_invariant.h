/* rf_invariant.h — the one way any layer of ringftpd stops on a broken invariant.
 *
 * Owns: RF_INVARIANT(cond, msg) and RF_UNREACHABLE(msg): when an internal rule that must always
 * hold is broken, print "file:line: function: invariant failed: cond: msg" on stderr and abort(),
 * in every build type (NDEBUG changes nothing). Use it for bugs of our own code only; bad input
 * from a client or the system is answered, logged or returned, never asserted.
 * Must not: include anything but libc headers, allocate, or depend on any project layer: it is
 * the base every folder (core/engine, core, io, tls, vfs) may include (docs/design.md). */
#ifndef RINGFTPD_RF_INVARIANT_H
#define RINGFTPD_RF_INVARIANT_H

#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, cold)) static inline void rf__invariant_failed(const char *file, int line,
                                                                        const char *func,
                                                                        const char *cond,
                                                                        const char *msg)
{
    fprintf(stderr, "%s:%d: %s: invariant failed: %s: %s\n", file, line, func, cond, msg);
    fflush(stderr);
    abort();
}

#define RF_INVARIANT(cond, msg)                                               \
    do {                                                                      \
        if (__builtin_expect(!(cond), 0))                                     \
            rf__invariant_failed(__FILE__, __LINE__, __func__, #cond, (msg)); \
    } while (0)

#define RF_UNREACHABLE(msg) rf__invariant_failed(__FILE__, __LINE__, __func__, "unreachable", (msg))

#endif
