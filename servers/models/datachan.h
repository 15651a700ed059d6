/* datachan.h - the FTP passive data channel, written once for every driver.
 *
 * conn.h's data actions (ACT_OPEN_PASSIVE, ACT_ACCEPT_DATA, ACT_TRANSFER_OUT,
 * ACT_TRANSFER_IN, ACT_CLOSE_DATA) are performed here with non-blocking
 * sockets. datachan_step() does as much of one action as the sockets allow
 * and says what is left: done (pass the result to session_done()), or "would
 * block on fd X for input/output". Each driver waits its own way and calls
 * datachan_step() again with the same action:
 *
 *   blocking models   poll() (or a coroutine yield) on X     drive_blocking.c
 *   event loops       register X with the poller             drive_event.c
 *   io_uring          a poll operation on X through the ring uring.c
 *
 * Rules kept here, so every model has them: the data connection must come
 * from the control connection's host (others are closed and waiting goes on;
 * one reset before it was accepted fails the transfer at once), data ports
 * are tried at random before port 0, an upload's result is 0 only on a clean
 * EOF (the session commits its temp file only then), and a stop ends the wait
 * for a data connection not yet made (no work is in flight yet).
 */
#ifndef SERVERMODELS_DATACHAN_H
#define SERVERMODELS_DATACHAN_H

#include <stdbool.h>
#include <sys/types.h>

#include "conn.h"

struct datachan {
    int control_fd;       /* the session's control connection */
    int pasv_fd, data_fd; /* the passive listener, the data connection (-1: none) */
    unsigned opened;      /* sockets opened so far: when it changes, a data fd number
                             an event loop watches may now be another socket */
    char *buf;            /* ACT_TRANSFER_IN's buffer, allocated on first use */
};

enum dc_status {
    DC_DONE,     /* the action is over: session_done(s, a, result) */
    DC_WAIT_IN,  /* would block until fd is readable; then step again */
    DC_WAIT_OUT, /* ... until fd is writable */
};

struct dc_step {
    enum dc_status status;
    ssize_t result;     /* DC_DONE: the result for session_done() */
    int fd;             /* DC_WAIT_*: the socket to wait on */
    bool stoppable;     /* DC_WAIT_*: a stop ends this wait (then the result is -1) */
    bool watch_control; /* DC_WAIT_* of a transfer: watch the control connection
                           too (connio_data() sets it) */
};

void datachan_init(struct datachan *d, int control_fd);
/* Whether kind is one of the data-channel actions. */
bool datachan_action(enum action_kind kind);
/* Performs as much of the data action a as the sockets allow without
 * blocking. A wait that times out (the idle timeout) or fails ends the action
 * with session_done(s, a, -1). stopping: a stop was asked, so a stoppable wait
 * ends at once with -1 instead of being returned. */
struct dc_step datachan_step(struct datachan *d, const struct action *a, bool stopping);
/* Closes the listener and the connection, frees the buffer (end of session). */
void datachan_close(struct datachan *d);

#endif
