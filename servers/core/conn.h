/* conn.h - the session interface every model drives.
 *
 * A protocol is a sans-IO session (like picohttpparser or h11): it never
 * touches a socket. A driver (a model) moves bytes; the session decides what
 * they mean. The driver's loop is always the same:
 *
 *     for (;;) {
 *         session_next(s, &a);
 *         switch (a.kind) {
 *         case ACT_READ:     read some bytes (or EOF), session_feed() them;
 *                            bytes it did not consume are fed again later
 *         case ACT_WRITE:    write a.buf[0..a.len), session_done(s, &a, n)
 *         case ACT_SENDFILE: send a.count bytes of a.fd from a.off, session_done()
 *         case ACT_CLOSE:    close the connection, session_free()
 *         }
 *     }
 *
 * Partial progress is normal: session_done() with a result smaller than asked
 * advances the session by that much and the next action asks for the rest.
 * A negative result means the I/O failed; the next action is then ACT_CLOSE.
 *
 * Backpressure: a session buffers a bounded amount of input. When that buffer
 * is full (pipelined requests while the answers are still being written),
 * session_feed() consumes less than it was given; the driver keeps the rest
 * and stops reading until the session asks for ACT_READ again. A session that
 * asks for ACT_READ always has room for at least one byte.
 */
#ifndef SERVERMODELS_CONN_H
#define SERVERMODELS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fsroot;
struct ftp_users;

/* What every session of a server shares (read-only once serving starts). */
struct server_ctx {
    const struct fsroot *root;     /* the document root (fsroot.h) */
    bool access_log;               /* one stderr line per request */
    bool one_request;              /* answer one request per connection, then close
                                      (the iterative model, so others get a turn) */
    const struct ftp_users *users; /* FTP logins besides anonymous (--users FILE);
                                      NULL: anonymous only */
    mode_t umask;                  /* --umask: what FTP takes off 0666 for a new file and off
                                      0777 for a new directory (refserver's default 022) */
    unsigned login_delay_ms;       /* --login-delay: how late FTP answers a failed PASS
                                      (ACT_DELAY; 0: at once; refserver's default
                                      FTP_BAD_LOGIN_DELAY_MS) */
};

enum action_kind {
    ACT_READ,     /* wait for input, then session_feed(); EOF is a feed of 0 bytes */
    ACT_WRITE,    /* write buf[0..len) */
    ACT_SENDFILE, /* send count bytes of the file fd, starting at offset off */
    ACT_CLOSE,    /* all output is flushed: close the connection */
    /* FTP data channel (passive mode only). One data connection at a time
     * per session; a driver that lacks these actions closes the session.
     * ACT_OPEN_PASSIVE  close any previous data listener/connection, listen on
     *                   the control connection's local address, port 0; write
     *                   that address's IP as text into ip_out[0..ip_out_len)
     *                   (NUL-terminated) and report session_done(result = port,
     *                   or -1).
     * ACT_ACCEPT_DATA   wait (idle timeout) for the client's data connection on
     *                   that listener, accept it, close the listener; a peer
     *                   whose IP differs from the control connection's is
     *                   refused (closed, and waiting goes on). result 0, or -1
     *                   on timeout or error.
     * ACT_TRANSFER_OUT  send on the data connection: count bytes of file fd
     *                   from off (fd >= 0), or buf[0..len) (fd < 0).
     *                   result = bytes sent (> 0) or -1.
     * ACT_TRANSFER_IN   receive from the data connection and write(2) what came
     *                   to file fd at its current offset. result = bytes
     *                   received and written (> 0), 0 when the data connection
     *                   ended cleanly (EOF), -1 on a read or write error.
     * ACT_CLOSE_DATA    close the data connection and any data listener;
     *                   session_done(result = 0). */
    ACT_OPEN_PASSIVE,
    ACT_ACCEPT_DATA,
    ACT_TRANSFER_OUT,
    ACT_TRANSFER_IN,
    ACT_CLOSE_DATA,
    /* ACT_DELAY: wait delay_ms without reading or writing this connection,
     * then session_done(result = 0); other clients are served meanwhile
     * (event models use a timer, blocking models poll() the stop pipe
     * only). A stop during the wait: session_done(result = -1). FTP uses it
     * to slow password guessing (a failed PASS answers after 1 s). */
    ACT_DELAY,
    /* ACT_OFFLOAD: run job(job_arg) away from the loop, then
     * session_done(result = 0). The job is a pure function: it touches
     * only *job_arg (which the session owns and leaves alone until that
     * session_done) and read-only shared state, never a socket. Like
     * ACT_DELAY, the connection is neither read nor written meanwhile and
     * other clients are served: event models hand the job to a worker
     * thread and wake when it is done; blocking models may call it in
     * their own thread or process. A driver never frees the session while
     * the job runs (a timeout that passes meanwhile expires the session
     * once the job is over, instead of its session_done). result -1: the
     * driver could not run it (the session then closes). FTP verifies a
     * password hash this way (tens of ms of CPU). */
    ACT_OFFLOAD,
};

