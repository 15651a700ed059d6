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

struct model_ctx {
    int listen_fd;                 /* bound, listening, non-blocking, close-on-exec */
    struct sockaddr_storage addr;  /* its address (models that open more listeners) */
    socklen_t addrlen;
    const struct proto *proto;
    const struct server_ctx *server;
    unsigned max_conn;             /* 0 = no limit */
    unsigned idle_timeout_ms;      /* close a client silent this long (0 = never) */
    unsigned workers;              /* processes/threads for pool models (0 = model default) */
    int stop_fd;                   /* readable once a stop was asked; never drained */
    bool quiet;                    /* log errors only */
};

struct model {
    const char *name;
    const char *summary; /* one line for --list-models */
    int (*run)(const struct model_ctx *m); /* 0 on a clean stop */
    bool reuseport; /* main.c opens the listener with SO_REUSEPORT */
};

/* ---- listener.c: sockets and logs ---- */

/* Binds and listens on host:port ("0" = any free port); -1 with err filled. */
int listener_open(const char *host, const char *port, bool reuseport, struct sockaddr_storage *addr,
                  socklen_t *addrlen, char *err, size_t errlen);
/* "ip:port" (IPv6 as "[ip]:port") */
void format_addr(const struct sockaddr *sa, char *out, size_t outlen);
/* Accepts one client as a non-blocking, close-on-exec socket; peer gets its
 * address. -1 with errno (EAGAIN when none is waiting). */
int listener_accept(int lfd, char *peer, size_t peerlen);
/* Sends the protocol's refusal (best effort, never blocks) and closes fd. */
void refuse_client(int fd, const struct model_ctx *m, const char *peer);
/* True once a stop was asked. */
bool stop_requested(const struct model_ctx *m);
/* Waits until fd is ready for events (POLLIN/POLLOUT) or a stop is asked.
 * Returns 1 ready, 0 timed out, 2 stop asked (only if watch_stop), -1 error. */
int wait_fd(const struct model_ctx *m, int fd, short events, int timeout_ms, bool watch_stop);
/* stderr log lines; model_info is silent under --quiet. */
void model_info(const struct model_ctx *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void model_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* FTP passive data channel (conn.h's ACT_OPEN_PASSIVE / ACT_ACCEPT_DATA):
 * a non-blocking listener on the control connection's local address, port 0;
 * its IP as text goes to ip_out. -1 with errno. */
int data_listen(int control_fd, char *ip_out, size_t ip_len);
int data_port(int lfd); /* the port a data listener got */
/* Accepts the data connection (non-blocking, close-on-exec) if it comes from
 * the control connection's host; others are closed. -1 with errno (EAGAIN:
 * none waiting yet). */
int data_accept(int lfd, int control_fd);
/* Whether a data connection comes from the control connection's host:
 * 1 yes, 0 another host (logged), -1 it is already gone (reset). */
int data_peer_ok(int data_fd, int control_fd);
/* ACT_TRANSFER_IN: one recv() into buf, all of it written to file_fd.
 * > 0 bytes moved, 0 EOF, -1 socket error (errno), -2 file write error. */
ssize_t recv_to_file(int sock, int file_fd, char *buf, size_t cap);

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
    /* Like wait_fd(): 1 ready, 0 timed out, 2 stop asked, -1 error. */
    int (*wait)(const struct model_ctx *m, int fd, short events, int timeout_ms, bool watch_stop);
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
    uint64_t last_active_ms;
    struct evconn *prev, *next; /* the idle list, least recently active first */
    struct evconn *next_ready;  /* the poller's list of connections to run again */
    bool queued;                /* ... and whether it is on it */
    int armed;                  /* the poller's record of what it waits for */
    int armed_fd;               /* ... and on which fd (-1: none) */
    int wait_fd;                /* the fd evconn_run() waits on: fd, pasv_fd or data_fd */
    int pasv_fd, data_fd;       /* FTP data channel: listener, connection (-1: none) */
    char *xfer;                 /* ACT_TRANSFER_IN's buffer, allocated on first use */
    /* Called before an fd the poller may watch (pasv_fd, data_fd) is closed. */
    void (*unwatch)(void *loop, struct evconn *c, int fd);
    void *loop;
    bool eof;
    size_t in_have, in_off;     /* unconsumed input is in[in_off..in_have) */
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
