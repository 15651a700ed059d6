/* fuzz_scenario.c - scenario_load (loadgen/scenario.c) on arbitrary file
 * contents: never a crash, UB or leak; the result is 0, or -1 with a
 * message of the form "FILE:LINE: reason" (so it holds a ':'); a loaded
 * scenario's strings are NUL-terminated within their arrays; and a loaded
 * scenario written out by scenario_save (--save-scenario) either is refused
 * with a reason or reads back with the same steps. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "loadgen.h"
#include "scenario/scenario.h"
#include "scenario/scenario_save.h"

/* Harness state made once: the scratch file each input is written to. */
static char path[512], saved[512];

/* sc, saved and loaded again, has the same steps (or saving refused it). */
static void check_round_trip(const struct lg_scenario *sc)
{
    char err[512];
    if (scenario_save(sc, saved, NULL, err, sizeof err) < 0) {
        FZ_CHECK(err[0] != '\0', "scenario_save refused without a reason");
        return;
    }
    struct lg_scenario back;
    int rc = scenario_load(saved, &back, err, sizeof err);
    FZ_CHECK(rc == 0, "the saved scenario does not load: %s", err);
    FZ_CHECK(back.proto == sc->proto && back.nsteps == sc->nsteps &&
                 back.keepalive == sc->keepalive && back.weighted == sc->weighted,
             "the saved scenario differs");
    for (size_t i = 0; i < sc->nsteps; i++) {
        const struct lg_step *a = &sc->steps[i], *b = &back.steps[i];
        FZ_CHECK(strcmp(a->method, b->method) == 0 && strcmp(a->path, b->path) == 0 &&
                     a->expect == b->expect && a->expect_status == b->expect_status &&
                     a->body_size == b->body_size && a->headers_len == b->headers_len &&
                     memcmp(a->headers, b->headers, a->headers_len) == 0 &&
                     strcmp(a->host, b->host) == 0,
                 "step %zu differs once saved", i);
    }
    scenario_free(&back);
}

static void check_str(const char *s, size_t cap, const char *what)
{
    FZ_CHECK(memchr(s, '\0', cap) != NULL, "%s is not NUL-terminated", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        const char *dir = fz_scratch("scenario");
        snprintf(path, sizeof path, "%s/scenario.ini", dir);
        snprintf(saved, sizeof saved, "%s/saved.ini", dir);
        fz_fds_snapshot();
    }
    fz_write(path, data, size);
    struct lg_scenario sc;
    char err[512];
    memset(err, 0x55, sizeof err);
    int rc = scenario_load(path, &sc, err, sizeof err);
    FZ_CHECK(rc == 0 || rc == -1, "scenario_load returned %d", rc);
    if (rc == -1) {
        check_str(err, sizeof err, "the error message");
        FZ_CHECK(strchr(err, ':') != NULL, "error message without ':': \"%s\"", err);
        FZ_CHECK(sc.steps == NULL && sc.nsteps == 0, "failed load left steps");
    } else {
        check_str(sc.name, sizeof sc.name, "name");
        check_str(sc.user, sizeof sc.user, "user");
        check_str(sc.password, sizeof sc.password, "password");
        FZ_CHECK(sc.nsteps > 0 && sc.steps != NULL, "a scenario without steps loaded");
        for (size_t i = 0; i < sc.nsteps; i++) {
            const struct lg_step *st = &sc.steps[i];
            check_str(st->name, sizeof st->name, "step name");
            check_str(st->method, sizeof st->method, "method");
            check_str(st->path, sizeof st->path, "path");
            check_str(st->expect_body, sizeof st->expect_body, "expect_body");
            check_str(st->expect_names, sizeof st->expect_names, "expect_names");
        }
        check_round_trip(&sc);
        scenario_free(&sc);
    }
    fz_fds_check("scenario_load");
    return 0;
}
