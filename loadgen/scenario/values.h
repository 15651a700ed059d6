/* values.h - the values of scenario keys (and of a few options) that
 * common/units.h does not parse: exact whole numbers, yes/no, hex digests.
 * Each returns 0 and sets *out, or -1 (*out untouched). */
#ifndef LOADGEN_VALUES_H
#define LOADGEN_VALUES_H

#include <stdbool.h>
#include <stdint.h>

/* An exact whole number in [lo, hi] (status codes, checked lengths: not
 * amounts a user scales, so no unit suffixes and no rounding through double). */
int value_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* yes/true/on/1, no/false/off/0 (any case). */
int value_bool(const char *s, bool *out);
/* An XXH64: 1-16 hex digits, an optional 0x. */
int value_hex64(const char *s, uint64_t *out);
/* A SHA-256: exactly 64 hex digits (any case). */
int value_sha256(const char *s, unsigned char out[32]);

#endif
