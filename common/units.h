/* units.h - one parser for the numbers people type on a command line or in a
 * scenario file: counts, sizes, durations and rates (as wrk's units.c is for
 * wrk). Both CLIs (refserver, loadgen) and the scenario files use it, so
 * "250ms" or "64k" means the same thing everywhere.
 *
 *   count     "100", "10k" (10,000), "1.5M" (1,500,000), "2G"      metric
 *   size      "512", "64k" (65,536), "1M", "1G", "1.5k" (1,536)     binary
 *   duration  "1.5" (seconds), "100us", "250ms", "5s", "2m", "1h"
 *   rate      "1000", "20k", "2.5k", each optionally ending "/s"    metric
 *
 * A number is decimal digits with at most one '.', no sign, no spaces, no
 * exponent, no hex, no inf/nan; suffixes are case-sensitive except k/K.
 * Every function returns 0 and sets *out when the whole string is valid and
 * the value lies in [min, max]; -1 otherwise (*out untouched). The UNITS_*
 * strings describe the syntax for error messages. */
#ifndef SERVERMODELS_UNITS_H
#define SERVERMODELS_UNITS_H

#include <stdint.h>

#define UNITS_COUNT "a whole number, e.g. 100 or 10k"
#define UNITS_SIZE "a size in bytes, e.g. 512, 64k or 1M"
#define UNITS_DURATION "a duration, e.g. 1.5, 250ms, 5s or 2m"
#define UNITS_RATE "a rate per second, e.g. 1000, 20k or 2.5k/s"

int units_count(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int units_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds. */
int units_duration(const char *s, double min, double max, double *out);
/* Per second. */
int units_rate(const char *s, double min, double max, double *out);

#endif
