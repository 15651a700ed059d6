/* scenario_save.h - a scenario written out as a scenario file, the inverse
 * of scenario_load (`loadgen run URL ... --save-scenario F.ini`): loading
 * the file gives the same scenario back, so the same requests and checks.
 *
 * Every key is written in the form scenario_load reads; what a file cannot
 * hold is refused with a reason, never written differently: a line longer
 * than the parser takes, a value with leading or trailing blanks or an
 * inline comment (" ;"), a body read from standard input (body bytes are
 * saved as body_file, a path). The file appears whole or not at all. */
#ifndef LOADGEN_SCENARIO_SAVE_H
#define LOADGEN_SCENARIO_SAVE_H

#include <stddef.h>

#include "loadgen.h"

/* Write sc to path, after comment (lines of text, each written as a
 * "; " line; NULL = none). 0, or -1 with the reason in err. */
int scenario_save(const struct lg_scenario *sc, const char *path, const char *comment, char *err,
                  size_t errlen);

#endif
