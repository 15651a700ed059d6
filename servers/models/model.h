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
    unsigned max_conn;            /* 0 = no limit */
    unsigned idle_timeout_ms;     /* silence between requests (0 = never), as the */
    unsigned header_timeout_ms;   /* ... whole head from its first byte, */
    unsigned body_timeout_ms;     /* ... gap while reading a body or an upload, */
    unsigned send_timeout_ms;     /* ... gap while the client does not read (conn.h) */
    unsigned upload_grace_ms;     /* FTP: an upload commits once its control connection
                                     outlived the data EOF that long (0: at the EOF) */
    unsigned max_per_ip;          /* sessions from one client address (0 = no limit) */
    struct peer_limit *per_ip;    /* ... their counts (NULL: off), shared by all processes */
    unsigned workers;             /* processes/threads for pool models (0 = model default) */
    int stop_fd;                  /* readable once a stop was asked; never drained */
    struct offload_pool *offload; /* the worker of ACT_OFFLOAD jobs (NULL: they run
                                     on the connection's thread) */
    bool quiet;                   /* log errors only */
};

/* How a model's default --max-conn is found when none was given (main.c). */
enum conn_cap {
    CAP_NONE,  /* one client at a time, or a fixed pool of workers bounds it */
    CAP_TASKS, /* a process or thread per client: a fixed default (1024) */
    CAP_FDS,   /* one process of many clients: from RLIMIT_NOFILE, less a reserve */
};

struct model {
    const char *name;
    const char *summary;                   /* one line for --list-models */
    int (*run)(const struct model_ctx *m); /* 0 on a clean stop */
    bool reuseport;                        /* main.c opens the listener with SO_REUSEPORT */
    bool one_request;                      /* HTTP answers one request per connection, then closes
                                              (server_ctx.one_request), so other clients get a turn */
    enum conn_cap cap;                     /* the default --max-conn */
    /* NULL: it runs wherever it is built. Else whether this machine can run
     * it: false, with the reason in why, where the kernel (or an emulator:
     * qemu's user mode has no io_uring) refuses what the model needs. Such
     * a model is not offered by --list-models, and --model NAME says so. */
    bool (*usable)(char *why, size_t whylen);
};

/* ---- peer_limit.c: --max-per-ip, one count per client address ---- */

