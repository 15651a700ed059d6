/* fuzz_http.c - drives the HTTP/1.1 session (servers/core/http.c) the way a
 * model does, with fuzzer-chosen input bytes, read chunk sizes and partial
 * write sizes, and checks what any driver relies on.
 *
 * Input: 8 control bytes, then the bytes the "client" sends.
 *   c[0]      flags: bit 0 one_request (the iterative model),
 *                    bit 1 fail the I/O of action number c[7] (result -1),
 *                    bit 2 access_log on (written to /dev/null),
 *                    bit 3 the first ACT_SENDFILE from action c[7] on
 *                          reports 0 (the file shrank),
 *                    bit 4 a timeout passes (session_expire) instead of
 *                          ACT_READ number c[7]
 *   c[1..4]   read chunk sizes, cycled: c + 1 bytes (255: all the rest)
 *   c[5..6]   write sizes, cycled: >= 128 the whole action, else c + 1
 *             bytes plus an eighth of the action (bounds the steps)
 *   c[7]      the action number for bits 1 and 3
 * EOF (a feed of 0 bytes) follows the last byte.
 *
 * Invariants (abort on violation):
 *   - no crash, UB or leak (the sanitizers), no fd leaked per input (once
 *     the open-file cache is flushed: its fds are kept on purpose);
 *   - at most MAX_STEPS actions per input (no livelock);
 *   - ACT_READ means room: feed() consumes at least one byte of a non-empty
 *     slice right after it; no ACT_READ after EOF was fed;
 *   - ACT_WRITE / ACT_SENDFILE ask for at least one byte of a valid buffer/fd;
 *   - session_phase() is PHASE_HEAD exactly when part of a request head is
 *     buffered (not checked: the session's own business), and an expiry
 *     in PHASE_HEAD answers 408 with "Connection: close" and closes, in
 *     another phase closes with nothing more said;
 *   - after a failed I/O or a short file the next action is ACT_CLOSE;
 *   - the output is a sequence of answers "HTTP/1.1 DDD ...", each with one
 *     Content-Length (1xx aside) and a known status (500 = a bug here), and
 *     nothing follows an answer that says "Connection: close";
 *   - the same input read and written whole gives the same answers (Date,
 *     /time and interim 100 Continue aside): cutting must not change them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "filecache.h"
#include "fsroot.h"
#include "fuzz_util.h"
#include "http.h"

#define CTRL 8
#define MAX_STEPS 100000
#define SINK_CAP (16u << 20)
#define BIG_SIZE 20000 /* above HTTP_INLINE_MAX: goes out as ACT_SENDFILE */

/* Harness state made once (the fixture root, the access log's sink). */
static struct fsroot *root;
static FILE *devnull;

static void make_root(void)
{
    const char *d = fz_scratch("http");
    char p[512], q[512];
#define AT(rel) (snprintf(p, sizeof p, "%s/%s", d, rel), p)
    fz_write(AT("outside.txt"), "outside\n", 8);
    fz_mkdir(AT("root"));
    fz_write(AT("root/index.html"), "<h1>home</h1>\n", 14);
    fz_write(AT("root/a.txt"), "hello\n", 6);
    fz_write(AT("root/empty.txt"), "", 0);
    fz_write(AT("root/style.css"), "p{}\n", 4);
    static char big[BIG_SIZE];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    fz_write(AT("root/big.bin"), big, sizeof big);
    fz_write(AT("root/.hidden"), "secret\n", 7);
    fz_mkdir(AT("root/.hdir"));
    fz_write(AT("root/.hdir/x.txt"), "secret\n", 7);
    fz_mkdir(AT("root/sub"));
    fz_write(AT("root/sub/index.html"), "<p>sub</p>\n", 11);
    fz_write(AT("root/sub/page.json"), "{}\n", 3);
    fz_mkdir(AT("root/noindex"));
    fz_write(AT("root/noindex/f.txt"), "f\n", 2);
    fz_mkdir(AT("root/dirindex"));
    fz_mkdir(AT("root/dirindex/index.html")); /* a directory named index.html */
    fz_symlink("a.txt", AT("root/link_in"));
    fz_symlink("sub", AT("root/link_dir"));
    fz_symlink("../outside.txt", AT("root/link_out"));
    snprintf(q, sizeof q, "%s/outside.txt", d);
    fz_symlink(q, AT("root/link_abs"));
    fz_symlink("loop", AT("root/loop"));
    fz_symlink(".hidden", AT("root/link_hidden"));
    FZ_CHECK(mkfifo(AT("root/fifo"), 0644) == 0, "mkfifo: %s", strerror(errno));
    root = fsroot_new(AT("root"));
    FZ_CHECK(root != NULL, "fsroot_new: %s", strerror(errno));
#undef AT
}

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
    if (s->len + n > s->cap) { /* grow geometrically: few reallocs per input */
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

static bool known_status(int st)
{
    static const int ok[] = {100, 200, 301, 400, 403, 404, 405, 408, 413, 414, 431, 501, 505};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i] == st) return true;
    return false;
}

