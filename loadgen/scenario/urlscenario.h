/* urlscenario.h - `loadgen run URL`: a URL and wrk's options, turned into a
 * one-step scenario in memory, which then runs as any scenario does (both
 * engines, open loop, CSV, --hdr-log, --start-at):
 *
 *   http://HOST[:PORT][/PATH][?QUERY]        a GET (-m METHOD, --body FILE|@-)
 *   ftp://[USER[:PASSWORD]@]HOST[:PORT]/PATH a RETR; a PATH ending in '/' a LIST
 *
 * HOST is a name, an IPv4 address or an IPv6 literal in brackets
 * (http://[::1]:8080/). The PORT defaults to 80 (http) and 21 (ftp). An
 * HTTP path is sent as given (percent-encoded or not); an FTP path and its
 * user and password are percent-decoded. A '#fragment' is dropped, as
 * clients do. */
#ifndef LOADGEN_URLSCENARIO_H
#define LOADGEN_URLSCENARIO_H

#include <stddef.h>

#include "loadgen.h"

struct lg_url {
    enum lg_proto proto;         /* LG_PROTO_HTTP or LG_PROTO_FTP */
    char host[LG_HOST_MAX];      /* without the brackets of an IPv6 literal */
    char port[8];                /* 1..65535, as digits */
    char path[LG_PATH_MAX];      /* HTTP: the request target ("/" at least); FTP: decoded */
    char user[64], password[64]; /* FTP; "" = anonymous */
};

/* Parse url. 0, or -1 with one line in err ("unknown scheme 'gopher' ..."). */
int url_parse(const char *url, struct lg_url *u, char *err, size_t errlen);
/* "HOST:PORT", or "[V6]:PORT": what --target takes. */
void url_target(const struct lg_url *u, char *out, size_t len);

/* What the answers are checked for. */
enum url_check {
    URL_CHECK_SAME,   /* the default: consistency (expect = same) */
    URL_CHECK_NONE,   /* --no-check: status only */
    URL_CHECK_BODY,   /* --expect-body FILE: its bytes (expect = hash) */
    URL_CHECK_SHA256, /* --expect-sha256 HEX (expect = sha256) */
};

/* The request and its checks, as the command line gave them. */
struct url_request {
    const char *method;         /* -m; NULL = GET (POST with a body), RETR or LIST */
    const char *const *headers; /* -H 'Name: value', in order */
    size_t nheaders;
    const char *body;  /* --body FILE, "@-" = standard input; NULL = none */
    int expect_status; /* --expect-status; 0 = any 2xx */
    enum url_check check;
    const char *expect_body;   /* URL_CHECK_BODY: the file */
    const char *expect_sha256; /* URL_CHECK_SHA256: 64 hex digits */
};

/* url and rq as a one-step scenario in *out (free it with scenario_free),
 * and the target in target[targetlen]. 0, or -1 with one line in err
 * (*out is then empty). */
int url_scenario(const char *url, const struct url_request *rq, struct lg_scenario *out,
                 char *target, size_t targetlen, char *err, size_t errlen);

#endif
