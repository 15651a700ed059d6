/* check.c - correctness checks of the answers (see check.h). */
#define _XOPEN_SOURCE 700 /* realpath() is XSI */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

/* ---- payload ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* 64 printable characters, no space (easier to eyeball), no '\n'. */
static const char payload_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Byte i of the payload depends only on i, so any prefix is itself a
 * payload and a shifted body never matches. */
static void payload_at(unsigned char *buf, uint64_t off, size_t len)
{
    uint64_t word = mix64(off / 8);
    for (size_t k = 0; k < len; k++) {
        uint64_t i = off + k;
        if (i % 8 == 0 && k > 0) word = mix64(i / 8);
        buf[k] = (unsigned char)payload_alphabet[(word >> (8 * (i % 8))) & 63];
    }
}

void check_payload(void *buf, size_t len)
{
    payload_at(buf, 0, len);
}

uint64_t check_payload_hash(size_t len)
{
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    unsigned char chunk[4096];
    for (size_t off = 0; off < len; off += sizeof chunk) {
        size_t n = len - off < sizeof chunk ? len - off : sizeof chunk;
        payload_at(chunk, off, n);
        XXH64_update(&st, chunk, n);
    }
    return XXH64_digest(&st);
}

/* ---- fixtures ---- */

/* A relative path with no "..", "." or empty component trickery. */
static bool safe_relative(const char *p)
{
    if (!*p || *p == '/') return false;
    const char *s = p;
    while (*s) {
        size_t n = strcspn(s, "/");
        if ((n == 2 && s[0] == '.' && s[1] == '.')) return false;
        s += n;
        if (*s == '/') s++;
    }
    return true;
}

/* XXH64 and length of an open file. */
static int hash_fd(int fd, int64_t *len, uint64_t *hash)
{
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    unsigned char buf[65536];
    int64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        XXH64_update(&st, buf, (size_t)n);
        total += n;
    }
    *len = total;
    *hash = XXH64_digest(&st);
    return 0;
}

static int resolve_file(struct lg_step *st, const char *file, const char *fixtures,
                        const char *root, char *err, size_t errlen)
{
    const char *rel = st->expect_body;
    if (!safe_relative(rel)) {
        snprintf(err, errlen,
                 "%s:%d: step '%s': expect_body '%s' must be a relative path "
                 "inside the fixtures directory",
                 file, st->line, st->name, rel);
        return -1;
    }
    char full[PATH_MAX], real[PATH_MAX];
    errno = 0;
    if ((size_t)snprintf(full, sizeof full, "%s/%s", fixtures, rel) >= sizeof full ||
        !realpath(full, real)) {
        snprintf(err, errlen, "%s:%d: step '%s': fixture %s: %s", file, st->line, st->name, full,
                 errno ? strerror(errno) : "path too long");
        return -1;
    }
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || real[rl] != '/') {
        snprintf(err, errlen, "%s:%d: step '%s': fixture %s leads outside %s", file, st->line,
                 st->name, rel, fixtures);
        return -1;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    int rc = -1;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        rc = hash_fd(fd, &st->expect_length, &st->expect_hash);
    else if (fd >= 0)
        errno = EISDIR;
    int saved = errno;
    if (fd >= 0) close(fd);
    if (rc != 0)
        snprintf(err, errlen, "%s:%d: step '%s': fixture %s: %s", file, st->line, st->name, full,
                 strerror(saved));
    return rc;
}

/* expect_names: at least one name, no empty entry. */
static int names_ok(const struct lg_step *st)
{
    const char *s = st->expect_names;
    for (;;) {
        size_t n = strcspn(s, ",");
        const char *e = s + n;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        if (s == e) return -1;
        if (!*e) return 0;
        s = e + 1;
    }
}

static bool needs_fixtures(const struct lg_scenario *sc)
{
    for (size_t i = 0; i < sc->nsteps; i++)
        if (sc->steps[i].expect == LG_EXPECT_FILE) return true;
    return false;
}

