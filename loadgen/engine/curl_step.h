/* curl_step.h - one scenario step as a libcurl transfer, and its verdict.
 *
 * Shared by the curl engine (many transfers per easy handle, driven by a
 * multi handle) and the verify pass (one fresh easy handle per step, driven
 * by curl_easy_perform). The caller owns the driving; this module only sets
 * the easy handle up for a step and judges the finished transfer:
 *
 *     cs_init(&x, cfg, payload);
 *     cs_start(&x, step, tag);            // tag: unique name part for STOR
 *     ... run x.easy to completion -> CURLcode res ...
 *     cs_finish(&x, res, &r);
 *     if (r.again) { cs_next_phase(&x); run it again; cs_finish(...); }
 *     r.err == LG_ERR__COUNT: the step passed
 *     cs_free(&x);
 *
 * FTP: RETR downloads, LIST / NLST list a directory, STOR uploads
 * check_payload bytes to the path as given, or to a unique lg-TAG.bin when
 * the path names a directory (ends in '/'); any other command (SIZE, MDTM,
 * DELE, MKD) is sent as "METHOD /path" and judged by its reply. A STOR
 * with a body expectation (expect = echo) is a round trip counted as one
 * request: phase 0 uploads, phase 1 downloads the same name and checks
 * length + hash. (scenario.c currently refuses expect on STOR and checks
 * uploads with a following RETR step of the same path instead.)
 *
 * Bodies are never stored: they are hashed (XXH64 streaming) and counted as
 * they arrive; only /time and listing answers are captured, up to
 * CS_CAPTURE_MAX bytes.
 */
#ifndef LOADGEN_CURL_STEP_H
#define LOADGEN_CURL_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <xxhash.h>

#include "http/sha256.h"
#include "loadgen.h"

#define CS_CAPTURE_MAX (64 * 1024)
#define CS_URL_MAX (LG_PATH_MAX * 3 + 512) /* percent-encoding may triple a path */

struct cs_xfer {
    CURL *easy;
    const struct lg_config *cfg;
    const unsigned char *payload; /* check_payload bytes, >= every step's body_size */
    const struct lg_step *st;     /* the step running now */
    int phase;                    /* 0 = the step, 1 = STOR's read-back RETR */
    char url[CS_URL_MAX];
    XXH64_state_t *hash;
    uint64_t body_bytes;
    size_t up_off; /* upload progress in payload */
    char *cap;     /* captured body (time, listing): CS_CAPTURE_MAX bytes, on first use */
    size_t cap_len;
    bool capture;
    /* curl_slist nodes over our own storage: no allocation per transfer:
     * Expect, Connection, Host, the step's own headers (reqheader.h) */
    struct curl_slist hdr[3 + LG_HEADERS_MAX];
    char host_line[LG_HOST_MAX + 8];
    struct curl_slist quote;
    char quote_cmd[LG_PATH_MAX + 32];
    char errbuf[CURL_ERROR_SIZE];
    struct sha256 *sha; /* a step still to learn with expect = sha256: on first use */
    /* FTP's setup steps in this transfer (CLOCK_MONOTONIC ns, 0 = did not
     * happen), from the server's replies: the login (220 .. 230) and the
     * data connection (229/227 .. 150). */
    uint64_t login_start, login_end, data_start, data_end;
};

/* The setup steps of the transfer just finished, for the per-step
 * statistics: how long its new connection's connect took (0: it reused
 * one), and for FTP the login and the data connection (cs_xfer's times). */
struct cs_setup {
    uint64_t connect_us; /* from the transfer's start; 0 = no new connection */
};
void cs_setup_of(struct cs_xfer *x, struct cs_setup *out);

struct cs_result {
    enum lg_error err; /* LG_ERR__COUNT = passed */
    bool answered;     /* the server replied (counted as a request, latency recorded) */
    bool again;        /* phase 0 of a STOR round trip done: cs_next_phase, run again */
    uint64_t bytes;    /* bytes received by this transfer (headers + body) */
    char why[320];     /* on failure: "expected X, got Y" */
    /* A step still to learn (expect = same or sha256, expect_length < 0: the
     * verify pass) that passed: its body's length and XXH64. */
    bool learnt;
    int64_t body_len;
    uint64_t body_hash;
};

/* 0, or -1 (allocation failure). */
int cs_init(struct cs_xfer *x, const struct lg_config *cfg, const unsigned char *payload);
void cs_free(struct cs_xfer *x);

/* Set x->easy up for step st. tag makes a STOR's file name unique
 * (characters [A-Za-z0-9-] only). 0, or -1 with a message in x->errbuf. */
int cs_start(struct cs_xfer *x, const struct lg_step *st, const char *tag);
/* After a result with again: set up the read-back RETR of the uploaded name. */
int cs_next_phase(struct cs_xfer *x);

/* Judge the finished transfer (res = its CURLcode). */
void cs_finish(struct cs_xfer *x, CURLcode res, struct cs_result *r);

/* The largest body a step sends (POST, STOR), for sizing the payload buffer. */
size_t cs_payload_size(const struct lg_scenario *sc);

/* curl_global_init, once per process, thread-safe. 0 or -1. */
int cs_global_init(void);

#endif
