/* stepbody.h - the bytes a step sends when they are a file's, not loadgen's
 * payload: `body_file = PATH` in a scenario, `--body FILE|@-` on the
 * command line. The bytes are read once, before the run, into st->body
 * (st->body_size of them); the scenario owns them (scenario_free). */
#ifndef LOADGEN_STEPBODY_H
#define LOADGEN_STEPBODY_H

#include <stddef.h>

#include "loadgen.h"

#define STEPBODY_MAX (1ULL << 30) /* as body_size */

/* Read the file at path into st (a relative path is taken from the folder
 * of base, a file path, when base is given: a scenario's body_file is found
 * beside it). 0, or -1 with the reason in why. */
int stepbody_load(struct lg_step *st, const char *path, const char *base, char *why, size_t whylen);
/* Read fd to its end into st (--body @-: stdin); name is for messages. */
int stepbody_read_fd(struct lg_step *st, int fd, const char *name, char *why, size_t whylen);
/* Free st's body, if any. */
void stepbody_free(struct lg_step *st);

#endif
