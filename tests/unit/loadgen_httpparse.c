/* Unit tests of loadgen/httpparse.c, the raw engine's streaming HTTP/1.1
 * response parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/httpparse.h"
#include "http/httpscan.h"

#define MAXRESP 8

/* What a byte stream parsed into. */
struct result {
    int n; /* complete answers */
    int status[MAXRESP];
    bool close[MAXRESP];
    enum hp_framing framing[MAXRESP];
    char body[MAXRESP][4096];
    size_t bodylen[MAXRESP];
    bool error;     /* protocol error while feeding */
    bool eof_error; /* hp_eof() said the answer was truncated */
    bool eof_done;  /* hp_eof() completed an answer */
};

/* Feed data to a parser in slices cut at the given offsets (ascending),
 * then signal EOF when eof is set. Answers follow each other (pipelined). */
static void parse_split(const char *data, size_t len, bool head, const size_t *cuts, size_t ncuts,
                        bool eof, struct result *r)
{
    struct hp p;
    memset(r, 0, sizeof *r);
    hp_reset(&p, head);
    size_t pos = 0;
    for (size_t c = 0; c <= ncuts && !r->error; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        const char *buf = data + pos;
        size_t n = end - pos;
        pos = end;
        for (;;) {
            size_t used;
            const char *b = NULL;
            size_t bl = 0;
            enum hp_ev ev = hp_feed(&p, buf, n, &used, &b, &bl);
            assert_true(used <= n);
            buf += used;
            n -= used;
            if (ev == HP_MORE) {
                assert_int_equal(n, 0);
                break;
            }
            if (ev == HP_ERROR) {
                assert_non_null(p.error);
                r->error = true;
                break;
            }
            assert_true(r->n < MAXRESP);
            if (ev == HP_BODY) {
                assert_true(b >= data && b + bl <= data + len);
                assert_true(r->bodylen[r->n] + bl <= sizeof r->body[0]);
                memcpy(r->body[r->n] + r->bodylen[r->n], b, bl);
                r->bodylen[r->n] += bl;
                continue;
            }
            /* HP_DONE */
            assert_int_equal(p.body_len, r->bodylen[r->n]);
            r->status[r->n] = p.status;
            r->close[r->n] = p.close;
            r->framing[r->n] = p.framing;
            r->n++;
            hp_reset(&p, head);
        }
    }
    if (eof && !r->error) {
        enum hp_ev ev = hp_eof(&p);
        if (ev == HP_ERROR)
            r->eof_error = true;
        else if (ev == HP_DONE) {
            r->eof_done = true;
            r->status[r->n] = p.status;
            r->close[r->n] = p.close;
            r->framing[r->n] = p.framing;
            r->n++;
        }
    }
}

static void parse_whole(const char *data, bool head, bool eof, struct result *r)
{
    parse_split(data, strlen(data), head, NULL, 0, eof, r);
}

static void assert_same(const struct result *a, const struct result *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->error, b->error);
    assert_int_equal(a->eof_error, b->eof_error);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->status[i], b->status[i]);
        assert_int_equal(a->close[i], b->close[i]);
        assert_int_equal(a->framing[i], b->framing[i]);
        assert_int_equal(a->bodylen[i], b->bodylen[i]);
        assert_memory_equal(a->body[i], b->body[i], a->bodylen[i]);
    }
}

/* Every split into two slices, every split into three slices around the
 * middle, and one byte at a time: all give the whole-buffer result. */
static void check_every_split(const char *data, bool head, bool eof)
{
    size_t len = strlen(data);
    struct result whole, r;
    parse_whole(data, head, eof, &whole);
    for (size_t i = 0; i <= len; i++) {
        size_t cut[1] = {i};
        parse_split(data, len, head, cut, 1, eof, &r);
        assert_same(&whole, &r);
        size_t cut2[2] = {i, i + (len - i) / 2};
        parse_split(data, len, head, cut2, 2, eof, &r);
        assert_same(&whole, &r);
    }
    size_t cuts[8192];
    assert_true(len < 8192);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    parse_split(data, len, head, cuts, len, eof, &r);
    assert_same(&whole, &r);
}

