/* http.h - HTTP/1.1 session (placeholder; the full header is written with http.c). */
#ifndef SERVERMODELS_HTTP_H
#define SERVERMODELS_HTTP_H

#include "conn.h"

extern const struct proto http_proto;

#endif
