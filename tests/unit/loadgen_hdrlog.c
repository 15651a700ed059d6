/* Unit tests for loadgen/hdrcodec.c and loadgen/hdrlog.c against the
 * reference JavaScript implementation (tests/vectors/, made by
 * make_hdr_vectors.js): hist.c's layout is HdrHistogram's index for index,
 * JS-encoded histograms and logs decode to the JS library's own view, the JS
 * library reads our encodings and logs as we meant them, and bad input
 * (truncated, flipped bytes, wrong cookie, bad lengths, empty files) is a
 * clear error.
 *
 * `loadgen_hdrlog --make-vectors DIR` writes ours_known.b64, ours_empty.b64
 * and ours.hlog for make_hdr_vectors.js (see there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "results/hdrcodec.h"
#include "results/hdrlog.h"
#include "results/hist.h"
#include "test_util.h"

static char err[1024];

/* ---- helpers ----------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    return scratch_create("lg_hdrlog") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return scratch_remove();
}

/* tests/vectors/name in the source tree (as repo_path: a ring buffer). */
static const char *vector_path(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/vectors/%s", name);
    return repo_path(rel);
}

/* The whole vector file, NUL-terminated (fails the test when missing). */
static char *read_vector(const char *name, size_t *len)
{
    char *text = read_whole_file(vector_path(name), len);
    if (!text) {
        print_error("cannot open %s\n", vector_path(name));
        fail();
    }
    return text;
}

/* The known values of make_hdr_vectors.js's recordKnown(). */
static void record_known(struct hist *h)
{
    static const struct {
        uint64_t v, n;
    } many[] = {{1500, 100},   {2047, 20},    {2048, 20},    {2049, 20},
                {4095, 20},    {4096, 20},    {100000, 500}, {123456, 200},
                {1000000, 90}, {59999999, 5}, {60000000, 5}};
    for (uint64_t v = 1; v <= 1000; v++)
        hist_record(h, v);
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
        for (uint64_t k = 0; k < many[i].n; k++)
            hist_record(h, many[i].v);
}

/* One interval of ours.hlog: interval i holds 50 * (i + 1) values. */
static void record_interval(struct hist *h, int i)
{
    for (uint64_t v = 1; v <= 50 * (uint64_t)(i + 1); v++)
        hist_record(h, v * 37 * (uint64_t)(i + 1));
}

#define OURS_START 1700000000.25
#define OURS_INTERVALS 3

static int write_ours_log(const char *path)
{
    struct hdrlog_meta meta = {.scenario = "http-hello", .target = "127.0.0.1:8080"};
    struct hdrlog_writer *w = hdrlog_create(path, OURS_START, &meta, err, sizeof err);
    struct hist *h = hist_new(), *run = hist_new();
    int rc = w && h && run ? 0 : -1;
    for (int i = 0; rc == 0 && i < OURS_INTERVALS; i++) {
        hist_reset(h);
        record_interval(h, i);
        hist_merge(run, h);
        rc = hdrlog_write_interval(w, i, 1.0, h, err, sizeof err);
    }
    if (rc == 0) rc = hdrlog_write_run(w, 0, OURS_INTERVALS, run, err, sizeof err);
    if (rc == 0)
        rc = hdrlog_commit(w, err, sizeof err);
    else
        hdrlog_discard(w);
    hist_free(h);
    hist_free(run);
    return rc;
}

/* ---- the JS library's view (*.txt) ---------------------------------------- */

struct view {
    uint64_t total, min, max;
    uint64_t p[5]; /* 50 90 99 99.9 100 */
    size_t nbuckets;
    struct {
        size_t index;
        uint64_t lowest, count;
    } b[HIST_COUNTS_LEN];
};

static const double PCTS[5] = {50, 90, 99, 99.9, 100};

