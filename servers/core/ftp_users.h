/* ftp_users.h - the FTP users file (--users FILE): parsing, lookup and the
 * password check against crypt(3) hashes (libcrypt), and the hash maker
 * behind `refserver hash-password`. The session (ftp_cmds.c) only asks
 * ftp_users_check().
 *
 * Format: one "name:hash:access" line per user, as /etc/shadow keeps them:
 *   name    1..FTP_USER_MAX bytes of [A-Za-z0-9._-], unique, and not
 *           "anonymous" or "ftp" (those are always the read-only anonymous
 *           login);
 *   hash    a crypt(3) hash of a scheme libcrypt calls current (yescrypt
 *           "$y$", gost-yescrypt "$gy$", scrypt "$7$", bcrypt "$2b$",
 *           SHA-512 "$6$"), complete (salt and hash); a plaintext password
 *           (no leading '$'), DES, MD5 "$1$", SHA-256 "$5$" and any scheme
 *           libcrypt does not know are refused;
 *   access  "rw" (may upload, delete, make and remove directories) or "ro".
 * '#' starts a comment line; blank lines are skipped; a trailing CR is
 * ignored. An error names the line: "FILE:LINE: reason".
 */
#ifndef SERVERMODELS_FTP_USERS_H
#define SERVERMODELS_FTP_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Longest user name in the users file. */
#define FTP_USER_MAX 64
/* Longest password checked (longer ones fail, after the same work). */
#define FTP_PASS_MAX 128
/* Longest hash (libcrypt's CRYPT_OUTPUT_SIZE is 384, with the NUL). */
#define FTP_HASH_MAX 383

struct ftp_users;

/* Loads a users file. NULL on error, with "path:line: reason" (or
 * "path: reason") in err. Each hash is tried once (a wrong one is refused
 * now, not at the first login): a few milliseconds per user. */
struct ftp_users *ftp_users_load(const char *path, char *err, size_t errlen);
/* The same from an open stream; name stands for the file in err. */
struct ftp_users *ftp_users_read(FILE *fp, const char *name, char *err, size_t errlen);
void ftp_users_free(struct ftp_users *users);
/* How many users the table holds (0 for NULL). */
size_t ftp_users_count(const struct ftp_users *users);

/* True when name is in the table and pass hashes to its hash; *may_write
 * (if not NULL) then tells its access. An unknown name costs one hash too
 * (with the first user's settings) and the result is compared in constant
 * time, so the answer's timing tells little. users may be NULL (nobody).
 * Thread-safe (crypt_rn with per-call data). */
bool ftp_users_check(const struct ftp_users *users, const char *name, const char *pass,
                     bool *may_write);

/* True for the names that always log in anonymously ("anonymous", "ftp",
 * any case). */
bool ftp_user_is_anonymous(const char *name);

/* A new hash of pass in out (cap >= FTP_HASH_MAX + 1): yescrypt at
 * libcrypt's default cost, or SHA-512 crypt where yescrypt is missing.
 * 0, or -1 with errno set. */
int ftp_hash_password(const char *pass, char *out, size_t cap);

/* `refserver hash-password`: reads one password line from in (its line end
 * dropped; no echo control, so pipe it), writes its hash and a newline to
 * out. Returns the exit status (0, or 1 with a message on err). */
int ftp_hash_password_main(FILE *in, FILE *out, FILE *err);

#endif
