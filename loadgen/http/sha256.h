/* sha256.h - SHA-256 of an answer's body, streamed (OpenSSL's libcrypto):
 * `--expect-sha256 HEX` / `expect = sha256`, checked in the verify pass. */
#ifndef LOADGEN_SHA256_H
#define LOADGEN_SHA256_H

#include <stddef.h>

struct sha256;

/* A fresh context, or NULL (out of memory). */
struct sha256 *sha256_new(void);
void sha256_reset(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[32]);
void sha256_free(struct sha256 *s); /* NULL is fine */

/* The 64 lower-case hex digits of d, and a NUL, into out[65]. */
void sha256_hex(const unsigned char d[32], char out[65]);

#endif
