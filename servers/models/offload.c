/* offload.c - work that must not run on an event loop (model.h).
 *
 * A password hash costs tens of milliseconds of CPU; on a loop's thread
 * every other client of that loop would wait for it. So the loop hands the
 * job (ACT_OFFLOAD, conn.h) to the process's worker thread (the pool,
 * main.c's, started at the first job) and goes on serving. Each loop has a
 * port of its own: a done list and a wake fd (an eventfd; a pipe in the
 * portable build) that it watches beside its sockets. The worker runs the
 * jobs one after another, puts each on its port's done list, and the wake
 * fd becomes readable; the loop then takes the done jobs and resumes their
 * connections. One worker for every loop of a process (reuseport's too):
 * a login is rare, and the thread count stays what it was after the first.
 * On Linux the blocking models (drive_blocking.c) hand their jobs to it
 * too, each waiting on a port of its own, for the priority below: a
 * process of fork or prefork starts a worker of its own at its first job.
 *
 * A port's wake fd is written under the lock, right after a job joins the
 * done list, and drained under the lock when the list is taken: so it is
 * readable exactly while the list holds a job, and a level-triggered
 * poller never spins on it (nor does the busy loop, which looks at an
 * atomic count first). The queue is bounded: when it is full (or no
 * thread can start), offload_submit() fails and the caller runs the job
 * itself, as before.
 *
 * The worker runs at a lower priority (nice OFFLOAD_NICE, Linux: a thread's
 * own nice value): it shares the loops' CPU, and eight logins at a run's
 * start were 150 ms of hashing beside the first sessions' requests. Nice 10
 * weighs 110 against a loop's 1024, so the loops' answers come first and a
 * login still gets about a tenth of a busy CPU. */
#include "model.h"

#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if SM_LINUX
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#endif

/* Jobs queued or running at most; more run on the caller's thread. */
#define OFFLOAD_QUEUE_MAX 256
/* The worker thread's nice value (see the top). */
#define OFFLOAD_NICE 10

struct offload_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;             /* a job was queued, or quit */
    pthread_cond_t finished;         /* a job was handed to its port */
    struct offload_job *head, *tail; /* queued, oldest first */
    unsigned queued;                 /* queued or running */
    bool started, quit;
    pthread_t tid;
};

struct offload {
    struct offload_pool *pool;
    struct offload_job *done; /* finished, not yet taken by the loop (the pool's lock) */
    atomic_uint ndone;        /* how many: looked at without the lock */
    unsigned outstanding;     /* submitted, not yet on done (the pool's lock) */
    int rfd, wfd;             /* the wake fd (eventfd: both the same) */
};

static void wake_write(struct offload *o)
{
#if SM_LINUX
    uint64_t one = 1;
    ssize_t n = write(o->wfd, &one, sizeof one);
#else
    char one = 1;
    ssize_t n = write(o->wfd, &one, 1); /* a full pipe is readable already */
#endif
    (void)n;
}

static void wake_drain(struct offload *o)
{
    char buf[64];
    while (read(o->rfd, buf, sizeof buf) > 0) {
    }
}

static void *worker(void *arg)
{
    struct offload_pool *p = arg;
#if SM_LINUX
    /* best effort: at the loops' priority if it cannot be lowered */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), OFFLOAD_NICE);
#endif
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->quit)
            pthread_cond_wait(&p->work, &p->mu);
        struct offload_job *j = p->head;
        if (!j) break; /* quit, and nothing left to run */
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        pthread_mutex_lock(&p->mu);
        struct offload *o = j->port;
        p->queued--;
        o->outstanding--;
        j->next = o->done;
        o->done = j;
        atomic_fetch_add(&o->ndone, 1);
        wake_write(o);
        pthread_cond_broadcast(&p->finished);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct offload_pool *offload_pool_new(void)
{
    struct offload_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->finished, NULL);
    return p;
}

void offload_pool_free(struct offload_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    if (p->started) pthread_join(p->tid, NULL); /* after the jobs still queued */
    pthread_cond_destroy(&p->finished);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The worker, with every signal blocked: they are the main thread's. */
static int start_worker(struct offload_pool *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&p->tid, NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        errno = e;
        return -1;
    }
    p->started = true;
    return 0;
}

struct offload *offload_new(struct offload_pool *pool)
{
    if (!pool) return NULL;
    struct offload *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->pool = pool;
#if SM_LINUX
    o->rfd = o->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (o->rfd < 0) {
        free(o);
        return NULL;
    }
#else
    int fds[2];
    if (pipe(fds) < 0) {
        free(o);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    o->rfd = fds[0];
    o->wfd = fds[1];
#endif
    return o;
}

int offload_fd(const struct offload *o)
{
    return o->rfd;
}

int offload_submit(struct offload *o, struct offload_job *j)
{
    if (!o) return -1;
    struct offload_pool *p = o->pool;
    pthread_mutex_lock(&p->mu);
    int rc = -1;
    if (p->queued < OFFLOAD_QUEUE_MAX && !p->quit && (p->started || start_worker(p) == 0)) {
        j->port = o;
        j->next = NULL;
        if (p->tail)
            p->tail->next = j;
        else
            p->head = j;
        p->tail = j;
        p->queued++;
        o->outstanding++;
        pthread_cond_signal(&p->work);
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

struct offload_job *offload_done(struct offload *o)
{
    if (!o || atomic_load(&o->ndone) == 0) return NULL;
    pthread_mutex_lock(&o->pool->mu);
    struct offload_job *list = o->done;
    o->done = NULL;
    atomic_store(&o->ndone, 0);
    wake_drain(o);
    pthread_mutex_unlock(&o->pool->mu);
    return list;
}

void offload_free(struct offload *o)
{
    if (!o) return;
    struct offload_pool *p = o->pool;
    pthread_mutex_lock(&p->mu);
    while (o->outstanding) /* none, unless the loop failed: the worker still holds the port */
        pthread_cond_wait(&p->finished, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (o->wfd != o->rfd) close(o->wfd);
    close(o->rfd);
    free(o);
}
