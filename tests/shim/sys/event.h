/* tests/shim/sys/event.h - a stand-in for FreeBSD's <sys/event.h>, only so
 * that servers/models/kqueue.c and coro_poll.c's kqueue backend are
 * type-checked (-fsyntax-only) on Linux: ctest kqueue_typecheck. The
 * shapes follow FreeBSD 12+ (struct kevent with ext[4]; macOS has no ext,
 * which code that names its fields cannot tell); the values are FreeBSD's.
 * Nothing is linked against it. */
#ifndef SHIM_SYS_EVENT_H
#define SHIM_SYS_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)

#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_ERROR 0x4000
#define EV_EOF 0x8000

struct kevent {
    uintptr_t ident; /* identifier for this event */
    short filter;    /* filter for event */
    unsigned short flags;
    unsigned int fflags;
    int64_t data;
    void *udata; /* opaque user data identifier */
    uint64_t ext[4];
};

#define EV_SET(kevp_, a, b, c, d, e, f)                                                            \
    do {                                                                                           \
        struct kevent *kevp = (kevp_);                                                             \
        (kevp)->ident = (a);                                                                       \
        (kevp)->filter = (b);                                                                      \
        (kevp)->flags = (c);                                                                       \
        (kevp)->fflags = (d);                                                                      \
        (kevp)->data = (e);                                                                        \
        (kevp)->udata = (f);                                                                       \
        (kevp)->ext[0] = 0;                                                                        \
        (kevp)->ext[1] = 0;                                                                        \
        (kevp)->ext[2] = 0;                                                                        \
        (kevp)->ext[3] = 0;                                                                        \
    } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#endif
