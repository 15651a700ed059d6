/* ftp_users.h - the FTP users file (--users FILE): parsing, lookup and the
 * password check. The session (ftp.c) only asks ftp_users_check().
 *
 * Format: one "name:password" per line; '#' starts a comment line; blank
 * lines are skipped; a trailing CR is ignored. The password is everything
 * after the first ':' (it may contain ':'), 1..FTP_PASS_MAX bytes without
 * control characters. Names are 1..FTP_USER_MAX bytes of [A-Za-z0-9._-],
 * unique, and not "anonymous" or "ftp" (those are always anonymous). A
 * line longer than a name, a ':' and a password can be is refused.
 */
#ifndef SERVERMODELS_FTP_USERS_H
#define SERVERMODELS_FTP_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Longest user name / password in the users file. */
#define FTP_USER_MAX 64
#define FTP_PASS_MAX 128

struct ftp_users;

/* Loads a users file. NULL on error, with "path:line: reason" (or
 * "path: reason") in err. */
struct ftp_users *ftp_users_load(const char *path, char *err, size_t errlen);
/* The same from an open stream; name stands for the file in err. */
struct ftp_users *ftp_users_read(FILE *fp, const char *name, char *err, size_t errlen);
void ftp_users_free(struct ftp_users *users);
/* How many users the table holds (0 for NULL). */
size_t ftp_users_count(const struct ftp_users *users);

/* True when name is in the table with that password (constant-time compare
 * of the password). users may be NULL (nobody). */
bool ftp_users_check(const struct ftp_users *users, const char *name, const char *pass);

/* True for the names that always log in anonymously ("anonymous", "ftp",
 * any case). */
bool ftp_user_is_anonymous(const char *name);

#endif
