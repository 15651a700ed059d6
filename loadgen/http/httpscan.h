/* httpscan.h - byte scanning for the HTTP response parser (httpparse.c).
 *
 * The parser's hot path, as picohttpparser has it: line ends and stray
 * control bytes are found 16 bytes at a time (SSE2 on x86-64, a byte table
 * elsewhere), header names are checked as tokens without a function call
 * per byte, and the few names the parser needs are compared 8 bytes at a
 * time after their length. Inline: they run for every header line.
 *
 * CTL below means a byte no line may hold: a control byte other than HTAB,
 * or DEL. CR and LF are CTL, so one scan finds the end of a line and any
 * stray control byte in it. */
#ifndef LOADGEN_HTTPSCAN_H
#define LOADGEN_HTTPSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* SSE2 on x86-64 (always there); -DHS_NO_SSE2 builds the portable path. */
#if defined(__SSE2__) && !defined(HS_NO_SSE2)
#define HS_SSE2 1
#include <emmintrin.h>
#else
#define HS_SSE2 0
#endif

enum { HS_TCHAR = 1, HS_CTL = 2 };
/* HS_TCHAR: a token character (RFC 9110 section 5.6.2); HS_CTL: see above. */
extern const uint8_t hs_class[256];

static inline bool hs_is_tchar(char c)
{
    return hs_class[(unsigned char)c] & HS_TCHAR;
}

static inline bool hs_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The offset of the first CTL byte in s[0..n), or n. */
size_t hs_find_ctl(const char *s, size_t n);

#if HS_SSE2
static inline __m128i hs_load16(const char *s)
{
    return _mm_loadu_si128((const __m128i *)(const void *)s);
}

/* Bit i set: byte i of the 16 at s is CTL. */
static inline unsigned hs_ctl_mask16(const char *s)
{
    const __m128i v = hs_load16(s);
    const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v); /* <= 0x1f */
    const __m128i ctl = _mm_or_si128(low, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
    const __m128i tab = _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'));
    return (unsigned)_mm_movemask_epi8(_mm_andnot_si128(tab, ctl));
}
#endif

/* Finds the CTL bytes of one slice line after line, loading each 16 bytes
 * once: the mask of the current 16-byte window answers every line end in
 * it. */
struct hs_lines {
    const char *s;
    size_t len;
    size_t base;   /* the window is s[base..base+16) */
    unsigned mask; /* bit i: s[base + i] is CTL */
};

static inline void hs_lines_init(struct hs_lines *sc, const char *s, size_t len)
{
    sc->s = s;
    sc->len = len;
    sc->base = 0;
    sc->mask = 0;
#if HS_SSE2
    if (len >= 16) sc->mask = hs_ctl_mask16(s);
#endif
}

/* The offset of the first CTL byte at or after pos, or len. pos never goes
 * back: at least the pos of the previous call. */
static inline size_t hs_lines_next(struct hs_lines *sc, size_t pos)
{
#if HS_SSE2
    while (sc->base + 16 <= sc->len) { /* the window is valid; pos >= base */
        size_t off = pos - sc->base;
        if (off < 16) {
            unsigned m = sc->mask >> off;
            if (m) return pos + (size_t)__builtin_ctz(m);
            pos = sc->base + 16; /* the rest of the window is clean */
        }
        sc->base += 16;
        if (sc->base + 16 <= sc->len) sc->mask = hs_ctl_mask16(sc->s + sc->base);
    }
#endif
    return pos + hs_find_ctl(sc->s + pos, sc->len - pos); /* fewer than 16 bytes left */
}

/* The length of the token at s. s[n] (n: where the token must end at the
 * latest) is not a token character: the line end the loop stops at without
 * a bound check. avail: bytes readable at s; with 16 of them SSE2 skips the
 * letters, digits and '-' most names consist of in one step. */
static inline size_t hs_token_len(const char *s, size_t avail)
{
    size_t i = 0;
    (void)avail; /* without SSE2 */
#if HS_SSE2
    if (avail >= 16) {
        const __m128i v = hs_load16(s);
        const __m128i l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
        const __m128i letter = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l);
        const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
        const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
        const __m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
        unsigned other =
            ~(unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash));
        i = (size_t)__builtin_ctz(other | 0x10000u); /* the first other byte, or 16 */
    }
#endif
    while (hs_is_tchar(s[i]))
        i++;
    return i;
}

/* Like hs_token_len() for a prefix s[0..n) with no line end after it. */
static inline size_t hs_token_len_bounded(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && hs_is_tchar(s[i]))
        i++;
    return i;
}

static inline uint64_t hs_load64(const char *s)
{
    uint64_t v;
    memcpy(&v, s, sizeof v);
    return v;
}

/* s[0..n) is the lower-case word w[0..wn), ASCII case ignored: the length
 * first. w holds only letters and '-'. OR 0x20 folds exactly the two cases
 * of a letter onto the lower-case one and leaves '-'; the other byte it
 * turns into '-' is CR, which never reaches a line's content. 8 bytes a
 * step, the last step overlapping, for words of 8 bytes or more. */
static inline bool hs_word_is(const char *s, size_t n, const char *w, size_t wn)
{
    if (n != wn) return false;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if ((s[i] | 0x20) != w[i]) return false;
        return true;
    }
    const uint64_t fold = UINT64_C(0x2020202020202020);
    for (size_t i = 0; i + 8 < n; i += 8)
        if ((hs_load64(s + i) | fold) != hs_load64(w + i)) return false;
    return (hs_load64(s + n - 8) | fold) == hs_load64(w + n - 8);
}
#define HS_WORD_IS(s, n, lit) hs_word_is((s), (n), (lit), sizeof(lit) - 1)

#endif
