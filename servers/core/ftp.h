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
 * Access: "anonymous" and "ftp" log in with any password and may only read;
 * other names are checked against the users table (--users: crypt(3)
 * hashes, see ftp_users.h), whose "rw" users may also write (STOR, DELE,
 * MKD/XMKD, RMD/XRMD) anywhere under the root and "ro" users may not. A
 * write by anyone else gets "550 Permission denied.". The password of a
 * users-table name is hashed by the driver (ACT_OFFLOAD: tens of ms of CPU
 * that must not stall an event loop), and the 230 or 530 follows its
 * session_done; nothing else is read meanwhile. A failed PASS is
 * answered (530) only after an ACT_DELAY of ctx->login_delay_ms (none if
 * 0), and nothing else is read meanwhile; the third failure's 530 is
 * followed by the close. New files get 0666 & ~ctx->umask, new directories 0777 &
 * ~ctx->umask; a STOR over a file keeps its mode (and, as root, owner).
 * Paths are resolved by fsroot (FSROOT_ALLOW_DOTDOT, never above the root);
 * whatever it refuses, hidden names included, is a plain 550.
 *
 * Transfers: every RETR/LIST/NLST/STOR needs a fresh PASV or EPSV (the
 * listener serves one data connection). TYPE A is accepted but data goes as
 * is (no LF -> CRLF conversion), so SIZE is the same in both types. Uploads
 * go to a hidden temp file renamed into place only after a clean end of the
 * data connection; a failed or aborted upload (or one whose control
 * connection is gone) is deleted, so a partial file is never visible.
 * A transfer blocks the session: commands sent meanwhile are buffered and
 * answered after it, except that a QUIT or ABOR line arriving during the
 * transfer (or more command bytes than the input buffer holds) makes
 * session_abort_requested() true: the driver then fails the transfer
 * (426; an upload is deleted), and the QUIT (221, close) or ABOR (226)
 * is answered next.
 *
 * Timeouts (conn.h): PHASE_HEAD while part of a command line is buffered,
 * PHASE_IDLE otherwise; session_expire() queues "421 Timeout." and closes
 * (a transfer under way is dropped, an upload deleted), or closes at once
 * when a reply is still being written.
 *
 * ctx->one_request is ignored: an FTP session is one client's whole visit.
 *
 * The files: ftp_cmds.c (the commands, their table, and ftp_proto), ftp.c
 * (the session: the control connection, the data channel; it dispatches
 * through the table it is made with, ftp_cmd_table.h), ftp_session.h (their
 * shared state),
 * ftp_list.c (LIST/NLST lines), ftp_users.c (the users file), ftp_line.c
 * (Telnet line text: IAC, control bytes, quoting).
 */
#ifndef SERVERMODELS_FTP_H
#define SERVERMODELS_FTP_H

#include "conn.h"
#include "ftp_users.h" /* the users table that server_ctx.users points to */

/* Longest command line, CRLF included; longer lines get 500 and are dropped. */
#define FTP_LINE_MAX 512
/* Failed logins before the session is closed (after its 530). */
#define FTP_MAX_BAD_LOGINS 3
/* --login-delay's default: a failed PASS is answered this late (ACT_DELAY),
 * as vsftpd's delay_failed_login: guessing costs a second per try. */
#define FTP_BAD_LOGIN_DELAY_MS 1000

extern const struct proto ftp_proto;

#endif
