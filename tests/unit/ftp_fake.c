/* ftp_fake.c - the fixture and the fake driver of the FTP session tests
 * (see ftp_fake.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftp_fake.h"
#include "test_util.h"

static char rootdir[PATH_MAX];
struct fsroot *root;
struct server_ctx ctx;
struct ftp_users *fixture_users;
char big[BIG_SIZE];

const char *ftp_test_hash(const char *pw)
{
    static char ring[8][FTP_HASH_MAX + 1];
    static unsigned next;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    assert_non_null(crypt_gensalt_rn("$6$", 1000, NULL, 0, salt, (int)sizeof salt));
    const char *h = crypt_rn(pw, salt, &cd, (int)sizeof cd);
    assert_non_null(h);
    char *out = ring[next++ % 8];
    snprintf(out, FTP_HASH_MAX + 1, "%s", h);
    return out;
}

int temp_files(const char *rel)
{
    return scratch_count_entries(rel, ".upload");
}

int ftp_fixture_setup(void **state)
{
    (void)state;
    assert_non_null(scratch_create("ftp-test"));
    snprintf(rootdir, sizeof rootdir, "%s", scratch_path("root"));
    scratch_mkdir("root");
    scratch_mkdir("root/sub");
    scratch_mkdir("root/upload");
    scratch_mkdir("root/.hdir");
    scratch_mkdir("root/q\"uote");
    scratch_write("root/a.txt", "hello\n", 6);
    scratch_write("root/empty.txt", "", 0);
    scratch_write("root/.hidden", "secret", 6);
    scratch_write("root/.hdir/x", "secret", 6);
    scratch_write("root/sub/inner.txt", "inner\n", 6);
    for (size_t i = 0; i < BIG_SIZE; i++)
        big[i] = (char)(i * 31 + (i >> 8));
    scratch_write("root/big.bin", big, BIG_SIZE);
    scratch_write("outside.txt", "outside", 7);
    scratch_symlink("a.txt", "root/link_in");
    scratch_symlink("../outside.txt", "root/link_out");
    scratch_symlink("..", "root/dir_out");
    root = fsroot_new(rootdir);
    assert_non_null(root);
    ctx.root = root;
    ctx.access_log = false;
    ctx.login_delay_ms = FTP_BAD_LOGIN_DELAY_MS;
    char users[1024], err[256];
    snprintf(users, sizeof users, "writer:%s:rw\nreader:%s:ro\n", ftp_test_hash("wpass"),
             ftp_test_hash("rpass"));
    fixture_users = ftp_users_load(scratch_write_text("users", users), err, sizeof err);
    assert_non_null(fixture_users);
    ctx.users = fixture_users;
    return 0;
}

int ftp_fixture_teardown(void **state)
{
    (void)state;
    fsroot_free(root);
    ftp_users_free(fixture_users);
    return scratch_remove();
}

/* ---- the fake driver ---------------------------------------------------- */

static void trace(struct drv *d, char c)
{
    if (d->tlen + 1 < sizeof d->trace) d->trace[d->tlen++] = c;
    d->trace[d->tlen] = '\0';
}

struct drv *drv_new(void)
{
    struct drv *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->data = malloc(DATA_CAP);
    assert_non_null(d->data);
    d->s = session_new(&ftp_proto, &ctx, "127.0.0.1:4242");
    assert_non_null(d->s);
    d->chunk = SIZE_MAX;
    d->max_io = SIZE_MAX;
    d->ip = "127.0.0.1";
    d->open_result = 12345;
    d->out_fail_after = -1;
    d->mid_chunk = SIZE_MAX;
    return d;
}

void drv_free(struct drv *d)
{
    session_free(d->s);
    free(d->data);
    free(d);
}

static ssize_t do_transfer_out(struct drv *d, const struct action *a)
{
    size_t n = a->fd >= 0 ? a->count : a->len;
    if (n > d->max_io) n = d->max_io;
    if (d->out_fail_after >= 0 && d->dlen + n > (size_t)d->out_fail_after) return -1;
    assert_true(d->dlen + n <= DATA_CAP);
    if (a->fd >= 0) {
        ssize_t r = pread(a->fd, d->data + d->dlen, n, a->off);
        assert_true(r > 0);
        n = (size_t)r;
    } else {
        memcpy(d->data + d->dlen, a->buf, n);
    }
    d->dlen += n;
    return (ssize_t)n;
}

/* Feeds mid_input during a transfer; true when the transfer must fail. */
static bool mid_transfer_input(struct drv *d)
{
    if (!d->mid_input || !d->mid_input[0]) return false;
    assert_false(session_abort_requested(d->s));
    size_t n = strlen(d->mid_input);
    if (n > d->mid_chunk) n = d->mid_chunk;
    assert_int_equal(session_feed(d->s, d->mid_input, n), n);
    d->mid_input += n;
    d->mid_aborted = session_abort_requested(d->s);
    return d->mid_aborted;
}

