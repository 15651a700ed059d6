/* fuzz_ftp.c - drives the FTP control-channel session (servers/core/ftp.c)
 * the way a model does, data channel included (performed in memory, as the
 * fake driver of tests/unit/server_ftp.c does), with fuzzer-chosen command
 * bytes, read chunk sizes, partial write sizes and data-action results, and
 * checks what any driver and any client rely on.
 *
 * Input: 12 control bytes, then the bytes the "client" sends.
 *   c[0]      flags: bit 0 access_log on (written to /dev/null),
 *                    bit 1 a users table (alice:secret rw, bob:p:w ro;
 *                          without it only anonymous, read-only, logins),
 *                    bit 2 fail ACT_WRITE number c[1] (result -1),
 *                    bit 3 a timeout passes (session_expire) instead of
 *                          wait number c[1] (an ACT_READ or TRANSFER_*),
 *                    bit 4 the client's next bytes (a read chunk) arrive
 *                          during each TRANSFER_* (drivers watch the
 *                          control connection): fed first, and the
 *                          transfer fails (-1) if abort_requested() says so
 *   c[1]      the action number for bits 2 and 3
 *   c[2..4]   read chunk sizes, cycled: c + 1 bytes (255: all the rest)
 *   c[5..6]   write sizes, cycled: >= 128 the whole action, else c + 1
 *             bytes plus an eighth of the action (bounds the steps)
 *   c[7..11]  data-action results, cycled, one byte per data action:
 *             OPEN_PASSIVE 0: -1, 1: port 0, 2: port 65536, else a port and
 *                          an IP picked by the high bits (IPv4, IPv6,
 *                          IPv4-mapped, a 45-byte IPv6);
 *             ACCEPT_DATA  < 16: -1, else 0;
 *             TRANSFER_OUT 0: -1, else a partial count as for writes;
 *             TRANSFER_IN  < 8: -1 (abort), < 40: 0 (EOF), else that many
 *                          bytes of the input written to the fd (at most
 *                          UPLOAD_MAX per transfer, then EOF).
 * EOF (a feed of 0 bytes) follows the last byte.
 *
 * The tree (made once under a mkdtemp root): files, a subdir, an upload/
 * dir, hidden files, symlinks in and out and a loop, a FIFO, names with
 * CR LF and with 0xff, and outside.txt beside the root. An input that
 * changed the tree (its names and inodes) gets the root's contents rebuilt
 * afterwards.
 *
 * Invariants (abort on violation):
 *   - no crash, UB or leak (the sanitizers), no fd leaked per input;
 *   - at most MAX_STEPS actions per input (no livelock);
 *   - ACT_READ means room: feed() consumes at least one byte of a non-empty
 *     slice right after it; no ACT_READ after EOF was fed; after a failed
 *     ACT_WRITE the next action is ACT_CLOSE;
 *   - actions are well formed: ACT_WRITE and TRANSFER_OUT ask for at least
 *     one byte, OPEN_PASSIVE gives room for an IPv6 address, ACCEPT_DATA
 *     only with a listener open, TRANSFER_* only on an accepted data
 *     connection, a RETR never asks for bytes past the end of its file;
 *   - the control output is FTP replies: it starts with 220, every line ends
 *     with CRLF and has no other control byte nor a lone 0xff (Telnet IAC
 *     goes doubled), every reply starts with ^[1-5][0-9][0-9][ -] and a
 *     multi-line one ends with "DDD "; a 150 is
 *     followed by 226, 425, 426, 451 or 421 (a timeout); nothing follows a
 *     221 or 421;
 *     nothing tells the size of the file outside the root;
 *   - a file sent (TRANSFER_OUT fd) is a read-only regular file inside the
 *     root, reached through no hidden name, and not the outside file; an
 *     upload fd is a hidden temp file in a directory of the root;
 *   - listings name no hidden entry;
 *   - the same input read and written whole gives the same replies (MDTM
 *     times aside): cutting the control stream must not change them (not
 *     checked with bits 3 and 4: there the cuts matter);
 *   - an expiry is answered "421 Timeout." (or nothing, with a reply still
 *     being written) and the close; session_phase() is IDLE or HEAD;
 *   - abort_requested() is only ever true during a transfer;
 *   - an upload aborted by the driver (TRANSFER_IN -1, or the session ending
 *     mid-transfer) leaves the tree as it was before it;
 *   - without a users table (anonymous logins only) the tree never changes;
 *   - after the session: no ".upload-*" temp file anywhere, nothing new
 *     beside the root, the outside and hidden files intact. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <crypt.h>

#include "conn.h"
#include "fsroot.h"
#include "ftp.h"
#include "fuzz_util.h"

#define CTRL 12
#define MAX_STEPS 100000
#define SINK_CAP (4u << 20)
#define BIG_SIZE 20000
#define OUTSIDE_SIZE 7777      /* no file under the root can have this size */
#define UPLOAD_MAX 4096        /* < OUTSIDE_SIZE */
#define TEMP_PREFIX ".upload-" /* fsroot_upload_begin's temp names */

