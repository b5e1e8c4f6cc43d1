/* ftp_time.c — FTP time stamps from civil-date arithmetic (Howard Hinnant's days_from_civil and
 * civil_from_days), UTC only, no time-zone files.
 *
 * Owns: "YYYYMMDDHHMMSS" (MDTM, MLST modify=), its strict parser (exactly 14 digits, real
 * calendar dates incl. leap years, hour < 24, minute < 60, second <= 60, years 0001..9999, an
 * optional "." + 1..9 digits fraction ignored), and the 12-column ls date ("Nov  7 18:34" when
 * the stamp lies within six months before now and at most one hour after; "Nov  7  2025"
 * otherwise). Stamps outside 0001-01-01..9999-12-31 are clamped so the output width never changes.
 * Must not: read clocks or call gmtime/localtime (the engine is libc-only). */
#include "ftp_time.h"

#include <string.h>

#define T_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define T_MAX (253402300799LL) /* 9999-12-31T23:59:59Z */
#define SIX_MONTHS 15778476LL  /* 365.2425 / 2 days */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

typedef struct civil {
    int64_t y;
    unsigned mo, d, h, mi, s;
} civil;

static civil split(int64_t t)
{
    if (t < T_MIN)
        t = T_MIN;
    if (t > T_MAX)
        t = T_MAX;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    civil c;
    civil_from_days(days, &c.y, &c.mo, &c.d);
    c.h = (unsigned)(secs / 3600);
    c.mi = (unsigned)(secs / 60 % 60);
    c.s = (unsigned)(secs % 60);
    return c;
}

/* Write v as exactly `width` decimal digits (zero-padded; v < 10^width is the caller's promise:
 * split() clamps years to 1..9999 and the other fields are calendar-bounded). No snprintf: its
 * width cannot be proven by the compiler (-Wformat-truncation at -O3) and none is needed. */
static char *put_digits(char *p, unsigned v, unsigned width)
{
    for (unsigned i = width; i-- > 0;) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* Right-aligned in `width` columns, padded with spaces (ls "%2u" / "%5u"). */
static char *put_padded(char *p, unsigned v, unsigned width)
{
    unsigned digits = 1;
    for (unsigned x = v; x >= 10; x /= 10)
        digits++;
    if (digits > width)
        digits = width;
    for (unsigned i = 0; i < width - digits; i++)
        p[i] = ' ';
    return put_digits(p + (width - digits), v, digits);
}

void ftp_time_mdtm(int64_t t, char out[15])
{
    civil c = split(t);
    char *p = put_digits(out, (unsigned)c.y, 4);
    p = put_digits(p, c.mo, 2);
    p = put_digits(p, c.d, 2);
    p = put_digits(p, c.h, 2);
    p = put_digits(p, c.mi, 2);
    p = put_digits(p, c.s, 2);
    *p = '\0';
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned char dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return (m == 2 && is_leap(y)) ? 29 : dm[m - 1];
}

static unsigned digits(const char *p, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(p[i] - '0');
    return v;
}

int ftp_time_parse_mdtm(ftp_view v, int64_t *out)
{
    if (v.n < 14)
        return -1;
    for (size_t i = 0; i < 14; i++)
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
    if (v.n > 14) {
        size_t frac = v.n - 15;
        if (v.p[14] != '.' || frac < 1 || frac > 9)
            return -1;
        for (size_t i = 15; i < v.n; i++)
            if (v.p[i] < '0' || v.p[i] > '9')
                return -1;
    }
    unsigned y = digits(v.p, 4), mo = digits(v.p + 4, 2), d = digits(v.p + 6, 2);
    unsigned h = digits(v.p + 8, 2), mi = digits(v.p + 10, 2), s = digits(v.p + 12, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || s > 60)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s;
    return 0;
}

void ftp_time_ls(int64_t t, int64_t now, char out[13])
{
    static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    civil c = split(t);
    /* compare in clamped space so huge values cannot overflow the subtraction */
    int64_t tc = t < T_MIN ? T_MIN : (t > T_MAX ? T_MAX : t);
    int64_t nc = now < T_MIN ? T_MIN : (now > T_MAX ? T_MAX : now);
    bool recent = tc <= nc + 3600 && nc - tc < SIX_MONTHS;
    /* "Nov  7 18:34" or "Nov  7  2025": always 12 columns */
    memcpy(out, mon[c.mo - 1], 3);
    out[3] = ' ';
    char *p = put_padded(out + 4, c.d, 2);
    *p++ = ' ';
    if (recent) {
        p = put_digits(p, c.h, 2);
        *p++ = ':';
        p = put_digits(p, c.mi, 2);
    } else {
        p = put_padded(p, (unsigned)c.y, 5);
    }
    *p = '\0';
}
