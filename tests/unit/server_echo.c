/* Unit tests of the line echo session (servers/core/echo.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bufpool.h"
#include "conn.h"
#include "echo.h"

struct drv {
    struct session *s;
    char *out;
    size_t len;
    size_t chunk, max_io;
    bool closed;
};

static void drv_init(struct drv *d)
{
    memset(d, 0, sizeof *d);
    d->s = session_new(&echo_proto, NULL, "peer");
    assert_non_null(d->s);
    d->out = malloc(1 << 20);
    assert_non_null(d->out);
    d->chunk = d->max_io = SIZE_MAX;
}

static void drv_free(struct drv *d)
{
    session_free(d->s);
    free(d->out);
}

/* Feeds in[0..len) as asked (then EOF if eof), writes into d->out. */
static void drive(struct drv *d, const char *in, size_t len, bool eof)
{
    size_t pos = 0;
    bool eof_sent = false;
    for (int guard = 0; guard < 1000000; guard++) {
        struct action a;
        session_next(d->s, &a);
        switch (a.kind) {
        case ACT_READ:
            if (pos < len) {
                size_t n = len - pos < d->chunk ? len - pos : d->chunk;
                size_t c = session_feed(d->s, in + pos, n);
                assert_true(c > 0);
                pos += c;
            } else if (eof && !eof_sent) {
                assert_int_equal(session_feed(d->s, NULL, 0), 0);
                eof_sent = true;
            } else {
                return;
            }
            break;
        case ACT_WRITE: {
            assert_true(a.len > 0);
            size_t n = a.len < d->max_io ? a.len : d->max_io;
            assert_true(d->len + n <= (1 << 20));
            memcpy(d->out + d->len, a.buf, n);
            d->len += n;
            session_done(d->s, &a, (ssize_t)n);
            break;
        }
        case ACT_CLOSE:
            d->closed = true;
            return;
        default:
            fail_msg("unexpected action %d", a.kind);
        }
    }
    fail_msg("session loops");
}

static void expect_out(const struct drv *d, const char *want, size_t n)
{
    assert_int_equal(d->len, n);
    assert_memory_equal(d->out, want, n);
}

static void test_lines(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    const char *in = "hello\nworld\n\n";
    drive(&d, in, strlen(in), false);
    assert_false(d.closed);
    expect_out(&d, in, strlen(in));
    drive(&d, NULL, 0, true);
    assert_true(d.closed);
    drv_free(&d);
}

static void test_split_and_partial_writes(void **state)
{
    (void)state;
    const char *in = "one\ntwo two\nthree three three\n";
    size_t len = strlen(in);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        struct drv d;
        drv_init(&d);
        d.chunk = chunk;
        d.max_io = chunk % 4 + 1;
        drive(&d, in, len, true);
        assert_true(d.closed);
        expect_out(&d, in, len);
        drv_free(&d);
    }
}

static void test_no_echo_before_newline(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    drive(&d, "abc", 3, false);
    assert_int_equal(d.len, 0);
    drive(&d, "def\n", 4, false);
    expect_out(&d, "abcdef\n", 7);
    drv_free(&d);
}

static void test_long_line(void **state)
{
    (void)state;
    size_t n = ECHO_MAX_LINE * 2 + 100;
    char *in = malloc(n + 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)('a' + i % 26);
    in[n] = '\n';
    struct drv d;
    drv_init(&d);
    struct action a;
    /* The first ECHO_MAX_LINE bytes go back without waiting for a newline. */
    assert_int_equal(session_feed(d.s, in, n + 1), ECHO_MAX_LINE);
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    assert_int_equal(a.len, ECHO_MAX_LINE);
    drive(&d, in + ECHO_MAX_LINE, n + 1 - ECHO_MAX_LINE, true);
    expect_out(&d, in, n + 1);
    assert_true(d.closed);
    drv_free(&d);
    free(in);
}

static void test_eof_partial_line(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    drive(&d, "full\npart", 9, true);
    assert_true(d.closed);
    expect_out(&d, "full\npart", 9);
    drv_free(&d);
    drv_init(&d);
    drive(&d, NULL, 0, true); /* EOF at once */
    assert_true(d.closed);
    assert_int_equal(d.len, 0);
    drv_free(&d);
}

static void test_backpressure(void **state)
{
    (void)state;
    /* Many lines at once: feed takes at most a buffer's worth and asks for
     * the writes before more input. */
    size_t lines = 5000;
    char *in = malloc(lines * 4);
    assert_non_null(in);
    for (size_t i = 0; i < lines; i++)
        memcpy(in + 4 * i, "abc\n", 4);
    struct drv d;
    drv_init(&d);
    size_t c = session_feed(d.s, in, lines * 4);
    assert_true(c > 0 && c <= ECHO_MAX_LINE);
    assert_true(c < lines * 4);
    struct action a;
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    assert_int_equal(a.len, 4);
    drive(&d, in + c, lines * 4 - c, true);
    expect_out(&d, in, lines * 4);
    drv_free(&d);
    free(in);
}

static void test_write_error_closes(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    session_feed(d.s, "x\n", 2);
    struct action a;
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    session_done(d.s, &a, -1);
    session_next(d.s, &a);
    assert_int_equal(a.kind, ACT_CLOSE);
    drv_free(&d);
    assert_non_null(echo_proto.refusal);
}

/* PHASE_HEAD while a line is unfinished; expiry closes without a word. */
/* A client between lines holds no buffer; a line half received holds one. */
static void test_idle_holds_no_buffer(void **state)
{
    (void)state;
    long before = bufpool_in_use();
    struct drv d;
    drv_init(&d);
    drive(&d, "one\ntwo\n", 8, false);
    assert_int_equal(d.len, 8);
    assert_int_equal(bufpool_in_use(), before);
    drive(&d, "thr", 3, false);
    assert_int_equal(bufpool_in_use(), before + 1);
    drive(&d, "ee\n", 3, false);
    assert_memory_equal(d.out + 8, "three\n", 6);
    assert_int_equal(bufpool_in_use(), before);
    drive(&d, "tail", 4, false);
    drv_free(&d); /* a partial line's buffer goes back with the session */
    assert_int_equal(bufpool_in_use(), before);
}

static void test_phase_expire(void **state)
{
    (void)state;
    struct drv d;
    drv_init(&d);
    assert_int_equal(session_phase(d.s), PHASE_IDLE);
    drive(&d, "one\ntw", 6, false);
    expect_out(&d, "one\n", 4);
    assert_int_equal(session_phase(d.s), PHASE_HEAD);
    session_expire(d.s);
    drive(&d, "o\n", 2, false);
    assert_true(d.closed);
    expect_out(&d, "one\n", 4);
    drv_free(&d);

    drv_init(&d);
    drive(&d, "x\n", 2, false);
    assert_int_equal(session_phase(d.s), PHASE_IDLE);
    session_expire(d.s);
    drive(&d, "", 0, false);
    assert_true(d.closed);
    expect_out(&d, "x\n", 2);
    drv_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_idle_holds_no_buffer),
        cmocka_unit_test(test_split_and_partial_writes),
        cmocka_unit_test(test_no_echo_before_newline),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_eof_partial_line),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_write_error_closes),
        cmocka_unit_test(test_phase_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