/* Harness state made once (the fixture tree, the users table, a sink). */
static char base[300], rootdir[400];
static struct fsroot *root;
static struct ftp_users *users;
static FILE *devnull;
static struct stat outside_st;

#define AT(buf, rel) (snprintf(buf, sizeof buf, "%s/%s", base, rel), buf)

/* The root's contents, made again after an input changed them. */
static void build_tree(void)
{
    char p[600];
    static char big[BIG_SIZE];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    fz_write(AT(p, "root/a.txt"), "hello\n", 6);
    fz_write(AT(p, "root/empty.txt"), "", 0);
    fz_write(AT(p, "root/big.bin"), big, sizeof big);
    fz_write(AT(p, "root/.hidden"), "SECRET\n", 7);
    fz_mkdir(AT(p, "root/.hdir"));
    fz_write(AT(p, "root/.hdir/x.txt"), "SECRET\n", 7);
    fz_mkdir(AT(p, "root/sub"));
    fz_write(AT(p, "root/sub/inner.txt"), "inner\n", 6);
    fz_mkdir(AT(p, "root/sub/deep"));
    fz_mkdir(AT(p, "root/upload"));
    fz_mkdir(AT(p, "root/q\"uote"));
    fz_symlink("a.txt", AT(p, "root/link_in"));
    fz_symlink("sub", AT(p, "root/link_dir"));
    fz_symlink("../outside.txt", AT(p, "root/link_out"));
    fz_symlink("..", AT(p, "root/dir_out"));
    fz_symlink(".hidden", AT(p, "root/link_hidden"));
    char q[600];
    fz_symlink(AT(q, "outside.txt"), AT(p, "root/link_abs"));
    fz_symlink("loop", AT(p, "root/loop"));
    fz_write(AT(p, "root/sub/bad\r\nname"), "x\n", 2); /* no FTP line can carry it */
    fz_write(AT(p, "root/sub/iac\xffname"), "x\n", 2);
    FZ_CHECK(mkfifo(AT(p, "root/fifo"), 0644) == 0, "mkfifo: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0) FZ_CHECK(remove(path) == 0, "remove %s: %s", path, strerror(errno));
    return 0;
}

/* ---- tree snapshots ----------------------------------------------------- */

/* "relpath inode size ctime" of every entry under the root, sorted, each
 * ended by SEP (not '\n': a fixture's name holds one). */
#define SEP '\x01'
struct snap {
    char *buf;
    size_t len, cap;
};
static struct snap *snap_cur; /* nftw has no user pointer */
static size_t root_len;

static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    /* temp files are checked apart (no_temp_one): an upload under way has one */
    if (strncmp(path + ftw->base, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0) return 0;
    char line[4200];
    /* an inode number is reused once freed (STOR a.txt twice can give a.txt
     * its first inode back), so a file is also told by its size and ctime;
     * a directory's times change with any temp file made in it: not used */
    bool dir = S_ISDIR(st->st_mode);
    int n =
        snprintf(line, sizeof line, "%s %llu %lld %lld.%09ld%c", path + root_len,
                 (unsigned long long)st->st_ino, dir ? 0LL : (long long)st->st_size,
                 dir ? 0LL : (long long)st->st_ctim.tv_sec, dir ? 0L : st->st_ctim.tv_nsec, SEP);
    FZ_CHECK(n > 0 && (size_t)n < sizeof line, "path too long");
    struct snap *s = snap_cur;
    if (s->len + (size_t)n > s->cap) {
        s->cap = (s->cap + (size_t)n) * 2;
        s->buf = realloc(s->buf, s->cap);
        FZ_CHECK(s->buf != NULL, "out of memory");
    }
    memcpy(s->buf + s->len, line, (size_t)n);
    s->len += (size_t)n;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void snap_take(struct snap *s)
{
    s->len = 0;
    snap_cur = s;
    root_len = strlen(rootdir);
    FZ_CHECK(nftw(rootdir, snap_one, 16, FTW_PHYS) == 0, "walking the root");
    /* sort the lines (readdir order is no promise) */
    size_t n = 0;
    for (size_t i = 0; i < s->len; i++)
        n += s->buf[i] == SEP;
    char **v = malloc((n + 1) * sizeof *v);
    char *copy = malloc(s->len + 1);
    FZ_CHECK(v && copy, "out of memory");
    memcpy(copy, s->buf, s->len);
    copy[s->len] = '\0';
    size_t k = 0;
    for (char *t = strtok(copy, "\x01"); t; t = strtok(NULL, "\x01"))
        v[k++] = t;
    qsort(v, k, sizeof *v, cmp_str);
    s->len = 0;
    for (size_t i = 0; i < k; i++) {
        size_t l = strlen(v[i]);
        memcpy(s->buf + s->len, v[i], l);
        s->buf[s->len + l] = SEP;
        s->len += l + 1;
    }
    free(v);
    free(copy);
}

static void snap_same(const struct snap *before, const char *what)
{
    struct snap now = {0};
    snap_take(&now);
    bool same = now.len == before->len && memcmp(now.buf, before->buf, now.len) == 0;
    if (!same)
        fprintf(stderr, "before:\n%.*s\nafter:\n%.*s\n", (int)before->len, before->buf,
                (int)now.len, now.buf);
    free(now.buf);
    FZ_CHECK(same, "%s changed the tree", what);
}

static struct snap baseline; /* the tree as built */

/* Rebuilds the root's contents when an input changed them. */
static void reset_tree_if_changed(void)
{
    struct snap now = {0};
    snap_take(&now);
    bool same = now.len == baseline.len && memcmp(now.buf, baseline.buf, now.len) == 0;
    free(now.buf);
    if (same) return;
    FZ_CHECK(nftw(rootdir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "clearing the root");
    build_tree();
    snap_take(&baseline);
}

/* No upload temp file anywhere under the root. */
static int no_temp_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    FZ_CHECK(strncmp(path + ftw->base, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0,
             "upload temp file left: %s", path);
    return 0;
}

/* What lies outside the root and the hidden files are untouched. */
static void check_fixture_intact(void)
{
    FZ_CHECK(nftw(rootdir, no_temp_one, 16, FTW_PHYS) == 0, "walking the root");
    char p[600];
    struct stat st;
    FZ_CHECK(stat(AT(p, "outside.txt"), &st) == 0 && st.st_ino == outside_st.st_ino &&
                 st.st_size == OUTSIDE_SIZE && st.st_mtime == outside_st.st_mtime,
             "outside.txt changed");
    FZ_CHECK(stat(AT(p, "root/.hidden"), &st) == 0 && st.st_size == 7, ".hidden changed");
    FZ_CHECK(stat(AT(p, "root/.hdir/x.txt"), &st) == 0 && st.st_size == 7, ".hdir changed");
    /* nothing new beside the root: outside.txt, root, users */
    DIR *dir = opendir(base);
    FZ_CHECK(dir != NULL, "opendir %s", base);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(dir);
    FZ_CHECK(n == 3, "%d entries beside the root, not 3", n);
}

/* A SHA-512 crypt hash at the lowest cost (fast logins), in a static. */
static const char *cheap_hash(const char *pw)
{
    static struct crypt_data cd;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    FZ_CHECK(crypt_gensalt_rn("$6$", 1000, NULL, 0, salt, (int)sizeof salt) != NULL, "gensalt");
    const char *h = crypt_rn(pw, salt, &cd, (int)sizeof cd);
    FZ_CHECK(h != NULL, "crypt_rn");
    return h;
}

static void make_fixture(void)
{
    char p[600];
    FZ_CHECK(realpath(fz_scratch("ftp"), base) != NULL, "realpath");
    static char outside[OUTSIDE_SIZE];
    memset(outside, 'O', sizeof outside);
    fz_write(AT(p, "outside.txt"), outside, sizeof outside);
    FZ_CHECK(stat(p, &outside_st) == 0, "stat outside");
    char text[1024];
    int n = snprintf(text, sizeof text, "alice:%s:rw\n", cheap_hash("secret"));
    n += snprintf(text + n, sizeof text - (size_t)n, "bob:%s:ro\n", cheap_hash("p:w"));
    fz_write(AT(p, "users"), text, (size_t)n);
    char err[256];
    users = ftp_users_load(p, err, sizeof err);
    FZ_CHECK(users != NULL, "users: %s", err);
    fz_mkdir(AT(rootdir, "root"));
    build_tree();
    root = fsroot_new(rootdir);
    FZ_CHECK(root != NULL, "fsroot_new: %s", strerror(errno));
    snap_take(&baseline);
}

/* ---- output checks ------------------------------------------------------ */

struct sink {
    char *buf;
    size_t len, cap;
    bool overflow;
};

static void sink_put(struct sink *s, const void *p, size_t n)
{
    if (s->overflow || s->len + n > SINK_CAP) {
        s->overflow = true;
        return;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        FZ_CHECK(nb != NULL, "out of memory");
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static bool is_code(const char *l)
{
    return l[0] >= '1' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9' && l[2] >= '0' && l[2] <= '9';
}

/* The control output: replies, CRLF lines; complete: the session ended on
 * its own (no failed write cut it short). */
static void check_replies(const struct sink *s, bool complete)
{
    const char *b = s->buf;
    size_t len = s->len;
    if (len == 0) return;
    FZ_CHECK(len < 4 || memcmp(b, "220 ", 4) == 0, "no 220 greeting: %.*s",
             (int)(len < 80 ? len : 80), b);
    char multi[4] = ""; /* code of an open multi-line reply */
    bool in_xfer = false, ended = false;
    size_t pos = 0;
    while (pos < len) {
        const char *l = b + pos;
        size_t n = 0;
        while (pos + n < len && b[pos + n] != '\n')
            n++;
        if (pos + n == len) { /* an unfinished last line */
            FZ_CHECK(!complete, "reply line without CRLF: %.*s", (int)(n < 200 ? n : 200), l);
            break;
        }
        FZ_CHECK(n > 0 && l[n - 1] == '\r', "bare LF in a reply: %.*s", (int)(n < 200 ? n : 200),
                 l);
        for (size_t i = 0; i + 1 < n; i++) {
            FZ_CHECK((unsigned char)l[i] >= 0x20 && l[i] != 0x7f,
                     "control byte 0x%02x in a reply: %.*s", (unsigned)(unsigned char)l[i],
                     (int)(n < 200 ? n : 200), l);
            /* a 0xff byte is Telnet IAC: as data it goes doubled (RFC 854) */
            if ((unsigned char)l[i] == 0xff) {
                FZ_CHECK(i + 2 < n && (unsigned char)l[i + 1] == 0xff,
                         "Telnet IAC not doubled in a reply: %.*s", (int)(n < 200 ? n : 200), l);
                i++;
            }
        }
        if (multi[0]) {
            if (n >= 5 && memcmp(l, multi, 3) == 0 && l[3] == ' ') multi[0] = '\0';
        } else {
            FZ_CHECK(n >= 5 && is_code(l) && (l[3] == ' ' || l[3] == '-'), "not a reply: %.*s",
                     (int)(n < 200 ? n : 200), l);
            if (l[3] == '-') memcpy(multi, l, 3);
            FZ_CHECK(!ended, "a reply after 221/421: %.*s", (int)(n < 200 ? n : 200), l);
            /* a 150 is answered by the transfer's end, before anything else */
            if (in_xfer)
                FZ_CHECK(memcmp(l, "226 ", 4) == 0 || memcmp(l, "425 ", 4) == 0 ||
                             memcmp(l, "426 ", 4) == 0 || memcmp(l, "451 ", 4) == 0 ||
                             memcmp(l, "421 ", 4) == 0,
                         "after a 150: %.*s", (int)(n < 200 ? n : 200), l);
            in_xfer = memcmp(l, "150 ", 4) == 0;
            ended = memcmp(l, "221 ", 4) == 0 || memcmp(l, "421 ", 4) == 0;
            /* nothing about the file outside the root: its size is unique */
            FZ_CHECK(!(n == 10 && memcmp(l, "213 7777\r", 9) == 0), "outside file's size told");
        }
        pos += n + 1;
    }
    FZ_CHECK(!complete || !multi[0], "multi-line reply %s not ended", multi);
}

/* A listing (the bytes of one LIST/NLST transfer): no hidden name. A LIST
 * line is "mode 1 ftp ftp size(12) date(12) name", the name at column 47;
 * an NLST line is the name. */
static void check_listing(const char *b, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const char *l = b + pos;
        const char *e = memchr(l, '\n', len - pos);
        if (!e) break; /* cut short by a failed transfer */
        size_t n = (size_t)(e - l) + 1;
        FZ_CHECK(n >= 3 && l[n - 2] == '\r', "listing line without CRLF: %.*s", (int)n, l);
        bool ls = n > 49 && (l[0] == '-' || l[0] == 'd') && memcmp(l + 10, " 1 ftp ftp ", 11) == 0;
        const char *name = ls ? l + 47 : l;
        FZ_CHECK(name[0] != '.', "hidden name listed: %.*s", (int)n, l);
        pos += n;
    }
}

/* ---- the fd checks ------------------------------------------------------ */

/* The path an fd was opened as (via /proc), into p. */
static void fd_path(int fd, char *p, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, p, cap - 1);
    FZ_CHECK(n > 0, "readlink %s: %s", link, strerror(errno));
    p[n] = '\0';
}

/* Is path under the root, through no hidden name (the last one aside when
 * last_hidden)? */
static bool inside(const char *path, bool last_hidden)
{
    size_t rl = strlen(rootdir);
    if (strncmp(path, rootdir, rl) != 0 || path[rl] != '/') return false;
    const char *last = strrchr(path, '/') + 1;
    for (const char *c = path + rl; c; c = strchr(c + 1, '/'))
        if (c[1] == '.' && !(last_hidden && c + 1 == last)) return false;
    return true;
}

/* A file RETR sends. */
static void check_send_fd(const struct action *a)
{
    struct stat st;
    FZ_CHECK(fstat(a->fd, &st) == 0, "TRANSFER_OUT fd %d: %s", a->fd, strerror(errno));
    FZ_CHECK(S_ISREG(st.st_mode), "TRANSFER_OUT of a non-regular file");
    FZ_CHECK(!(st.st_dev == outside_st.st_dev && st.st_ino == outside_st.st_ino),
             "the outside file is sent");
    FZ_CHECK((fcntl(a->fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "a file sent is open for writing");
    char p[4200];
    fd_path(a->fd, p, sizeof p);
    FZ_CHECK(inside(p, false), "a file sent is not a visible file of the root: %s", p);
    FZ_CHECK(a->count > 0 && a->off >= 0 && a->off + (off_t)a->count <= st.st_size,
             "TRANSFER_OUT past the end: off %lld count %zu size %lld", (long long)a->off, a->count,
             (long long)st.st_size);
}

/* The temp file an upload writes. */
static void check_upload_fd(int fd)
{
    struct stat st;
    FZ_CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "bad TRANSFER_IN fd %d", fd);
    FZ_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY, "upload fd is read-only");
    char p[4200];
    fd_path(fd, p, sizeof p);
    const char *leaf = strrchr(p, '/') + 1;
    FZ_CHECK(inside(p, true) && strncmp(leaf, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0,
             "upload fd is not a temp file of the root: %s", p);
}

/* ---- the driver --------------------------------------------------------- */

/* Bytes to read or write now (as fuzz_http.c). */
static size_t pick(unsigned v, size_t want, bool read)
{
    size_t n = read ? (v == 255 ? want : v + 1) : (v >= 128 ? want : v + 1 + want / 8);
    return n < want ? n : want;
}

struct drive {
    const uint8_t *in;
    size_t inlen, pos; /* pos: bytes fed so far */
    struct fz_cycle rd, wr, dat;
    bool fail_write, expire, mid_feed;
    unsigned fail_at, waits;
    /* the data channel as the driver sees it */
    bool listener, conn;
    bool upload_seen;    /* a TRANSFER_IN since the last CLOSE_DATA */
    bool upload_pending; /* ... and no end (0 or -1) given to it yet */
    size_t upload_bytes;
    struct sink ctrl, data;
    struct snap before_upload;
};

/* Bit 4: the next read chunk arrives during a transfer. True when the
 * session then asks for the transfer to be stopped. */
static bool mid_transfer_feed(struct drive *d, struct session *s)
{
    if (!d->mid_feed || d->pos == d->inlen) return false;
    FZ_CHECK(!session_abort_requested(s), "abort_requested before the bytes came");
    size_t n = d->rd.n ? pick(fz_next(&d->rd), d->inlen - d->pos, true) : d->inlen - d->pos;
    size_t k = session_feed(s, d->in + d->pos, n);
    FZ_CHECK(k <= n, "feed consumed %zu of %zu", k, n);
    d->pos += k;
    /* a session that cannot take more must stop the transfer, or the
     * driver would be left with bytes it can never feed */
    FZ_CHECK(k == n || session_abort_requested(s), "input refused during a transfer");
    return session_abort_requested(s);
}

static void do_open(struct drive *d, struct session *s, struct action *a)
{
    static const char *const ips[] = {"127.0.0.1", "::1", "::ffff:10.1.2.3",
                                      "fedc:ba98:7654:3210:fedc:ba98:7654:3210:1234"};
    FZ_CHECK(a->ip_out != NULL && a->ip_out_len >= 46, "OPEN_PASSIVE without room for an IP");
    unsigned v = fz_next(&d->dat);
    snprintf(a->ip_out, a->ip_out_len, "%s", ips[(v >> 6) & 3]);
    ssize_t port = v == 0 ? -1 : v == 1 ? 0 : v == 2 ? 65536 : 1024 + (ssize_t)v * 7;
    d->listener = port > 0 && port <= 65535;
    d->conn = false;
    session_done(s, a, port);
}

static void do_accept(struct drive *d, struct session *s, struct action *a)
{
    FZ_CHECK(d->listener, "ACCEPT_DATA without a listener");
    d->listener = false;
    d->data.len = 0;
    bool ok = fz_next(&d->dat) >= 16;
    d->conn = ok;
    session_done(s, a, ok ? 0 : -1);
}

static void do_out(struct drive *d, struct session *s, struct action *a)
{
    FZ_CHECK(d->conn, "TRANSFER_OUT without a data connection");
    unsigned v = fz_next(&d->dat);
    static char tmp[65536];
    if (a->fd >= 0)
        check_send_fd(a);
    else
        FZ_CHECK(a->buf != NULL && a->len > 0, "empty TRANSFER_OUT");
    if (v == 0 || mid_transfer_feed(d, s)) {
        session_done(s, a, -1);
        return;
    }
    size_t want = a->fd >= 0 ? a->count : a->len;
    size_t n = pick(v, want, false);
    if (a->fd >= 0) {
        if (n > sizeof tmp) n = sizeof tmp;
        ssize_t r = pread(a->fd, tmp, n, a->off);
        FZ_CHECK(r > 0, "pread of the TRANSFER_OUT fd: %zd", r);
        n = (size_t)r;
    } else {
        sink_put(&d->data, a->buf, n);
    }
    session_done(s, a, (ssize_t)n);
}

static void do_in(struct drive *d, struct session *s, struct action *a)
{
    FZ_CHECK(d->conn, "TRANSFER_IN without a data connection");
    check_upload_fd(a->fd);
    if (!d->upload_seen) {
        d->upload_seen = d->upload_pending = true;
        d->upload_bytes = 0;
        snap_take(&d->before_upload);
    }
    unsigned v = fz_next(&d->dat);
    if (v < 8 || mid_transfer_feed(d, s)) {
        d->upload_pending = false;
        session_done(s, a, -1);
        snap_same(&d->before_upload, "an aborted upload");
        return;
    }
    if (v < 40 || d->upload_bytes >= UPLOAD_MAX || d->inlen == 0) {
        d->upload_pending = false;
        session_done(s, a, 0);
        return;
    }
    size_t n = v;
    if (n > UPLOAD_MAX - d->upload_bytes) n = UPLOAD_MAX - d->upload_bytes;
    if (n > d->inlen) n = d->inlen;
    FZ_CHECK(write(a->fd, d->in, n) == (ssize_t)n, "write to the upload fd: %s", strerror(errno));
    d->upload_bytes += n;
    session_done(s, a, (ssize_t)n);
}

static void do_close_data(struct drive *d, struct session *s, struct action *a)
{
    if (d->conn && d->data.len) check_listing(d->data.buf, d->data.len);
    d->data.len = 0;
    d->listener = d->conn = false;
    d->upload_seen = false;
    session_done(s, a, 0);
}

/* Bit 3: a timeout passes instead of the action a: "421 Timeout." (unless
 * a reply is still being written) and the close; a transfer is dropped. */
static void expire_now(struct drive *d, struct session *s)
{
    enum session_phase ph = session_phase(s);
    FZ_CHECK(ph == PHASE_IDLE || ph == PHASE_HEAD, "FTP phase %d", (int)ph);
    size_t before = d->ctrl.len;
    session_expire(s);
    for (unsigned steps = 0;; steps++) {
        FZ_CHECK(steps < MAX_STEPS, "no close after an expiry");
        struct action a;
        memset(&a, 0, sizeof a);
        session_next(s, &a);
        if (a.kind == ACT_CLOSE) break;
        FZ_CHECK(a.kind == ACT_WRITE && a.len > 0, "action %d after an expiry", (int)a.kind);
        sink_put(&d->ctrl, a.buf, a.len);
        session_done(s, &a, (ssize_t)a.len);
    }
    size_t n = d->ctrl.len - before;
    FZ_CHECK(d->ctrl.overflow || n == 0 ||
                 (n == 14 && memcmp(d->ctrl.buf + before, "421 Timeout.\r\n", 14) == 0),
             "an expiry said %.*s", (int)(n < 200 ? n : 200), d->ctrl.buf + before);
}

/* Runs one session over d->in. Returns true when it ended on its own. */
static bool run(const struct server_ctx *ctx, struct drive *d)
{
    struct session *s = session_new(&ftp_proto, ctx, "127.0.0.1:4242");
    FZ_CHECK(s != NULL, "session_new");
    size_t writes = 0;
    bool eof = false, failed = false;
    for (unsigned steps = 0;; steps++) {
        FZ_CHECK(steps < MAX_STEPS, "no end after %u actions", steps);
        struct action a;
        memset(&a, 0, sizeof a);
        a.fd = -1;
        session_next(s, &a);
        if (failed) FZ_CHECK(a.kind == ACT_CLOSE, "action %d after a failed write", (int)a.kind);
        bool waits = a.kind == ACT_READ || a.kind == ACT_TRANSFER_IN || a.kind == ACT_TRANSFER_OUT;
        if (a.kind != ACT_TRANSFER_IN && a.kind != ACT_TRANSFER_OUT)
            FZ_CHECK(!session_abort_requested(s), "abort_requested outside a transfer");
        if (waits && d->expire && d->waits++ == d->fail_at) {
            expire_now(d, s);
            break;
        }
        switch (a.kind) {
        case ACT_CLOSE:
            break;
        case ACT_READ: {
            FZ_CHECK(!eof, "ACT_READ after EOF");
            if (d->pos == d->inlen) {
                FZ_CHECK(session_feed(s, "", 0) == 0, "EOF feed consumed bytes");
                eof = true;
                continue;
            }
            size_t left = d->inlen - d->pos;
            size_t n = d->rd.n ? pick(fz_next(&d->rd), left, true) : left;
            size_t k = session_feed(s, d->in + d->pos, n);
            FZ_CHECK(k <= n, "feed consumed %zu of %zu", k, n);
            FZ_CHECK(k > 0, "ACT_READ, then feed of %zu bytes consumed none", n);
            d->pos += k;
            continue;
        }
        case ACT_WRITE: {
            FZ_CHECK(a.buf != NULL && a.len > 0, "empty ACT_WRITE");
            if (d->fail_write && writes++ == d->fail_at) {
                session_done(s, &a, -1);
                failed = true;
                continue;
            }
            size_t n = d->wr.n ? pick(fz_next(&d->wr), a.len, false) : a.len;
            sink_put(&d->ctrl, a.buf, n);
            session_done(s, &a, (ssize_t)n);
            continue;
        }
        case ACT_OPEN_PASSIVE:
            do_open(d, s, &a);
            continue;
        case ACT_ACCEPT_DATA:
            do_accept(d, s, &a);
            continue;
        case ACT_TRANSFER_OUT:
            do_out(d, s, &a);
            continue;
        case ACT_TRANSFER_IN:
            do_in(d, s, &a);
            continue;
        case ACT_CLOSE_DATA:
            do_close_data(d, s, &a);
            continue;
        case ACT_DELAY:
            FZ_CHECK(a.delay_ms > 0, "ACT_DELAY of 0 ms");
            session_done(s, &a, 0);
            continue;
        case ACT_OFFLOAD:
            FZ_CHECK(a.job != NULL, "ACT_OFFLOAD without a job");
            a.job(a.job_arg);
            session_done(s, &a, 0);
            continue;
        default:
            FZ_CHECK(false, "unknown action %d", (int)a.kind);
        }
        break;
    }
    session_free(s);
    /* the session ended mid-upload: the temp file goes, nothing else moves */
    if (d->upload_pending) snap_same(&d->before_upload, "an upload cut short");
    return !failed;
}

/* MDTM answers of a tree rebuilt between two runs may differ: blanked. */
static void normalise(struct sink *o)
{
    for (size_t i = 0; i + 20 <= o->len; i++) {
        if (memcmp(o->buf + i, "213 ", 4) != 0 || memcmp(o->buf + i + 18, "\r\n", 2) != 0) continue;
        bool digits = true;
        for (size_t k = 4; k < 18; k++)
            digits &= o->buf[i + k] >= '0' && o->buf[i + k] <= '9';
        if (digits) memset(o->buf + i + 4, 'T', 14);
    }
}

/* One run: the session, then the checks after it. */
static void run_checked(const struct server_ctx *ctx, struct drive *d)
{
    FILE *saved_stderr = stderr;
    if (ctx->access_log) stderr = devnull; /* the log goes to stderr: silence it */
    bool complete = run(ctx, d);
    stderr = saved_stderr;
    fz_fds_check("ftp session");
    if (getenv("FUZZ_FTP_TRACE")) /* to see what a seed does */
        fprintf(stderr, "%.*s----\n", (int)d->ctrl.len, d->ctrl.buf);
    if (!d->ctrl.overflow) check_replies(&d->ctrl, complete);
    check_fixture_intact();
    if (!ctx->users) snap_same(&baseline, "an anonymous session");
    reset_tree_if_changed();
}

static void drive_free(struct drive *d)
{
    free(d->ctrl.buf);
    free(d->data.buf);
    free(d->before_upload.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root) {
        make_fixture();
        devnull = fopen("/dev/null", "w");
        FZ_CHECK(devnull != NULL, "/dev/null");
        fz_fds_snapshot();
    }
    if (size < CTRL) return 0;
    struct server_ctx ctx = {.root = root,
                             .access_log = data[0] & 1,
                             .users = (data[0] & 2) ? users : NULL,
                             .login_delay_ms = (data[0] & 32) ? 0 : FTP_BAD_LOGIN_DELAY_MS};
    struct drive d = {.in = data + CTRL,
                      .inlen = size - CTRL,
                      .rd = {data + 2, 3, 0},
                      .wr = {data + 5, 2, 0},
                      .dat = {data + 7, 5, 0},
                      .fail_write = data[0] & 4,
                      .expire = data[0] & 8,
                      .mid_feed = data[0] & 16,
                      .fail_at = data[1]};
    run_checked(&ctx, &d);
    /* The same input read and written whole (same data results): the
     * replies must not depend on how the control stream was cut. */
    if (!d.fail_write && !d.expire && !d.mid_feed && !d.ctrl.overflow) {
        struct drive w = {.in = d.in, .inlen = d.inlen, .dat = {data + 7, 5, 0}};
        run_checked(&ctx, &w);
        normalise(&d.ctrl);
        normalise(&w.ctrl);
        FZ_CHECK(d.ctrl.len == w.ctrl.len &&
                     (!d.ctrl.len || memcmp(d.ctrl.buf, w.ctrl.buf, d.ctrl.len) == 0),
                 "replies depend on the read/write sizes: %zu bytes cut, %zu whole:\n%.*s\n"
                 "----\n%.*s",
                 d.ctrl.len, w.ctrl.len, (int)(d.ctrl.len < 3000 ? d.ctrl.len : 3000), d.ctrl.buf,
                 (int)(w.ctrl.len < 3000 ? w.ctrl.len : 3000), w.ctrl.buf);
        drive_free(&w);
    }
    drive_free(&d);
    return 0;
}
