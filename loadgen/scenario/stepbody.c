/* stepbody.c - a step's request body from a file (stepbody.h). */
#include "stepbody.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int stepbody_read_fd(struct lg_step *st, int fd, const char *name, char *why, size_t whylen)
{
    size_t cap = 65536, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            snprintf(why, whylen, "%s: out of memory", name);
            return -1;
        }
        if (len == cap) {
            unsigned char *more = cap * 2 > STEPBODY_MAX + 1 ? NULL : realloc(buf, cap * 2);
            if (!more) {
                free(buf);
                snprintf(why, whylen, "%s: larger than %llu bytes", name, STEPBODY_MAX);
                return -1;
            }
            buf = more;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(why, whylen, "%s: %s", name, strerror(errno));
            free(buf);
            return -1;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    if (len > STEPBODY_MAX) {
        free(buf);
        snprintf(why, whylen, "%s: larger than %llu bytes", name, STEPBODY_MAX);
        return -1;
    }
    stepbody_free(st);
    st->body = buf;
    st->body_size = len;
    return 0;
}

int stepbody_load(struct lg_step *st, const char *path, const char *base, char *why, size_t whylen)
{
    char full[LG_PATH_MAX * 2];
    const char *slash = base ? strrchr(base, '/') : NULL;
    if (path[0] != '/' && slash)
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - base), base, path);
    else
        snprintf(full, sizeof full, "%s", path);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        snprintf(why, whylen, "%s: %s", full, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode) || (unsigned long long)sb.st_size > STEPBODY_MAX) {
        snprintf(why, whylen, "%s: %s", full,
                 S_ISREG(sb.st_mode) ? "larger than 1 GiB" : "not a regular file");
        close(fd);
        return -1;
    }
    int rc = stepbody_read_fd(st, fd, full, why, whylen);
    close(fd);
    return rc;
}

void stepbody_free(struct lg_step *st)
{
    free(st->body);
    st->body = NULL;
}
