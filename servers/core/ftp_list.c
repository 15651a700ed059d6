/* ftp_list.c - LIST and NLST: the entries and their lines (see ftp_list.h). */
#include "ftp_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp_line.h"

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "Mon dd HH:MM" within six months of now, "Mon dd  yyyy" otherwise (UTC). */
static void ls_date(time_t t, time_t now, char *buf, size_t cap)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, cap, "Jan  1  1970");
        return;
    }
    const char *mon = months[tm.tm_mon % 12];
    if (t <= now + 3600 && now - t < 180L * 24 * 3600)
        snprintf(buf, cap, "%s %2d %02d:%02d", mon, tm.tm_mday, tm.tm_hour, tm.tm_min);
    else
        snprintf(buf, cap, "%s %2d  %4d", mon, tm.tm_mday, tm.tm_year + 1900);
}

/* "drwxr-xr-x": the type (directory or not) and the nine permission bits. */
static void ls_mode(mode_t m, char *s)
{
    static const char rwx[] = "rwxrwxrwx";
    s[0] = S_ISDIR(m) ? 'd' : '-';
    for (int i = 0; i < 9; i++)
        s[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
    s[10] = '\0';
}

size_t ftp_list_format(const char *name, const struct stat *st, enum ftp_list_style style,
                       time_t now, char *buf, size_t cap)
{
    if (ftp_has_ctl(name)) return 0;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) return 0;
    int n;
    if (style == FTP_LIST_NAMES) {
        n = snprintf(buf, cap, "%s\r\n", name);
    } else {
        char mode[11], date[32];
        ls_mode(st->st_mode, mode);
        ls_date(st->st_mtime, now, date, sizeof date);
        n = snprintf(buf, cap, "%s 1 ftp ftp %12lld %s %s\r\n", mode, (long long)st->st_size, date,
                     name);
    }
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The line for e, found in dir: a link is shown as what it points to, if
 * that is inside the root; 0 when e is not shown. */
static size_t entry_line(const struct fsroot *root, const char *dir, const struct fsroot_entry *e,
                         enum ftp_list_style style, char *buf, size_t cap)
{
    if (ftp_has_ctl(e->name)) return 0; /* before a link is followed */
    struct stat st = e->st;
    if (S_ISLNK(st.st_mode)) {
        char p[FSROOT_PATH_MAX];
        int n = snprintf(p, sizeof p, "%s/%s", strcmp(dir, "/") ? dir : "", e->name);
        if (n < 0 || (size_t)n >= sizeof p || fsroot_stat(root, p, &st) != FSROOT_OK) return 0;
    }
    return ftp_list_format(e->name, &st, style, time(NULL), buf, cap);
}

size_t ftp_listing_fill(struct ftp_listing *l, const struct fsroot *root, const char *dir,
                        enum ftp_list_style style, char *buf, size_t cap)
{
    size_t len = 0;
    while (l->next < l->n && cap - len >= FTP_LIST_LINE_MAX)
        len += entry_line(root, dir, &l->ents[l->next++], style, buf + len, cap - len);
    return len;
}

int ftp_listing_open(struct ftp_listing *l, const struct fsroot *root, char *path)
{
    l->ents = NULL;
    l->n = l->next = 0;
    struct stat st;
    int rc = fsroot_stat(root, path, &st);
    if (rc != FSROOT_OK) return rc;
    if (S_ISDIR(st.st_mode)) return fsroot_list(root, path, &l->ents, &l->n);
    char *slash = strrchr(path, '/');
    snprintf(l->one.name, sizeof l->one.name, "%s", slash + 1);
    l->one.st = st;
    l->ents = &l->one;
    l->n = 1;
    *(slash == path ? slash + 1 : slash) = '\0'; /* path: the directory */
    return FSROOT_OK;
}

void ftp_listing_close(struct ftp_listing *l)
{
    if (l->ents != &l->one) free(l->ents);
    l->ents = NULL;
    l->n = l->next = 0;
}
