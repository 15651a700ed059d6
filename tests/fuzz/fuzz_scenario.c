/* fuzz_scenario.c - scenario_load (loadgen/scenario.c) on arbitrary file
 * contents: never a crash, UB or leak; the result is 0, or -1 with a
 * message of the form "FILE:LINE: reason" (so it holds a ':'); a loaded
 * scenario's strings are NUL-terminated within their arrays. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "loadgen.h"
#include "scenario/scenario.h"

/* Harness state made once: the scratch file each input is written to. */
static char path[512];

static void check_str(const char *s, size_t cap, const char *what)
{
    FZ_CHECK(memchr(s, '\0', cap) != NULL, "%s is not NUL-terminated", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/scenario.ini", fz_scratch("scenario"));
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
        scenario_free(&sc);
    }
    fz_fds_check("scenario_load");
    return 0;
}
