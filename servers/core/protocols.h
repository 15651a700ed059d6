/* protocols.h - the protocols built in, by name: what --proto chooses.
 * Each protocol is a struct proto (conn.h) defined by its own files. */
#ifndef SERVERMODELS_PROTOCOLS_H
#define SERVERMODELS_PROTOCOLS_H

#include "conn.h"

/* Looks a protocol up by name ("http", "echo", ...); NULL when unknown. */
const struct proto *proto_find(const char *name);
/* The names of the protocols built in, NULL-terminated. */
extern const char *const proto_names[];

#endif