static const char SIMPLE[] = "HTTP/1.1 200 OK\r\n"
                             "Server: test\r\n"
                             "Content-Type: text/plain\r\n"
                             "Content-Length: 13\r\n"
                             "\r\n"
                             "Hello, world!";

static void test_content_length(void **state)
{
    (void)state;
    struct result r;
    parse_whole(SIMPLE, false, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], 200);
    assert_false(r.close[0]);
    assert_int_equal(r.bodylen[0], 13);
    assert_memory_equal(r.body[0], "Hello, world!", 13);
    check_every_split(SIMPLE, false, false);
}

static const char CHUNKED[] = "HTTP/1.1 200 OK\r\n"
                              "Transfer-Encoding: gzip, chunked\r\n"
                              "\r\n"
                              "5;name=value;other=\"quoted;x\"\r\n"
                              "Hello\r\n"
                              "A  \r\n"
                              ", chunked!\r\n"
                              "1\r\n"
                              "\n\r\n"
                              "0;last\r\n"
                              "Trailer-One: 1\r\n"
                              "Trailer-Two: two\r\n"
                              "\r\n";

static void test_chunked_extensions_trailers(void **state)
{
    (void)state;
    struct result r;
    parse_whole(CHUNKED, false, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], 200);
    assert_int_equal(r.bodylen[0], 16);
    assert_memory_equal(r.body[0], "Hello, chunked!\n", 16);
    check_every_split(CHUNKED, false, false);
}

static void test_chunked_bad_size(void **state)
{
    (void)state;
    struct result r;
    parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", false,
                false, &r);
    assert_true(r.error);
    parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", false,
                false, &r);
    assert_true(r.error); /* chunk data longer than its size */
    parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "FFFFFFFFFFFFFFFFFFFF\r\n",
                false, false, &r);
    assert_true(r.error);
}

static void test_head_has_no_body(void **state)
{
    (void)state;
    /* HEAD: Content-Length describes the GET body, no body follows; the
     * next answer on the connection starts right after the headers. */
    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    struct result r;
    parse_whole(two, true, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.bodylen[0], 0);
    assert_int_equal(r.bodylen[1], 0);
    check_every_split(two, true, false);
    /* The same bytes after a GET: the body of the first answer is missing. */
    parse_whole(two, false, true, &r);
    assert_int_equal(r.n, 0);
    assert_true(r.eof_error);
}

static void test_204_304_no_body(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
                    "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct result r;
    parse_whole(s, false, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.status[0], 204);
    assert_int_equal(r.bodylen[0], 0);
    assert_int_equal(r.status[1], 304);
    assert_int_equal(r.bodylen[1], 0);
    assert_int_equal(r.status[2], 200);
    assert_memory_equal(r.body[2], "ok", 2);
    check_every_split(s, false, false);
}

static void test_content_length_too_long_eof(void **state)
{
    (void)state;
    /* Announced 20 bytes, 5 arrive, then the server closes. */
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort";
    struct result r;
    parse_whole(s, false, true, &r);
    assert_int_equal(r.n, 0);
    assert_true(r.eof_error);
    check_every_split(s, false, true);
    /* Closed in the middle of the headers. */
    parse_whole("HTTP/1.1 200 OK\r\nContent-Le", false, true, &r);
    assert_true(r.eof_error);
    /* Closed before any byte: no answer at all, not a truncated one. */
    parse_whole("", false, true, &r);
    assert_false(r.eof_error);
    assert_int_equal(r.n, 0);
}

static void test_content_length_too_short(void **state)
{
    (void)state;
    /* Announced 3 bytes, 9 sent: the surplus is not an HTTP answer. */
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdefghi";
    struct result r;
    parse_whole(s, false, false, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.bodylen[0], 3);
    assert_true(r.error);
    check_every_split(s, false, false);
}

