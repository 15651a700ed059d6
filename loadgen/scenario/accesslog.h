/* accesslog.h - a scenario from an nginx / Apache access log.
 *
 *   loadgen scenario-from-log ACCESS.log [--top N] [--format combined|common]
 *                             [--fixtures DIR] [--name NAME] [--out FILE]
 *
 * One weighted step per (method, request target) among the N most frequent
 * (default 50), the weight its count; the most frequent logged status as
 * expect_status (304 and 206 count as 200: the replay sends no conditional
 * or range header); `expect = file` when a GET answered 200 names a file
 * under --fixtures; a comment with the counts above each step. Targets stay
 * as logged: percent-encoded, query strings kept. Malformed lines are
 * skipped and counted on stderr, as are requests that cannot be replayed
 * (absolute-form or `*` targets, escaped bytes, targets too long for a
 * scenario line). No valid line: exit 2 and nothing written. */
#ifndef LOADGEN_ACCESSLOG_H
#define LOADGEN_ACCESSLOG_H

#include <stddef.h>
#include <stdio.h>

extern const char SCENARIO_FROM_LOG_USAGE[];

enum log_format {
    LOG_COMBINED, /* common + "referer" "user-agent" (nginx's default) */
    LOG_COMMON,   /* host ident user [date] "request" status bytes */
};

enum log_line_kind {
    LOG_LINE_OK,
    LOG_LINE_MALFORMED,    /* not the format */
    LOG_LINE_UNREPLAYABLE, /* well-formed, but not a request a scenario can repeat */
};

/* One parsed request; target points into the line. */
struct log_request {
    char method[16];
    const char *target;
    size_t target_len;
    int status;
};

/* Longest request target kept: `path = ` plus it fits a 198-byte scenario line. */
#define LOG_TARGET_MAX 190

enum log_line_kind accesslog_parse_line(const char *line, enum log_format fmt,
                                        struct log_request *out);

/* `loadgen scenario-from-log ARGS` (argv without the command): the scenario
 * on out unless --out, messages on errout. 0, or 2. */
int scenario_from_log_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
