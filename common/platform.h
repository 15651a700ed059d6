/* platform.h - which operating-system interfaces a file may use.
 *
 * SM_LINUX is 1 where the Linux-only paths are compiled (epoll, sendfile,
 * accept4, SOCK_NONBLOCK, prctl, pidfd, /proc, sched_setaffinity, ...),
 * 0 on every other system and in the portable build (cmake
 * -DSERVERMODELS_PORTABLE=ON, docs/portable.md), which takes on Linux the
 * POSIX paths macOS and FreeBSD take. Test it with #if, never #ifdef. */
#ifndef SM_PLATFORM_H
#define SM_PLATFORM_H

#if defined(__linux__) && !defined(SERVERMODELS_PORTABLE)
#define SM_LINUX 1
#else
#define SM_LINUX 0
#endif

#endif
