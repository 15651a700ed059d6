/* ftp_cmd_table.h - an entry of the FTP command table: verb -> handler, and
 * what the session checks before calling it. ftp_cmds.c holds the table
 * (and the handlers, which act through ftp_session.h) and hands it to each
 * new session (ftp_session_new); ftp.c dispatches each line through the
 * table it was handed and calls nothing of ftp_cmds.c. Private to
 * servers/core.
 */
#ifndef SERVERMODELS_FTP_CMD_TABLE_H
#define SERVERMODELS_FTP_CMD_TABLE_H

struct ftp;

#define FTP_CMD_NOLOGIN 1 /* allowed before login */
#define FTP_CMD_WRITES 2  /* changes the tree: rw users only (550 for the others) */

/* A verb as the table holds it: upper case, zero-padded to this width. */
#define FTP_VERB_SIZE 5

struct ftp_command {
    char name[FTP_VERB_SIZE];
    unsigned flags;
    /* answers the command; arg: the rest of the line, control bytes refused */
    void (*fn)(struct ftp *, const char *arg);
};

#endif
