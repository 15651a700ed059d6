/* fuzz_http.c - drives the HTTP/1.1 session (servers/core/http.c) the way a
 * model does, with fuzzer-chosen input bytes, read chunk sizes and partial
 * write sizes, and checks what any driver relies on.
 *
 * Input: 8 control bytes, then the bytes the "client" sends.
 *   c[0]      flags: bit 0 one_request (the iterative model),
 *                    bit 1 fail the I/O of action number c[7] (result -1)
 *   c[1..4]   read chunk sizes, cycled: c + 1 bytes (255: all the rest)
 *   c[5..6]   write sizes, cycled: >= 128 the whole action, else c + 1 bytes
 *   c[7]      the action that fails when bit 1 is set
 * EOF (a feed of 0 bytes) follows the last byte.
 *
 * Invariants (abort on violation):
 *   - no crash, UB or leak (the sanitizers), no fd leaked per input;
 *   - at most MAX_STEPS actions per input (no livelock);
 *   - ACT_READ means room: feed() consumes at least one byte of a non-empty
 *     slice right after it; no ACT_READ after EOF was fed;
 *   - ACT_WRITE / ACT_SENDFILE ask for at least one byte of a valid buffer/fd;
 *   - after a failed I/O the next action is ACT_CLOSE;
 *   - the output is a sequence of answers "HTTP/1.1 DDD ...", each with one
 *     Content-Length (1xx aside) and a known status (500 = a bug here), and
 *     nothing follows an answer that says "Connection: close". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "fsroot.h"
#include "fuzz_util.h"
#include "http.h"

#define CTRL 8
#define MAX_STEPS 100000
#define SINK_CAP (16u << 20)
#define BIG_SIZE 20000 /* above HTTP_INLINE_MAX: goes out as ACT_SENDFILE */

/* Harness state made once (the fixture root). */
static struct fsroot *root;

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
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
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
        while (cap < s->len + n) cap *= 2;
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
    static const int ok[] = {100, 200, 301, 400, 403, 404, 405, 413, 414, 431, 501, 505};
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
        if (end >= len) ok = true;
        else if (!close) reach[end] = 1;
        /* ... or a HEAD answer: no body. */
        if (head_possible && clen > 0) {
            if (hend == len) ok = true;
            else if (!close) reach[hend] = 1;
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

static size_t pick(struct fz_cycle *c, size_t want, bool read)
{
    unsigned v = fz_next(c);
    size_t n = read ? (v == 255 ? want : v + 1) : (v >= 128 ? want : v + 1);
    return n < want ? n : want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root) {
        make_root();
        fz_fds_snapshot();
    }
    if (size < CTRL) return 0;
    const uint8_t *in = data + CTRL;
    size_t inlen = size - CTRL;
    struct server_ctx ctx = {.root = root, .one_request = data[0] & 1};
    bool inject = data[0] & 2;
    struct fz_cycle rd = {data + 1, 4, 0}, wr = {data + 5, 2, 0};
    struct session *s = session_new(&http_proto, &ctx, "fuzz:1");
    FZ_CHECK(s != NULL, "session_new");

    struct sink out = {0};
    char tmp[65536];
    size_t pos = 0, io = 0;
    bool eof = false, failed = false;
    for (unsigned steps = 0;; steps++) {
        FZ_CHECK(steps < MAX_STEPS, "no end after %u actions", steps);
        struct action a;
        session_next(s, &a);
        if (failed) FZ_CHECK(a.kind == ACT_CLOSE, "action %d after a failed I/O", (int)a.kind);
        if (a.kind == ACT_CLOSE) break;
        if (a.kind == ACT_READ) {
            FZ_CHECK(!eof, "ACT_READ after EOF");
            if (pos == inlen) {
                FZ_CHECK(session_feed(s, tmp, 0) == 0, "EOF feed consumed bytes");
                eof = true;
                continue;
            }
            size_t n = pick(&rd, inlen - pos, true);
            size_t k = session_feed(s, in + pos, n);
            FZ_CHECK(k <= n, "feed consumed %zu of %zu", k, n);
            FZ_CHECK(k > 0, "ACT_READ, then feed of %zu bytes consumed none", n);
            pos += k;
            continue;
        }
        FZ_CHECK(a.kind == ACT_WRITE || a.kind == ACT_SENDFILE, "unknown action %d", (int)a.kind);
        if (inject && io++ == data[7]) {
            session_done(s, &a, -1);
            failed = true;
            continue;
        }
        if (a.kind == ACT_WRITE) {
            FZ_CHECK(a.buf != NULL && a.len > 0, "empty ACT_WRITE");
            size_t n = pick(&wr, a.len, false);
            sink_put(&out, a.buf, n);
            session_done(s, &a, (ssize_t)n);
        } else {
            FZ_CHECK(a.fd >= 0 && a.count > 0 && a.off >= 0, "bad ACT_SENDFILE");
            size_t n = pick(&wr, a.count, false);
            if (n > sizeof tmp) n = sizeof tmp;
            ssize_t r = pread(a.fd, tmp, n, a.off);
            FZ_CHECK(r >= 0, "pread of the SENDFILE fd: %s", strerror(errno));
            sink_put(&out, tmp, (size_t)r);
            session_done(s, &a, r);
        }
    }
    session_free(s);
    fz_fds_check("http session");
    if (!inject && !out.overflow) check_output(&out, find((const char *)in, inlen, "HEAD ") != NULL);
    free(out.buf);
    return 0;
}
