/* main.c - refserver: argument parsing, the model table, signals.
 *
 * refserver --model NAME --proto http|ftp|echo --listen HOST:PORT --root DIR
 *           [--max-conn N] [--max-per-ip N] [--idle-timeout TIME]
 *           [--header-timeout TIME] [--body-timeout TIME] [--send-timeout TIME]
 *           [--workers N] [--users FILE] [--user NAME] [--access-log] [--quiet]
 *           [--umask MASK] [--upload-grace TIME] [--login-delay TIME]
 * refserver --list-models | --help
 * refserver hash-password     (reads a password line on stdin, prints its hash)
 * Counts and durations are read with common/units.h ("10k", "250ms", "2m").
 */
#include "bsd_ext.h" /* setgroups: BSD, not POSIX 2008 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conn.h"
#include "fsroot.h"
#include "ftp.h"
#include "model.h"
#include "protocols.h"
#include "units.h"

static const struct model *const models[] = {
    &model_iterative, &model_fork,      &model_prefork, &model_thread, &model_threadpool,
    &model_coroutine, &model_nonblock,  &model_select,  &model_poll,
#ifdef HAVE_MODEL_EPOLL
    &model_epoll,     &model_reuseport,
#endif
#ifdef HAVE_MODEL_KQUEUE
    &model_kqueue,
#endif
#ifdef HAVE_MODEL_URING
    &model_uring,
#endif
};
#define NMODELS (sizeof models / sizeof models[0])

/* The write end of the stop pipe: the signal handler's only business. */
static int stop_pipe_w = -1;

static void on_stop_signal(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t n = write(stop_pipe_w, "x", 1); /* non-blocking; one byte is enough */
    (void)n;
    errno = saved;
}

struct options {
    const char *model, *proto, *listen, *root, *users, *user;
    unsigned max_conn, max_per_ip, workers;
    unsigned idle_timeout_ms, header_timeout_ms, body_timeout_ms, send_timeout_ms;
    unsigned upload_grace_ms, login_delay_ms;
    bool max_conn_given, max_per_ip_given, access_log, quiet;
    uid_t uid; /* --user's */
    gid_t gid;
    mode_t umask; /* --umask (CORE) */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: refserver --model NAME --proto http|ftp|echo --listen HOST:PORT --root DIR\n"
            "                 [--max-conn N] [--max-per-ip N] [--idle-timeout TIME]\n"
            "                 [--header-timeout TIME] [--body-timeout TIME]\n"
            "                 [--send-timeout TIME] [--workers N] [--users FILE]\n"
            "                 [--user NAME] [--access-log] [--quiet] [--umask MASK]\n"
            "                 [--upload-grace TIME] [--login-delay TIME]\n"
            "       refserver --list-models\n"
            "       refserver hash-password < FILE   (a --users hash of the line read)\n"
            "\n"
            "  --model NAME          concurrency model (see --list-models)\n"
            "  --proto NAME          protocol: http, ftp or echo (default http)\n"
            "  --listen HOST:PORT    address to listen on; port 0 picks a free port\n"
            "                        (default 127.0.0.1:8080); IPv6 as [::1]:PORT\n"
            "  --root DIR            document root (required for http)\n"
            "  --max-conn N          refuse clients over N at once (HTTP 503, FTP 421),\n"
            "                        0 = no limit; N up to 1000000, also as 10k or 1M.\n"
            "                        Default: 1024 for fork and thread, from RLIMIT_NOFILE\n"
            "                        for the event models, none where a pool bounds it\n"
            "  --max-per-ip N        refuse sessions over N at once from one address\n"
            "                        (default 32 for ftp, 0 = no limit for http and echo)\n"
            "  --idle-timeout TIME   close a client silent that long between requests\n"
            "                        (default 60, 0 = never): seconds (60, 1.5) or with a\n"
            "                        unit: 250ms, 5s, 2m, 1h (up to 24h)\n"
            "  --header-timeout TIME a request head (FTP: command line) must be complete\n"
            "                        this long after its first byte (default 10; HTTP 408)\n"
            "  --body-timeout TIME   close a client that sends nothing of a request body\n"
            "                        or upload for that long (default 60)\n"
            "  --send-timeout TIME   close a client that reads nothing of an answer for\n"
            "                        that long (default 60)\n"
            "  --workers N           processes/threads of pool models (default: model's own),\n"
            "                        up to 4096\n"
            "  --users FILE          FTP logins besides anonymous (read-only): lines\n"
            "                        'name:hash:rw|ro', hash from refserver hash-password\n"
            "  --user NAME           after binding, drop root and serve as user NAME\n"
            "  --access-log          one stderr line per request\n"
            "  --umask MASK          FTP: new files 0666 & ~MASK, new directories\n"
            "                        0777 & ~MASK (octal, default 022)\n"
            "  --upload-grace TIME   FTP: an upload commits once the control connection\n"
            "                        stayed up that long after the data connection's end\n"
            "                        (a killed client closes both; default 25ms, 0 = at\n"
            "                        once, up to 10s); the 226 waits for it\n"
            "  --login-delay TIME    FTP: a failed login's 530 comes this late, that\n"
            "                        session reading nothing meanwhile (vsftpd's\n"
            "                        delay_failed_login; default 1s, 0 = none, up to 10s)\n"
            "  --quiet               log errors only\n"
            "\n"
            "Prints 'listening on HOST:PORT' on stdout once ready. SIGTERM/SIGINT stop\n"
            "accepting, finish in-flight answers and exit 0.\n");
}

