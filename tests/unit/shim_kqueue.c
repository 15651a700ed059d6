/* Unit tests of the test kqueue (tests/shim/kqueue_epoll.c), written from
 * FreeBSD's kqueue(2) manual: each test quotes the statement it checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/event.h"

static const struct timespec zero = {0, 0};

struct pair {
    int kq, a, b; /* a kqueue, and a connected socket pair (a watched, b the peer) */
};

static int setup(void **state)
{
    static struct pair p;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) return -1;
    p = (struct pair){kqueue(), sv[0], sv[1]};
    *state = &p;
    return p.kq < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;
    close(p->kq);
    if (p->a >= 0) close(p->a);
    if (p->b >= 0) close(p->b);
    return 0;
}

static int change(int kq, int fd, short filter, unsigned short flags, void *udata)
{
    struct kevent ch;
    EV_SET(&ch, (uintptr_t)fd, filter, flags, 0, 0, udata);
    return kevent(kq, &ch, 1, NULL, 0, NULL);
}

/* kevent() with no changes and a zero timeout: what is pending now. */
static int poll_events(int kq, struct kevent *out, int max)
{
    return kevent(kq, NULL, 0, out, max, &zero);
}

/* "kqueue() creates a new kernel event queue and returns a descriptor." */
static void test_kqueue_returns_a_descriptor(void **state)
{
    struct pair *p = *state;
    assert_true(p->kq >= 0);
    assert_true(fcntl(p->kq, F_GETFD) >= 0);
}

/* EVFILT_READ: "Returns when there is data to read; data contains the number
 * of bytes of protocol data available to read." And "udata: Opaque user-
 * defined value passed through the kernel unchanged." */
static void test_read_reports_bytes_and_udata(void **state)
{
    struct pair *p = *state;
    int tag;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD | EV_CLEAR, &tag), 0);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 0); /* nothing to read yet */
    assert_int_equal(write(p->b, "hello", 5), 5);
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_int_equal(ev[0].ident, (uintptr_t)p->a);
    assert_int_equal(ev[0].filter, EVFILT_READ);
    assert_int_equal(ev[0].data, 5);
    assert_ptr_equal(ev[0].udata, &tag);
    assert_false(ev[0].flags & EV_EOF);
}

/* EV_CLEAR: "After the event is retrieved by the user, its state is reset.
 * This is useful for filters which report state transitions instead of the
 * current state." */
static void test_clear_resets_after_retrieval(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD | EV_CLEAR, NULL), 0);
    assert_int_equal(write(p->b, "x", 1), 1);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_int_equal(poll_events(p->kq, ev, 4), 0); /* unread, but reset */
    assert_int_equal(write(p->b, "y", 1), 1);       /* a new transition */
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_int_equal(ev[0].data, 2);
}

/* Without EV_CLEAR a filter reports "the current state": the event comes
 * back while there is data to read, and no more once it is read. */
static void test_level_triggered_without_clear(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(write(p->b, "abc", 3), 3);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_int_equal(poll_events(p->kq, ev, 4), 1); /* still there */
    char buf[8];
    assert_int_equal(read(p->a, buf, sizeof buf), 3);
    assert_int_equal(poll_events(p->kq, ev, 4), 0);
}

/* EV_ONESHOT: "Causes the event to return only the first occurrence of the
 * filter being triggered. After the user retrieves the event from the
 * kqueue, it is deleted." */
static void test_oneshot_is_deleted_after_retrieval(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD | EV_ONESHOT, NULL), 0);
    assert_int_equal(write(p->b, "1", 1), 1);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_true(ev[0].flags & EV_ONESHOT);
    assert_int_equal(write(p->b, "2", 1), 1);
    assert_int_equal(poll_events(p->kq, ev, 4), 0);
    /* deleted: deleting it again is ENOENT */
    struct kevent del;
    EV_SET(&del, (uintptr_t)p->a, EVFILT_READ, EV_DELETE, 0, 0, NULL);
    assert_int_equal(kevent(p->kq, &del, 1, ev, 4, &zero), 1);
    assert_true(ev[0].flags & EV_ERROR);
    assert_int_equal(ev[0].data, ENOENT);
}