static struct view *load_view(const char *name)
{
    struct view *v = calloc(1, sizeof *v);
    assert_non_null(v);
    char *text = read_vector(name, NULL);
    int pi = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long a, b, c;
        double pct;
        if (sscanf(line, "total %llu", &a) == 1)
            v->total = a;
        else if (sscanf(line, "min %llu", &a) == 1)
            v->min = a;
        else if (sscanf(line, "max %llu", &a) == 1)
            v->max = a;
        else if (sscanf(line, "p%lf %llu", &pct, &a) == 2) {
            assert_true(pi < 5 && pct == PCTS[pi]);
            v->p[pi++] = a;
        } else if (sscanf(line, "bucket %llu %llu %llu", &a, &b, &c) == 3) {
            assert_true(v->nbuckets < HIST_COUNTS_LEN);
            v->b[v->nbuckets].index = (size_t)a;
            v->b[v->nbuckets].lowest = b;
            v->b[v->nbuckets++].count = c;
        } else {
            print_error("%s: bad line '%s'\n", name, line);
            fail();
        }
    }
    assert_int_equal(pi, 5);
    free(text);
    return v;
}

/* Our reported value for a JS one: we cap at the range's top. */
static uint64_t capped(uint64_t v)
{
    return v > HIST_MAX_US ? HIST_MAX_US : v;
}

/* h holds exactly the view's counts, and reports its percentiles. */
static void assert_matches_view(const struct hist *h, const struct view *v)
{
    assert_int_equal(hist_count(h), v->total);
    uint64_t seen = 0;
    for (size_t i = 0; i < v->nbuckets; i++) {
        assert_int_equal(hist_count_at(h, v->b[i].index), v->b[i].count);
        assert_int_equal(hist_lowest_at(v->b[i].index), v->b[i].lowest);
        seen += v->b[i].count;
    }
    assert_int_equal(seen, hist_count(h)); /* no count outside the view's buckets */
    assert_int_equal(hist_min(h), v->min);
    assert_int_equal(hist_max(h), capped(v->max));
    for (int i = 0; i < 5; i++)
        assert_int_equal(hist_percentile(h, PCTS[i]), capped(v->p[i]));
}

static struct hist *decode_vector(const char *name)
{
    size_t len;
    char *b64 = read_vector(name, &len);
    while (len && (b64[len - 1] == '\n' || b64[len - 1] == '\r'))
        len--;
    struct hist *h = hist_new();
    assert_non_null(h);
    if (hdr_decode_base64(b64, len, h, err, sizeof err) != 0) {
        print_error("%s: %s\n", name, err);
        fail();
    }
    free(b64);
    return h;
}

static void check_js_vector(const char *b64_name, const char *view_name)
{
    struct hist *h = decode_vector(b64_name);
    struct view *v = load_view(view_name);
    assert_matches_view(h, v);
    free(v);
    hist_free(h);
}

/* ---- decoding what the JS library wrote ------------------------------------- */

static void test_js_known(void **state)
{
    (void)state;
    check_js_vector("js_known.b64", "js_known.txt");
}

static void test_js_big_counts(void **state)
{
    (void)state;
    check_js_vector("js_big.b64", "js_big.txt");
}

static void test_js_empty(void **state)
{
    (void)state;
    check_js_vector("js_empty.b64", "js_empty.txt");
}

/* Recording the same values ourselves fills the same indices: the layouts agree. */
static void test_layout_is_hdrhistogram(void **state)
{
    (void)state;
    struct hist *ours = hist_new(), *js = decode_vector("js_known.b64");
    record_known(ours);
    for (size_t i = 0; i < HIST_COUNTS_LEN; i++)
        assert_int_equal(hist_count_at(ours, i), hist_count_at(js, i));
    assert_int_equal(hist_count(ours), hist_count(js));
    /* Bucket bounds: contiguous, each highest + 1 the next lowest. */
    for (size_t i = 0; i + 1 < HIST_COUNTS_LEN; i++)
        if (hist_lowest_at(i + 1) < HIST_MAX_US)
            assert_int_equal(hist_highest_at(i) + 1, hist_lowest_at(i + 1));
    hist_free(ours);
    hist_free(js);
}

