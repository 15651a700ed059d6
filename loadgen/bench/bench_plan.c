/* bench_plan.c - the models and scenario files of the bench (bench_plan.h). */
#include "bench_plan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "os/child.h"

/* A model name as the CSV and the command line will carry it. */
static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len >= 32 || s[0] == '-') return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    ns->n = 0;
}

int names_add(struct names *ns, const char *s, size_t len)
{
    if (ns->n == NAMES_MAX) return -1;
    char *c = strndup(s, len);
    if (!c) return -1;
    ns->v[ns->n++] = c;
    return 0;
}

bool names_has(const struct names *ns, const char *s)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], s) == 0) return true;
    return false;
}

/* SERVER --list-models, first word of each line. */
static int list_models(const char *server, struct names *out)
{
    char buf[16384], msg[512];
    char *argv[] = {(char *)server, "--list-models", NULL};
    int rc = child_capture(argv, false, buf, sizeof buf, 10, msg, sizeof msg);
    if (rc != 0) {
        if (rc > 0) snprintf(msg, sizeof msg, "%s --list-models: exit status %d", server, rc);
        fprintf(stderr, "loadgen bench: %s\n", msg);
        return -1;
    }
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        size_t len = strcspn(line, " \t\r");
        if (len == 0) continue;
        if (!valid_name(line, len) || names_add(out, line, len) < 0) {
            fprintf(stderr, "loadgen bench: %s --list-models: bad model name '%.*s'\n", server,
                    (int)(len > 40 ? 40 : len), line);
            return -1;
        }
    }
    if (out->n == 0) {
        fprintf(stderr, "loadgen bench: %s --list-models printed no model\n", server);
        return -1;
    }
    return 0;
}

int plan_models(const char *server, const char *models, struct names *out)
{
    struct names all = {0};
    if (list_models(server, &all) < 0) return -1;
    if (!models || strcmp(models, "all") == 0) {
        *out = all;
        return 0;
    }
    int rc = 0;
    for (const char *p = models; *p && rc == 0;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        if (len == 0 || len > 63 || !names_has(&all, name)) {
            fprintf(stderr, "loadgen bench: --models: '%s' is not a model of %s (it has:", name,
                    server);
            for (size_t i = 0; i < all.n; i++)
                fprintf(stderr, " %s", all.v[i]);
            fprintf(stderr, ")\n");
            rc = -1;
        } else if (!names_has(out, name) && names_add(out, name, len) < 0) {
            rc = -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    names_free(&all);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.ini of dir, sorted. */
static int scenarios_of_dir(const char *dir, struct names *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "loadgen bench: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".ini") != 0) continue;
        char path[2048];
        int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof path || names_add(out, path, (size_t)n) < 0) {
            closedir(d);
            fprintf(stderr, "loadgen bench: %s: too many scenario files\n", dir);
            return -1;
        }
    }
    closedir(d);
    qsort(out->v, out->n, sizeof out->v[0], cmp_str);
    if (out->n == 0) {
        fprintf(stderr, "loadgen bench: %s: no *.ini scenario file\n", dir);
        return -1;
    }
    return 0;
}

int plan_scenarios(const char *scenarios, struct names *out)
{
    const char *spec = scenarios ? scenarios : "scenarios";
    struct stat sb;
    if (!strchr(spec, ',') && stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode))
        return scenarios_of_dir(spec, out);
    if (!scenarios && stat(spec, &sb) != 0) {
        fprintf(stderr, "loadgen bench: no --scenarios given and ./scenarios not found\n");
        return -1;
    }
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || names_add(out, p, len) < 0) {
            fprintf(stderr, "loadgen bench: --scenarios: empty or too many file names\n");
            return -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

long plan_reference(const struct names *models, const char *reference)
{
    if (reference && strcmp(reference, "none") == 0) return -1;
    const char *want[] = {reference ? reference : "epoll", reference ? NULL : "poll"};
    for (size_t w = 0; w < 2 && want[w]; w++)
        for (size_t i = 0; i < models->n; i++)
            if (strcmp(models->v[i], want[w]) == 0) return (long)i;
    return -1;
}

static size_t gcd(size_t a, size_t b)
{
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

size_t plan_round(size_t nmodels, long ref, unsigned k, size_t *slots)
{
    size_t len = nmodels + (ref >= 0 ? 1 : 0);
    if (len == 0) return 0;
    size_t base[NAMES_MAX + 1], twin_at = len; /* len: no twin */
    if (ref >= 0) twin_at = ((size_t)ref + 1 + nmodels / 2) % len;
    for (size_t i = 0, m = 0; i < len; i++)
        base[i] = i == twin_at ? nmodels : m++;
    /* The stride: the k-th number below len that shares no factor with it
     * (1 when there is none), so the order is a permutation, and a model's
     * neighbours change from round to round as well as its position. */
    size_t strides[NAMES_MAX + 1], ns = 0;
    for (size_t a = 1; a < len; a++)
        if (gcd(a, len) == 1) strides[ns++] = a;
    size_t a = ns ? strides[k % ns] : 1;
    for (size_t i = 0; i < len; i++)
        slots[i] = base[(a * i + k) % len];
    return len;
}