/* Whether the machine can run model (model.h's usable); why it cannot in why. */
static bool model_usable(const struct model *model, char *why, size_t whylen)
{
    return !model->usable || model->usable(why, whylen);
}

/* The models built here that this machine can run. */
static void list_models(void)
{
    char why[160];
    for (size_t i = 0; i < NMODELS; i++)
        if (model_usable(models[i], why, sizeof why))
            printf("%-12s %s\n", models[i]->name, models[i]->summary);
}

static const struct model *find_model(const char *name)
{
    for (size_t i = 0; i < NMODELS; i++)
        if (strcmp(models[i]->name, name) == 0) return models[i];
    return NULL;
}

/* A port: a whole decimal number in [0, max]; false otherwise. */
static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    if (!*s || *s == '-' || *s == '+') return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max) return false;
    *out = (unsigned)v;
    return true;
}

/* "host:port", "[v6]:port" -> host, port. */
static bool split_host_port(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return false;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon) return false;
        hl = (size_t)(colon - s);
    }
    unsigned p;
    if (hl == 0 || hl >= hostlen || !parse_uint(colon + 1, 65535, &p)) return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%u", p);
    return true;
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "refserver: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see refserver --help)\n");
    return 2;
}

/* A count in [0, max] ("100", "10k"); false otherwise. */
static bool parse_count(const char *s, unsigned max, unsigned *out)
{
    uint64_t v;
    if (units_count(s, 0, max, &v) < 0) return false;
    *out = (unsigned)v;
    return true;
}

/* A duration of 0..max_s seconds ("60", "1.5", "250ms", "2m") in whole
 * milliseconds; a positive one under 1 ms is 1 ms, never 0 (= never). */
static bool parse_duration_ms(const char *s, double max_s, unsigned *out)
{
    double v;
    if (units_duration(s, 0, max_s, &v) < 0) return false;
    double ms = round(v * 1000.0);
    *out = ms < 1 && v > 0 ? 1u : (unsigned)ms;
    return true;
}

/* --umask: octal, 0..0777 ("022", "0027", "0"). (CORE) */
static bool parse_umask(const char *s, mode_t *out)
{
    if (!*s || strspn(s, "01234567") != strlen(s) || strlen(s) > 4) return false;
    unsigned long v = strtoul(s, NULL, 8);
    if (v > 0777) return false;
    *out = (mode_t)v;
    return true;
}

/* getopt_long's codes of the long-only options */
enum {
    O_MAXCONN = 256,
    O_IDLE,
    O_WORKERS,
    O_ACCESS,
    O_LIST,
    O_USERS,
    O_USER,
    O_PER_IP,
    O_HEADER_T,
    O_BODY_T,
    O_SEND_T,
    O_UMASK,
    O_GRACE,
    O_LOGIN_DELAY
};