/* ---- what the JS library read from our encoder -------------------------------- */

static void test_js_reads_ours(void **state)
{
    (void)state;
    /* The JS view of our committed bytes is the JS view of its own bytes. */
    char *a = read_vector("ours_known.js.txt", NULL);
    char *b = read_vector("js_known.txt", NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
    a = read_vector("ours_empty.js.txt", NULL);
    b = read_vector("js_empty.txt", NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* And the encoder today still writes what the JS library read then. */
    struct hist *committed = decode_vector("ours_known.b64"), *now = hist_new();
    record_known(now);
    char *b64 = hdr_encode_base64(now, err, sizeof err);
    assert_non_null(b64);
    struct hist *again = hist_new();
    assert_int_equal(hdr_decode_base64(b64, strlen(b64), again, err, sizeof err), 0);
    for (size_t i = 0; i < HIST_COUNTS_LEN; i++)
        assert_int_equal(hist_count_at(again, i), hist_count_at(committed, i));
    free(b64);
    hist_free(committed);
    hist_free(now);
    hist_free(again);
}

static void test_round_trip_adds(void **state)
{
    (void)state;
    struct hist *h = hist_new(), *into = hist_new();
    record_known(h);
    size_t len;
    uint8_t *bin = hdr_encode(h, &len, err, sizeof err);
    assert_non_null(bin);
    assert_int_equal(hdr_decode(bin, len, into, err, sizeof err), 0);
    assert_int_equal(hdr_decode(bin, len, into, err, sizeof err), 0);
    assert_int_equal(hist_count(into), 2 * hist_count(h));
    for (size_t i = 0; i < HIST_COUNTS_LEN; i++)
        assert_int_equal(hist_count_at(into, i), 2 * hist_count_at(h, i));
    free(bin);
    hist_free(h);
    hist_free(into);
}

/* ---- interval logs ------------------------------------------------------------ */

struct log_line {
    char tag[16];
    long long start_ms, end_ms;
    uint64_t total;
};

static size_t load_log_view(const char *name, struct log_line *out, size_t max)
{
    char *text = read_vector(name, NULL);
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long total;
        assert_true(n < max);
        assert_int_equal(sscanf(line, "interval %15s %lld %lld %llu", out[n].tag, &out[n].start_ms,
                                &out[n].end_ms, &total),
                         4);
        out[n++].total = total;
    }
    free(text);
    return n;
}

static void assert_interval(const struct hdrlog_interval *iv, const struct log_line *want)
{
    assert_int_equal(llround(iv->start_s * 1000), want->start_ms);
    assert_int_equal(llround((iv->start_s + iv->length_s) * 1000), want->end_ms);
    assert_int_equal(iv->count, want->total);
}

/* Our reader sees in a log what the JS HistogramLogReader saw. */
static void check_log_against_view(const char *log_path, const char *view_name)
{
    struct log_line want[16];
    size_t n = load_log_view(view_name, want, 16);
    struct hdrlog log;
    if (hdrlog_read(log_path, &log, err, sizeof err) != 0) {
        print_error("%s\n", err);
        fail();
    }
    size_t untagged = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(want[i].tag, "-") == 0) {
            assert_true(untagged < log.n);
            assert_interval(&log.iv[untagged++], &want[i]);
        } else {
            assert_string_equal(want[i].tag, HDRLOG_RUN_TAG);
            assert_non_null(log.run);
            assert_interval(&log.run_iv, &want[i]);
            assert_int_equal(hist_count(log.run), want[i].total);
        }
    }
    assert_int_equal(untagged, log.n);
    assert_int_equal(hist_count(log.intervals), hist_count(hdrlog_total(&log)));
    hdrlog_free(&log);
}

