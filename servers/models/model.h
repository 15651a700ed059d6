/* model.h - what a concurrency model is, and the helpers models share.
 *
 * A model is only about scheduling: main.c opens the listener and hands it
 * over; the model accepts clients and drives their sessions (conn.h) until
 * stop_fd becomes readable (SIGTERM/SIGINT), then stops accepting, lets the
 * in-flight answers finish, and returns. Protocol logic never lives here.
 *
 * Blocking-style models (iterative, fork, thread, ...) give each client to
 * drive_blocking(); event-driven ones (epoll, ...) keep a struct evconn per
 * client and call evconn_run() when the poller says the socket is ready.
 */
#ifndef SERVERMODELS_MODEL_H
#define SERVERMODELS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "conn.h"
#include "datachan.h"

struct model_ctx {
    int listen_fd;                /* bound, listening, non-blocking, close-on-exec */
    struct sockaddr_storage addr; /* its address (models that open more listeners) */
    socklen_t addrlen;
    const struct proto *proto;
    const struct server_ctx *server;
    unsigned max_conn;        /* 0 = no limit */
    unsigned idle_timeout_ms; /* close a client silent this long (0 = never) */
    unsigned workers;         /* processes/threads for pool models (0 = model default) */
    int stop_fd;              /* readable once a stop was asked; never drained */
    bool quiet;               /* log errors only */
};

struct model {
    const char *name;
    const char *summary;                   /* one line for --list-models */
    int (*run)(const struct model_ctx *m); /* 0 on a clean stop */
    bool reuseport;                        /* main.c opens the listener with SO_REUSEPORT */
    bool one_request;                      /* HTTP answers one request per connection, then closes
                                              (server_ctx.one_request), so other clients get a turn */
};

/* ---- listener.c: the listening socket ---- */

/* Binds and listens on host:port ("0" = any free port); -1 with err filled. */
int listener_open(const char *host, const char *port, bool reuseport, struct sockaddr_storage *addr,
                  socklen_t *addrlen, char *err, size_t errlen);
/* "ip:port" (IPv6 as "[ip]:port") */
void format_addr(const struct sockaddr *sa, char *out, size_t outlen);
/* Accepts one client as a non-blocking, close-on-exec socket with
 * TCP_NODELAY; peer gets its address. -1 with errno (EAGAIN when none is
 * waiting). */
int listener_accept(int lfd, char *peer, size_t peerlen);
/* Sends the protocol's refusal (best effort, never blocks) and closes fd. */
void refuse_client(int fd, const struct model_ctx *m, const char *peer);
int set_nonblock_cloexec(int fd); /* 0, or -1 with errno */
/* True once a stop was asked. */
bool stop_requested(const struct model_ctx *m);

enum wait_result {
    WAIT_READY,   /* fd is ready */
    WAIT_TIMEOUT, /* timeout_ms passed first */
    WAIT_STOP,    /* a stop was asked (only if watch_stop) */
    WAIT_ERROR,   /* poll() failed */
};
/* Waits until fd is ready for events (POLLIN/POLLOUT) or a stop is asked;
 * timeout_ms -1 = forever. */
enum wait_result wait_fd(const struct model_ctx *m, int fd, short events, int timeout_ms,
                         bool watch_stop);

/* ---- log.c: stderr log lines; model_info is silent under --quiet ---- */

void model_info(const struct model_ctx *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void model_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- sendfile.c ---- */

/* Sends up to count bytes of file fd from offset off to a socket (sendfile
 * where the platform has it, pread+send elsewhere). Like send(): bytes sent,
 * or -1 with errno (EAGAIN on a non-blocking socket that is full). */
ssize_t send_file_range(int sock, int fd, off_t off, size_t count);
/* send() that never raises SIGPIPE. */
ssize_t send_bytes(int sock, const void *buf, size_t len);

/* ---- drive_blocking.c: the connection loop of blocking-style models ---- */

/* How a blocking-style model waits: plain poll() or a coroutine yield. */
struct io {
    /* Like wait_fd(). */
    enum wait_result (*wait)(const struct model_ctx *m, int fd, short events, int timeout_ms,
                             bool watch_stop);
};
extern const struct io io_blocking;

/* Serves one client to the end, then closes fd. */
void drive_blocking(const struct model_ctx *m, const struct io *io, int fd, const char *peer);

/* ---- drive_event.c: per-connection state of event-driven models ---- */

enum ev_want {
    EV_WANT_READ,  /* wait until readable */
    EV_WANT_WRITE, /* wait until writable (output pending) */
    EV_WANT_AGAIN, /* made progress but yielded for fairness: run again soon */
    EV_WANT_CLOSE, /* done: evconn_free() it */
};

struct evconn {
    int fd;
    struct session *session;
    enum ev_want want;
    int wait_fd;        /* the fd that want is about: fd, or a data channel socket */
    struct datachan dc; /* FTP data channel */
    uint64_t last_active_ms;
    struct evconn *prev, *next; /* the idle list, least recently active first */
    struct evconn *next_ready;  /* the loop's list of connections to run again */
    bool queued;                /* ... and whether it is on it */
    bool eof;
    size_t in_have, in_off; /* unconsumed input is in[in_off..in_have) */
    char in[16384];
};

struct evconn *evconn_new(const struct model_ctx *m, int fd, const char *peer);
void evconn_free(struct evconn *c); /* closes fd */
/* Moves the session forward as far as the socket allows. stopping: a stop
 * was asked, so a connection waiting for a new request is closed.
 * last_active_ms becomes now_ms only if bytes moved. */
enum ev_want evconn_run(struct evconn *c, bool stopping, uint64_t now_ms);

/* A list of connections ordered by last activity, for idle timeouts. */
struct evlist {
    struct evconn *head, *tail;
    size_t count;
};
void evlist_add(struct evlist *l, struct evconn *c);
void evlist_remove(struct evlist *l, struct evconn *c);
void evlist_touch(struct evlist *l, struct evconn *c, uint64_t now_ms);
/* ms until the oldest connection times out (-1: none, 0: one is due). */
int evlist_next_timeout(const struct evlist *l, const struct model_ctx *m, uint64_t now_ms);
uint64_t monotonic_ms(void);

/* ---- the models built on this platform (main.c's table) ---- */
extern const struct model model_iterative, model_fork, model_thread, model_poll, model_select;
extern const struct model model_prefork, model_threadpool, model_nonblock, model_coroutine;
#ifdef HAVE_MODEL_EPOLL
extern const struct model model_epoll, model_reuseport;
#endif
#ifdef HAVE_MODEL_KQUEUE
extern const struct model model_kqueue;
#endif
#ifdef HAVE_MODEL_URING
extern const struct model model_uring;
#endif

#endif