struct peer_key {
    unsigned char ip[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
};
void peer_key_of(const struct sockaddr *sa, struct peer_key *out);
/* A table in shared memory (fork() keeps it shared), for up to max_conn
 * sessions at once (0: a generous default). NULL when out of memory. */
struct peer_limit *peer_limit_new(unsigned max_per_ip, unsigned max_conn);
void peer_limit_free(struct peer_limit *pl);
/* Counts a session from k in; false (not counted) when k has max_per_ip
 * already. pl NULL: always true. */
bool peer_limit_enter(struct peer_limit *pl, const struct peer_key *k);
void peer_limit_leave(struct peer_limit *pl, const struct peer_key *k);

/* ---- listener.c: the listening socket ---- */

/* Binds and listens on host:port ("0" = any free port); -1 with err filled. */
int listener_open(const char *host, const char *port, bool reuseport, struct sockaddr_storage *addr,
                  socklen_t *addrlen, char *err, size_t errlen);
/* "ip:port" (IPv6 as "[ip]:port") */
void format_addr(const struct sockaddr *sa, char *out, size_t outlen);
/* Accepts one client as a non-blocking, close-on-exec socket with
 * TCP_NODELAY; peer gets its address as text, key (may be NULL) as a
 * --max-per-ip key. -1 with errno (EAGAIN when none is waiting). */
int listener_accept(int lfd, char *peer, size_t peerlen, struct peer_key *key);
/* Sends the protocol's refusal (best effort, never blocks) to a client over
 * --max-conn, logs it, closes fd. */
void refuse_client(int fd, const struct model_ctx *m, const char *peer);
/* Counts the client in for --max-per-ip; false: refused and closed. */
bool admit_per_ip(const struct model_ctx *m, int fd, const struct peer_key *key, const char *peer);
int set_nonblock_cloexec(int fd); /* 0, or -1 with errno */
/* True once a stop was asked. */
bool stop_requested(const struct model_ctx *m);

/* Out of descriptors (EMFILE, ENFILE, or no kernel memory for one), a model
 * stops accepting for ACCEPT_PAUSE_MS, as nginx does, instead of retrying a
 * listener that stays readable; every pause is logged once. */
#define ACCEPT_PAUSE_MS 500
bool accept_out_of_fds(int err);
void accept_pause_log(int err);
/* Blocking models: listener_accept(); out of descriptors, it logs and
 * sleeps ACCEPT_PAUSE_MS on the stop pipe, then fails with EAGAIN. */
int accept_or_pause(const struct model_ctx *m, char *peer, size_t peerlen, struct peer_key *key);

enum wait_result {
    WAIT_READY,   /* fd is ready */
    WAIT_CONTROL, /* the control connection is readable (wait_fds) */
    WAIT_TIMEOUT, /* timeout_ms passed first */
    WAIT_STOP,    /* a stop was asked (only if watch_stop) */
    WAIT_ERROR,   /* poll() failed */
};
/* Waits until fd is ready for events (POLLIN/POLLOUT), control_fd (-1:
 * none) is readable, or a stop is asked; timeout_ms -1 = forever. */
enum wait_result wait_fds(const struct model_ctx *m, int fd, short events, int control_fd,
                          int timeout_ms, bool watch_stop);
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
/* The same; more: bytes follow at once (action.more), so the kernel may
 * hold these for the next segment (MSG_MORE where it exists). */
ssize_t send_bytes_more(int sock, const void *buf, size_t len, bool more);

/* ---- connio.c: one client, as every driver handles it ---- */

#define NO_DEADLINE UINT64_MAX
/* --upload-grace's default: how long an upload's control connection must
 * stay up after its data EOF before the upload commits (connio.c's
 * confirm_upload()). A SIGKILLed client's kernel closes the two sockets a
 * moment apart, and that moment is as long as the dying process waits for
 * a CPU: up to 12 ms was measured with 8 busy loops on this 2-CPU machine,
 * and 5 ms was once too short for CI. */
#define UPLOAD_GRACE_DEFAULT_MS 25

struct connio {
    int fd; /* the client's (control) connection, non-blocking */
    struct session *s;
    struct datachan dc;       /* FTP data channel */
    uint64_t last_active_ms;  /* bytes moved last (the gap timeouts count from it) */
    uint64_t head_start_ms;   /* first byte of an unfinished head (0: none) */
    uint64_t upload_eof_ms;   /* an upload's data EOF came then: confirming (0: no) */
    unsigned upload_grace_ms; /* model_ctx's */
    int expired_on;           /* the action whose timeout passed, -1: none */
    bool eof, eof_fed;        /* the peer's EOF came / was fed to the session */
    bool drained;             /* the last read was short: the socket was empty then, so the next
                                 read waits until the poller says it is readable again
                                 (connio_readable()), as nginx does: no read per request that
                                 can only say EAGAIN */
    bool hup;                 /* an edge-triggered poller saw the peer's end (POLL_HUP): a short
                                 read may have stopped at an EOF that no later edge reports, so
                                 reads go on until it is read (nginx's pending_eof) */
    size_t have, off;         /* unconsumed input: in[off..have) */
    char *in;                 /* CONNIO_IN_CAP bytes from bufpool.h while reading, else NULL:
                                 an idle connection holds no buffer */
};
#define CONNIO_IN_CAP 16384

enum io_result {
    IO_PROGRESS, /* bytes moved (or EOF reached the session): go on */
    IO_BLOCKED,  /* the socket would block: wait */
    IO_OVER,     /* the connection is over */
};

uint64_t monotonic_ms(void);
/* ms from now until deadline (0: due, -1: NO_DEADLINE), for poll(). */
int ms_until(uint64_t deadline_ms, uint64_t now_ms);
void connio_init(struct connio *c, const struct model_ctx *m, int fd, struct session *s,
                 uint64_t now_ms);
/* Closes the data channel and the connection, frees the session. */
void connio_close(struct connio *c);
/* ACT_READ: feeds buffered input (or the EOF, once), else reads what the
 * socket has for the next call. */
enum io_result connio_read(struct connio *c, uint64_t now_ms);
/* The poller or a wait said the socket is readable (see drained); hup: it
 * said the peer's end came too (see hup). */
void connio_readable(struct connio *c, bool hup);
/* The same without reading: IO_BLOCKED when nothing is buffered (uring). */
enum io_result connio_feed(struct connio *c, uint64_t now_ms);
/* n bytes were received (uring); 0 or less: EOF. They are copied into
 * the connection's input (called with nothing unconsumed). */
void connio_received(struct connio *c, const void *buf, ssize_t n);
/* n bytes were received (uring's multishot recv) while input may still be
 * unconsumed: as many as fit go behind it; returns how many (0 when out of
 * memory). */
size_t connio_append(struct connio *c, const void *buf, size_t n);
/* session_done(), and what follows from it for the clocks. */
void connio_done(struct connio *c, const struct action *a, ssize_t result, uint64_t now_ms);
/* ACT_WRITE / ACT_SENDFILE: one send; connio_done() unless it blocks. */
enum io_result connio_send(struct connio *c, const struct action *a, uint64_t now_ms);
/* During a transfer: reads and feeds what came on the control connection
 * (never blocks). false: the transfer must fail (EOF, reset, or the session
 * asks to abort). */
bool connio_control_ok(struct connio *c, uint64_t now_ms);
/* A data action (datachan.h), as far as it goes without blocking; when
 * done, session_done() was called. control_ready: the control connection
 * fired while a transfer waited. An upload's clean EOF counts only once the
 * control connection stayed up a moment longer (upload_grace_ms): the wait
 * for that is a DC_WAIT_IN on the control connection itself. */
struct dc_step connio_data(struct connio *c, const struct action *a, bool stopping,
                           bool control_ready, uint64_t now_ms);
/* The deadline of the data action a passed: it fails (session_done -1),
 * except an upload whose grace after its data EOF is over: it commits. */
void connio_data_timed_out(struct connio *c, const struct action *a, uint64_t now_ms);
/* When the timeout of waiting to perform action `waiting` passes (conn.h:
 * the session's phase picks it), NO_DEADLINE when none runs. */
uint64_t connio_deadline(const struct connio *c, const struct model_ctx *m,
                         enum action_kind waiting);
/* That timeout passed on a read or send: session_expire(). */
void connio_expire(struct connio *c, enum action_kind waiting, uint64_t now_ms);
/* The first action after connio_expire(): true when the session asks again
 * for what timed out (it had nothing to say): the driver closes. */
bool connio_expired_again(struct connio *c, enum action_kind next);

/* ---- offload.c: the worker thread of ACT_OFFLOAD jobs ---- */

struct offload_job {
    void (*fn)(void *arg); /* conn.h's action.job, job_arg */
    void *arg;
    void *owner;              /* the driver's: whose job it is */
    struct offload_job *next; /* on the queue, then on the done list */
    struct offload *port;     /* where it goes back (offload_submit() sets it) */
};
/* The process's worker (started at the first job) and its queue. NULL
 * when out of memory (jobs then run where they come from). */
struct offload_pool *offload_pool_new(void);
/* Runs what is still queued, joins the worker. */
void offload_pool_free(struct offload_pool *p);
/* A loop's port to the pool: its done list and wake fd. NULL (pool NULL,
 * or no fd) with errno. */
struct offload *offload_new(struct offload_pool *pool);
/* Readable while finished jobs wait for offload_done(): watch it for input. */
int offload_fd(const struct offload *o);
/* Queues j (it stays the caller's memory, untouched until offload_done()
 * hands it back). 0, or -1 when the queue is full or no worker can start
 * (o NULL too): then run it yourself. */
int offload_submit(struct offload *o, struct offload_job *j);
/* The jobs of this port finished since the last call (a list through next;
 * NULL: none). From the loop's thread only. */
struct offload_job *offload_done(struct offload *o);
/* Waits for the port's jobs still out (none after a clean loop), closes it. */
void offload_free(struct offload *o);

/* ---- drive_blocking.c: the connection loop of blocking-style models ---- */

/* How a blocking-style model waits: plain poll() or a coroutine yield. */
struct io {
    /* Like wait_fds(). */
    enum wait_result (*wait)(const struct model_ctx *m, int fd, short events, int control_fd,
                             int timeout_ms, bool watch_stop);
    /* ACT_OFFLOAD: runs fn(arg) and returns when it is over. NULL: call it
     * here (a process or thread per client); the coroutines have it run by
     * a worker thread while the others run. */
    void (*offload)(const struct model_ctx *m, void (*fn)(void *arg), void *arg);
};
extern const struct io io_blocking;

/* Serves one client to the end, then closes fd. */
void drive_blocking(const struct model_ctx *m, const struct io *io, int fd, const char *peer);

/* ---- drive_event.c: per-connection state of event-driven models ---- */

enum ev_want {
    EV_WANT_READ,  /* wait until wait_fd is readable */
    EV_WANT_WRITE, /* wait until wait_fd is writable (output pending) */
    EV_WANT_AGAIN, /* made progress but yielded for fairness: run again soon */
    EV_WANT_TIMER, /* ACT_DELAY: watch nothing, run again at deadline_ms */
    EV_WANT_JOB,   /* ACT_OFFLOAD: watch nothing until the job is done */
    EV_WANT_CLOSE, /* done: evconn_free() it */
};

struct evconn {
    struct connio io;
    const struct model_ctx *m;
    enum ev_want want;
    enum action_kind waiting; /* the action it waits to perform (which timeout runs) */
    int wait_fd;              /* the fd that want is about: io.fd, or a data channel socket */
    bool watch_control;       /* ... a transfer's: io.fd is watched for input too */
    bool control_ready;       /* ... and it fired (set by the loop) */
    bool timed_out;           /* the deadline passed (set by evconn_timeout) */
    uint64_t delay_until_ms;  /* ACT_DELAY in progress until then (0: none) */
    struct offload *offload;  /* the loop's worker for ACT_OFFLOAD (NULL: run inline) */
    struct offload_job job;   /* ... the job handed to it */
    bool job_running;         /* ... submitted, not yet handed back */
    bool job_done;            /* ... handed back (set by the loop) */
    uint64_t deadline_ms;     /* the timer: what it waits for times out then */
    size_t timer_slot;        /* its place in the evtimers heap */
    struct peer_key peer;     /* for --max-per-ip */
    bool peer_counted;
    void *owner;               /* uring: the struct uconn around it */
    struct evconn *next_ready; /* the loop's list of connections to run again */
    bool queued;               /* ... and whether it is on it */
    bool read_ahead;           /* the loop read its socket before the batch (evloop.c) */
};

struct evconn *evconn_new(const struct model_ctx *m, int fd, const char *peer, uint64_t now_ms);
void evconn_free(struct evconn *c); /* closes fd, leaves --max-per-ip */
/* Moves the session forward as far as the sockets allow, then sets
 * deadline_ms for what it waits for. stopping: a stop was asked, so a
 * connection waiting for a new request (or a delay) ends now. */
enum ev_want evconn_run(struct evconn *c, bool stopping, uint64_t now_ms);
/* Its deadline passed: the next evconn_run() expires the session, fails
 * the data action, or ends the delay. */
void evconn_timeout(struct evconn *c);
/* ACT_DELAY: EV_WANT_TIMER (nothing is watched) until delay_until_ms, then
 * (or at once on a stop, with -1) session_done() and EV_WANT_AGAIN. */
enum ev_want evconn_delay(struct evconn *c, const struct action *a, bool stopping, uint64_t now_ms);
/* ACT_OFFLOAD: hands the job to c->offload (or runs it at once when it
 * cannot take it) and says EV_WANT_JOB until the loop set job_done; then
 * session_done(0), or, if the timeout passed meanwhile (timed_out), the
 * session expires; EV_WANT_AGAIN. The connection is never freed while its
 * job runs: nothing ends an EV_WANT_JOB wait but the job. */
enum ev_want evconn_offload(struct evconn *c, const struct action *a, uint64_t now_ms);

/* ---- evtimers.c: connections by deadline, a binary min-heap ---- */

struct evtimers {
    struct evconn **heap; /* heap[0] has the earliest deadline */
    size_t count, cap;
};
int evtimers_add(struct evtimers *t, struct evconn *c); /* 0, or -1 out of memory */
void evtimers_remove(struct evtimers *t, struct evconn *c);
/* c->deadline_ms changed: O(log n). */
void evtimers_update(struct evtimers *t, struct evconn *c);
/* The connection whose deadline passed first, or NULL. */
struct evconn *evtimers_due(const struct evtimers *t, uint64_t now_ms);
/* ms until the earliest deadline (-1: none, 0: due). */
int evtimers_wait_ms(const struct evtimers *t, uint64_t now_ms);
void evtimers_free(struct evtimers *t);

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