/* One of the four timeouts (c: its option). */
static bool parse_timeout(struct options *o, int c, const char *arg)
{
    unsigned *out = c == O_HEADER_T ? &o->header_timeout_ms
                    : c == O_BODY_T ? &o->body_timeout_ms
                    : c == O_SEND_T ? &o->send_timeout_ms
                                    : &o->idle_timeout_ms;
    return parse_duration_ms(arg, 86400, out);
}

static int bad_timeout(int c, const char *arg)
{
    const char *opt = c == O_HEADER_T ? "--header-timeout"
                      : c == O_BODY_T ? "--body-timeout"
                      : c == O_SEND_T ? "--send-timeout"
                                      : "--idle-timeout";
    fprintf(stderr,
            "refserver: %s wants seconds or a duration up to 24h (e.g. 60, 1.5, 250ms, 5s or 2m), "
            "not '%s' (see refserver --help)\n",
            opt, arg);
    return 2;
}

/* --user NAME: its uid and gid; false when there is no such user. */
static bool resolve_user(struct options *o)
{
    errno = 0;
    struct passwd *pw = getpwnam(o->user);
    if (!pw) return false;
    o->uid = pw->pw_uid;
    o->gid = pw->pw_gid;
    return true;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"proto", required_argument, 0, 'p'},
                                             {"listen", required_argument, 0, 'l'},
                                             {"root", required_argument, 0, 'r'},
                                             {"max-conn", required_argument, 0, O_MAXCONN},
                                             {"idle-timeout", required_argument, 0, O_IDLE},
                                             {"header-timeout", required_argument, 0, O_HEADER_T},
                                             {"body-timeout", required_argument, 0, O_BODY_T},
                                             {"send-timeout", required_argument, 0, O_SEND_T},
                                             {"max-per-ip", required_argument, 0, O_PER_IP},
                                             {"user", required_argument, 0, O_USER},
                                             {"workers", required_argument, 0, O_WORKERS},
                                             {"users", required_argument, 0, O_USERS},
                                             {"umask", required_argument, 0, O_UMASK},
                                             {"upload-grace", required_argument, 0, O_GRACE},
                                             {"login-delay", required_argument, 0, O_LOGIN_DELAY},
                                             {"access-log", no_argument, 0, O_ACCESS},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"list-models", no_argument, 0, O_LIST},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    *o = (struct options){.proto = "http",
                          .listen = "127.0.0.1:8080",
                          .idle_timeout_ms = 60000,
                          .header_timeout_ms = 10000,
                          .body_timeout_ms = 60000,
                          .send_timeout_ms = 60000,
                          .upload_grace_ms = UPLOAD_GRACE_DEFAULT_MS,
                          .login_delay_ms = FTP_BAD_LOGIN_DELAY_MS};
    o->umask = 022; /* (CORE) vsftpd's default */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:p:l:r:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            o->model = optarg;
            break;
        case 'p':
            o->proto = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'r':
            o->root = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case O_ACCESS:
            o->access_log = true;
            break;
        case O_USERS:
            o->users = optarg;
            break;
        case O_USER:
            o->user = optarg;
            break;
        case O_UMASK: /* (CORE) */
            if (!parse_umask(optarg, &o->umask))
                return bad_usage("--umask wants an octal mask 0..0777 (e.g. 022), not '%s'",
                                 optarg);
            break;
        case O_MAXCONN:
            if (!parse_count(optarg, 1000000, &o->max_conn))
                return bad_usage("--max-conn wants a number 0..1000000 (e.g. 100 or 10k), "
                                 "not '%s'",
                                 optarg);
            o->max_conn_given = true;
            break;
        case O_PER_IP:
            if (!parse_count(optarg, 1000000, &o->max_per_ip))
                return bad_usage("--max-per-ip wants a number 0..1000000, not '%s'", optarg);
            o->max_per_ip_given = true;
            break;
        case O_IDLE:
        case O_HEADER_T:
        case O_BODY_T:
        case O_SEND_T:
            if (!parse_timeout(o, c, optarg)) return bad_timeout(c, optarg);
            break;
        case O_GRACE:
            if (!parse_duration_ms(optarg, 10, &o->upload_grace_ms))
                return bad_usage("--upload-grace wants seconds or a duration up to 10s (e.g. "
                                 "25ms, 0.1 or 0), not '%s'",
                                 optarg);
            break;
        case O_LOGIN_DELAY:
            if (!parse_duration_ms(optarg, 10, &o->login_delay_ms))
                return bad_usage("--login-delay wants seconds or a duration up to 10s (e.g. "
                                 "1s, 500ms or 0), not '%s'",
                                 optarg);
            break;
        case O_WORKERS:
            if (!parse_count(optarg, 4096, &o->workers))
                return bad_usage("--workers wants a number 0..4096, not '%s'", optarg);
            break;
        case O_LIST:
            list_models();
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return bad_usage("%s needs a value", argv[optind - 1]);
        default:
            return bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return bad_usage("unexpected argument '%s'", argv[optind]);
    if (!o->model) return bad_usage("%s", "--model is required");
    const struct model *model = find_model(o->model);
    if (!model) return bad_usage("unknown model '%s'", o->model);
    char why[160];
    if (!model_usable(model, why, sizeof why)) {
        fprintf(stderr,
                "refserver: model %s cannot run here (%s), so --list-models leaves it out\n",
                o->model, why);
        return 2;
    }
    if (!proto_find(o->proto)) return bad_usage("unknown protocol '%s'", o->proto);
    if (!o->root && strcmp(o->proto, "echo") != 0) return bad_usage("%s", "--root is required");
    if (o->users && strcmp(o->proto, "ftp") != 0)
        return bad_usage("%s", "--users is for --proto ftp");
    if (o->user && !resolve_user(o)) return bad_usage("--user: no such user '%s'", o->user);
    if (!o->max_per_ip_given) o->max_per_ip = strcmp(o->proto, "ftp") == 0 ? 32 : 0;
    return -1;
}

