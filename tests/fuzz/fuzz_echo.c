/* fuzz_echo.c - the line echo session (servers/core/echo.c): what comes
 * back is exactly what went in, whatever the read and write sizes.
 *
 * Input: 4 control bytes, then the client's bytes (EOF follows them).
 *   c[0..1]  read chunk sizes, cycled: c + 1 bytes (255: all the rest)
 *   c[2..3]  write sizes, cycled: >= 128 the whole action, else c + 1 bytes
 * Invariants: output == input once the session closes; ACT_READ means
 * room (feed consumes >= 1 byte right after it); no ACT_READ after EOF;
 * ACT_WRITE asks for >= 1 byte; at most MAX_STEPS actions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "echo.h"
#include "fuzz_util.h"

#define CTRL 4
#define MAX_STEPS 1000000

static size_t pick(struct fz_cycle *c, size_t want, bool read)
{
    unsigned v = fz_next(c);
    size_t n = read ? (v == 255 ? want : v + 1) : (v >= 128 ? want : v + 1);
    return n < want ? n : want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < CTRL) return 0;
    const uint8_t *in = data + CTRL;
    size_t inlen = size - CTRL;
    struct fz_cycle rd = {data, 2, 0}, wr = {data + 2, 2, 0};
    struct server_ctx ctx = {0};
    struct session *s = session_new(&echo_proto, &ctx, "fuzz:1");
    FZ_CHECK(s != NULL, "session_new");
    uint8_t *out = malloc(inlen + 1);
    FZ_CHECK(out != NULL, "out of memory");
    size_t pos = 0, olen = 0;
    bool eof = false;
    for (unsigned steps = 0;; steps++) {
        FZ_CHECK(steps < MAX_STEPS, "no end after %u actions", steps);
        struct action a;
        session_next(s, &a);
        if (a.kind == ACT_CLOSE) break;
        if (a.kind == ACT_READ) {
            FZ_CHECK(!eof, "ACT_READ after EOF");
            if (pos == inlen) {
                FZ_CHECK(session_feed(s, out, 0) == 0, "EOF feed consumed bytes");
                eof = true;
                continue;
            }
            size_t n = pick(&rd, inlen - pos, true);
            size_t k = session_feed(s, in + pos, n);
            FZ_CHECK(k > 0 && k <= n, "ACT_READ, then feed of %zu bytes consumed %zu", n, k);
            pos += k;
            continue;
        }
        FZ_CHECK(a.kind == ACT_WRITE, "unexpected action %d", (int)a.kind);
        FZ_CHECK(a.buf != NULL && a.len > 0, "empty ACT_WRITE");
        size_t n = pick(&wr, a.len, false);
        FZ_CHECK(olen + n <= inlen, "more output than input");
        memcpy(out + olen, a.buf, n);
        olen += n;
        session_done(s, &a, (ssize_t)n);
    }
    session_free(s);
    FZ_CHECK(eof && pos == inlen, "closed before the input ended");
    FZ_CHECK(olen == inlen && memcmp(out, in, inlen) == 0,
             "output (%zu bytes) differs from input (%zu bytes)", olen, inlen);
    free(out);
    return 0;
}
