/* reqheader.c - a scenario step's own HTTP request headers (see reqheader.h). */
#include "reqheader.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 tchar. */
static bool is_tchar(char ch)
{
    return isalnum((unsigned char)ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The headers loadgen sets itself, and what to use instead. */
static const char *reserved(const char *name, size_t len)
{
    static const struct {
        const char *name, *instead;
    } own[] = {
        {"Host", "use 'host = NAME'"},
        {"Content-Length", "loadgen frames the body: use body_size"},
        {"Transfer-Encoding", "loadgen frames the body: use body_size"},
        {"Connection", "use keepalive in [scenario]"},
        {"Expect", "loadgen sends bodies at once, without 100-continue"},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strlen(own[i].name) == len && strncasecmp(name, own[i].name, len) == 0)
            return own[i].instead;
    return NULL;
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* A field value: visible ASCII, obs-text (bytes >= 0x80), spaces, tabs. */
static bool value_ok(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return false;
    }
    return true;
}

int reqheader_add(struct lg_step *st, const char *line, char *why, size_t whylen)
{
    size_t nlen = 0;
    while (is_tchar(line[nlen]))
        nlen++;
    if (nlen == 0 || line[nlen] != ':') {
        snprintf(why, whylen,
                 nlen == 0 || !strchr(line, ':') ? "'%s' is not 'Name: value'"
                 : line[nlen + strspn(line + nlen, " \t")] == ':'
                     ? "'%s': no space between the name and ':' (RFC 9112)"
                     : "'%s': the name is not an HTTP token",
                 line);
        return -1;
    }
    const char *instead = reserved(line, nlen);
    if (instead) {
        snprintf(why, whylen, "%.*s is loadgen's own header: %s", (int)nlen, line, instead);
        return -1;
    }
    const char *v = line + nlen + 1;
    while (is_ows(*v))
        v++;
    size_t vlen = strlen(v);
    while (vlen && is_ows(v[vlen - 1]))
        vlen--;
    if (vlen == 0) {
        snprintf(why, whylen, "%.*s: empty value", (int)nlen, line);
        return -1;
    }
    if (!value_ok(v, vlen)) {
        snprintf(why, whylen, "%.*s: control characters (CR, LF, ...) are not allowed in a value",
                 (int)nlen, line);
        return -1;
    }
    if (st->nheaders == LG_HEADERS_MAX) {
        snprintf(why, whylen, "too many headers (at most %d per step)", LG_HEADERS_MAX);
        return -1;
    }
    size_t need = nlen + 2 + vlen + 1;
    if (need > sizeof st->headers - st->headers_len) {
        snprintf(why, whylen, "the step's headers are too long (at most %d bytes in all)",
                 LG_HEADERS_BYTES);
        return -1;
    }
    char *dst = st->headers + st->headers_len;
    snprintf(dst, need, "%.*s: %.*s", (int)nlen, line, (int)vlen, v);
    st->headers_len += need;
    st->nheaders++;
    return 0;
}

int reqheader_set_host(struct lg_step *st, const char *value, char *why, size_t whylen)
{
    /* uri-host [":" port]: reg-name, IPv4 or [IPv6] characters only. */
    size_t len = strlen(value);
    size_t ok = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789-._~!$&'()*+,;=:[]%");
    if (len == 0 || ok != len) {
        snprintf(why, whylen, "'%s' is not a host name, address or host:port", value);
        return -1;
    }
    if (len >= sizeof st->host) {
        snprintf(why, whylen, "too long (at most %zu characters)", sizeof st->host - 1);
        return -1;
    }
    memcpy(st->host, value, len + 1);
    return 0;
}

const char *reqheader_first(const struct lg_step *st)
{
    return st->nheaders ? st->headers : NULL;
}

const char *reqheader_next(const struct lg_step *st, const char *h)
{
    const char *n = h + strlen(h) + 1;
    return n < st->headers + st->headers_len ? n : NULL;
}