static const char *find(const char *h, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(h + i, lit, l) == 0) return h + i;
    return NULL;
}

/* One answer's head at out[pos..]: false when it is not a valid one;
 * else *hend (end of the head), *clen (-1: none), *close. */
static bool parse_answer(const char *out, size_t len, size_t pos, size_t *hend, long *clen,
                         bool *close, int *status)
{
    const char *b = out + pos;
    size_t n = len - pos;
    if (n > HTTP_HEAD_MAX * 2) n = HTTP_HEAD_MAX * 2;
    if (n < 13 || memcmp(b, "HTTP/1.1 ", 9) != 0) return false;
    for (int i = 9; i < 12; i++)
        if (b[i] < '0' || b[i] > '9') return false;
    if (b[12] != ' ') return false;
    *status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
    const char *e = find(b, n, "\r\n\r\n");
    if (!e) return false;
    size_t hl = (size_t)(e - b) + 4;
    *hend = pos + hl;
    *close = find(b, hl, "\r\nConnection: close\r\n") != NULL;
    *clen = -1;
    const char *cl = find(b, hl, "\r\nContent-Length: ");
    if (cl) {
        *clen = strtol(cl + 18, NULL, 10);
        if (find(cl + 18, hl - (size_t)(cl + 18 - b), "\r\nContent-Length:")) return false;
    }
    return true;
}

/* Is the output a valid sequence of answers? A HEAD answer has no body,
 * and which requests were HEAD is not known here, so when the input holds
 * "HEAD " both readings of each answer are tried (reachable positions). */
static void check_output(const struct sink *s, bool head_possible)
{
    size_t len = s->len;
    if (len == 0) return;
    unsigned char *reach = calloc(len + 1, 1);
    FZ_CHECK(reach != NULL, "out of memory");
    reach[0] = 1;
    bool ok = false;
    int why_status = 0;
    for (size_t pos = 0; pos < len && !ok; pos++) {
        if (!reach[pos]) continue;
        size_t hend;
        long clen;
        bool close;
        int st;
        if (!parse_answer(s->buf, len, pos, &hend, &clen, &close, &st)) continue;
        if (!known_status(st)) {
            why_status = st;
            continue;
        }
        if (st < 200) { /* 100 Continue: no body, no Content-Length */
            if (clen < 0) reach[hend] = 1;
            continue;
        }
        if (clen < 0) continue;
        /* The answer with its body; a body running past the output's end is
         * an /echo body cut short by the client's EOF. Nothing may follow
         * an answer that said "Connection: close". */
        size_t end = hend + (size_t)clen;
        if (end >= len)
            ok = true;
        else if (!close)
            reach[end] = 1;
        /* ... or a HEAD answer: no body. */
        if (head_possible && clen > 0) {
            if (hend == len)
                ok = true;
            else if (!close)
                reach[hend] = 1;
        }
    }
    ok = ok || reach[len];
    if (!ok) {
        fprintf(stderr, "output (%zu bytes) is not a sequence of valid answers%s%d:\n%.*s\n", len,
                why_status ? "; unknown status " : "", why_status, (int)(len > 2000 ? 2000 : len),
                s->buf);
    }
    free(reach);
    FZ_CHECK(ok, "bad answer stream");
}

/* Bytes to read or write now. A partial write also moves an eighth of what
 * is left, so a large answer takes tens of steps, not one per byte. */
static size_t pick(struct fz_cycle *c, size_t want, bool read)
{
    unsigned v = fz_next(c);
    size_t n = read ? (v == 255 ? want : v + 1) : (v >= 128 ? want : v + 1 + want / 8);
    return n < want ? n : want;
}

