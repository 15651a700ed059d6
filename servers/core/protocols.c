/* protocols.c - the protocols built in, by name (protocols.h). */
#include "protocols.h"

#include <string.h>

#include "echo.h"
#include "ftp.h"
#include "http.h"

const char *const proto_names[] = {"http", "echo", "ftp", NULL};

const struct proto *proto_find(const char *name)
{
    if (strcmp(name, "http") == 0) return &http_proto;
    if (strcmp(name, "echo") == 0) return &echo_proto;
    if (strcmp(name, "ftp") == 0) return &ftp_proto;
    return NULL;
}
