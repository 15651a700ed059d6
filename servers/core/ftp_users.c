/* ftp_users.c - the FTP users file: parsing, lookup, the password check
 * against crypt(3) hashes, and hash-password (see ftp_users.h). */
#include "ftp_users.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftp_line.h"

struct ftp_user {
    char name[FTP_USER_MAX + 1];
    char hash[FTP_HASH_MAX + 1]; /* zero-padded: compared whole */
    bool may_write;
};

struct ftp_users {
    size_t n;
    struct ftp_user *v;
};

bool ftp_user_is_anonymous(const char *name)
{
    return strcasecmp(name, "anonymous") == 0 || strcasecmp(name, "ftp") == 0;
}

void ftp_users_free(struct ftp_users *u)
{
    if (!u) return;
    if (u->v) memset(u->v, 0, u->n * sizeof *u->v); /* no hashes left in freed memory */
    free(u->v);
    free(u);
}

size_t ftp_users_count(const struct ftp_users *u)
{
    return u ? u->n : 0;
}

/* Zeroes secrets so that the store is not optimised away: explicit_bzero
 * where glibc and the BSDs have it, macOS has not; the call through a
 * volatile pointer works everywhere. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

static void wipe(void *p, size_t n)
{
    wipe_memset(p, 0, n);
}

/* crypt_rn of pass with setting (a hash or a salt) into out (FTP_HASH_MAX + 1
 * bytes, zero-padded). False when libcrypt refuses the setting. The work
 * area (32 KiB) is allocated: the stacks of some models are small. */
static bool hash_with(const char *pass, const char *setting, char *out)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd) return false;
    const char *h = crypt_rn(pass, setting, cd, (int)sizeof *cd);
    bool ok = h && h[0] != '*' && strlen(h) <= FTP_HASH_MAX;
    memset(out, 0, FTP_HASH_MAX + 1);
    if (ok) memcpy(out, h, strlen(h));
    wipe(cd, sizeof *cd);
    free(cd);
    return ok;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > FTP_USER_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/* NULL when hash is a complete hash of a current scheme, else why not. A
 * trial hash must come out in the same shape (same settings, same length):
 * that catches a truncated or mangled hash now rather than at login. */
static const char *hash_problem(const char *hash)
{
    if (hash[0] == '\0') return "empty hash";
    if (hash[0] != '$')
        return "not a crypt(3) hash: plaintext (and DES) passwords are refused; "
               "make a hash with 'refserver hash-password'";
    if (strlen(hash) > FTP_HASH_MAX) return "hash too long";
    if (crypt_checksalt(hash) != CRYPT_SALT_OK)
        return "weak or unknown hash scheme (use yescrypt $y$ or SHA-512 $6$)";
    char trial[FTP_HASH_MAX + 1];
    const char *end = strrchr(hash, '$');
    size_t setting = (size_t)(end - hash) + 1;
    if (!hash_with("", hash, trial) || strlen(trial) != strlen(hash) ||
        memcmp(trial, hash, setting) != 0)
        return "malformed hash";
    return NULL;
}

/* Parses one non-comment line "name:hash:rw|ro" into e. NULL, or the
 * reason it is refused. */
static const char *parse_user(const struct ftp_users *u, char *line, struct ftp_user *e)
{
    char *c1 = strchr(line, ':'), *c2 = strrchr(line, ':');
    if (!c1 || c1 == c2) return "expected name:hash:rw|ro";
    size_t nl = (size_t)(c1 - line);
    if (!name_ok(line, nl)) return "bad user name (1-64 of A-Z a-z 0-9 . _ -)";
    memcpy(e->name, line, nl);
    e->name[nl] = '\0';
    if (ftp_user_is_anonymous(e->name)) return "user name reserved for anonymous logins";
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, e->name) == 0) return "duplicate user name";
    const char *access = c2 + 1;
    if (strcmp(access, "rw") != 0 && strcmp(access, "ro") != 0) return "access must be rw or ro";
    e->may_write = access[1] == 'w';
    *c2 = '\0';
    const char *why = hash_problem(c1 + 1);
    if (why) return why;
    memset(e->hash, 0, sizeof e->hash);
    memcpy(e->hash, c1 + 1, strlen(c1 + 1));
    return NULL;
}

