/* loadgen.h - the types the loadgen modules share (their functions: loadgen.c).
 *
 * main.c parses the CLI and the scenario (scenario/scenario.c); run.c
 * resolves what every step must answer from the fixtures (http/check.c),
 * runs the verify pass through libcurl (engine/engine_curl.c), then the
 * timed run on one engine (engine/engine.h), merges the per-thread stats,
 * prints the summary and appends the CSV row (results/csv.c). Both engines
 * follow one policy (engine/policy.h): step choice, the measured window
 * (warm-up is not counted), what is counted. Latency lives in an HDR-style
 * histogram (results/hist.c).
 *
 * Every folder may include this file; it includes no other of loadgen's.
 *
 * Nothing here is shared with the servers: a bug common to client and server
 * would pass its own checks.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hist;          /* results/hist.h */
struct lg_step_stats; /* results/stats.h */
struct ival_slot;     /* results/ival.h */

enum lg_proto { LG_PROTO_HTTP, LG_PROTO_FTP, LG_PROTO_ECHO };
enum lg_engine { LG_ENGINE_DEFAULT, LG_ENGINE_RAW, LG_ENGINE_CURL };

/* What a step's answer is checked against. */
enum lg_expect {
    LG_EXPECT_NONE,    /* status only */
    LG_EXPECT_FILE,    /* body == a fixture file (length + xxh64) */
    LG_EXPECT_HASH,    /* body length + xxh64 given in the scenario */
    LG_EXPECT_TIME,    /* /time: a well-formed date line */
    LG_EXPECT_LISTING, /* FTP LIST/NLST: contains every name in expect_names */
    LG_EXPECT_ECHO,    /* echo / POST /echo / STOR: the bytes sent come back */
    /* Checks without fixtures. expect_length < 0 until the verify pass took
     * the first answer's length + xxh64 (run.c); from then on every answer
     * is checked against them, as LG_EXPECT_HASH is, by every engine: */
    LG_EXPECT_SAME,   /* consistency: every answer as the first one */
    LG_EXPECT_SHA256, /* the first answer's SHA-256 is expect_sha256; every answer as it */
};

#define LG_NAME_MAX 64
#define LG_PATH_MAX 1024
#define LG_HOST_MAX 256       /* a step's Host header value, with its NUL */
#define LG_HEADERS_MAX 16     /* `header =` lines per step */
#define LG_HEADERS_BYTES 2048 /* their "Name: value" strings, NULs included */

struct lg_step {
    char name[LG_NAME_MAX];
    char method[16];        /* HTTP: GET HEAD POST ...; FTP: RETR STOR LIST NLST; echo: LINE */
    char path[LG_PATH_MAX]; /* HTTP request target, FTP path; unused for echo */
    uint64_t body_size;     /* bytes sent: POST body, STOR upload, echo line */
    unsigned weight;        /* > 0 in a weighted scenario */
    int expect_status;      /* HTTP status / FTP final reply; 0 = any 2xx */
    enum lg_expect expect;
    char expect_body[LG_PATH_MAX];  /* LG_EXPECT_FILE: fixture path, relative to --fixtures */
    char expect_names[LG_PATH_MAX]; /* LG_EXPECT_LISTING: comma-separated names */
    /* Resolved by check_prepare() before the run (or given in the scenario): */
    int64_t expect_length; /* body bytes; -1 = not checked */
    uint64_t expect_hash;  /* XXH64(body, seed 0), valid when expect_length >= 0 */
    int line;              /* scenario file line of the [step] header, for messages */
    /* HTTP only (reqheader.h): the Host header ("" = the target's HOST:PORT)
     * and extra request headers, nheaders "Name: value" strings back to
     * back, each ending in a NUL, headers_len bytes in all. */
    char host[LG_HOST_MAX];
    unsigned nheaders;
    size_t headers_len;
    char headers[LG_HEADERS_BYTES];
    unsigned char expect_sha256[32]; /* LG_EXPECT_SHA256 */
    /* The body_size bytes sent (POST, PUT, STOR) when they are not
     * check_payload's: read from body_file (scenario/stepbody.h), owned by
     * the scenario; NULL = the payload. */
    char body_file[LG_PATH_MAX];
    unsigned char *body;
};

struct lg_scenario {
    char file[LG_PATH_MAX];
    char name[LG_NAME_MAX];
    enum lg_proto proto;
    unsigned threads;     /* 0 = not set */
    unsigned connections; /* 0 = not set */
    double duration_s;    /* 0 = not set */
    uint64_t requests;    /* 0 = not set; duration and requests are exclusive */
    double rate;          /* requests/s over all connections; 0 = closed loop */
    bool keepalive;       /* default true */
    double timeout_s;     /* per request; 0 = not set */
    double warmup_s;
    bool weighted;     /* steps picked by weight instead of replayed in order */
    char user[64];     /* FTP login; default "anonymous" */
    char password[64]; /* FTP password; default "anonymous@" */
    struct lg_step *steps;
    size_t nsteps;
};