int check_prepare(struct lg_scenario *sc, const char *fixtures, char *err, size_t errlen)
{
    char root[PATH_MAX] = "";
    if (needs_fixtures(sc)) {
        if (!fixtures) {
            snprintf(err, errlen, "%s: steps with expect = file need --fixtures DIR", sc->file);
            return -1;
        }
        if (!realpath(fixtures, root)) {
            snprintf(err, errlen, "fixtures %s: %s", fixtures, strerror(errno));
            return -1;
        }
    }
    for (size_t i = 0; i < sc->nsteps; i++) {
        struct lg_step *st = &sc->steps[i];
        switch (st->expect) {
        case LG_EXPECT_FILE:
            if (resolve_file(st, sc->file, fixtures, root, err, errlen)) return -1;
            break;
        case LG_EXPECT_ECHO:
            st->expect_length = (int64_t)st->body_size;
            st->expect_hash =
                st->body ? XXH64(st->body, st->body_size, 0) : check_payload_hash(st->body_size);
            break;
        case LG_EXPECT_LISTING:
            if (names_ok(st)) {
                snprintf(err, errlen, "%s:%d: step '%s': expect_names has an empty name", sc->file,
                         st->line, st->name);
                return -1;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

/* ---- /time ---- */

static bool digits(const char *s, size_t n, int lo, int hi)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi;
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static bool iso_date(const char *s, size_t n)
{
    return n == 20 && digits(s, 4, 1970, 9999) && s[4] == '-' && digits(s + 5, 2, 1, 12) &&
           s[7] == '-' && digits(s + 8, 2, 1, 31) && s[10] == 'T' && digits(s + 11, 2, 0, 23) &&
           s[13] == ':' && digits(s + 14, 2, 0, 59) && s[16] == ':' && digits(s + 17, 2, 0, 60) &&
           s[19] == 'Z';
}

static bool one_of(const char *s, const char *list)
{
    for (; *list; list += 3)
        if (memcmp(s, list, 3) == 0) return true;
    return false;
}

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool imf_date(const char *s, size_t n)
{
    return n == 29 && one_of(s, "MonTueWedThuFriSatSun") && memcmp(s + 3, ", ", 2) == 0 &&
           digits(s + 5, 2, 1, 31) && s[7] == ' ' &&
           one_of(s + 8, "JanFebMarAprMayJunJulAugSepOctNovDec") && s[11] == ' ' &&
           digits(s + 12, 4, 1970, 9999) && s[16] == ' ' && digits(s + 17, 2, 0, 23) &&
           s[19] == ':' && digits(s + 20, 2, 0, 59) && s[22] == ':' && digits(s + 23, 2, 0, 60) &&
           memcmp(s + 25, " GMT", 4) == 0;
}

bool check_time_body(const char *body, size_t len)
{
    if (len >= 1 && body[len - 1] == '\n') {
        len--;
        if (len >= 1 && body[len - 1] == '\r') len--;
    }
    return iso_date(body, len) || imf_date(body, len);
}

/* ---- listings ---- */

/* name is the whole of line, or its tail after a space or a '/'. */
static bool line_has_name(const char *line, size_t ll, const char *name, size_t nl)
{
    if (nl == 0 || nl > ll || memcmp(line + ll - nl, name, nl) != 0) return false;
    if (nl == ll) return true;
    char before = line[ll - nl - 1];
    return before == ' ' || before == '\t' || before == '/';
}

static bool listing_has(const char *body, size_t len, const char *name, size_t nl)
{
    size_t pos = 0;
    while (pos < len) {
        const char *line = body + pos;
        const char *nlp = memchr(line, '\n', len - pos);
        size_t ll = nlp ? (size_t)(nlp - line) : len - pos;
        pos += ll + 1;
        if (ll && line[ll - 1] == '\r') ll--;
        if (line_has_name(line, ll, name, nl)) return true;
    }
    return false;
}

bool check_listing(const struct lg_step *st, const char *body, size_t len)
{
    const char *s = st->expect_names;
    bool any = false;
    for (;;) {
        size_t n = strcspn(s, ",");
        const char *b = s, *e = s + n;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b) {
            any = true;
            if (!listing_has(body, len, b, (size_t)(e - b))) return false;
        }
        if (!s[n]) return any;
        s += n + 1;
    }
}

enum lg_error check_status(const struct lg_step *st, enum lg_proto proto, int status, bool closes)
{
    bool ok = st->expect_status == 0 ? status >= 200 && status <= 299 : status == st->expect_status;
    if (ok) return LG_ERR__COUNT;
    if (proto == LG_PROTO_HTTP && status == 503 && closes) return LG_ERR_REFUSED;
    if (proto == LG_PROTO_FTP && status == 421) return LG_ERR_REFUSED;
    return LG_ERR_BAD_STATUS;
}

/* ---- the summary's words ---- */

static void describe_body(const struct lg_step *st, char *buf, size_t len)
{
    char learnt[96] = "";
    if (st->expect_length >= 0)
        snprintf(learnt, sizeof learnt, ": %" PRId64 " bytes, xxh64 %016" PRIx64, st->expect_length,
                 st->expect_hash);
    switch (st->expect) {
    case LG_EXPECT_NONE:
        snprintf(buf, len, "not checked");
        break;
    case LG_EXPECT_FILE:
        snprintf(buf, len, "the fixture %s%s", st->expect_body, learnt);
        break;
    case LG_EXPECT_HASH:
        snprintf(buf, len, "given%s", learnt);
        break;
    case LG_EXPECT_TIME:
        snprintf(buf, len, "a date line");
        break;
    case LG_EXPECT_LISTING:
        snprintf(buf, len, "a listing naming %s", st->expect_names);
        break;
    case LG_EXPECT_ECHO:
        snprintf(buf, len, "the bytes sent come back");
        break;
    case LG_EXPECT_SAME:
        snprintf(buf, len, "consistency (every answer as the first one%s)", learnt);
        break;
    case LG_EXPECT_SHA256: {
        static const char hex[] = "0123456789abcdef";
        char h[17];
        for (int i = 0; i < 8; i++) {
            h[2 * i] = hex[st->expect_sha256[i] >> 4];
            h[2 * i + 1] = hex[st->expect_sha256[i] & 15];
        }
        h[16] = '\0';
        snprintf(buf, len, "sha256 %s... (the first answer), every answer as it%s", h, learnt);
        break;
    }
    }
}

void check_describe(const struct lg_step *st, enum lg_proto proto, char *buf, size_t len)
{
    char body[LG_PATH_MAX + 160];
    describe_body(st, body, sizeof body);
    if (proto == LG_PROTO_ECHO)
        snprintf(buf, len, "body: %s", body);
    else if (st->expect_status == 0)
        snprintf(buf, len, "status 2xx, body: %s", body);
    else
        snprintf(buf, len, "status %d, body: %s", st->expect_status, body);
}
