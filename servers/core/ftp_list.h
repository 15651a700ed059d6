/* ftp_list.h - what LIST and NLST send on the data connection: which
 * entries a path lists, and the line each one gets.
 *
 * LIST lines look like ls -l (as vsftpd writes them, times in UTC):
 *   "drwxr-xr-x 1 ftp ftp         4096 Mar  5 14:02 name\r\n"
 *   "-rw-r--r-- 1 ftp ftp       123456 Mar  5  2019 name\r\n"
 * with "HH:MM" for a time within six months of now, the year otherwise.
 * NLST lines are the name alone. Only regular files and directories are
 * shown; a symlink is shown as what it points to when that is inside the
 * root; a name holding a control byte is not shown (no line can carry it).
 */
#ifndef SERVERMODELS_FTP_LIST_H
#define SERVERMODELS_FTP_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "fsroot.h"

/* The longest line either style produces, CRLF included. */
#define FTP_LIST_LINE_MAX (FSROOT_NAME_MAX + 128)

enum ftp_list_style {
    FTP_LIST_LONG,  /* LIST */
    FTP_LIST_NAMES, /* NLST */
};

/* The entries one LIST/NLST walks through. */
struct ftp_listing {
    struct fsroot_entry *ents; /* fsroot_list's array, or &one */
    struct fsroot_entry one;   /* the listing of a single file */
    size_t n, next;
};

/* Opens the listing of the canonical path (l is overwritten): a
 * directory's entries, or else a file's own entry, and then path is cut
 * to its directory (where a link is resolved, and what the access log
 * names). FSROOT_OK or the fsroot error (l then lists nothing). */
int ftp_listing_open(struct ftp_listing *l, const struct fsroot *root, char *path);

/* Formats the next entries of l, found in the directory dir, into buf
 * while another longest line fits in cap (at least FTP_LIST_LINE_MAX).
 * Returns the bytes written: 0 only once every entry has been through. */
size_t ftp_listing_fill(struct ftp_listing *l, const struct fsroot *root, const char *dir,
                        enum ftp_list_style style, char *buf, size_t cap);

/* Frees what l holds; l then lists nothing. */
void ftp_listing_close(struct ftp_listing *l);

/* The line for an entry called name whose (followed) status is st, dated
 * against now, into buf (NUL-terminated). Returns its length, or 0 when
 * the entry is not shown or the line does not fit. */
size_t ftp_list_format(const char *name, const struct stat *st, enum ftp_list_style style,
                       time_t now, char *buf, size_t cap);

#endif