static void test_garbage(void **state)
{
    (void)state;
    static const char *bad[] = {
        "garbage\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 999 What\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct result r;
        parse_whole(bad[i], false, true, &r);
        if (!r.error) fail_msg("accepted: %s", bad[i]);
        check_every_split(bad[i], false, true);
    }
}

static void test_header_section_limit(void **state)
{
    (void)state;
    /* An endless header section is refused, not buffered. */
    static char big[HP_HEAD_MAX + 200];
    strcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ");
    size_t n = strlen(big);
    memset(big + n, 'a', sizeof big - n - 1);
    big[sizeof big - 1] = '\0';
    struct result r;
    parse_whole(big, false, false, &r);
    assert_true(r.error);
    /* A long header that does not matter to framing is fine. */
    static char longh[3000];
    snprintf(longh, sizeof longh,
             "HTTP/1.1 200 OK\r\nX-Long: %02000d\r\nContent-Length: 1\r\n\r\nz", 0);
    check_every_split(longh, false, false);
    parse_whole(longh, false, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.bodylen[0], 1);
}

static void test_pipelined(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    struct result r;
    parse_whole(s, false, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.status[0], 200);
    assert_memory_equal(r.body[0], "one", 3);
    assert_int_equal(r.status[1], 404);
    assert_memory_equal(r.body[1], "not found", 9);
    assert_memory_equal(r.body[2], "two", 3);
    assert_int_equal(r.bodylen[3], 0);
    assert_false(r.close[0]);
    assert_true(r.close[3]);
    check_every_split(s, false, false);
}

static void test_interim_1xx_skipped(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                    "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nhi";
    struct result r;
    parse_whole(s, false, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.status[0], 201);
    assert_memory_equal(r.body[0], "hi", 2);
    check_every_split(s, false, false);
}

static void test_body_until_eof_and_http10(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
    struct result r;
    parse_whole(s, false, true, &r);
    assert_int_equal(r.n, 1);
    assert_true(r.eof_done);
    assert_true(r.close[0]);
    assert_int_equal(r.bodylen[0], 13);
    check_every_split(s, false, true);
    /* HTTP/1.0 closes unless it says keep-alive; bare \n line ends work. */
    parse_whole("HTTP/1.0 200 OK\nContent-Length: 1\n\nx", false, false, &r);
    assert_int_equal(r.n, 1);
    assert_true(r.close[0]);
    parse_whole("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", false,
                false, &r);
    assert_int_equal(r.n, 1);
    assert_false(r.close[0]);
    parse_whole("HTTP/1.1 200 OK\r\nconnection: upgrade, CLOSE\r\ncontent-length: 0\r\n\r\n", false,
                false, &r);
    assert_int_equal(r.n, 1);
    assert_true(r.close[0]);
}

/* ---- RFC 9112 section 6.3, case by case -------------------------------- */

#define OK200 "HTTP/1.1 200 OK\r\n"
#define HELLO_CHUNKED "5\r\nhello\r\n0\r\n\r\n"

struct framing_case {
    const char *what;
    const char *in;
    bool head;  /* the request was HEAD */
    bool eof;   /* the server closes after the bytes */
    bool error; /* a protocol error (while feeding or at the close) */
    enum hp_framing framing;
    const char *body;
    bool close; /* the connection cannot carry another answer */
};

