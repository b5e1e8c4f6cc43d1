/* fuzz_line.c — libFuzzer harness for core/engine/ftp_line.c (Telnet stripping and line framing).
 *
 * Owns: a differential oracle. The first byte picks the cap (16..271) and the split pattern; the
 * rest is fed in chunks of varying size to a streaming reader and, in one piece, to a trivially
 * correct reference framer written here. Both must yield the same lines, the same has_nul flags and
 * the same TOO_LONG point. Must not: test anything but ftp_line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reference: whole input at once; emits lines (content, len) or returns at too-long. */
typedef struct ref_line {
    size_t off, len;
    bool nul;
} ref_line;

static size_t reference(const uint8_t *d, size_t n, size_t cap, uint8_t *buf, ref_line *lines,
                        size_t maxl, bool *too_long)
{
    /* 1. Telnet: produce the data byte stream */
    size_t nl = 0, cur = 0, w = 0, i = 0;
    *too_long = false;
    while (i < n) {
        uint8_t c = d[i++];
        int data = -1;
        if (c == 255) {
            if (i >= n)
                break;
            uint8_t c2 = d[i++];
            if (c2 == 255)
                data = 255;
            else if (c2 >= 251 && c2 <= 254)
                i++;
            else if (c2 == 250) {
                for (;;) { /* skip to IAC SE */
                    if (i >= n)
                        break;
                    if (d[i] == 255 && i + 1 < n && d[i + 1] == 240) {
                        i += 2;
                        break;
                    }
                    if (d[i] == 255 && i + 1 >= n) {
                        i++;
                        break;
                    }
                    i += (d[i] == 255) ? 2 : 1;
                }
            }
            if (data < 0)
                continue;
        } else {
            data = c;
        }
        if (data == '\n') {
            size_t len = w - cur;
            if (len && buf[w - 1] == '\r')
                len--;
            if (nl < maxl) {
                lines[nl].off = cur;
                lines[nl].len = len;
                lines[nl].nul = memchr(buf + cur, 0, len) != NULL;
                nl++;
            }
            cur = w;
            continue;
        }
        buf[w++] = (uint8_t)data;
        size_t content = w - cur;
        size_t need = (data == '\r') ? content - 1 + 2 : content + 2;
        if (need > cap) {
            *too_long = true;
            return nl;
        }
    }
    return nl;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cap = 16 + data[0];
    unsigned pattern = data[0];
    data++;
    size--;

    uint8_t *buf = malloc(size + 1);
    ref_line *lines = malloc(sizeof *lines * (size + 1));
    if (!buf || !lines) {
        free(buf);
        free(lines);
        return 0;
    }
    bool ref_too_long;
    size_t nref = reference(data, size, cap, buf, lines, size + 1, &ref_too_long);

    ftp_line_reader r;
    if (ftp_line_init(&r, cap) != 0)
        abort();
    size_t i = 0, got = 0;
    bool too_long = false;
    unsigned step = 0;
    while (i < size) {
        size_t chunk = 1 + ((pattern * 7 + step++ * 13) % 9);
        if (pattern & 1)
            chunk = size - i;
        if (chunk > size - i)
            chunk = size - i;
        size_t used = 0;
        ftp_line_result res = ftp_line_feed(&r, data + i, chunk, &used);
        if (used > chunk)
            abort();
        i += used;
        if (res == FTP_LINE_TOO_LONG) {
            too_long = true;
            break;
        }
        if (res == FTP_LINE_READY) {
            size_t len;
            const char *l = ftp_line_get(&r, &len);
            if (got >= nref || len != lines[got].len || memcmp(l, buf + lines[got].off, len) != 0 ||
                l[len] != '\0' || r.has_nul != lines[got].nul || len + 2 > cap) {
                fprintf(stderr, "line %zu differs from the reference\n", got);
                abort();
            }
            got++;
            ftp_line_release(&r);
        } else if (used != chunk) {
            abort(); /* NEED_MORE must consume everything */
        }
    }
    if (too_long != ref_too_long || got != nref) {
        fprintf(stderr, "too_long %d/%d lines %zu/%zu\n", too_long, ref_too_long, got, nref);
        abort();
    }
    ftp_line_free(&r);
    free(buf);
    free(lines);
    return 0;
}
