/* main.c - refserver: argument parsing, the model table, signals.
 *
 * refserver --model NAME --proto http|ftp|echo --listen HOST:PORT --root DIR
 *           [--max-conn N] [--idle-timeout TIME] [--workers N] [--users FILE]
 *           [--access-log] [--quiet] [--umask MASK]
 * refserver --list-models | --help
 * refserver hash-password     (reads a password line on stdin, prints its hash)
 * Counts and durations are read with common/units.h ("10k", "250ms", "2m").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "fsroot.h"
#include "ftp.h"
#include "model.h"
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
    const char *model, *proto, *listen, *root, *users;
    unsigned max_conn, idle_timeout_ms, workers;
    bool access_log, quiet;
    mode_t umask; /* --umask (CORE) */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: refserver --model NAME --proto http|ftp|echo --listen HOST:PORT --root DIR\n"
            "                 [--max-conn N] [--idle-timeout TIME] [--workers N]\n"
            "                 [--users FILE] [--access-log] [--quiet] [--umask MASK]\n"
            "       refserver --list-models\n"
            "       refserver hash-password < FILE   (a --users hash of the line read)\n"
            "\n"
            "  --model NAME          concurrency model (see --list-models)\n"
            "  --proto NAME          protocol: http, ftp or echo (default http)\n"
            "  --listen HOST:PORT    address to listen on; port 0 picks a free port\n"
            "                        (default 127.0.0.1:8080); IPv6 as [::1]:PORT\n"
            "  --root DIR            document root (required for http)\n"
            "  --max-conn N          refuse clients over N at once (HTTP 503), 0 = no limit;\n"
            "                        N up to 1000000, also as 10k or 1M\n"
            "  --idle-timeout TIME   close a client silent that long (default 60, 0 = never):\n"
            "                        seconds (60, 1.5) or with a unit: 250ms, 5s, 2m, 1h\n"
            "                        (up to 24h)\n"
            "  --workers N           processes/threads of pool models (default: model's own),\n"
            "                        up to 4096\n"
            "  --users FILE          FTP logins besides anonymous (read-only): lines\n"
            "                        'name:hash:rw|ro', hash from refserver hash-password\n"
            "  --access-log          one stderr line per request\n"
            "  --umask MASK          FTP: new files 0666 & ~MASK, new directories\n"
            "                        0777 & ~MASK (octal, default 022)\n"
            "  --quiet               log errors only\n"
            "\n"
            "Prints 'listening on HOST:PORT' on stdout once ready. SIGTERM/SIGINT stop\n"
            "accepting, finish in-flight answers and exit 0.\n");
}

static void list_models(void)
{
    for (size_t i = 0; i < NMODELS; i++)
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

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    enum { O_MAXCONN = 256, O_IDLE, O_WORKERS, O_ACCESS, O_LIST, O_USERS, O_UMASK };
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"proto", required_argument, 0, 'p'},
                                             {"listen", required_argument, 0, 'l'},
                                             {"root", required_argument, 0, 'r'},
                                             {"max-conn", required_argument, 0, O_MAXCONN},
                                             {"idle-timeout", required_argument, 0, O_IDLE},
                                             {"workers", required_argument, 0, O_WORKERS},
                                             {"users", required_argument, 0, O_USERS},
                                             {"umask", required_argument, 0, O_UMASK},
                                             {"access-log", no_argument, 0, O_ACCESS},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"list-models", no_argument, 0, O_LIST},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    *o = (struct options){.proto = "http", .listen = "127.0.0.1:8080", .idle_timeout_ms = 60000};
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
            break;
        case O_IDLE:
            if (!parse_duration_ms(optarg, 86400, &o->idle_timeout_ms))
                return bad_usage("--idle-timeout wants seconds or a duration up to 24h "
                                 "(e.g. 60, 1.5, 250ms, 5s or 2m), not '%s'",
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
    if (!find_model(o->model)) return bad_usage("unknown model '%s'", o->model);
    if (!proto_find(o->proto)) return bad_usage("unknown protocol '%s'", o->proto);
    if (!o->root && strcmp(o->proto, "echo") != 0) return bad_usage("%s", "--root is required");
    if (o->users && strcmp(o->proto, "ftp") != 0)
        return bad_usage("%s", "--users is for --proto ftp");
    return -1;
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
                                .umask = o.umask}; /* (CORE) */
    struct model_ctx m = {.proto = proto_find(o.proto),
                          .server = &server,
                          .max_conn = o.max_conn,
                          .idle_timeout_ms = o.idle_timeout_ms,
                          .workers = o.workers,
                          .quiet = o.quiet};
    m.listen_fd = listener_open(host, port, model->reuseport, &m.addr, &m.addrlen, err, sizeof err);
    if (m.listen_fd < 0) {
        fprintf(stderr, "refserver: %s\n", err);
        ftp_users_free(users);
        fsroot_free(root);
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
    printf("listening on %s\n", addr);
    fflush(stdout);

    rc = model->run(&m);
    model_info(&m, "stopped (%s)", rc == 0 ? "clean" : "error");
    ftp_users_free(users);
    fsroot_free(root);
    return rc == 0 ? 0 : 1;
}