/* Where a session is in its input, so the driver knows which of nginx's
 * timeouts runs (model_ctx has their lengths):
 *   PHASE_IDLE  nothing of the next request/command yet    --idle-timeout:
 *               silence since the last activity
 *   PHASE_HEAD  part of a request head (HTTP) or command    --header-timeout:
 *               line (FTP, echo) has arrived               a deadline for the
 *                                                           whole head, counted
 *                                                           from its first byte
 *   PHASE_BODY  reading a request body                      --body-timeout: the
 *                                                           gap between reads
 * While output is pending the driver applies --send-timeout (the gap while
 * the client does not read), whatever the phase; during ACT_TRANSFER_IN the
 * body timeout, during ACT_TRANSFER_OUT the send timeout, during
 * ACT_ACCEPT_DATA the idle timeout. */
enum session_phase {
    PHASE_IDLE,
    PHASE_HEAD,
    PHASE_BODY,
};

struct action {
    enum action_kind kind;
    const void *buf; /* ACT_WRITE, ACT_TRANSFER_OUT with fd < 0: bytes to send */
    size_t len;
    bool more;         /* ACT_WRITE: a file body follows at once: hold the bytes for its first
                          packet (MSG_MORE) instead of sending the headers alone */
    int fd;            /* ACT_SENDFILE / TRANSFER_*: the file (-1: none) */
    off_t off;         /* ... its offset (SENDFILE, TRANSFER_OUT) */
    size_t count;      /* ... bytes to move */
    unsigned delay_ms; /* ACT_DELAY */
    /* One action's fields or the other's: struct action stays the size it
     * was, since session_next() clears one per action on every request. */
    union {
        struct {
            char *ip_out; /* ACT_OPEN_PASSIVE: where the driver writes the listener's IP */
            size_t ip_out_len;
        };
        struct {
            void (*job)(void *job_arg); /* ACT_OFFLOAD */
            void *job_arg;
        };
    };
};

/* A protocol: a table of functions, one instance per protocol (http_proto,
 * echo_proto, ftp_proto). Drivers use the session_* wrappers below. */
struct proto {
    const char *name;
    /* peer: "ip:port" of the client, for logs. NULL on allocation failure. */
    void *(*create)(const struct server_ctx *ctx, const char *peer);
    /* len == 0 means end of input (the peer closed its side). Returns bytes consumed. */
    size_t (*feed)(void *state, const void *buf, size_t len);
    void (*next)(void *state, struct action *out);
    void (*done)(void *state, const struct action *a, ssize_t result);
    void (*destroy)(void *state);
    /* Bytes sent, best effort, to a client refused over --max-conn before it
     * is closed (HTTP 503, FTP 421); may be NULL. */
    const char *refusal;
    /* May be NULL (then: PHASE_IDLE, nothing to expire, never abort). */
    enum session_phase (*phase)(const void *state);
    /* The running phase's timeout passed: queue what is due (HTTP: 408 and
     * close for an unfinished head; otherwise close; FTP: 421 and close). */
    void (*expire)(void *state);
    /* During ACT_TRANSFER_IN/OUT the driver also watches the control
     * connection. Its EOF or error fails the transfer (session_done(-1): an
     * upload is then deleted, never committed). Bytes that arrive are fed
     * (session_feed) and, if this then says true (FTP: QUIT or ABOR came),
     * the transfer fails the same way. */
    bool (*abort_requested)(const void *state);
};

struct session;

struct session *session_new(const struct proto *p, const struct server_ctx *ctx, const char *peer);
size_t session_feed(struct session *s, const void *buf, size_t len);
void session_next(struct session *s, struct action *out);
void session_done(struct session *s, const struct action *a, ssize_t result);
void session_free(struct session *s);
enum session_phase session_phase(const struct session *s);
void session_expire(struct session *s);
bool session_abort_requested(const struct session *s);

#endif
