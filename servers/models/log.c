/* log.c - refserver's stderr log lines: "refserver[PID]: message". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model.h"

static void vlog(const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "refserver[%ld]: ", (long)getpid());
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len); /* one write: lines never interleave */
    (void)w;
}

void model_info(const struct model_ctx *m, const char *fmt, ...)
{
    if (m->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void model_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}
