/* hdrcodec.c - HdrHistogram V2 compressed encoding (see hdrcodec.h).
 *
 * Layout (big-endian), as AbstractHistogram.encodeIntoCompressedByteBuffer:
 *
 *   compressed:  int32 cookie 0x1c849314, int32 n, n bytes of zlib (RFC 1950)
 *   inside:      int32 cookie 0x1c849313, int32 payload length,
 *                int32 normalizingIndexOffset, int32 significant digits,
 *                int64 lowest, int64 highest, double conversion ratio,
 *                payload: counts[0 .. index of max], each a ZigZag LEB128
 *                (at most 9 bytes, the 9th holds 8 bits); a run of k > 1
 *                zeros is written as -k.
 *
 * The low nibble-high bits (0xf0) of a cookie carry a word size in V1; V2
 * readers ignore them, and so do we. hdr-histogram-js writes 1 as the
 * normalizingIndexOffset and the integer 1 as the ratio: both fields mean
 * nothing for a plain histogram, so the decoder ignores them too. */
#include "hdrcodec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "os/atomicfile.h"

#define COOKIE_BASE_V2 0x1c849303u
#define COOKIE_BASE_V2_COMPRESSED 0x1c849304u
#define COOKIE_WORD_BITS 0x10u /* "LEB128 words", as every V2 writer sets */
#define COOKIE_BASE(c) ((c) & ~0xf0u)
#define HEADER_LEN 40
#define WRAPPER_LEN 8
#define SIG_DIGITS 3
#define LOWEST 1
#define LEB_MAX 9
/* The longest payload any histogram within our range can have. */
#define PAYLOAD_MAX ((size_t)HIST_COUNTS_LEN * LEB_MAX)

/* ---- big-endian fields ---------------------------------------------------- */

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---- ZigZag LEB128 --------------------------------------------------------- */