static const struct framing_case FRAMING[] = {
    /* 1. HEAD, 1xx, 204, 304: no body whatever the headers say */
    {"HEAD, Content-Length", OK200 "Content-Length: 5\r\n\r\n", true, false, false, HP_FRAME_NONE,
     "", false},
    {"HEAD, chunked", OK200 "Transfer-Encoding: chunked\r\n\r\n", true, false, false, HP_FRAME_NONE,
     "", false},
    {"HEAD, gzip and Content-Length", OK200 "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n",
     true, false, false, HP_FRAME_NONE, "", false},
    {"204, chunked and Content-Length",
     "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", false,
     false, false, HP_FRAME_NONE, "", false},
    {"304, gzip", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip\r\n\r\n", false, false,
     false, HP_FRAME_NONE, "", false},
    {"1xx with Content-Length, then the answer",
     "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nok",
     false, false, false, HP_FRAME_LENGTH, "ok", false},
    {"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false, true, true, 0, "",
     false},
    {"HEAD, invalid Content-Length", OK200 "Content-Length: 5x\r\n\r\n", true, false, true, 0, "",
     false},
    /* 3. Transfer-Encoding, chunked last: chunked, Content-Length ignored */
    {"chunked and Content-Length",
     OK200 "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" HELLO_CHUNKED, false, false,
     false, HP_FRAME_CHUNKED, "hello", true},
    {"chunked and invalid Content-Length",
     OK200 "Transfer-Encoding: chunked\r\nContent-Length: 3, 4\r\n\r\n" HELLO_CHUNKED, false, false,
     false, HP_FRAME_CHUNKED, "hello", true},
    {"gzip, chunked", OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n" HELLO_CHUNKED, false, false,
     false, HP_FRAME_CHUNKED, "hello", false},
    {"gzip then chunked, two headers",
     OK200 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" HELLO_CHUNKED, false,
     false, false, HP_FRAME_CHUNKED, "hello", false},
    {"CHUNKED in capitals, OWS, empty elements",
     OK200 "Transfer-Encoding:  ,CHUNKED ,\t\r\n\r\n" HELLO_CHUNKED, false, false, false,
     HP_FRAME_CHUNKED, "hello", false},
    {"chunked applied twice", OK200 "Transfer-Encoding: chunked, chunked\r\n\r\n" HELLO_CHUNKED,
     false, false, true, 0, "", false},
    {"chunked twice, two headers",
     OK200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" HELLO_CHUNKED, false,
     false, true, 0, "", false},
    /* 3. Transfer-Encoding, chunked not last: until the close, whatever
     * Content-Length says */
    {"gzip and Content-Length",
     OK200 "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabcdefgh", false, true, false,
     HP_FRAME_CLOSE, "abcdefgh", true},
    {"Content-Length and gzip",
     OK200 "Content-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\nabcdefgh", false, true, false,
     HP_FRAME_CLOSE, "abcdefgh", true},
    {"chunked, gzip", OK200 "Transfer-Encoding: chunked, gzip\r\n\r\n" HELLO_CHUNKED, false, true,
     false, HP_FRAME_CLOSE, HELLO_CHUNKED, true},
    {"chunked then gzip, two headers",
     OK200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\nxyz", false, true, false,
     HP_FRAME_CLOSE, "xyz", true},
    {"chunked with a parameter is not chunked last",
     OK200 "Transfer-Encoding: gzip;level=1\r\n\r\nxyz", false, true, false, HP_FRAME_CLOSE, "xyz",
     true},
    {"no coding at all", OK200 "Transfer-Encoding: ,\r\n\r\nxyz", false, true, false,
     HP_FRAME_CLOSE, "xyz", true},
    {"HTTP/1.0 with chunked: faulty, read to the close",
     "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n" HELLO_CHUNKED,
     false, true, false, HP_FRAME_CLOSE, HELLO_CHUNKED, true},
    {"the close ends a gzip body early: still a whole answer",
     OK200 "Transfer-Encoding: gzip\r\n\r\n", false, true, false, HP_FRAME_CLOSE, "", true},
    /* 4. invalid Content-Length: unrecoverable */
    {"Content-Length not digits", OK200 "Content-Length: 12x\r\n\r\n", false, true, true, 0, "",
     false},
    {"Content-Length negative", OK200 "Content-Length: -1\r\n\r\n", false, true, true, 0, "",
     false},
    {"Content-Length with a sign", OK200 "Content-Length: +3\r\n\r\nabc", false, true, true, 0, "",
     false},
    {"Content-Length empty", OK200 "Content-Length: \r\n\r\n", false, true, true, 0, "", false},
    {"Content-Length hex", OK200 "Content-Length: 0x3\r\n\r\nabc", false, true, true, 0, "", false},
    {"Content-Length with inner space", OK200 "Content-Length: 1 2\r\n\r\n", false, true, true, 0,
     "", false},
    {"Content-Length overflow", OK200 "Content-Length: 99999999999999999999\r\n\r\n", false, true,
     true, 0, "", false},
    {"Content-Length list of differing values", OK200 "Content-Length: 3, 4\r\n\r\nabcd", false,
     true, true, 0, "", false},
    {"Content-Length list with an empty element", OK200 "Content-Length: 3,\r\n\r\nabc", false,
     true, true, 0, "", false},
    {"Content-Length list starting empty", OK200 "Content-Length: ,3\r\n\r\nabc", false, true, true,
     0, "", false},
    {"two differing Content-Length headers",
     OK200 "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", false, true, true, 0, "", false},
    {"a header and a list that differ",
     OK200 "Content-Length: 3\r\nContent-Length: 3, 4\r\n\r\nabc", false, true, true, 0, "", false},
    /* 4. identical values count once */
    {"Content-Length 3, 3", OK200 "Content-Length: 3, 3\r\n\r\nabc", false, false, false,
     HP_FRAME_LENGTH, "abc", false},
    {"Content-Length 3 ,3 and 003", OK200 "Content-Length: 3 ,3\r\ncontent-length: 003\r\n\r\nabc",
     false, false, false, HP_FRAME_LENGTH, "abc", false},
    {"two Content-Length headers 3", OK200 "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
     false, false, false, HP_FRAME_LENGTH, "abc", false},
    /* 5. Content-Length; 6. neither: until the close */
    {"Content-Length", OK200 "CONTENT-LENGTH:\t3 \r\n\r\nabc", false, false, false, HP_FRAME_LENGTH,
     "abc", false},
    {"Content-Length 0", OK200 "Content-Length: 0\r\n\r\n", false, false, false, HP_FRAME_LENGTH,
     "", false},
    {"Content-Length and Connection: close",
     OK200 "Connection: close\r\nContent-Length: 3\r\n\r\nabc", false, false, false,
     HP_FRAME_LENGTH, "abc", true},
    {"neither", OK200 "Server: x\r\n\r\nuntil the end", false, true, false, HP_FRAME_CLOSE,
     "until the end", true},
    /* chunked bodies */
    {"chunk extensions and trailers",
     OK200 "Transfer-Encoding: chunked\r\n\r\n3;a=b;c=\"d;e\"\r\nabc\r\n2 ; x\r\nde\r\n0\r\n"
           "Expires: never\r\nX-T: 1\r\n\r\n",
     false, false, false, HP_FRAME_CHUNKED, "abcde", false},
    {"a malformed trailer", OK200 "Transfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n", false,
     false, true, 0, "", false},
    {"chunk size missing", OK200 "Transfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n", false,
     false, true, 0, "", false},
    {"chunk size negative", OK200 "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", false,
     false, true, 0, "", false},
    {"chunk size 0x", OK200 "Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", false,
     false, true, 0, "", false},
    {"chunk size after a space", OK200 "Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n",
     false, false, true, 0, "", false},
    {"chunk size with junk", OK200 "Transfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\n",
     false, false, true, 0, "", false},
    {"chunk size too large",
     OK200 "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nabc\r\n0\r\n\r\n", false, false,
     true, 0, "", false},
    {"chunk data longer than its size",
     OK200 "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", false, false, true, 0, "",
     false},
    {"the close before the last chunk", OK200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
     false, true, true, 0, "", false},
    /* line syntax */
    {"bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", false, false, false,
     HP_FRAME_LENGTH, "x", false},
    {"HTAB and obs-text in values", OK200 "X-A:\tb\tc\xe9\xff\r\nContent-Length: 1\r\n\r\nx", false,
     false, false, HP_FRAME_LENGTH, "x", false},
    {"a bare CR in a value", OK200 "X-A: b\rc\r\nContent-Length: 1\r\n\r\nx", false, false, true, 0,
     "", false},
    {"a bare CR in the status line", "HTTP/1.1 200 O\rK\r\nContent-Length: 1\r\n\r\nx", false,
     false, true, 0, "", false},
    {"a NUL in a value", OK200 "X-A: b\001c\r\nContent-Length: 1\r\n\r\nx", false, false, true, 0,
     "", false},
    {"DEL in a value", OK200 "X-A: b\x7f\r\nContent-Length: 1\r\n\r\nx", false, false, true, 0, "",
     false},
    {"a control byte in a chunk size line",
     OK200 "Transfer-Encoding: chunked\r\n\r\n3;\x01\r\nabc\r\n0\r\n\r\n", false, false, true, 0,
     "", false},
    {"a space before the colon", OK200 "Content-Length : 1\r\n\r\nx", false, false, true, 0, "",
     false},
    {"folding after an ordinary header", OK200 "X-A: b\r\n c\r\nContent-Length: 1\r\n\r\nx", false,
     false, false, HP_FRAME_LENGTH, "x", false},
    {"folding of Content-Length", OK200 "Content-Length: 1\r\n 2\r\n\r\nx", false, false, true, 0,
     "", false},
    {"folding of Transfer-Encoding", OK200 "Transfer-Encoding: gzip\r\n\tchunked\r\n\r\nx", false,
     true, true, 0, "", false},
};

