/* ftp.h - the FTP control-channel session (RFC 959 + RFC 2428 + RFC 3659
 * subset), sans-IO: data connections are driver actions (conn.h).
 *
 * What it speaks (enough for curl, lftp and Python's ftplib):
 *   USER PASS QUIT SYST FEAT OPTS(UTF8 ON) NOOP HELP STAT(no argument)
 *   PWD/XPWD CWD/XCWD CDUP/XCUP TYPE(A, A N, I, L 8) MODE(S) STRU(F)
 *   PASV EPSV(EPSV ALL) LIST NLST RETR STOR REST SIZE MDTM DELE MKD/XMKD
 *   RMD/XRMD ABOR(outside a transfer) ALLO.
 * Refused on purpose: PORT and EPRT (502: active mode opens connections to
 * any address a client names, the FTP bounce attack); APPE and anything else
 * (502). REST before STOR is refused (554): uploads are atomic, not resumed.
 *
 * Before login only USER PASS QUIT SYST FEAT NOOP HELP and OPTS are answered
 * (530 otherwise; unknown commands are 502 either way).
 *
 * Access: a reference server on loopback. "anonymous" and "ftp" log in with
 * any password, other names are checked against the users table (--users);
 * every logged-in user, anonymous included, may read AND write (STOR, DELE,
 * MKD, RMD) anywhere under the root. Three failed logins: 421 and close.
 * Paths are resolved by fsroot (FSROOT_ALLOW_DOTDOT, never above the root);
 * whatever it refuses, hidden names included, is a plain 550.
 *
 * Transfers: every RETR/LIST/NLST/STOR needs a fresh PASV or EPSV (the
 * listener serves one data connection). TYPE A is accepted but data goes as
 * is (no LF -> CRLF conversion), so SIZE is the same in both types. Uploads
 * go to a hidden temp file renamed into place only after a clean end of the
 * data connection; a failed or aborted upload (or one whose control
 * connection is gone) is deleted, so a partial file is never visible.
 * A transfer blocks the session: commands sent meanwhile wait (no ABOR of a
 * running transfer).
 *
 * ctx->one_request is ignored: an FTP session is one client's whole visit.
 */
#ifndef SERVERMODELS_FTP_H
#define SERVERMODELS_FTP_H

#include <stddef.h>

#include "conn.h"

/* Longest command line, CRLF included; longer lines get 500 and are dropped. */
#define FTP_LINE_MAX 512
/* Longest user name / password in the users file. */
#define FTP_USER_MAX 64
#define FTP_PASS_MAX 128
/* Failed logins before the session is closed with 421. */
#define FTP_MAX_BAD_LOGINS 3

extern const struct proto ftp_proto;

/* The named users (--users FILE). One "name:password" per line; '#' starts
 * a comment line; blank lines are skipped; a trailing CR is ignored. The
 * password is everything after the first ':' (it may contain ':'). Names
 * are 1..FTP_USER_MAX bytes of [A-Za-z0-9._-], unique, and not "anonymous"
 * or "ftp" (those are always anonymous). */
struct ftp_users;

/* Loads a users file. NULL on error, with "path:line: reason" (or
 * "path: reason") in err. */
struct ftp_users *ftp_users_load(const char *path, char *err, size_t errlen);
void ftp_users_free(struct ftp_users *users);
/* True when name is in the table with that password (constant-time compare
 * of the password). users may be NULL (nobody). */
bool ftp_users_check(const struct ftp_users *users, const char *name, const char *pass);

#endif