static void test_read_js_log(void **state)
{
    (void)state;
    check_log_against_view(vector_path("js.hlog"), "js.hlog.txt");
    struct hdrlog log;
    assert_int_equal(hdrlog_read(vector_path("js.hlog"), &log, err, sizeof err), 0);
    assert_true(log.start_time_s == 1700000000.0);
    assert_true(isnan(log.base_time_s));
    double start, end;
    hdrlog_window(&log, &start, &end);
    assert_true(start == 1700000000.0 && end == 1700000003.0);
    hdrlog_free(&log);
}

static void test_js_reads_our_log(void **state)
{
    (void)state;
    /* The committed log, as the JS reader saw it ... */
    check_log_against_view(vector_path("ours.hlog"), "ours.hlog.js.txt");
    /* ... and one written now reads the same. */
    const char *path = scratch_path("ours.hlog");
    if (write_ours_log(path) != 0) {
        print_error("%s\n", err);
        fail();
    }
    check_log_against_view(path, "ours.hlog.js.txt");
    struct hdrlog log;
    assert_int_equal(hdrlog_read(path, &log, err, sizeof err), 0);
    assert_string_equal(log.scenario, "http-hello");
    assert_string_equal(log.target, "127.0.0.1:8080");
    assert_true(log.start_time_s == OURS_START && log.base_time_s == OURS_START);
    struct hist *want = hist_new();
    for (int i = 0; i < OURS_INTERVALS; i++)
        record_interval(want, i);
    for (size_t i = 0; i < HIST_COUNTS_LEN; i++)
        assert_int_equal(hist_count_at(log.run, i), hist_count_at(want, i));
    hist_free(want);
    hdrlog_free(&log);
    /* Nothing but the log itself is left in the directory (no ours.hlog.tmp.*). */
    assert_true(scratch_exists("ours.hlog"));
    assert_int_equal(scratch_count_entries("", "ours.hlog"), 1);
}

static void test_discard_leaves_nothing(void **state)
{
    (void)state;
    const char *path = scratch_path("discarded.hlog");
    struct hdrlog_writer *w = hdrlog_create(path, 1.0, NULL, err, sizeof err);
    assert_non_null(w);
    hdrlog_discard(w);
    assert_false(scratch_exists("discarded.hlog"));
    /* Nor its temporary file (discarded.hlog.tmp.XXXXXX, see atomicfile.c). */
    assert_int_equal(scratch_count_entries("", "discarded"), 0);
    assert_null(hdrlog_create("/nonexistent-dir/x.hlog", 1.0, NULL, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent-dir/x.hlog"));
}

/* ---- bad histograms -------------------------------------------------------------- */

static void expect_decode_error(const uint8_t *buf, size_t len, const char *why)
{
    struct hist *h = hist_new();
    err[0] = '\0';
    assert_int_equal(hdr_decode(buf, len, h, err, sizeof err), -1);
    if (!strstr(err, why)) {
        print_error("error '%s' does not say '%s'\n", err, why);
        fail();
    }
    assert_int_equal(hist_count(h), 0); /* unchanged */
    hist_free(h);
}

static uint8_t *known_encoding(size_t *len)
{
    struct hist *h = hist_new();
    record_known(h);
    uint8_t *bin = hdr_encode(h, len, err, sizeof err);
    assert_non_null(bin);
    hist_free(h);
    return bin;
}

static void test_bad_wrapper(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = known_encoding(&len);
    expect_decode_error(bin, 0, "shorter than its header");
    expect_decode_error(bin, 7, "shorter than its header");
    for (size_t cut = 8; cut < len; cut++) /* every truncation */
        expect_decode_error(bin, cut, "truncated");
    uint8_t *copy = malloc(len + 1);
    memcpy(copy, bin, len);
    copy[len] = 0;
    expect_decode_error(copy, len + 1, "after the compressed histogram");
    memcpy(copy, bin, len);
    copy[3] ^= 0x01; /* 0x1c849315 */
    expect_decode_error(copy, len, "cookie 0x1c849315");
    memcpy(copy, bin, len);
    copy[3] = 0x12; /* a V1 cookie */
    expect_decode_error(copy, len, "not a V2 compressed histogram");
    memcpy(copy, bin, len);
    copy[4] = 0x7f; /* compressed length */
    expect_decode_error(copy, len, "compressed length");
    free(copy);
    free(bin);
}

/* Every single flipped byte in the compressed stream is caught (zlib's
 * header check and Adler-32 see it); none crashes. */
static void test_flipped_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = known_encoding(&len);
    uint8_t *copy = malloc(len);
    struct hist *h = hist_new();
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, bin, len);
        copy[i] ^= 0xff;
        hist_reset(h);
        if (hdr_decode(copy, len, h, err, sizeof err) != -1) {
            print_error("flipping byte %zu of %zu went unnoticed\n", i, len);
            fail();
        }
        assert_true(err[0] != '\0');
        assert_int_equal(hist_count(h), 0);
    }
    hist_free(h);
    free(copy);
    free(bin);
}