/* How one run drives the session. */
struct drive {
    const uint8_t *in;
    size_t inlen;
    struct fz_cycle rd, wr; /* rd.n == 0: whole reads; wr.n == 0: whole writes */
    bool inject, shrink;    /* fail action number fail_at / short file from it on */
    unsigned fail_at;
    bool expire; /* session_expire() instead of ACT_READ number fail_at */
};

/* A timeout passes while the session waits for input: what it queues. */
static void expire_now(struct session *s, struct sink *out)
{
    enum session_phase ph = session_phase(s);
    FZ_CHECK(ph == PHASE_IDLE || ph == PHASE_HEAD || ph == PHASE_BODY, "phase %d", (int)ph);
    size_t before = out->len;
    session_expire(s);
    for (unsigned steps = 0;; steps++) {
        FZ_CHECK(steps < MAX_STEPS, "no close after an expiry");
        struct action a;
        session_next(s, &a);
        if (a.kind == ACT_CLOSE) break;
        FZ_CHECK(a.kind == ACT_WRITE && a.len > 0, "action %d after an expiry", (int)a.kind);
        sink_put(out, a.buf, a.len);
        session_done(s, &a, (ssize_t)a.len);
    }
    static const char r408[] = "HTTP/1.1 408 Request Timeout\r\n";
    size_t n = out->len - before;
    if (ph != PHASE_HEAD || out->overflow) {
        FZ_CHECK(n == 0, "%zu bytes said after an expiry outside a head", n);
        return;
    }
    FZ_CHECK(n > sizeof r408 && memcmp(out->buf + before, r408, sizeof r408 - 1) == 0,
             "an expired head is not answered 408");
    FZ_CHECK(find(out->buf + before, n, "\r\nConnection: close\r\n") != NULL,
             "a 408 without Connection: close");
}

static size_t pick_or_all(struct fz_cycle *c, size_t want, bool read)
{
    return c->n ? pick(c, want, read) : want;
}

/* Runs one session over d->in, the answers into out. */
static void run(const struct server_ctx *ctx, struct drive *d, struct sink *out)
{
    struct session *s = session_new(&http_proto, ctx, "fuzz:1");
    FZ_CHECK(s != NULL, "session_new");
    static char tmp[65536];
    size_t pos = 0, io = 0;
    unsigned reads = 0;
    bool eof = false, failed = false;
    for (unsigned steps = 0;; steps++) {
        FZ_CHECK(steps < MAX_STEPS, "no end after %u actions", steps);
        struct action a;
        session_next(s, &a);
        if (failed) FZ_CHECK(a.kind == ACT_CLOSE, "action %d after a failed I/O", (int)a.kind);
        if (a.kind == ACT_CLOSE) break;
        if (a.kind == ACT_READ) {
            FZ_CHECK(!eof, "ACT_READ after EOF");
            if (d->expire && reads++ == d->fail_at) {
                expire_now(s, out);
                break;
            }
            if (pos == d->inlen) {
                FZ_CHECK(session_feed(s, tmp, 0) == 0, "EOF feed consumed bytes");
                eof = true;
                continue;
            }
            size_t n = pick_or_all(&d->rd, d->inlen - pos, true);
            size_t k = session_feed(s, d->in + pos, n);
            FZ_CHECK(k <= n, "feed consumed %zu of %zu", k, n);
            FZ_CHECK(k > 0, "ACT_READ, then feed of %zu bytes consumed none", n);
            pos += k;
            continue;
        }
        FZ_CHECK(a.kind == ACT_WRITE || a.kind == ACT_SENDFILE, "unknown action %d", (int)a.kind);
        if (d->inject && io == d->fail_at) {
            session_done(s, &a, -1);
            failed = true;
            continue;
        }
        if (d->shrink && io >= d->fail_at && a.kind == ACT_SENDFILE) {
            session_done(s, &a, 0);
            failed = true;
            d->shrink = false;
            continue;
        }
        io++;
        if (a.kind == ACT_WRITE) {
            FZ_CHECK(a.buf != NULL && a.len > 0, "empty ACT_WRITE");
            size_t n = pick_or_all(&d->wr, a.len, false);
            sink_put(out, a.buf, n);
            session_done(s, &a, (ssize_t)n);
        } else {
            FZ_CHECK(a.fd >= 0 && a.count > 0 && a.off >= 0, "bad ACT_SENDFILE");
            size_t n = pick_or_all(&d->wr, a.count, false);
            if (n > sizeof tmp) n = sizeof tmp;
            ssize_t r = pread(a.fd, tmp, n, a.off);
            FZ_CHECK(r >= 0, "pread of the SENDFILE fd: %s", strerror(errno));
            sink_put(out, tmp, (size_t)r);
            session_done(s, &a, r);
        }
    }
    session_free(s);
}

