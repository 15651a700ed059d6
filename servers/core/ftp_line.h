/* ftp_line.h - the text of the FTP control connection: Telnet lines
 * (RFC 854) carrying RFC 959 commands and replies. Pure functions, shared
 * by the session (ftp.c, ftp_cmds.c), the listing (ftp_list.c) and the
 * users file (ftp_users.c).
 */
#ifndef SERVERMODELS_FTP_LINE_H
#define SERVERMODELS_FTP_LINE_H

#include <stdbool.h>
#include <stddef.h>

/* True when s holds a control byte (< 0x20 or 0x7f): such a name or
 * argument cannot travel on one line. */
bool ftp_has_ctl(const char *s);

/* Copies the line [p, p+n) into out (room for n + 1 bytes) without its
 * line end and without Telnet IAC sequences (IAC IP, IAC DM,
 * WILL/WONT/DO/DONT x; IAC IAC is 0xff). A NUL byte becomes a control
 * byte (0x01) that ftp_has_ctl() refuses. */
void ftp_clean_line(const char *p, size_t n, char *out);

/* Copies path into out (cap >= 1) for a reply in double quotes: each '"'
 * doubled (RFC 959 app. II) and each 0xff too (a lone 0xff is Telnet's IAC;
 * ftp_clean_line() undoes "\xff\xff" on input, found by fuzz_ftp). Stops
 * before a doubled byte would not fit. */
void ftp_quote_path(const char *path, char *out, size_t cap);

#endif