/* A compressed wrapper around hand-made plain bytes (header + payload). */
static uint8_t *wrap(const uint8_t *plain, size_t plen, size_t *len)
{
    uLongf zlen = compressBound(plen);
    uint8_t *out = malloc(8 + zlen);
    assert_int_equal(compress2(out + 8, &zlen, plain, plen, 6), Z_OK);
    const uint8_t hdr[8] = {0x1c,
                            0x84,
                            0x93,
                            0x14,
                            (uint8_t)(zlen >> 24),
                            (uint8_t)(zlen >> 16),
                            (uint8_t)(zlen >> 8),
                            (uint8_t)zlen};
    memcpy(out, hdr, 8);
    *len = 8 + zlen;
    return out;
}

static size_t plain_header(uint8_t *p, uint32_t cookie, uint32_t payload, uint32_t digits,
                           uint64_t lowest, uint64_t highest)
{
    uint64_t fields[] = {cookie, payload, 0, digits};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 4; b++)
            p[i * 4 + b] = (uint8_t)(fields[i] >> (24 - 8 * b));
    uint64_t longs[] = {lowest, highest, 0x3ff0000000000000ULL};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 8; b++)
            p[16 + i * 8 + b] = (uint8_t)(longs[i] >> (56 - 8 * b));
    return 40;
}

static void expect_plain_error(const uint8_t *payload, size_t plen, uint32_t cookie,
                               int32_t payload_field, uint32_t digits, uint64_t lowest,
                               const char *why)
{
    uint8_t plain[256];
    size_t n =
        plain_header(plain, cookie, payload_field < 0 ? (uint32_t)plen : (uint32_t)payload_field,
                     digits, lowest, 60000000);
    memcpy(plain + n, payload, plen);
    size_t len;
    uint8_t *bin = wrap(plain, n + plen, &len);
    expect_decode_error(bin, len, why);
    free(bin);
}

