/* sendfile.c - file ranges and bytes to a socket, without SIGPIPE. */
#include "model.h"
#include "platform.h"

#include <errno.h>
#include <unistd.h>
#if SM_LINUX
#include <sys/sendfile.h>
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SIGPIPE is ignored process-wide by main.c */
#endif

ssize_t send_bytes(int sock, const void *buf, size_t len)
{
    return send(sock, buf, len, MSG_NOSIGNAL);
}

ssize_t send_bytes_more(int sock, const void *buf, size_t len, bool more)
{
#ifdef MSG_MORE
    /* TCP_NODELAY is on: without this the headers leave alone, one packet
     * before the body's first */
    if (more) return send(sock, buf, len, MSG_NOSIGNAL | MSG_MORE);
#endif
    (void)more;
    return send_bytes(sock, buf, len);
}

ssize_t send_file_range(int sock, int fd, off_t off, size_t count)
{
#if SM_LINUX
    /* the kernel copies page cache to socket; no user-space buffer */
    return sendfile(sock, fd, &off, count);
#else
    char buf[16384];
    if (count > sizeof buf) count = sizeof buf;
    ssize_t n = pread(fd, buf, count, off);
    if (n <= 0) {
        if (n == 0) errno = EIO; /* the file shrank under us */
        return -1;
    }
    return send_bytes(sock, buf, (size_t)n);
#endif
}
