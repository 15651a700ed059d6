/* hdrcodec.h - one histogram in HdrHistogram's V2 compressed encoding.
 *
 * The bytes HdrHistogram (Java, C, JavaScript, Python) write with
 * encodeIntoCompressedByteBuffer() and log as base64: a compressed wrapper
 * (cookie 0x1c849304 | 0x10, length, zlib deflate) around the V2 encoding
 * (cookie 0x1c849303 | 0x10, payload length, normalizingIndexOffset,
 * significant digits 3, lowest 1, highest HIST_MAX_US, conversion ratio 1.0;
 * then the counts as ZigZag LEB128, runs of zeros as negative lengths).
 *
 * hist.c's counts array has exactly HdrHistogram's layout for lowest 1,
 * 3 significant digits (see hist.h), so counts map index for index.
 * Decoding accepts any V2 histogram with lowest 1 and 3 significant digits
 * whose values stay within 1 us .. HIST_MAX_US (its highest trackable value
 * may differ); anything else is a clear error, never a crash or a read past
 * the input. */
#ifndef LOADGEN_HDRCODEC_H
#define LOADGEN_HDRCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

/* The compressed encoding of h as a malloc'd buffer (*len bytes).
 * NULL with a reason in err (out of memory, zlib). */
uint8_t *hdr_encode(const struct hist *h, size_t *len, char *err, size_t errlen);
/* The same as base64 (standard alphabet, padded), a malloc'd string. */
char *hdr_encode_base64(const struct hist *h, char *err, size_t errlen);

/* Decode one compressed histogram and add its counts to into (unchanged on
 * error). 0, or -1 with a reason in err. */
int hdr_decode(const uint8_t *buf, size_t len, struct hist *into, char *err, size_t errlen);
int hdr_decode_base64(const char *b64, size_t len, struct hist *into, char *err, size_t errlen);

/* Base64 (RFC 4648, padded), exposed for the tests and the log reader. */
char *hdr_base64_encode(const uint8_t *buf, size_t len); /* malloc'd, NUL-terminated */
/* Strict: only the standard alphabet, length a multiple of 4, padding only
 * at the end. Returns a malloc'd buffer (*out_len bytes), or NULL with a
 * reason in err. */
uint8_t *hdr_base64_decode(const char *s, size_t len, size_t *out_len, char *err, size_t errlen);

#endif