/* EV_DISABLE: "Disable the event so kevent() will not return it. The filter
 * itself is not disabled." EV_ENABLE: "Permit kevent() to return the event
 * if it is triggered." */
static void test_disable_then_enable(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD | EV_CLEAR, NULL), 0);
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_DISABLE, NULL), 0);
    assert_int_equal(write(p->b, "zz", 2), 2);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 0);
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ENABLE, NULL), 0);
    assert_int_equal(poll_events(p->kq, ev, 4), 1); /* triggered while disabled */
    assert_int_equal(ev[0].data, 2);
}

/* EV_DELETE: "Removes the event from the kqueue. Events which are attached
 * to file descriptors are automatically deleted on the last close of the
 * descriptor." */
static void test_delete_removes_the_event(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_DELETE, NULL), 0);
    assert_int_equal(write(p->b, "q", 1), 1);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 0);
    /* closed: nothing fires for it any more */
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD, NULL), 0);
    close(p->a);
    p->a = -1;
    assert_int_equal(poll_events(p->kq, ev, 4), 0);
}

/* "If an error occurs while processing an element of the changelist and
 * there is enough room in the eventlist, then the event will be placed in
 * the eventlist with EV_ERROR set in flags and the system error in data.
 * Otherwise, -1 will be returned, and errno will be set to indicate the
 * error condition." */
static void test_error_receipts(void **state)
{
    struct pair *p = *state;
    struct kevent ch[3], ev[4];
    EV_SET(&ch[0], 9999, EVFILT_READ, EV_ADD, 0, 0, NULL);            /* no such fd */
    EV_SET(&ch[1], (uintptr_t)p->a, EVFILT_READ, EV_ADD, 0, 0, NULL); /* fine */
    EV_SET(&ch[2], (uintptr_t)p->a, -11, EV_ADD, 0, 0, NULL);         /* no such filter */
    assert_int_equal(kevent(p->kq, ch, 3, ev, 4, &zero), 2);
    assert_true(ev[0].flags & EV_ERROR);
    assert_int_equal(ev[0].ident, 9999);
    assert_int_equal(ev[0].data, EBADF);
    assert_true(ev[1].flags & EV_ERROR);
    assert_int_equal(ev[1].data, EINVAL);
    /* the good change in between was applied */
    assert_int_equal(write(p->b, "k", 1), 1);
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    /* no room for the receipt: -1 and errno */
    errno = 0;
    assert_int_equal(kevent(p->kq, ch, 1, NULL, 0, &zero), -1);
    assert_int_equal(errno, EBADF);
}

/* EVFILT_READ: "If the read direction of the socket has shutdown, then the
 * filter also sets EV_EOF in flags". */
static void test_read_eof(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD | EV_CLEAR, NULL), 0);
    assert_int_equal(shutdown(p->b, SHUT_WR), 0);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_true(ev[0].flags & EV_EOF);
    assert_int_equal(ev[0].data, 0);
}

/* EVFILT_WRITE: "Returns when it is possible to write to a descriptor. For
 * sockets, pipes and fifos, data will contain the amount of space remaining
 * in the write buffer. The filter will set EV_EOF when the reader
 * disconnects". */
static void test_write_room_and_eof(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_WRITE, EV_ADD | EV_CLEAR, NULL), 0);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_int_equal(ev[0].filter, EVFILT_WRITE);
    assert_true(ev[0].data > 0);
    assert_false(ev[0].flags & EV_EOF);
    close(p->b);
    p->b = -1;
    assert_int_equal(poll_events(p->kq, ev, 4), 1);
    assert_true(ev[0].flags & EV_EOF);
}

/* EVFILT_READ on a socket: "If the read direction of the socket has
 * shutdown, then the filter also sets EV_EOF in flags, and returns the
 * socket error (if any) in fflags." A TCP connect to a closed port fails
 * with ECONNREFUSED. */
