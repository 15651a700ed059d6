/* units.c - counts, sizes, durations and rates (see units.h). */
#include "units.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct suffix {
    const char *text;
    double mult;
};

static const struct suffix metric[] = {{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {NULL, 0}};
static const struct suffix binary[] = {
    {"k", 1024.0}, {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}, {NULL, 0}};
static const struct suffix times[] = {{"us", 1e-6}, {"ms", 1e-3}, {"s", 1},
                                      {"m", 60},    {"h", 3600},  {NULL, 0}};

/* Digits with at most one '.', at least one digit; *end is what follows.
 * The characters are checked here so strtod() never sees a sign, space,
 * exponent, hex or inf/nan; strtod() then rounds correctly. */
static bool scan_decimal(const char *s, double *v, const char **end)
{
    size_t digits = strspn(s, "0123456789");
    size_t len = digits;
    if (s[len] == '.') {
        size_t frac = strspn(s + len + 1, "0123456789");
        digits += frac;
        len += 1 + frac;
    }
    if (digits == 0 || len > 40) return false;
    char buf[48];
    memcpy(buf, s, len);
    buf[len] = '\0';
    *v = strtod(buf, NULL);
    *end = s + len;
    return true;
}

/* The number times its suffix's multiplier (no suffix: 1). */
static bool scan_scaled(const char *s, const struct suffix *table, double *out)
{
    double v;
    const char *rest;
    if (!s || !scan_decimal(s, &v, &rest)) return false;
    double mult = 1;
    if (*rest) {
        const struct suffix *x = table;
        while (x->text && strcmp(rest, x->text) != 0)
            x++;
        if (!x->text) return false;
        mult = x->mult;
    }
    *out = v * mult;
    return isfinite(*out);
}

static int whole_in_range(double v, uint64_t min, uint64_t max, uint64_t *out)
{
    /* "1.1k" is 1100.0000000000002 in binary floating point: a value within
     * rounding error of a whole number is that number. */
    double r = round(v);
    if (fabs(v - r) > 1e-9 * fmax(1.0, r)) return -1;
    v = r;
    /* 2^64 is exactly representable; anything at or above it overflows. */
    if (v >= 18446744073709551616.0) return -1;
    uint64_t u = (uint64_t)v;
    if (u < min || u > max) return -1;
    *out = u;
    return 0;
}

static int real_in_range(double v, double min, double max, double *out)
{
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

int units_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    double v;
    return scan_scaled(s, metric, &v) ? whole_in_range(v, min, max, out) : -1;
}

int units_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    double v;
    if (!scan_scaled(s, binary, &v)) return -1;
    return whole_in_range(v, min, max, out); /* 1.3k (1331.2) is refused */
}

int units_duration(const char *s, double min, double max, double *out)
{
    double v;
    return scan_scaled(s, times, &v) ? real_in_range(v, min, max, out) : -1;
}

int units_rate(const char *s, double min, double max, double *out)
{
    if (!s) return -1;
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n + 1);
    if (n > 2 && strcmp(buf + n - 2, "/s") == 0) buf[n - 2] = '\0';
    double v;
    return scan_scaled(buf, metric, &v) ? real_in_range(v, min, max, out) : -1;
}
