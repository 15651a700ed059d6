/* echo.h - line echo, the seeds' first server: every line comes back. */
#ifndef SERVERMODELS_ECHO_H
#define SERVERMODELS_ECHO_H

#include "conn.h"

/* Lines are capped at ECHO_MAX_LINE bytes; a longer line is echoed in pieces. */
#define ECHO_MAX_LINE 8192

extern const struct proto echo_proto;

#endif
