/* sha256.c - SHA-256 through libcrypto's EVP interface (sha256.h). */
#include "sha256.h"

#include <openssl/evp.h>

/* struct sha256 is libcrypto's EVP_MD_CTX, under a name of ours. */
struct sha256 *sha256_new(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return (struct sha256 *)ctx;
}

void sha256_reset(struct sha256 *s)
{
    EVP_DigestInit_ex((EVP_MD_CTX *)s, EVP_sha256(), NULL);
}

void sha256_update(struct sha256 *s, const void *p, size_t n)
{
    EVP_DigestUpdate((EVP_MD_CTX *)s, p, n);
}

void sha256_final(struct sha256 *s, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_DigestFinal_ex((EVP_MD_CTX *)s, out, &n);
}

void sha256_free(struct sha256 *s)
{
    EVP_MD_CTX_free((EVP_MD_CTX *)s);
}

void sha256_hex(const unsigned char d[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}