static void check_framing_case(const struct framing_case *c)
{
    struct result r;
    parse_whole(c->in, c->head, c->eof, &r);
    if (c->error) {
        if (!r.error && !r.eof_error) fail_msg("%s: accepted", c->what);
    } else {
        if (r.error || r.eof_error || r.n != 1)
            fail_msg("%s: error %d, eof error %d, %d answers", c->what, r.error, r.eof_error, r.n);
        if (r.framing[0] != c->framing)
            fail_msg("%s: framing %d, expected %d", c->what, r.framing[0], c->framing);
        if (r.bodylen[0] != strlen(c->body) || memcmp(r.body[0], c->body, r.bodylen[0]) != 0)
            fail_msg("%s: body \"%.*s\"", c->what, (int)r.bodylen[0], r.body[0]);
        if (r.close[0] != c->close) fail_msg("%s: close %d", c->what, r.close[0]);
    }
    check_every_split(c->in, c->head, c->eof);
}

static void test_rfc9112_framing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof FRAMING / sizeof FRAMING[0]; i++)
        check_framing_case(&FRAMING[i]);
}

/* A Content-Length-framed answer leaves the connection at the next answer:
 * identical repeated values frame like one. */
static void test_repeated_content_length_pipelines(void **state)
{
    (void)state;
    const char *s = OK200 "Content-Length: 2, 2\r\nContent-Length: 2\r\n\r\nab" OK200
                          "Content-Length: 1\r\n\r\nc";
    struct result r;
    parse_whole(s, false, false, &r);
    assert_false(r.error);
    assert_int_equal(r.n, 2);
    assert_memory_equal(r.body[0], "ab", 2);
    assert_memory_equal(r.body[1], "c", 1);
    check_every_split(s, false, false);
}

