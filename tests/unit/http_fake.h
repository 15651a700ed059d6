/* http_fake.h - what the HTTP session tests share (server_http.c): a
 * fixture tree under a scratch root, a fake driver that performs the
 * session's actions in memory (ACT_WRITE / ACT_SENDFILE append to a buffer,
 * partial writes and chunked reads on request), and a strict parser of the
 * answers it collected. */
#ifndef HTTP_FAKE_H
#define HTTP_FAKE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "fsroot.h"

/* ---- fixture ------------------------------------------------------------ */

/* The root (scratch "root/"): index.html, a.txt "hello\n", empty.txt,
 * data.json, pic.PNG, noext, "a b.txt", sub/ (index.html, style.css),
 * noindex/, "a dir?#/", evil.example/, big.bin (BIG_SIZE bytes of big[]),
 * hidden .hidden and .git/config, links link_in, sub/up (inside), link_out
 * and dir_out (leaving it); outside.txt beside it. ctx serves it. */
#define BIG_SIZE (100 * 1024 + 7)
extern char big[BIG_SIZE];
extern char rootdir[PATH_MAX];
extern struct fsroot *root;
extern struct server_ctx ctx;

/* cmocka group setup/teardown: make and remove all of it. */
int http_fixture_setup(void **state);
int http_fixture_teardown(void **state);

/* ---- driver ------------------------------------------------------------- */

struct drv {
    struct session *s;
    char *out;
    size_t len, cap;
    size_t max_io; /* largest write/sendfile performed at once (partial writes) */
    size_t chunk;  /* bytes offered per feed */
    bool closed;
    int actions;
    int writes, sendfiles; /* ACT_WRITE / ACT_SENDFILE actions performed */
};

void drv_init(struct drv *d);
void drv_free(struct drv *d);
/* Performs actions, feeding in[0..len) as asked, then EOF if eof. Returns
 * when the session closes or asks for input that is not there. */
void drive(struct drv *d, const char *in, size_t len, bool eof);
/* One request through a fresh session; the output stays in d. */
void run1(struct drv *d, const char *req, bool eof);

/* ---- response parsing --------------------------------------------------- */

struct resp {
    int status;
    char head[4096];
    const char *body;
    size_t blen;
};

/* The value of header name in r (NULL if absent), copied into a static. */
const char *hdr(const struct resp *r, const char *name);
/* Parses the response at *p (no body when head_req), advancing *p. */
void parse_resp(const char **p, const char *end, bool head_req, struct resp *r);
/* The only response in d's output. */
void only_resp(const struct drv *d, bool head_req, struct resp *r);
void expect_body(const struct resp *r, const char *body);
/* Sends req on a fresh session (EOF after it), expects one answer. */
int status_of(const char *req);
/* Same, but checks the connection state afterwards (no EOF sent). */
int status_close(const char *req, bool *closed);

#endif