/* The --max-conn a model gets when none was given (model.h's conn_cap);
 * how it was found goes to why. */
static unsigned default_max_conn(const struct model *model, const char *proto, char *why,
                                 size_t whylen)
{
    enum { PER_TASK = 1024, RESERVE = 32 /* stdio, listener, pipes, poller, logs */ };
    struct rlimit rl;
    switch (model->cap) {
    case CAP_TASKS:
        snprintf(why, whylen, "default");
        return PER_TASK;
    case CAP_FDS:
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
            rl.rlim_cur = 1 << 20;
        if (rl.rlim_cur > 1000000) rl.rlim_cur = 1000000;
        /* descriptors per client: its socket, and the file it is sent (HTTP);
         * for FTP also the data connection */
        unsigned per = strcmp(proto, "ftp") == 0 ? 3 : strcmp(proto, "http") == 0 ? 2 : 1;
        unsigned soft = (unsigned)rl.rlim_cur;
        snprintf(why, whylen, "default: RLIMIT_NOFILE %u less %d, %u per client", soft, RESERVE,
                 per);
        return soft > RESERVE + per ? (soft - RESERVE) / per : 1;
    default:
        snprintf(why, whylen, "default: none, the model bounds its clients itself");
        return 0;
    }
}

/* --user: serve as that user, for good. 0, or -1 with err filled. */
static int drop_privileges(const struct options *o, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        if (o->uid == geteuid() && o->gid == getegid()) return 0; /* already */
        snprintf(err, errlen, "--user %s: only root can switch users", o->user);
        return -1;
    }
    if (setgroups(1, &o->gid) < 0 || setgid(o->gid) < 0 || setuid(o->uid) < 0) {
        snprintf(err, errlen, "--user %s: %s", o->user, strerror(errno));
        return -1;
    }
    if (o->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "--user %s: root could be regained; refusing to serve", o->user);
        return -1;
    }
    return 0;
}