ssize_t do_transfer_in(struct drv *d, const struct action *a)
{
    if (d->watch) {
        assert_false(scratch_exists(d->watch)); /* never visible before the commit */
        d->watch_checks++;
    }
    if (d->upload_pos == d->upload_len) return d->upload_end;
    size_t n = d->upload_len - d->upload_pos;
    if (n > d->max_io) n = d->max_io;
    assert_int_equal(write(a->fd, d->upload + d->upload_pos, n), (ssize_t)n);
    d->upload_pos += n;
    return (ssize_t)n;
}

/* Performs actions until the session waits for input that is not there,
 * or closes. eof: feed end of input once the input runs out. */
void drv_run(struct drv *d, bool eof)
{
    for (int steps = 0; steps < 1000000 && !d->closed; steps++) {
        struct action a;
        session_next(d->s, &a);
        switch (a.kind) {
        case ACT_READ: {
            if (d->in_len == 0) {
                if (!eof) return;
                assert_int_equal(session_feed(d->s, "", 0), 0);
                eof = false;
                break;
            }
            size_t n = d->in_len < d->chunk ? d->in_len : d->chunk;
            size_t used = session_feed(d->s, d->in, n);
            assert_true(used > 0); /* a session asking to read has room */
            d->in += used;
            d->in_len -= used;
            break;
        }
        case ACT_WRITE: {
            size_t n = a.len < d->max_io ? a.len : d->max_io;
            assert_true(n > 0);
            assert_true(d->clen + n < CTRL_CAP);
            memcpy(d->ctrl + d->clen, a.buf, n);
            d->clen += n;
            d->ctrl[d->clen] = '\0';
            session_done(d->s, &a, (ssize_t)n);
            break;
        }
        case ACT_OPEN_PASSIVE:
            trace(d, 'O');
            d->opens++;
            assert_non_null(a.ip_out);
            assert_true(a.ip_out_len > strlen(d->ip));
            snprintf(a.ip_out, a.ip_out_len, "%s", d->ip);
            session_done(d->s, &a, d->open_result);
            break;
        case ACT_ACCEPT_DATA:
            trace(d, 'A');
            d->accepts++;
            d->dlen = 0;
            session_done(d->s, &a, d->accept_result);
            break;
        case ACT_TRANSFER_OUT:
            trace(d, 'T');
            d->outs++;
            session_done(d->s, &a, mid_transfer_input(d) ? -1 : do_transfer_out(d, &a));
            break;
        case ACT_TRANSFER_IN:
            trace(d, 'I');
            d->ins++;
            assert_true(a.fd >= 0);
            session_done(d->s, &a, mid_transfer_input(d) ? -1 : do_transfer_in(d, &a));
            break;
        case ACT_DELAY: {
            /* written into the replies, so tests see where the wait falls */
            char mark[32];
            int n = snprintf(mark, sizeof mark, "<delay %u>", a.delay_ms);
            assert_true(d->clen + (size_t)n < CTRL_CAP);
            memcpy(d->ctrl + d->clen, mark, (size_t)n + 1);
            d->clen += (size_t)n;
            d->delays++;
            session_done(d->s, &a, 0);
            break;
        }
        case ACT_OFFLOAD:
            /* the job runs here, as a blocking driver runs it; marked in
             * the replies only when a test asks (mark_offload) */
            assert_non_null(a.job);
            d->offloads++;
            if (d->mark_offload) {
                assert_true(d->clen + 10 < CTRL_CAP);
                memcpy(d->ctrl + d->clen, "<offload>", 10);
                d->clen += 9;
            }
            if (d->offload_result >= 0) a.job(a.job_arg);
            session_done(d->s, &a, d->offload_result);
            break;
        case ACT_CLOSE_DATA:
            trace(d, 'C');
            d->data_closes++;
            session_done(d->s, &a, 0);
            break;
        case ACT_CLOSE:
            d->closed = true;
            return;
        default:
            fail_msg("unexpected action %d", a.kind);
        }
    }
    assert_true(d->closed); /* ran out of steps: a loop */
}

/* Feeds input and runs; returns the replies it produced (d->ctrl). */
const char *drv_send(struct drv *d, const char *input)
{
    d->clen = 0;
    d->ctrl[0] = '\0';
    d->tlen = 0;
    d->trace[0] = '\0';
    d->in = input;
    d->in_len = strlen(input);
    drv_run(d, false);
    assert_int_equal(d->in_len, 0);
    return d->ctrl;
}

struct drv *logged_in_as(const char *user, const char *pass)
{
    struct drv *d = drv_new();
    char in[256], want[512];
    snprintf(in, sizeof in, "USER %s\r\nPASS %s\r\n", user, pass);
    snprintf(want, sizeof want, "220 refserver FTP ready\r\n%s230 Login successful.\r\n",
             ftp_user_is_anonymous(user)
                 ? "331 Anonymous login ok, send your email as password.\r\n"
                 : "331 Please specify the password.\r\n");
    ASSERT_REPLY(d, in, want);
    return d;
}

struct drv *logged_in(void)
{
    return logged_in_as("writer", "wpass");
}
