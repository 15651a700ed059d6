/* optval.c - numeric option values through common/units.h (optval.h). */
#include "optval.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int optval_count(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out,
                 char *msg, size_t msglen)
{
    if (units_count(val, min, max, out) == 0) return 0;
    snprintf(msg, msglen, "%s: '%s' is not an integer in %" PRIu64 "..%" PRIu64 " (%s)", opt, val,
             min, max, UNITS_COUNT);
    return -1;
}

int optval_uint(const char *opt, const char *val, unsigned min, unsigned max, unsigned *out,
                char *msg, size_t msglen)
{
    uint64_t v;
    if (optval_count(opt, val, min, max, &v, msg, msglen) < 0) return -1;
    *out = (unsigned)v;
    return 0;
}

int optval_seconds(const char *opt, const char *val, double min, double max, bool min_open,
                   double *out, char *msg, size_t msglen)
{
    double v;
    if (units_duration(val, min, max, &v) == 0 && !(min_open && v <= min)) {
        *out = v;
        return 0;
    }
    snprintf(msg, msglen, "%s: '%s' is not a number of seconds in %s%g, %g] (%s)", opt, val,
             min_open ? "(" : "[", min, max, UNITS_DURATION);
    return -1;
}

int optval_rate(const char *opt, const char *val, double max, double *out, char *msg, size_t msglen)
{
    double v;
    if (units_rate(val, 0, max, &v) == 0 && v > 0) {
        *out = v;
        return 0;
    }
    snprintf(msg, msglen, "%s: '%s' is not a rate in (0, %.0f] per second (%s)", opt, val, max,
             UNITS_RATE);
    return -1;
}

int optval_start_at(const char *opt, const char *val, double now, double *out, char *msg,
                    size_t msglen)
{
    size_t whole = strspn(val, "0123456789");
    size_t frac = val[whole] == '.' ? strspn(val + whole + 1, "0123456789") : 0;
    size_t len = whole + (val[whole] == '.' ? 1 + frac : 0);
    double v = whole && whole <= 11 && val[len] == '\0' ? strtod(val, NULL) : -1;
    if (v < 0) {
        snprintf(msg, msglen, "%s: '%s' is not a time in seconds since the epoch (e.g. %.0f)", opt,
                 val, now + 30);
        return -1;
    }
    if (v <= now) {
        snprintf(msg, msglen, "%s: %s is %.1f s in the past (now is %.0f): give a time to come",
                 opt, val, now - v, now);
        return -1;
    }
    *out = v;
    return 0;
}

void optval_refused(const struct option *longopts, char **argv, char *msg, size_t msglen)
{
    const char *arg = argv[optind - 1];
    /* A known option with a value it does not take: optopt is its val. */
    for (const struct option *o = longopts; o->name && optopt; o++)
        if (o->val == optopt && o->has_arg == no_argument && strncmp(arg, "--", 2) == 0) {
            snprintf(msg, msglen, "--%s takes no value", o->name);
            return;
        }
    if (optopt > 0 && optopt < 256) {
        snprintf(msg, msglen, "unknown option '-%c'", optopt);
        return;
    }
    size_t len = strcspn(arg, "=");
    snprintf(msg, msglen, "unknown option '%.*s'", (int)(len > 64 ? 64 : len), arg);
}