/* Blanks what depends on the clock (Date headers, /time bodies) and drops
 * interim "100 Continue" answers (sent only when the body had not arrived
 * with the head, so they depend on how the input was cut). */
static void normalise(struct sink *o)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    size_t w = 0;
    for (size_t i = 0; i < o->len;) {
        if (o->len - i >= sizeof cont - 1 && memcmp(o->buf + i, cont, sizeof cont - 1) == 0) {
            i += sizeof cont - 1;
            continue;
        }
        o->buf[w++] = o->buf[i++];
    }
    o->len = w;
    for (size_t i = 0; i + 6 + 29 <= o->len; i++)
        if (memcmp(o->buf + i, "Date: ", 6) == 0) memset(o->buf + i + 6, 'D', 29);
    /* "YYYY-MM-DDTHH:MM:SSZ" */
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    for (size_t i = 0; i + 20 <= o->len; i++) {
        size_t k = 0;
        while (k < 20 && (shape[k] == 'd' ? o->buf[i + k] >= '0' && o->buf[i + k] <= '9'
                                          : o->buf[i + k] == shape[k]))
            k++;
        if (k == 20) memset(o->buf + i, 'T', 20);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root) {
        make_root();
        devnull = fopen("/dev/null", "w");
        FZ_CHECK(devnull != NULL, "/dev/null");
        /* the cache's inotify fd is made by the first lookup: before the
         * snapshot, so only what an input leaves open counts */
        struct filecache_file f;
        FZ_CHECK(filecache_open(fsroot_cache(root), "/", &f) == FSROOT_OK, "lookup of /");
        filecache_release(&f);
        fz_fds_snapshot();
    }
    if (size < CTRL) return 0;
    const uint8_t *in = data + CTRL;
    size_t inlen = size - CTRL;
    struct server_ctx ctx = {.root = root, .one_request = data[0] & 1, .access_log = data[0] & 4};
    FILE *saved_stderr = stderr;
    if (ctx.access_log) stderr = devnull; /* the log goes to stderr: silence it */
    struct drive d = {in,          inlen,       {data + 1, 4, 0}, {data + 5, 2, 0},
                      data[0] & 2, data[0] & 8, data[7],          data[0] & 16};
    bool cut = d.inject || d.shrink || d.expire;
    struct sink out = {0}, ref = {0};
    run(&ctx, &d, &out);
    /* The same input read and written whole: the answers must not depend
     * on how the stream was cut. */
    struct drive whole = {in, inlen, {NULL, 0, 0}, {NULL, 0, 0}, false, false, 0, false};
    if (!cut) run(&ctx, &whole, &ref);
    stderr = saved_stderr;
    filecache_flush(fsroot_cache(root)); /* the fds it kept are not leaks */
    fz_fds_check("http session");
    /* an expiry ends the stream cleanly (a failed write cuts it anywhere) */
    if (d.expire && !d.inject && !d.shrink && !out.overflow) check_output(&out, true);
    if (!cut && !out.overflow) {
        check_output(&out, find((const char *)in, inlen, "HEAD ") != NULL);
        normalise(&out);
        normalise(&ref);
        FZ_CHECK(out.len == ref.len && (!out.len || memcmp(out.buf, ref.buf, out.len) == 0),
                 "answers depend on the read/write sizes: %zu bytes cut, %zu bytes whole:\n"
                 "%.*s\n----\n%.*s",
                 out.len, ref.len, (int)(out.len < 1500 ? out.len : 1500), out.buf,
                 (int)(ref.len < 1500 ? ref.len : 1500), ref.buf);
    }
    free(out.buf);
    free(ref.buf);
    return 0;
}