/* The run as configured: scenario values, overridden by the command line. */
struct lg_config {
    const struct lg_scenario *sc;
    char host[256];
    char port[16];
    const char *fixtures; /* may be NULL when no step needs it */
    enum lg_engine engine;
    unsigned threads, connections;
    double duration_s;
    uint64_t requests;
    double rate;
    double timeout_s;
    double warmup_s;
    bool keepalive;
    bool progress;
    const char *csv_path; /* NULL = no CSV */
    const char *label;    /* the CSV's model column */
    /* Several load generators, one result (docs/fleet.md): */
    double start_at;       /* wall-clock second the timed run starts; 0 = right away */
    const char *hdr_log;   /* HdrHistogram interval log of the run (hdrrun.h); NULL = none */
    double hdr_interval_s; /* its interval */
};

/* Error classes. CSV: timeouts = TIMEOUT; check_failures = BAD_STATUS +
 * WRONG_LENGTH + WRONG_BODY + BAD_LISTING (wrong answers); refused =
 * REFUSED (a refusal at a documented limit, http/check.h: the server's
 * capacity, not a wrong answer); errors = everything else. */
enum lg_error {
    LG_ERR_CONNECT,      /* connection refused / unreachable */
    LG_ERR_ADDRNOTAVAIL, /* out of ephemeral ports (TIME_WAIT) */
    LG_ERR_RESET,        /* reset or closed mid-answer */
    LG_ERR_PROTOCOL,     /* unparseable answer */
    LG_ERR_TIMEOUT,
    LG_ERR_BAD_STATUS,
    LG_ERR_WRONG_LENGTH,
    LG_ERR_WRONG_BODY,
    LG_ERR_BAD_LISTING,
    LG_ERR_OTHER,
    LG_ERR_REFUSED, /* HTTP 503 + Connection: close, FTP 421, echo's "server busy" */
    LG_ERR__COUNT
};
const char *lg_error_name(enum lg_error e);

/* One thread's results (merged into one at the end). */
struct lg_stats {
    uint64_t requests; /* answers received in the measured window, checked or not */
    uint64_t bytes;    /* bytes received (headers + bodies) in the measured window */
    uint64_t err[LG_ERR__COUNT];
    struct hist *lat; /* microseconds, from the intended start (open loop) */
    /* Filled by the engines (DESIGN.md section 5); the run treats them like
     * timeouts. A request sent, or due in open loop, with no answer when
     * the window closed: */
    uint64_t unanswered;
    /* A connection that got no answer at all in the window: */
    uint64_t starved_connections;
    /* Per step, as Gatling and Locust report per request name: [0, nstep -
     * LG_SETUP__COUNT) the scenario's steps, then the session's own setup
     * (enum lg_setup); NULL until lg_stats_init_steps() (results/stats.h). */
    struct lg_step_stats *step;
    size_t nstep;
};

/* The session's own setup, a step of its own in the per-step statistics: a
 * request's latency never silently includes the connect or the login that
 * went before it. */
enum lg_setup {
    LG_SETUP_CONNECT, /* the TCP connect of a new connection */
    LG_SETUP_LOGIN,   /* FTP: USER/PASS, from the first command to the 230 */
    LG_SETUP_DATA,    /* FTP: a transfer's data connection, EPSV/PASV to the 150 */
    LG_SETUP__COUNT
};
/* Its functions: results/stats.h. */

/* Live counters one engine thread publishes for the progress line. */
struct lg_live {
    _Atomic uint64_t requests;
    _Atomic uint64_t failures; /* errors + check failures + timeouts */
    _Atomic uint64_t p99_us;   /* this thread's p99 so far, refreshed now and then */
    /* --hdr-log: the thread's interval slot (ival.h), set before the engine
     * starts; NULL = no interval histograms wanted. */
    struct ival_slot *ival;
};

/* Shared control of one timed run. All times are CLOCK_MONOTONIC ns. */
struct lg_run {
    const struct lg_config *cfg;
    uint64_t t_start;        /* load starts */
    uint64_t t_measure;      /* t_start + warmup: answers before it are not counted */
    uint64_t t_end;          /* t_measure + duration; 0 with --requests */
    atomic_bool stop;        /* set on SIGINT/SIGTERM or when the run is over */
    _Atomic uint64_t issued; /* --requests: tickets taken (fetch_add; stop at cfg->requests) */
    struct lg_live *live;    /* [cfg->threads] */
};

uint64_t lg_now_ns(void); /* CLOCK_MONOTONIC */
/* "http", "ftp" or "echo": the server's --proto, the CSV's protocol column. */
const char *lg_proto_name(enum lg_proto p);
/* Copy src (NULL = "") into dst[cap], cut short if need be (names, messages). */
void lg_copy(char *dst, size_t cap, const char *src);

#endif