/* ---- the scanners against byte-at-a-time definitions -------------------- */

static bool naive_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool naive_tchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* Deterministic pseudo-random bytes, mostly printable, some CTL and
 * obs-text, so every 16-byte window sees every kind. */
static void fill(unsigned char *b, size_t n, uint32_t *seed)
{
    static const char pick[] = "aZ09-_:; \t\r\n\x01\x7f\x80\xff\"~";
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        uint32_t r = *seed >> 16;
        b[i] = (r % 4 != 0) ? (unsigned char)('a' + r % 26)
                            : (unsigned char)pick[r % (sizeof pick - 1)];
    }
}

static void test_byte_classes(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        assert_int_equal(hs_is_tchar((char)c), naive_tchar((unsigned char)c));
        assert_int_equal((hs_class[c] & HS_CTL) != 0, naive_ctl((unsigned char)c));
    }
}

static void test_find_ctl_and_lines(void **state)
{
    (void)state;
    uint32_t seed = 1;
    unsigned char b[96];
    for (int round = 0; round < 400; round++) {
        size_t len = (size_t)round % sizeof b;
        fill(b, len, &seed);
        const char *s = (const char *)b;
        /* hs_find_ctl from every start */
        for (size_t from = 0; from <= len; from++) {
            size_t want = from;
            while (want < len && !naive_ctl(b[want]))
                want++;
            assert_int_equal(from + hs_find_ctl(s + from, len - from), want);
        }
        /* hs_lines_next walking forward over every CTL, with steps of 1
         * and 2 past it (LF, CRLF) */
        for (size_t step = 1; step <= 2; step++) {
            struct hs_lines sc;
            hs_lines_init(&sc, s, len);
            size_t pos = 0;
            while (pos <= len) {
                size_t want = pos;
                while (want < len && !naive_ctl(b[want]))
                    want++;
                size_t got = hs_lines_next(&sc, pos);
                assert_int_equal(got, want);
                if (got == len) break;
                pos = got + step;
            }
        }
    }
}