static void test_bad_plain(void **state)
{
    (void)state;
    const uint8_t one[] = {0x02}; /* count 1 at index 0 */
    /* Sanity: the hand-made wrapper decodes when nothing is wrong. */
    uint8_t plain[64];
    size_t n = plain_header(plain, 0x1c849313, 1, 3, 1, 60000000);
    plain[n++] = 0x02;
    size_t len;
    uint8_t *bin = wrap(plain, n, &len);
    struct hist *h = hist_new();
    assert_int_equal(hdr_decode(bin, len, h, err, sizeof err), 0);
    assert_int_equal(hist_count(h), 1);
    assert_int_equal(hist_count_at(h, 0), 1);
    hist_free(h);
    free(bin);

    expect_plain_error(one, 1, 0x1c849312, -1, 3, 1, "inner cookie");
    expect_plain_error(one, 1, 0x1c849313, 5, 3, 1, "payload length 5");
    expect_plain_error(one, 1, 0x1c849313, -1, 2, 1, "2 significant digits");
    expect_plain_error(one, 1, 0x1c849313, -1, 3, 1000, "lowest value 1000");
    const uint8_t cut[] = {0x02, 0x80, 0x80}; /* a LEB128 value never finished */
    expect_plain_error(cut, 3, 0x1c849313, -1, 3, 1, "ends inside a count");
    /* A run of 17408 zeros (-17408 -> zigzag 34815 = 0xff 0x8f 0x02), then a count. */
    const uint8_t past[] = {0xff, 0x8f, 0x02, 0x02};
    expect_plain_error(past, 4, 0x1c849313, -1, 3, 1, "a count past");
    /* A huge zero run cannot wrap the index back into range. */
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    expect_plain_error(huge, sizeof huge, 0x1c849313, -1, 3, 1, "a count past");
    uint8_t short_plain[20] = {0x1c, 0x84, 0x93, 0x13};
    bin = wrap(short_plain, sizeof short_plain, &len);
    expect_decode_error(bin, len, "shorter than its 40-byte header");
    free(bin);
}

