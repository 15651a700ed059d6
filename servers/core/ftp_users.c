/* ftp_users.c - the FTP users file: parsing, lookup, password check (see
 * ftp_users.h). */
#include "ftp_users.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftp_line.h"

struct ftp_user {
    char name[FTP_USER_MAX + 1];
    char pass[FTP_PASS_MAX + 1];
    size_t plen;
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
    if (u->v) memset(u->v, 0, u->n * sizeof *u->v); /* no passwords left in freed memory */
    free(u->v);
    free(u);
}

size_t ftp_users_count(const struct ftp_users *u)
{
    return u ? u->n : 0;
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

/* Parses one non-comment line into e. NULL, or the reason it is refused. */
static const char *parse_user(const struct ftp_users *u, char *line, struct ftp_user *e)
{
    char *colon = strchr(line, ':');
    if (!colon) return "expected name:password";
    size_t nl = (size_t)(colon - line), pl = strlen(colon + 1);
    if (!name_ok(line, nl)) return "bad user name (1-64 of A-Z a-z 0-9 . _ -)";
    if (pl == 0) return "empty password";
    if (pl > FTP_PASS_MAX) return "password too long";
    if (ftp_has_ctl(colon + 1)) return "control character in password";
    memcpy(e->name, line, nl);
    e->name[nl] = '\0';
    if (ftp_user_is_anonymous(e->name)) return "user name reserved for anonymous logins";
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, e->name) == 0) return "duplicate user name";
    memcpy(e->pass, colon + 1, pl + 1);
    e->plen = pl;
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
    char line[FTP_USER_MAX + FTP_PASS_MAX + 8];
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

/* Compares every byte of both (padded) buffers whatever they hold. */
static bool same_secret(const char *a, size_t al, const char *b, size_t bl)
{
    unsigned char diff = (unsigned char)(al != bl);
    for (size_t i = 0; i < FTP_PASS_MAX; i++) {
        unsigned char x = i < al ? (unsigned char)a[i] : 0;
        unsigned char y = i < bl ? (unsigned char)b[i] : 0;
        diff |= x ^ y;
    }
    return diff == 0;
}

bool ftp_users_check(const struct ftp_users *u, const char *name, const char *pass)
{
    static const struct ftp_user nobody = {"", "\x01", 1};
    const struct ftp_user *e = &nobody;
    for (size_t i = 0; u && i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0) e = &u->v[i];
    size_t pl = strnlen(pass, FTP_PASS_MAX + 1);
    /* an unknown user costs the same compare and always fails */
    bool same = same_secret(e->pass, e->plen, pass, pl > FTP_PASS_MAX ? FTP_PASS_MAX : pl);
    return same && pl <= FTP_PASS_MAX && e != &nobody;
}