static size_t put_zigzag(uint8_t *p, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (n < LEB_MAX - 1 && u >= 0x80) {
        p[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    p[n++] = (uint8_t)u; /* the 9th byte, if reached, holds the last 8 bits */
    return n;
}

/* One value from p[*pos .. end). 0, or -1 when the input ends inside it. */
static int get_zigzag(const uint8_t *p, size_t end, size_t *pos, int64_t *out)
{
    uint64_t u = 0;
    for (int i = 0; i < LEB_MAX; i++) {
        if (*pos >= end) return -1;
        uint8_t b = p[(*pos)++];
        if (i == LEB_MAX - 1) {
            u |= (uint64_t)b << 56;
            break;
        }
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) break;
    }
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

/* ---- encoding -------------------------------------------------------------- */

/* The uncompressed V2 encoding into buf (HEADER_LEN + PAYLOAD_MAX bytes). */
static size_t encode_plain(const struct hist *h, uint8_t *buf)
{
    size_t limit = 0; /* counts written: up to the last non-zero one */
    for (size_t i = HIST_COUNTS_LEN; i > 0; i--)
        if (hist_count_at(h, i - 1)) {
            limit = i;
            break;
        }
    if (limit == 0) limit = 1; /* an empty histogram: one zero, as Java writes */
    size_t n = HEADER_LEN;
    for (size_t i = 0; i < limit;) {
        uint64_t c = hist_count_at(h, i++);
        int64_t zeros = 0;
        if (c == 0)
            for (zeros = 1; i < limit && hist_count_at(h, i) == 0; i++)
                zeros++;
        n += put_zigzag(buf + n, zeros > 1 ? -zeros : (int64_t)(c > INT64_MAX ? INT64_MAX : c));
    }
    put_be(buf, COOKIE_BASE_V2 | COOKIE_WORD_BITS, 4);
    put_be(buf + 4, n - HEADER_LEN, 4);
    put_be(buf + 8, 0, 4); /* normalizingIndexOffset */
    put_be(buf + 12, SIG_DIGITS, 4);
    put_be(buf + 16, LOWEST, 8);
    put_be(buf + 24, HIST_MAX_US, 8);
    double ratio = 1.0;
    uint64_t bits;
    memcpy(&bits, &ratio, sizeof bits);
    put_be(buf + 32, bits, 8);
    return n;
}

uint8_t *hdr_encode(const struct hist *h, size_t *len, char *err, size_t errlen)
{
    uint8_t *plain = malloc(HEADER_LEN + PAYLOAD_MAX);
    uLong bound = compressBound(HEADER_LEN + PAYLOAD_MAX);
    uint8_t *out = malloc(WRAPPER_LEN + bound);
    if (!plain || !out) {
        free(plain);
        free(out);
        errf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = encode_plain(h, plain);
    uLongf zlen = bound;
    int zrc = compress2(out + WRAPPER_LEN, &zlen, plain, (uLong)n, Z_DEFAULT_COMPRESSION);
    free(plain);
    if (zrc != Z_OK) {
        free(out);
        errf(err, errlen, "zlib: %s", zError(zrc));
        return NULL;
    }
    put_be(out, COOKIE_BASE_V2_COMPRESSED | COOKIE_WORD_BITS, 4);
    put_be(out + 4, zlen, 4);
    *len = WRAPPER_LEN + zlen;
    return out;
}

char *hdr_encode_base64(const struct hist *h, char *err, size_t errlen)
{
    size_t len;
    uint8_t *bin = hdr_encode(h, &len, err, errlen);
    if (!bin) return NULL;
    char *s = hdr_base64_encode(bin, len);
    free(bin);
    if (!s) errf(err, errlen, "out of memory");
    return s;
}

/* ---- decoding -------------------------------------------------------------- */

/* Inflate exactly one zlib stream of zlen bytes into a new buffer. */
static uint8_t *inflate_all(const uint8_t *z, size_t zlen, size_t *out_len, char *err,
                            size_t errlen)
{
    size_t cap = HEADER_LEN + PAYLOAD_MAX;
    uint8_t *out = malloc(cap + 1); /* +1: room to notice an oversized stream */
    if (!out) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    z_stream zs = {
        .next_in = (Bytef *)z, .avail_in = (uInt)zlen, .next_out = out, .avail_out = (uInt)cap + 1};
    int rc = inflateInit(&zs);
    if (rc == Z_OK) rc = inflate(&zs, Z_FINISH);
    size_t produced = cap + 1 - zs.avail_out;
    bool trailing = rc == Z_STREAM_END && zs.avail_in > 0;
    const char *msg = zs.msg;
    inflateEnd(&zs);
    if (rc == Z_STREAM_END && !trailing) {
        *out_len = produced;
        return out;
    }
    free(out);
    if (trailing)
        errf(err, errlen, "%u bytes after the end of the compressed histogram", zs.avail_in);
    else if (produced > cap)
        errf(err, errlen, "histogram longer than any within 1 us .. %llu us",
             (unsigned long long)HIST_MAX_US);
    else if (rc == Z_BUF_ERROR || rc == Z_OK)
        errf(err, errlen, "compressed histogram is truncated");
    else
        errf(err, errlen, "zlib: %s", msg ? msg : zError(rc));
    return NULL;
}

static int check_header(const uint8_t *p, size_t len, char *err, size_t errlen)
{
    if (len < HEADER_LEN)
        return errf(err, errlen, "encoded histogram of %zu bytes, shorter than its %d-byte header",
                    len, HEADER_LEN);
    uint32_t cookie = (uint32_t)get_be(p, 4);
    if (COOKIE_BASE(cookie) != COOKIE_BASE_V2)
        return errf(err, errlen, "inner cookie 0x%08x is not a V2 histogram (0x%08x)", cookie,
                    COOKIE_BASE_V2 | COOKIE_WORD_BITS);
    uint32_t payload = (uint32_t)get_be(p + 4, 4);
    if ((size_t)payload != len - HEADER_LEN)
        return errf(err, errlen, "payload length %u, but %zu bytes follow the header", payload,
                    len - HEADER_LEN);
    uint32_t digits = (uint32_t)get_be(p + 12, 4);
    uint64_t lowest = get_be(p + 16, 8), highest = get_be(p + 24, 8);
    if (digits != SIG_DIGITS || lowest != LOWEST)
        return errf(err, errlen,
                    "histogram with %u significant digits and lowest value %llu: only %d digits "
                    "and lowest %d are supported",
                    digits, (unsigned long long)lowest, SIG_DIGITS, LOWEST);
    if (highest < 2 * lowest || highest > INT64_MAX)
        return errf(err, errlen, "bad highest trackable value %llu", (unsigned long long)highest);
    return 0;
}

/* The counts of a checked plain encoding, added to h. */
static int decode_counts(const uint8_t *p, size_t len, struct hist *h, char *err, size_t errlen)
{
    size_t pos = HEADER_LEN;
    uint64_t index = 0;
    while (pos < len) {
        int64_t v;
        if (get_zigzag(p, len, &pos, &v) < 0)
            return errf(err, errlen, "payload ends inside a count (byte %zu)", pos);
        if (v < 0) {
            uint64_t zeros = v == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)-v;
            index = zeros > UINT64_MAX - index ? UINT64_MAX : index + zeros;
            continue;
        }
        if (v > 0 && index >= HIST_COUNTS_LEN)
            return errf(err, errlen, "a count past %llu us (index %llu of %d)",
                        (unsigned long long)HIST_MAX_US, (unsigned long long)index,
                        HIST_COUNTS_LEN);
        if (v > 0 && hist_add_at(h, (size_t)index, (uint64_t)v) < 0)
            return errf(err, errlen, "counts overflow");
        if (index < UINT64_MAX) index++;
    }
    return 0;
}

int hdr_decode(const uint8_t *buf, size_t len, struct hist *into, char *err, size_t errlen)
{
    if (len < WRAPPER_LEN)
        return errf(err, errlen, "compressed histogram of %zu bytes, shorter than its header", len);
    uint32_t cookie = (uint32_t)get_be(buf, 4);
    if (COOKIE_BASE(cookie) != COOKIE_BASE_V2_COMPRESSED)
        return errf(err, errlen,
                    "cookie 0x%08x is not a V2 compressed histogram (0x%08x; V0/V1 encodings are "
                    "not supported)",
                    cookie, COOKIE_BASE_V2_COMPRESSED | COOKIE_WORD_BITS);
    uint32_t zlen = (uint32_t)get_be(buf + 4, 4);
    if (zlen == 0 || zlen > len - WRAPPER_LEN)
        return errf(err, errlen, "compressed length %u, but %zu bytes follow (truncated?)", zlen,
                    len - WRAPPER_LEN);
    if (zlen < len - WRAPPER_LEN)
        return errf(err, errlen, "%zu bytes after the compressed histogram",
                    len - WRAPPER_LEN - zlen);
    size_t plen;
    uint8_t *plain = inflate_all(buf + WRAPPER_LEN, zlen, &plen, err, errlen);
    if (!plain) return -1;
    struct hist *tmp = hist_new();
    int rc = tmp ? 0 : errf(err, errlen, "out of memory");
    if (rc == 0) rc = check_header(plain, plen, err, errlen);
    if (rc == 0) rc = decode_counts(plain, plen, tmp, err, errlen);
    if (rc == 0 && hist_count(tmp) > UINT64_MAX - hist_count(into))
        rc = errf(err, errlen, "counts overflow");
    if (rc == 0) hist_merge(into, tmp);
    hist_free(tmp);
    free(plain);
    return rc;
}

int hdr_decode_base64(const char *b64, size_t len, struct hist *into, char *err, size_t errlen)
{
    size_t blen;
    uint8_t *bin = hdr_base64_decode(b64, len, &blen, err, errlen);
    if (!bin) return -1;
    int rc = hdr_decode(bin, blen, into, err, errlen);
    free(bin);
    return rc;
}

/* ---- base64 ---------------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *hdr_base64_encode(const uint8_t *buf, size_t len)
{
    char *s = malloc((len + 2) / 3 * 4 + 1);
    if (!s) return NULL;
    char *o = s;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)buf[i] << 16;
        if (i + 1 < len) v |= (uint32_t)buf[i + 1] << 8;
        if (i + 2 < len) v |= buf[i + 2];
        *o++ = B64[v >> 18];
        *o++ = B64[(v >> 12) & 63];
        *o++ = i + 1 < len ? B64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? B64[v & 63] : '=';
    }
    *o = '\0';
    return s;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

uint8_t *hdr_base64_decode(const char *s, size_t len, size_t *out_len, char *err, size_t errlen)
{
    if (len == 0 || len % 4) {
        errf(err, errlen, "base64 of %zu characters (not a positive multiple of 4)", len);
        return NULL;
    }
    size_t pad = (s[len - 1] == '=') + (s[len - 1] == '=' && s[len - 2] == '=');
    uint8_t *out = malloc(len / 4 * 3);
    if (!out) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            bool is_pad = i + j >= len - pad;
            int d = is_pad ? 0 : b64_value(s[i + j]);
            if (d < 0) {
                free(out);
                errf(err, errlen, "bad base64 character 0x%02x at offset %zu",
                     (unsigned char)s[i + j], i + j);
                return NULL;
            }
            v = v << 6 | (uint32_t)d;
        }
        out[n++] = (uint8_t)(v >> 16);
        out[n++] = (uint8_t)(v >> 8);
        out[n++] = (uint8_t)v;
    }
    *out_len = n - pad;
    return out;
}