static void test_token_len(void **state)
{
    (void)state;
    uint32_t seed = 7;
    char b[64];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)round % 40;
        /* a token-ish run, then a line end as the sentinel */
        fill((unsigned char *)b, sizeof b, &seed);
        for (size_t i = 0; i < n; i++)
            if (round % 3 && naive_ctl((unsigned char)b[i])) b[i] = (char)("Ab-9x_"[i % 6]);
        b[n] = '\n';
        size_t want = 0;
        while (naive_tchar((unsigned char)b[want]))
            want++;
        assert_int_equal(hs_token_len(b, sizeof b), want);
        assert_int_equal(hs_token_len(b, 0), want);
        assert_int_equal(hs_token_len_bounded(b, n), want < n ? want : n);
    }
}

static void test_word_is(void **state)
{
    (void)state;
    assert_true(HS_WORD_IS("Content-Length", 14, "content-length"));
    assert_true(HS_WORD_IS("TRANSFER-ENCODING", 17, "transfer-encoding"));
    assert_true(HS_WORD_IS("cLoSe", 5, "close"));
    assert_false(HS_WORD_IS("Content-Lengt", 13, "content-length"));
    assert_false(HS_WORD_IS("Content_Length", 14, "content-length"));
    assert_false(HS_WORD_IS("Content-Lengtx", 14, "content-length"));
    assert_false(HS_WORD_IS("Xontent-Length", 14, "content-length"));
    assert_false(HS_WORD_IS("clos\xc5", 5, "close"));
    assert_false(HS_WORD_IS("keep_alive", 10, "keep-alive"));
    /* (CR in place of '-' would match: a line's content never holds a CR) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_chunked_extensions_trailers),
        cmocka_unit_test(test_chunked_bad_size),
        cmocka_unit_test(test_head_has_no_body),
        cmocka_unit_test(test_204_304_no_body),
        cmocka_unit_test(test_content_length_too_long_eof),
        cmocka_unit_test(test_content_length_too_short),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_header_section_limit),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_interim_1xx_skipped),
        cmocka_unit_test(test_body_until_eof_and_http10),
        cmocka_unit_test(test_rfc9112_framing),
        cmocka_unit_test(test_repeated_content_length_pipelines),
        cmocka_unit_test(test_byte_classes),
        cmocka_unit_test(test_find_ctl_and_lines),
        cmocka_unit_test(test_token_len),
        cmocka_unit_test(test_word_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