/* A line with nothing to parse: empty, only blanks, or a comment. */
static bool blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0' || *s == '#';
}

/* Room for one more entry in u->v; false when out of memory. */
static bool grow(struct ftp_users *u, size_t *cap)
{
    if (u->n < *cap) return true;
    size_t ncap = *cap ? 2 * *cap : 8;
    struct ftp_user *nv = realloc(u->v, ncap * sizeof *nv);
    if (!nv) return false;
    u->v = nv;
    *cap = ncap;
    return true;
}

struct ftp_users *ftp_users_read(FILE *fp, const char *name, char *err, size_t errlen)
{
    struct ftp_users *u = calloc(1, sizeof *u);
    size_t cap = 0;
    char line[FTP_USER_MAX + FTP_HASH_MAX + 16];
    unsigned lineno = 0;
    const char *why = u ? NULL : "out of memory";
    while (!why && fgets(line, sizeof line, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(fp))
            why = "line too long";
        if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
        if (why || blank(line)) continue;
        if (!grow(u, &cap)) {
            why = "out of memory";
            break;
        }
        why = parse_user(u, line, &u->v[u->n]);
        if (!why) u->n++;
    }
    wipe(line, sizeof line);
    if (!why && ferror(fp)) why = strerror(errno);
    if (why) {
        if (lineno)
            snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
        else
            snprintf(err, errlen, "%s: %s", name, why);
        ftp_users_free(u);
        return NULL;
    }
    return u;
}

struct ftp_users *ftp_users_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct ftp_users *u = ftp_users_read(fp, path, err, errlen);
    fclose(fp);
    return u;
}

/* Compares every byte of both buffers (FTP_HASH_MAX + 1) whatever they hold. */
static bool same_hash(const char *a, const char *b)
{
    unsigned char diff = 0;
    for (size_t i = 0; i <= FTP_HASH_MAX; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool ftp_users_check(const struct ftp_users *u, const char *name, const char *pass, bool *may_write)
{
    if (may_write) *may_write = false;
    if (!u || u->n == 0) return false;
    const struct ftp_user *e = NULL;
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0) e = &u->v[i];
    /* an unknown user, or a password too long, costs the same hash */
    const struct ftp_user *as = e ? e : &u->v[0];
    bool fits = strnlen(pass, FTP_PASS_MAX + 1) <= FTP_PASS_MAX;
    char got[FTP_HASH_MAX + 1];
    bool ok = hash_with(fits ? pass : "", as->hash, got);
    ok = same_hash(got, as->hash) && ok && fits && e != NULL;
    wipe(got, sizeof got);
    if (ok && may_write) *may_write = e->may_write;
    return ok;
}

int ftp_hash_password(const char *pass, char *out, size_t cap)
{
    static const char *const schemes[] = {"$y$", "$6$"};
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], h[FTP_HASH_MAX + 1];
    if (cap < sizeof h) {
        errno = ERANGE;
        return -1;
    }
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (!crypt_gensalt_rn(schemes[i], 0, NULL, 0, salt, (int)sizeof salt)) continue;
        if (hash_with(pass, salt, h)) {
            memcpy(out, h, sizeof h);
            return 0;
        }
    }
    if (errno == 0) errno = EINVAL;
    return -1;
}

int ftp_hash_password_main(FILE *in, FILE *out, FILE *err)
{
    char line[FTP_PASS_MAX + 3], hash[FTP_HASH_MAX + 1];
    if (!fgets(line, sizeof line, in)) {
        fprintf(err, "refserver hash-password: no password on standard input\n");
        return 1;
    }
    size_t len = strcspn(line, "\r\n");
    bool whole = line[len] != '\0' || feof(in);
    line[len] = '\0';
    const char *why = !whole || len > FTP_PASS_MAX ? "password too long (at most 128 bytes)"
                      : len == 0                   ? "empty password"
                      : ftp_has_ctl(line)          ? "control character in password"
                                                   : NULL;
    int rc = 1;
    if (why)
        fprintf(err, "refserver hash-password: %s\n", why);
    else if (ftp_hash_password(line, hash, sizeof hash) != 0)
        fprintf(err, "refserver hash-password: crypt: %s\n", strerror(errno));
    else
        rc = fprintf(out, "%s\n", hash) < 0 || fflush(out) != 0;
    wipe(line, sizeof line);
    return rc;
}
