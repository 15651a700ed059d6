/* fsroot.h - the document root: safe path resolution, file opening, listings
 * and atomic uploads, shared by HTTP and FTP.
 *
 * Paths go through three steps, each refusing what it cannot vouch for:
 *   1. fsroot_decode   (HTTP only) percent-decoding of a URL path;
 *   2. fsroot_resolve  lexical: joins cwd and path into a canonical "/a/b"
 *                      (no ".", no "..", no empty or hidden components);
 *   3. fsroot_open ... on Linux, one openat2(RESOLVE_BENEATH |
 *                      RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) from the
 *                      root's fd; a path with a symlink on it (ELOOP), or
 *                      where openat2 is missing, goes to the walk: from the
 *                      root's directory fd one component at a time with
 *                      O_NOFOLLOW, resolving symlinks itself: a link whose
 *                      target stays inside the root is followed, one that
 *                      leaves it is refused. Both give the same answers.
 * Hidden names (any component starting with '.') are never resolved, opened
 * or listed; they are reported as not found.
 */
#ifndef SERVERMODELS_FSROOT_H
#define SERVERMODELS_FSROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Results (negative) of the fsroot_* functions; HTTP maps them as commented. */
enum fsroot_status {
    FSROOT_OK = 0,
    FSROOT_EBADPATH = -1,   /* bad %-escape, NUL, %2F, %5C, backslash, control byte: 400 */
    FSROOT_EFORBIDDEN = -2, /* leaves the root (.., symlink out) or permission denied: 403 */
    FSROOT_ENOTFOUND = -3,  /* missing, hidden, or neither a regular file nor a directory: 404 */
    FSROOT_ETOOLONG = -4,   /* longer than FSROOT_PATH_MAX (or a name over 255 bytes): 414 */
    FSROOT_EIO = -5,        /* anything else; errno tells: 500 */
};

/* Longest canonical path (bytes, with the NUL) the functions accept. */
#define FSROOT_PATH_MAX 4096
/* Longest single name. */
#define FSROOT_NAME_MAX 255

struct fsroot;
struct filecache;
struct filecache_limits;

/* Opens the root directory (keeps an O_DIRECTORY fd and its realpath) and
 * makes its open-file cache (filecache.h; set up lazily, per process).
 * NULL with errno set when dir is missing, unreadable or not a directory. */
struct fsroot *fsroot_new(const char *dir);
void fsroot_free(struct fsroot *root);
/* The root's canonical absolute path (realpath). */
const char *fsroot_path(const struct fsroot *root);
/* The root directory's fd (owned by the root). */
int fsroot_fd(const struct fsroot *root);
/* The root's open-file cache (what HTTP serves files through). */
struct filecache *fsroot_cache(const struct fsroot *root);
/* Another open-file cache of the root's files, with its own limits (NULL:
 * the defaults, as the root's own cache); filecache_free() it before the
 * root goes. For tests and comparisons. */
struct filecache *fsroot_cache_new(const struct fsroot *root, const struct filecache_limits *lim);
/* Whether fsroot_open resolves with openat2 (on: when the kernel has it,
 * the default) or always walks (off; for tests and comparisons). Returns
 * whether openat2 is now in use. Call before serving starts. */
bool fsroot_use_openat2(struct fsroot *root, bool on);

/* Percent-decodes the path part of a URL (in[0..len), no query) into out.
 * Refuses (FSROOT_EBADPATH) invalid escapes, %00 or a raw NUL, encoded '/' or
 * '\\' (%2F, %5C), a raw backslash and control bytes. The result is never
 * decoded again (so %252e stays the three bytes "%2e"). */
int fsroot_decode(const char *in, size_t len, char *out, size_t cap);

/* fsroot_resolve flags: FSROOT_ALLOW_DOTDOT lets ".." go up one level (FTP's
 * "CWD .."); going above the root is still refused. Without it, any ".."
 * component is refused (HTTP). */
#define FSROOT_ALLOW_DOTDOT 1

/* Joins cwd (a canonical path, e.g. "/" or "/pub") and path (decoded; an
 * absolute path starts at the root) into the canonical form "/a/b" ("/" for
 * the root itself). Purely lexical: touches no file. Returns FSROOT_OK or an
 * error: hidden component -> ENOTFOUND, ".." -> EFORBIDDEN (see flags),
 * backslash -> EBADPATH, too long -> ETOOLONG. */
int fsroot_resolve(const struct fsroot *root, const char *cwd, const char *path, int flags,
                   char *out, size_t cap);

/* Opens a canonical path read-only (O_CLOEXEC | O_NONBLOCK: regular files
 * ignore the latter). Only regular files and directories are opened.
 * Returns the fd (st filled by fstat) or an error. */
int fsroot_open(const struct fsroot *root, const char *path, struct stat *st);

/* fsroot_open by the walk, telling visit(arg, dirfd, name) before each
 * name is looked up in a directory (name "." for the root itself; after a
 * symlink the walk restarts at the root and tells again), and
 * visit(arg, fd, NULL) once the object is open, before its fstat. So the
 * open-file cache learns every directory and name the answer depended on,
 * and watches them before it reads anything. */
typedef void fsroot_visit_fn(void *arg, int fd, const char *name);
int fsroot_open_traced(const struct fsroot *root, const char *path, struct stat *st,
                       fsroot_visit_fn *visit, void *arg);

/* stat() of a canonical path, with the same rules as fsroot_open. */
int fsroot_stat(const struct fsroot *root, const char *path, struct stat *st);

/* One directory entry; st is lstat-like (a symlink is reported as a link). */
struct fsroot_entry {
    char name[FSROOT_NAME_MAX + 1];
    struct stat st;
};

/* Lists a directory without hidden entries, sorted by name (bytewise).
 * *out is malloc'ed (free() it; NULL when *n == 0). */
int fsroot_list(const struct fsroot *root, const char *path, struct fsroot_entry **out, size_t *n);

/* Opens the directory that contains the canonical path (following symlinks
 * inside the root) and copies the last name into leaf. Returns the directory
 * fd (close it) or an error; the root itself has no parent (EFORBIDDEN).
 * FTP builds DELE/MKD on it (unlinkat/mkdirat). */
int fsroot_open_parent(const struct fsroot *root, const char *path, char *leaf, size_t cap);

/* Atomic upload: data goes to a hidden temp file in the target's directory
 * (never served or listed, mode 0600 meanwhile) and is renamed over the
 * target by commit; abort deletes it. At the commit the file gets the mode
 * of the regular file it replaces (without setuid/setgid) and, when the
 * server runs as root, its owner and group too; a new file gets new_mode
 * (e.g. 0666 & ~umask). */
struct fsroot_upload {
    int dirfd;
    int fd; /* write the data here */
    mode_t new_mode;
    char tmp[32];
    char leaf[FSROOT_NAME_MAX + 1];
};
int fsroot_upload_begin(const struct fsroot *root, const char *path, mode_t new_mode,
                        struct fsroot_upload *u);
/* Sets the mode (and owner), renames the temp file into place; closes the
 * fds. FSROOT_OK or an error (the temp file is then deleted). */
int fsroot_upload_commit(struct fsroot_upload *u);
/* Deletes the temp file; closes the fds. */
void fsroot_upload_abort(struct fsroot_upload *u);

#endif