static int open_stop_pipe(int fds[2])
{
    if (pipe(fds) < 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is an EPIPE, not a death */
}

int main(int argc, char **argv)
{
    /* (CORE) the hash-password subcommand: a hash for the --users file */
    if (argc == 2 && strcmp(argv[1], "hash-password") == 0)
        return ftp_hash_password_main(stdin, stdout, stderr);

    struct options o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;

    struct fsroot *root = NULL;
    if (o.root && !(root = fsroot_new(o.root))) {
        fprintf(stderr, "refserver: --root %s: %s\n", o.root, strerror(errno));
        return 2;
    }
    char host[256], port[8], err[300];
    if (!split_host_port(o.listen, host, sizeof host, port, sizeof port)) {
        fsroot_free(root);
        return bad_usage("--listen wants HOST:PORT, not '%s'", o.listen);
    }
    struct ftp_users *users = NULL;
    if (o.users && !(users = ftp_users_load(o.users, err, sizeof err))) {
        fprintf(stderr, "refserver: --users %s\n", err);
        fsroot_free(root);
        return 2;
    }
    const struct model *model = find_model(o.model);
    struct server_ctx server = {.root = root,
                                .access_log = o.access_log,
                                .one_request = model->one_request,
                                .users = users,
                                .umask = o.umask, /* (CORE) */
                                .login_delay_ms = o.login_delay_ms};
    char max_conn_why[100] = "";
    if (!o.max_conn_given)
        o.max_conn = default_max_conn(model, o.proto, max_conn_why, sizeof max_conn_why);
    struct model_ctx m = {.proto = proto_find(o.proto),
                          .server = &server,
                          .max_conn = o.max_conn,
                          .idle_timeout_ms = o.idle_timeout_ms,
                          .header_timeout_ms = o.header_timeout_ms,
                          .body_timeout_ms = o.body_timeout_ms,
                          .send_timeout_ms = o.send_timeout_ms,
                          .upload_grace_ms = o.upload_grace_ms,
                          .max_per_ip = o.max_per_ip,
                          .workers = o.workers,
                          .quiet = o.quiet};
    m.listen_fd = listener_open(host, port, model->reuseport, &m.addr, &m.addrlen, err, sizeof err);
    if (m.listen_fd < 0 || (o.user && drop_privileges(&o, err, sizeof err) < 0)) {
        fprintf(stderr, "refserver: %s\n", err);
        ftp_users_free(users);
        fsroot_free(root);
        return 1;
    }
    if (o.max_per_ip && !(m.per_ip = peer_limit_new(o.max_per_ip, o.max_conn))) {
        fprintf(stderr, "refserver: --max-per-ip: %s\n", strerror(errno));
        return 1;
    }
    int stop_pipe[2];
    if (open_stop_pipe(stop_pipe) < 0) {
        fprintf(stderr, "refserver: pipe: %s\n", strerror(errno));
        return 1;
    }
    stop_pipe_w = stop_pipe[1];
    m.stop_fd = stop_pipe[0];
    install_signals();

    char addr[80];
    format_addr((struct sockaddr *)&m.addr, addr, sizeof addr);
    model_info(&m, "model %s, proto %s, root %s, listening on %s", model->name, o.proto,
               o.root ? o.root : "-", addr);
    if (*max_conn_why)
        model_info(&m, "max-conn %u (%s)", o.max_conn, max_conn_why);
    else
        model_info(&m, "max-conn %u", o.max_conn);
    if (geteuid() == 0 && !o.user)
        model_error("running as root without --user: clients are served with root's rights");
    printf("listening on %s\n", addr);
    fflush(stdout);

    /* Only an FTP users file's password hashes are offloaded (anonymous and
     * HTTP/echo need none): without one, no worker, no wake fd in the loops,
     * nothing on their hot path. Its thread starts at the first job (in each
     * process of fork and prefork: threads do not cross a fork). */
    m.offload = users ? offload_pool_new() : NULL;
    rc = model->run(&m);
    offload_pool_free(m.offload);
    model_info(&m, "stopped (%s)", rc == 0 ? "clean" : "error");
    peer_limit_free(m.per_ip);
    ftp_users_free(users);
    fsroot_free(root);
    return rc == 0 ? 0 : 1;
}
