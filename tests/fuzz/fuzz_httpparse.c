/* fuzz_httpparse.c - the load generator's streaming HTTP response parser
 * (loadgen/httpparse.c) on arbitrary answer streams.
 *
 * Input: 4 control bytes, then the server's bytes.
 *   c[0]     bit 0: the requests were HEAD
 *   c[1..3]  slice sizes, cycled: c + 1 bytes (255: all the rest)
 * The stream is parsed twice, as one slice and cut in fuzzer-chosen slices,
 * answers back to back (hp_reset after each HP_DONE), then hp_eof().
 * Invariants (abort on violation):
 *   - *used <= len; HP_MORE consumed the whole slice; HP_BODY hands out >= 1
 *     byte lying in the slice, ending at *used; HP_ERROR sets error; a call
 *     on a non-empty slice makes progress (consumes or ends the answer);
 *   - an answer framed by Content-Length has exactly that many body bytes,
 *     one without a body (HEAD, 204, 304, and only those) none; a body
 *     until the close closes the connection;
 *   - the header size limit never fires once the headers are done;
 *   - both parses agree (answers, statuses, bodies, errors): how TCP cut the
 *     stream must not change the meaning (a long line keeps the same
 *     HP_LINE_MAX prefix whether it came whole or in pieces). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "http/httpparse.h"

#define CTRL 4
#define MAX_ANSWERS 64

struct answer {
    int status;
    bool close;
    uint64_t body_len, body_hash;
};

struct transcript {
    struct answer a[MAX_ANSWERS];
    int n;
    bool error;
    const char *why;
    enum hp_ev eof;
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    return h;
}

/* Feeds one slice; false once an error ended the stream. */
static bool feed(struct hp *p, bool head, const char *buf, size_t len, struct transcript *t,
                 uint64_t *hash)
{
    while (len > 0) {
        size_t used = 12345;
        const char *b = NULL;
        size_t bl = 0;
        enum hp_ev ev = hp_feed(p, buf, len, &used, &b, &bl);
        FZ_CHECK(used <= len, "used %zu of %zu", used, len);
        switch (ev) {
        case HP_MORE:
            FZ_CHECK(used == len, "HP_MORE with %zu of %zu bytes used", used, len);
            break;
        case HP_BODY:
            FZ_CHECK(bl > 0 && b >= buf && b + bl == buf + used, "HP_BODY outside the slice");
            *hash = fnv(*hash, b, bl);
            break;
        case HP_ERROR:
            FZ_CHECK(p->error != NULL, "HP_ERROR without a reason");
            /* the header limit is about headers, not about chunk framing */
            FZ_CHECK(!p->headers_done || strcmp(p->error, "header section too long") != 0,
                     "\"%s\" in the body (%llu body bytes in)", p->error,
                     (unsigned long long)p->body_len);
            t->error = true;
            t->why = p->error;
            return false;
        case HP_DONE: {
            FZ_CHECK(p->headers_done && p->status >= 200 && p->status <= 599, "HP_DONE early");
            bool framed = p->framing == HP_FRAME_LENGTH;
            FZ_CHECK(!framed || p->body_len == (uint64_t)p->content_length,
                     "body of %llu bytes for Content-Length %lld", (unsigned long long)p->body_len,
                     (long long)p->content_length);
            FZ_CHECK(p->framing != HP_FRAME_NONE || p->body_len == 0, "a body without framing");
            bool none = head || p->status == 204 || p->status == 304;
            FZ_CHECK(none == (p->framing == HP_FRAME_NONE), "framing %d for status %d%s",
                     (int)p->framing, p->status, head ? " (HEAD)" : "");
            FZ_CHECK(p->chunked == (p->framing == HP_FRAME_CHUNKED), "chunked flag");
            FZ_CHECK(p->framing != HP_FRAME_CLOSE || p->close, "body to the close, kept open");
            if (t->n < MAX_ANSWERS)
                t->a[t->n] = (struct answer){p->status, p->close, p->body_len, *hash};
            t->n++;
            *hash = 0;
            hp_reset(p, head);
            break;
        }
        default:
            FZ_CHECK(0, "unknown event %d", (int)ev);
        }
        FZ_CHECK(used > 0 || ev == HP_DONE, "no progress (event %d)", (int)ev);
        buf += used;
        len -= used;
    }
    return true;
}

static void parse(const char *in, size_t len, bool head, struct fz_cycle *cuts,
                  struct transcript *t)
{
    struct hp p;
    uint64_t hash = 0;
    memset(t, 0, sizeof *t);
    hp_reset(&p, head);
    size_t pos = 0;
    while (pos < len) {
        size_t n = len - pos;
        if (cuts) {
            unsigned v = fz_next(cuts);
            if (v != 255 && v + 1 < n) n = v + 1;
        }
        if (!feed(&p, head, in + pos, n, t, &hash)) return;
        pos += n;
    }
    t->eof = hp_eof(&p);
    if (t->eof == HP_ERROR) {
        t->error = true;
        t->why = p.error;
    }
}

static void compare(const struct transcript *whole, const struct transcript *split, const char *in,
                    size_t len)
{
    FZ_CHECK(whole->error == split->error, "whole: %s, split: %s", whole->error ? whole->why : "ok",
             split->error ? split->why : "ok");
    FZ_CHECK(whole->n == split->n, "whole: %d answers, split: %d", whole->n, split->n);
    for (int i = 0; i < whole->n && i < MAX_ANSWERS; i++) {
        const struct answer *a = &whole->a[i], *b = &split->a[i];
        FZ_CHECK(a->status == b->status && a->close == b->close && a->body_len == b->body_len &&
                     a->body_hash == b->body_hash,
                 "answer %d: whole %d/%d/%llu, split %d/%d/%llu", i, a->status, a->close,
                 (unsigned long long)a->body_len, b->status, b->close,
                 (unsigned long long)b->body_len);
    }
    FZ_CHECK(whole->eof == split->eof, "hp_eof: whole %d, split %d", whole->eof, split->eof);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < CTRL) return 0;
    bool head = data[0] & 1;
    const char *in = (const char *)data + CTRL;
    size_t len = size - CTRL;
    struct fz_cycle cuts = {data + 1, 3, 0};
    static struct transcript whole, split; /* large: off the stack */
    parse(in, len, head, NULL, &whole);
    parse(in, len, head, &cuts, &split);
    compare(&whole, &split, in, len);
    return 0;
}
