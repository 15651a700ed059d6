/* ftp_fake.h - what the FTP session tests share (server_ftp.c: commands
 * and transfers; server_ftp_login.c: logins, rights, the driver hooks): a
 * fixture tree under a scratch root with a users table, and a fake driver
 * that performs the session's actions in memory: replies go to a control
 * buffer, data-channel actions are performed on buffers (TRANSFER_OUT
 * appends to a data buffer, TRANSFER_IN writes scripted bytes into the
 * upload's file), ACT_DELAY leaves a "<delay MS>" mark among the replies,
 * ACT_OFFLOAD runs its job at once. */
#ifndef FTP_FAKE_H
#define FTP_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>

#include "conn.h"
#include "fsroot.h"
#include "ftp.h"

/* ---- fixture ------------------------------------------------------------ */

/* The root (scratch "root/"): a.txt "hello\n", empty.txt, big.bin
 * (BIG_SIZE bytes of big[]), sub/inner.txt, upload/, q"uote/, hidden
 * .hidden and .hdir/x, links link_in (to a.txt), link_out and dir_out
 * (leaving the root); outside.txt beside it. ctx serves it with the users
 * "writer" (password "wpass", rw) and "reader" ("rpass", ro). */
#define BIG_SIZE (300 * 1024 + 11)
extern char big[BIG_SIZE];
extern struct fsroot *root;
extern struct server_ctx ctx;
extern struct ftp_users *fixture_users;

/* cmocka group setup/teardown: make and remove all of it. */
int ftp_fixture_setup(void **state);
int ftp_fixture_teardown(void **state);

/* A cheap SHA-512 crypt(3) hash of pw (1000 rounds; a ring of 8 buffers). */
const char *ftp_test_hash(const char *pw);

/* Entries of a directory whose names start with ".upload" (temp files). */
int temp_files(const char *rel);

/* ---- the fake driver ---------------------------------------------------- */

#define CTRL_CAP (256 * 1024)
#define DATA_CAP (2 * 1024 * 1024)

struct drv {
    struct session *s;
    char ctrl[CTRL_CAP]; /* replies since the last send() */
    size_t clen;
    char *data; /* bytes of the last data transfer */
    size_t dlen;
    const char *in; /* input not yet fed */
    size_t in_len;
    size_t chunk;  /* bytes offered per feed */
    size_t max_io; /* largest write/transfer performed at once */
    bool closed;
    /* data channel behaviour */
    const char *ip;         /* what OPEN_PASSIVE reports */
    ssize_t open_result;    /* the port, or -1 */
    ssize_t accept_result;  /* 0 or -1 */
    ssize_t out_fail_after; /* TRANSFER_OUT fails after this many bytes (-1: never) */
    const char *upload;     /* bytes TRANSFER_IN delivers */
    size_t upload_len, upload_pos;
    ssize_t upload_end; /* TRANSFER_IN's last result: 0 (EOF) or -1 */
    const char *watch;  /* rel path that must not exist during TRANSFER_IN */
    int watch_checks;
    /* control bytes the client sends during a transfer: mid_chunk of them
     * fed at each TRANSFER_IN/OUT (as drivers watch the control connection)
     * until none is left; the transfer fails (-1) once the session asks for
     * an abort */
    const char *mid_input;
    size_t mid_chunk;
    bool mid_aborted;
    /* ACT_OFFLOAD: the job runs and its result is offload_result (0; -1:
     * not run); mark_offload leaves an "<offload>" mark among the replies */
    ssize_t offload_result;
    bool mark_offload;
    /* counters */
    int opens, accepts, outs, ins, data_closes, delays, offloads;
    char trace[256]; /* one letter per data action: O A T I C */
    size_t tlen;
};

struct drv *drv_new(void);
void drv_free(struct drv *d);
/* TRANSFER_IN's work, for tests that drive by hand: the next scripted bytes. */
ssize_t do_transfer_in(struct drv *d, const struct action *a);
/* Performs actions until the session waits for input that is not there,
 * or closes. eof: feed end of input once the input runs out. */
void drv_run(struct drv *d, bool eof);
/* Feeds input and runs; returns the replies it produced (d->ctrl). */
const char *drv_send(struct drv *d, const char *input);
/* A new session, greeted and logged in as user ("anonymous" or one of
 * the fixture's users) with pass; the replies are checked. */
struct drv *logged_in_as(const char *user, const char *pass);
/* logged_in_as("writer"): may write. */
struct drv *logged_in(void);

#define ASSERT_REPLY(d, in, want) assert_string_equal(drv_send((d), (in)), (want))
#define ASSERT_CODE(d, in, code) assert_int_equal(atoi(drv_send((d), (in))), (code))

#endif
