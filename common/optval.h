/* optval.h - the value of a numeric command-line option, parsed with
 * common/units.h, and the message a usage error prints when it is wrong:
 *
 *   --timeout: '5x' is not a number of seconds in (0, 3600] (a duration, e.g. 1.5, 250ms, 5s or 2m)
 *
 * `loadgen run` (main.c) and `loadgen bench` (bench.c) both use these, so an
 * option means the same thing, and fails the same way, on both. Each value
 * parser returns 0 and sets *out, or -1 with the message in msg (*out
 * untouched). */
#ifndef LOADGEN_OPTVAL_H
#define LOADGEN_OPTVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct option;

/* A whole number in [min, max]: "100", "10k". */
int optval_count(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out,
                 char *msg, size_t msglen);
/* The same, into an unsigned (max must fit). */
int optval_uint(const char *opt, const char *val, unsigned min, unsigned max, unsigned *out,
                char *msg, size_t msglen);
/* Seconds in [min, max], or (min, max] when min_open: "1.5", "250ms", "2m". */
int optval_seconds(const char *opt, const char *val, double min, double max, bool min_open,
                   double *out, char *msg, size_t msglen);
/* Per second, in (0, max]: "1000", "2.5k", "20k/s". */
int optval_rate(const char *opt, const char *val, double max, double *out, char *msg,
                size_t msglen);

/* A wall-clock second (seconds since the epoch, "1700000000" or
 * "1700000000.5") later than now. */
int optval_start_at(const char *opt, const char *val, double now, double *out, char *msg,
                    size_t msglen);

/* Why getopt_long (opterr = 0, longopts) refused argv[optind - 1], for a
 * usage error: "--progress takes no value", "unknown option '--bogus'". */
void optval_refused(const struct option *longopts, char **argv, char *msg, size_t msglen);

#endif
