/* loadgen.c - the small functions of the shared types (loadgen.h): error
 * and protocol names, the clock, a bounded string copy. The stats' own
 * functions are results/stats.c. */
#include <string.h>
#include <time.h>

#include "loadgen.h"

static const char *const error_names[LG_ERR__COUNT] = {
    [LG_ERR_CONNECT] = "connect",
    [LG_ERR_ADDRNOTAVAIL] = "addrnotavail",
    [LG_ERR_RESET] = "reset",
    [LG_ERR_PROTOCOL] = "protocol",
    [LG_ERR_TIMEOUT] = "timeout",
    [LG_ERR_BAD_STATUS] = "bad_status",
    [LG_ERR_WRONG_LENGTH] = "wrong_length",
    [LG_ERR_WRONG_BODY] = "wrong_body",
    [LG_ERR_BAD_LISTING] = "bad_listing",
    [LG_ERR_OTHER] = "other",
    [LG_ERR_REFUSED] = "refused",
};

const char *lg_error_name(enum lg_error e)
{
    if ((unsigned)e >= LG_ERR__COUNT) return "unknown";
    return error_names[e];
}

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *lg_proto_name(enum lg_proto p)
{
    return p == LG_PROTO_FTP ? "ftp" : p == LG_PROTO_ECHO ? "echo" : "http";
}

void lg_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0) return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}