static void test_socket_error_in_fflags(void **state)
{
    struct pair *p = *state;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    close(l); /* the port is closed now */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int rc = connect(c, (struct sockaddr *)&sa, sizeof sa);
    assert_true(rc == 0 || errno == EINPROGRESS || errno == ECONNREFUSED);
    assert_int_equal(change(p->kq, c, EVFILT_READ, EV_ADD | EV_CLEAR, NULL), 0);
    struct kevent ev[4];
    int n = kevent(p->kq, NULL, 0, ev, 4, &(struct timespec){2, 0});
    assert_int_equal(n, 1);
    assert_true(ev[0].flags & EV_EOF);
    assert_int_equal(ev[0].fflags, ECONNREFUSED);
    /* and the error is still the socket's: the application reads it too */
    int err = 0;
    socklen_t elen = sizeof err;
    assert_int_equal(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
    assert_int_equal(err, ECONNREFUSED);
    close(c);
}

/* The same for a connection the peer resets (a close with SO_LINGER 0):
 * EV_EOF, ECONNRESET in fflags, and recv() still fails with it rather than
 * reading a clean end of file. */
static void test_reset_in_fflags_and_kept(void **state)
{
    struct pair *p = *state;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    int s = accept(l, NULL, NULL);
    assert_true(s >= 0);
    assert_int_equal(change(p->kq, s, EVFILT_READ, EV_ADD | EV_CLEAR, NULL), 0);
    struct linger lg = {1, 0};
    assert_int_equal(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(c); /* RST */
    struct kevent ev[4];
    assert_int_equal(kevent(p->kq, NULL, 0, ev, 4, &(struct timespec){2, 0}), 1);
    assert_true(ev[0].flags & EV_EOF);
    assert_int_equal(ev[0].fflags, ECONNRESET);
    char b;
    errno = 0;
    assert_int_equal(recv(s, &b, 1, MSG_DONTWAIT), -1);
    assert_int_equal(errno, ECONNRESET);
    close(s);
    close(l);
}

/* "sockets which have been passed to listen() return when there is an
 * incoming connection pending. data contains the size of the listen
 * backlog." */
static void test_listen_backlog(void **state)
{
    struct pair *p = *state;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 8), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(change(p->kq, l, EVFILT_READ, EV_ADD, NULL), 0);
    struct kevent ev[4];
    assert_int_equal(poll_events(p->kq, ev, 4), 0);
    int c1 = socket(AF_INET, SOCK_STREAM, 0), c2 = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c1, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(connect(c2, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(kevent(p->kq, NULL, 0, ev, 4, &(struct timespec){2, 0}), 1);
    assert_int_equal(ev[0].data, 2);
    close(c1);
    close(c2);
    close(l);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* "If timeout is a non-NULL pointer, it specifies a maximum interval to wait
 * for an event ... To effect a poll, the timeout argument should be
 * non-NULL, pointing to a zero-valued timespec structure." */
static void test_timeout(void **state)
{
    struct pair *p = *state;
    assert_int_equal(change(p->kq, p->a, EVFILT_READ, EV_ADD, NULL), 0);
    struct kevent ev[4];
    double t0 = now_s();
    assert_int_equal(kevent(p->kq, NULL, 0, ev, 4, &(struct timespec){0, 50000000}), 0);
    assert_true(now_s() - t0 >= 0.049); /* it waited, and returned with nothing */
    struct timespec bad = {0, 1000000000L};
    errno = 0;
    assert_int_equal(kevent(p->kq, NULL, 0, ev, 4, &bad), -1);
    assert_int_equal(errno, EINVAL);
}

/* "The changelist ... Changes are applied before any pending events are
 * read from the queue": one call adds the filter and returns its event for
 * data that was already there. */
static void test_changes_applied_before_the_wait(void **state)
{
    struct pair *p = *state;
    assert_int_equal(write(p->b, "early", 5), 5);
    struct kevent ch, ev[4];
    EV_SET(&ch, (uintptr_t)p->a, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, NULL);
    assert_int_equal(kevent(p->kq, &ch, 1, ev, 4, &zero), 1);
    assert_int_equal(ev[0].data, 5);
    /* the kqueue descriptor itself: anything else is EBADF */
    errno = 0;
    assert_int_equal(kevent(p->a, NULL, 0, ev, 4, &zero), -1);
    assert_int_equal(errno, EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kqueue_returns_a_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_reports_bytes_and_udata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_resets_after_retrieval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_triggered_without_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oneshot_is_deleted_after_retrieval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_then_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_the_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_room_and_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_error_in_fflags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_in_fflags_and_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_backlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_applied_before_the_wait, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
