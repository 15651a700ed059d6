/* ftp_line.c - the text of the FTP control connection (see ftp_line.h). */
#include "ftp_line.h"

#define TELNET_IAC 0xff
/* WILL, WONT, DO, DONT: IAC, the verb, then one option byte. */
#define TELNET_WILL 251
#define TELNET_DONT 254

bool ftp_has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
    return false;
}

void ftp_clean_line(const char *p, size_t n, char *out)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == TELNET_IAC && i + 1 < n) {
            unsigned char x = (unsigned char)p[i + 1];
            if (x == TELNET_IAC) {
                out[o++] = (char)TELNET_IAC;
                i++;
            } else {
                i += (x >= TELNET_WILL && x <= TELNET_DONT) ? 2 : 1;
            }
            continue;
        }
        out[o++] = c ? (char)c : '\x01';
    }
    out[o] = '\0';
}

void ftp_quote_path(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = path; *p && o + 2 < cap; p++) {
        if (*p == '"' || *p == '\xff') out[o++] = *p;
        out[o++] = *p;
    }
    out[o] = '\0';
}