static void test_bad_base64(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    assert_int_equal(hdr_decode_base64("", 0, h, err, sizeof err), -1);
    assert_non_null(strstr(err, "multiple of 4"));
    assert_int_equal(hdr_decode_base64("HISTFAAAAB1", 11, h, err, sizeof err), -1);
    assert_non_null(strstr(err, "multiple of 4"));
    assert_int_equal(hdr_decode_base64("HIST*AAA", 8, h, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad base64 character 0x2a at offset 4"));
    assert_int_equal(hdr_decode_base64("HI=TFAAA", 8, h, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad base64 character"));
    /* Valid base64 of too few bytes. */
    assert_int_equal(hdr_decode_base64("AAAA", 4, h, err, sizeof err), -1);
    assert_non_null(strstr(err, "shorter than its header"));
    assert_int_equal(hist_count(h), 0);
    /* Round trip of odd lengths. */
    for (size_t n = 0; n < 8; n++) {
        const uint8_t bytes[8] = {0, 1, 2, 0xfe, 0xff, 0x80, 0x7f, 0x40};
        char *s = hdr_base64_encode(bytes, n);
        size_t outlen = 99;
        uint8_t *back = hdr_base64_decode(s, strlen(s), &outlen, err, sizeof err);
        if (n == 0) {
            assert_null(back);
        } else {
            assert_non_null(back);
            assert_int_equal(outlen, n);
            assert_memory_equal(back, bytes, n);
        }
        free(back);
        free(s);
    }
    hist_free(h);
}

/* ---- bad logs ----------------------------------------------------------------- */

static void expect_log_error(const char *name, const char *text, const char *why)
{
    const char *path = scratch_write_text(name, text);
    struct hdrlog log;
    err[0] = '\0';
    assert_int_equal(hdrlog_read(path, &log, err, sizeof err), -1);
    if (!strstr(err, why) || !strstr(err, name)) {
        print_error("error '%s' does not say '%s' and name %s\n", err, why, name);
        fail();
    }
    assert_null(log.run);
    assert_null(log.iv);
    hdrlog_free(&log);
}

static void test_bad_logs(void **state)
{
    (void)state;
    size_t len;
    char *good = read_vector("js.hlog", &len);
    expect_log_error("empty.hlog", "", "no histogram in the log");
    expect_log_error("comments.hlog", "#[StartTime: 5 (x)]\n", "no histogram");
    /* Cut in the middle of the last line's base64. */
    char *cut = strdup(good);
    cut[len - 20] = '\0';
    expect_log_error("truncated.hlog", cut, "truncated.hlog:8:");
    free(cut);
    /* A changed base64 character inside the second interval's histogram. */
    char *flip = strdup(good);
    char *line = strstr(flip, "1.000,1.000,4.000,HISTF");
    assert_non_null(line);
    line[30] = line[30] == 'A' ? 'B' : 'A';
    expect_log_error("flipped.hlog", flip, "flipped.hlog:6:");
    free(flip);
    expect_log_error("cookie.hlog", "0.000,1.000,1.000,AAAAAAAAAAAA\n", "cookie 0x00000000");
    expect_log_error("text.hlog", "hello world\n", "expected [Tag=T,]StartTimestamp");
    expect_log_error("time.hlog", "#[StartTime: soon]\n", "bad time");
    expect_log_error("stamp.hlog", "x.5,1.000,1.000,AAAA\n", "expected [Tag=T,]");
    char twice[4096];
    const char *run = strstr(good, "Tag=run");
    snprintf(twice, sizeof twice, "%s%s", good, run);
    expect_log_error("tworuns.hlog", twice, "a second Tag=run line");
    free(good);
    struct hdrlog log;
    assert_int_equal(hdrlog_read(scratch_path("missing.hlog"), &log, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
    hdrlog_free(&log);
}

/* ---- hist accessors --------------------------------------------------------- */

static void test_hist_diff(void **state)
{
    (void)state;
    struct hist *before = hist_new(), *now = hist_new(), *d = hist_new();
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(now, v);
    hist_copy(before, now);
    hist_record(now, 5000);
    hist_record(now, 7);
    hist_diff(d, now, before);
    assert_int_equal(hist_count(d), 2);
    assert_int_equal(hist_min(d), 7);
    assert_int_equal(hist_max(d), 5000); /* exact: a new maximum */
    assert_int_equal(hist_percentile(d, 50), 7);
    assert_int_equal(hist_add_at(d, HIST_COUNTS_LEN, 1), -1);
    assert_int_equal(hist_count_at(d, HIST_COUNTS_LEN), 0);
    assert_int_equal(hist_highest_at(HIST_COUNTS_LEN - 1), HIST_MAX_US);
    hist_free(before);
    hist_free(now);
    hist_free(d);
}

/* ---- main ------------------------------------------------------------------------ */

static int make_vectors(const char *dir)
{
    struct hist *h = hist_new();
    record_known(h);
    char path[1200];
    const struct {
        const char *name;
        bool known;
    } b64s[] = {{"ours_known.b64", true}, {"ours_empty.b64", false}};
    for (size_t i = 0; i < 2; i++) {
        hist_reset(h);
        if (b64s[i].known) record_known(h);
        char *s = hdr_encode_base64(h, err, sizeof err);
        snprintf(path, sizeof path, "%s/%s", dir, b64s[i].name);
        FILE *f = s ? fopen(path, "w") : NULL;
        if (!f || fprintf(f, "%s\n", s) < 0 || fclose(f) != 0) {
            fprintf(stderr, "%s: %s\n", path, s ? "write failed" : err);
            return 1;
        }
        free(s);
    }
    hist_free(h);
    snprintf(path, sizeof path, "%s/ours.hlog", dir);
    if (write_ours_log(path) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--make-vectors") == 0) return make_vectors(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_js_known),
        cmocka_unit_test(test_js_big_counts),
        cmocka_unit_test(test_js_empty),
        cmocka_unit_test(test_layout_is_hdrhistogram),
        cmocka_unit_test(test_js_reads_ours),
        cmocka_unit_test(test_round_trip_adds),
        cmocka_unit_test(test_read_js_log),
        cmocka_unit_test(test_js_reads_our_log),
        cmocka_unit_test(test_discard_leaves_nothing),
        cmocka_unit_test(test_bad_wrapper),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_bad_plain),
        cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_bad_logs),
        cmocka_unit_test(test_hist_diff),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
