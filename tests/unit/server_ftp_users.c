/* Unit tests of the FTP users file (servers/core/ftp_users.c): the parser
 * on good and malformed lines (plaintext, weak and broken hashes, access
 * flags), the lookup, the password check against crypt(3) hashes, and
 * hash-password. Most inputs are parsed from memory (ftp_users_read on
 * fmemopen), the file itself through ftp_users_load. Hashes are made at
 * test time: SHA-512 at its lowest cost where the scheme does not matter
 * (fast), yescrypt through ftp_hash_password where it does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftp_fake.h" /* ftp_test_hash */
#include "ftp_users.h"
#include "test_util.h"

#define NAME "users.txt" /* what the errors call the stream */

/* Parses text as a users file; err receives the error, if any. */
static struct ftp_users *parse(const char *text, char *err, size_t errlen)
{
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(fp);
    err[0] = '\0';
    struct ftp_users *u = ftp_users_read(fp, NAME, err, errlen);
    fclose(fp);
    return u;
}

/* text must be refused with "users.txt:LINE: reason..." */
static void assert_refused(const char *text, const char *want)
{
    char err[512];
    struct ftp_users *u = parse(text, err, sizeof err);
    if (u) {
        ftp_users_free(u);
        fail_msg("accepted '%s', want '%s'", text, want);
    }
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("got '%s', want '%s'", err, want);
}

/* A string of n copies of c (malloc'ed). */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_parse_good(void **state)
{
    (void)state;
    char err[512], text[2048], yes[FTP_HASH_MAX + 1];
    assert_int_equal(ftp_hash_password("y pass", yes, sizeof yes), 0);
    snprintf(text, sizeof text,
             "# users\r\n\r\n   \n\t\nalice:%s:rw\r\n  # indented comment\n"
             "carol.x_y-z:%s:ro\nAlice:%s:ro\nbob:%s:rw\nlast:%s:ro",
             ftp_test_hash("pw"), ftp_test_hash("p w:d"), ftp_test_hash("other"), yes,
             ftp_test_hash("no-newline"));
    struct ftp_users *u = parse(text, err, sizeof err);
    assert_non_null(u);
    assert_int_equal(ftp_users_count(u), 5);
    bool rw = false;
    assert_true(ftp_users_check(u, "alice", "pw", &rw));
    assert_true(rw);
    assert_true(ftp_users_check(u, "carol.x_y-z", "p w:d", &rw));
    assert_false(rw);
    assert_true(ftp_users_check(u, "Alice", "other", &rw)); /* names are case-sensitive */
    assert_false(ftp_users_check(u, "Alice", "pw", &rw));
    assert_false(rw);
    assert_true(ftp_users_check(u, "bob", "y pass", NULL)); /* yescrypt */
    assert_false(ftp_users_check(u, "bob", "y pas", NULL));
    assert_true(ftp_users_check(u, "last", "no-newline", &rw));
    assert_false(rw);
    ftp_users_free(u);
}

static void test_parse_limits(void **state)
{
    (void)state;
    char err[512], line[1024];
    char *name = repeat('n', FTP_USER_MAX);
    snprintf(line, sizeof line, "%s:%s:rw\n", name, ftp_test_hash("x"));
    struct ftp_users *u = parse(line, err, sizeof err);
    assert_non_null(u);
    assert_true(ftp_users_check(u, name, "x", NULL));
    ftp_users_free(u);

    snprintf(line, sizeof line, "%sn:%s:rw\n", name, ftp_test_hash("x"));
    assert_refused(line, NAME ":1: bad user name");
    free(name);

    /* longer than a name, a hash and the access can be: refused as such */
    char *huge = repeat('x', 600);
    snprintf(line, sizeof line, "# fine\nalice:$6$%s:rw\n", huge);
    assert_refused(line, NAME ":2: line too long");
    snprintf(line, sizeof line, "alice:$6$%s", huge); /* without a line end too */
    assert_refused(line, NAME ":1: line too long");
    snprintf(line, sizeof line, "alice:$6$%.*s:rw\n", FTP_HASH_MAX, huge);
    assert_refused(line, NAME ":1: hash too long");
    free(huge);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    char good[FTP_HASH_MAX + 1], cut[FTP_HASH_MAX + 1];
    snprintf(good, sizeof good, "%s", ftp_test_hash("pw"));
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(good) - 5, good);
    const struct {
        const char *fmt, *want; /* fmt: %1$s a good hash, %2$s a truncated one */
    } bad[] = {
        /* missing fields */
        {"alice:%1$s:rw\n\nnocolon\n", NAME ":3: expected name:hash:rw|ro"},
        {"alice\n", NAME ":1: expected name:hash:rw|ro"},
        {"alice:%1$s\n", NAME ":1: expected name:hash:rw|ro"}, /* no access */
        {"alice:pw\n", NAME ":1: expected name:hash:rw|ro"},   /* the old format */
        {":%1$s:rw\n", NAME ":1: bad user name"},
        {"::\n", NAME ":1: bad user name"},
        {"alice::rw\n", NAME ":1: empty hash"},
        /* the access flag */
        {"alice:%1$s:\n", NAME ":1: access must be rw or ro"},
        {"alice:%1$s:RW\n", NAME ":1: access must be rw or ro"},
        {"alice:%1$s:rwx\n", NAME ":1: access must be rw or ro"},
        {"alice:%1$s:ro \n", NAME ":1: access must be rw or ro"},
        {"alice:%1$s:w\n", NAME ":1: access must be rw or ro"},
        /* plaintext, DES and other weak or unknown schemes */
        {"alice:s3cret:rw\n", NAME ":1: not a crypt(3) hash: plaintext"},
        {"alice:abJnggxhB/yWI:rw\n", NAME ":1: not a crypt(3) hash: plaintext (and DES)"},
        {"alice:_J9..abcdWxyz12345678:rw\n", NAME ":1: not a crypt(3) hash"}, /* BSDi DES */
        {"alice:$1$abcdefgh$4M2ed2ouIyYNUNlTNkYt.1:rw\n", NAME ":1: weak or unknown hash scheme"},
        {"alice:$5$abcdefgh$ZLdkj8mkc2XVSrPVjskDAgZPGjtj1VGVaa1aUkrMTU/:rw\n",
         NAME ":1: weak or unknown hash scheme"},
        {"alice:$9$abc$def:rw\n", NAME ":1: weak or unknown hash scheme"},
        {"alice:$:rw\n", NAME ":1: weak or unknown hash scheme"},
        /* a hash cut short or mangled */
        {"alice:%2$s:rw\n", NAME ":1: malformed hash"},
        {"alice:$6$rounds=1000$salt$short:rw\n", NAME ":1: malformed hash"},
        {"alice:$y$j9T$:rw\n", NAME ":1: malformed hash"},
        /* bad names */
        {"al ice:%1$s:rw\n", NAME ":1: bad user name"},
        {" alice:%1$s:rw\n", NAME ":1: bad user name"},
        {"a/b:%1$s:rw\n", NAME ":1: bad user name"},
        {"caf\xc3\xa9:%1$s:rw\n", NAME ":1: bad user name"},
        {"anonymous:%1$s:ro\n", NAME ":1: user name reserved for anonymous logins"},
        {"FTP:%1$s:ro\n", NAME ":1: user name reserved"},
        {"Anonymous:%1$s:ro\n", NAME ":1: user name reserved"},
        {"alice:%1$s:rw\nalice:%1$s:ro\n", NAME ":2: duplicate user name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[2048];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(text, sizeof text, bad[i].fmt, good, cut);
#pragma GCC diagnostic pop
        assert_refused(text, bad[i].want);
    }
}

static void test_short_error_buffer(void **state)
{
    (void)state;
    char err[8];
    memset(err, 'z', sizeof err);
    FILE *fp = fmemopen("nocolon\n", 8, "r");
    assert_non_null(fp);
    assert_null(ftp_users_read(fp, NAME, err, sizeof err));
    fclose(fp);
    assert_string_equal(err, "users.t"); /* cut, still terminated */
}

static void test_load_file(void **state)
{
    (void)state;
    char path[600], err[512];
    assert_non_null(scratch_create("ftp-users"));
    snprintf(path, sizeof path, "%s", scratch_write("users", "", 0)); /* empty: an empty table */
    struct ftp_users *u = ftp_users_load(path, err, sizeof err);
    assert_non_null(u);
    assert_int_equal(ftp_users_count(u), 0);
    assert_false(ftp_users_check(u, "alice", "pw", NULL));
    ftp_users_free(u);

    char text[1024];
    snprintf(text, sizeof text, "alice:%s:rw\nbob:plain:ro\n", ftp_test_hash("pw"));
    scratch_write_text("users", text);
    assert_null(ftp_users_load(path, err, sizeof err));
    char want[700];
    snprintf(want, sizeof want, "%s:2: not a crypt(3) hash", path);
    assert_memory_equal(err, want, strlen(want));

    assert_int_equal(unlink(path), 0);
    assert_null(ftp_users_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(scratch_remove(), 0);
}

static void test_check(void **state)
{
    (void)state;
    char err[512], text[1024];
    snprintf(text, sizeof text, "alice:%s:rw\n", ftp_test_hash("pw"));
    struct ftp_users *u = parse(text, err, sizeof err);
    assert_non_null(u);
    bool rw = true;
    assert_true(ftp_users_check(u, "alice", "pw", &rw));
    assert_true(rw);
    static const char *const wrong[] = {"pw\r", "p", "pwx", "", "PW"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        rw = true;
        assert_false(ftp_users_check(u, "alice", wrong[i], &rw));
        assert_false(rw); /* a failure never grants writing */
    }
    assert_false(ftp_users_check(u, "alice ", "pw", NULL));
    assert_false(ftp_users_check(u, "nobody", "pw", NULL));
    assert_false(ftp_users_check(u, "", "", NULL));
    /* the hash itself is no password */
    const char *h = strchr(text, ':') + 1;
    char hash[FTP_HASH_MAX + 1];
    snprintf(hash, sizeof hash, "%.*s", (int)(strchr(h, ':') - h), h);
    assert_false(ftp_users_check(u, "alice", hash, NULL));
    char *huge = repeat('p', FTP_PASS_MAX + 10);
    assert_false(ftp_users_check(u, "alice", huge, NULL));
    free(huge);
    ftp_users_free(u);

    rw = true;
    assert_false(ftp_users_check(NULL, "alice", "pw", &rw));
    assert_false(rw);
    assert_int_equal(ftp_users_count(NULL), 0);
    ftp_users_free(NULL);
}

/* A password of exactly FTP_PASS_MAX bytes works; a longer one sharing
 * those bytes fails. */
static void test_check_longest_password(void **state)
{
    (void)state;
    char err[512], line[1024];
    char *pass = repeat('p', FTP_PASS_MAX), *longer = repeat('p', FTP_PASS_MAX + 1);
    snprintf(line, sizeof line, "alice:%s:ro\n", ftp_test_hash(pass));
    struct ftp_users *u = parse(line, err, sizeof err);
    assert_non_null(u);
    assert_true(ftp_users_check(u, "alice", pass, NULL));
    assert_false(ftp_users_check(u, "alice", longer, NULL));
    ftp_users_free(u);
    free(pass);
    free(longer);
}

static void test_anonymous_names(void **state)
{
    (void)state;
    assert_true(ftp_user_is_anonymous("anonymous"));
    assert_true(ftp_user_is_anonymous("ANONYMOUS"));
    assert_true(ftp_user_is_anonymous("ftp"));
    assert_true(ftp_user_is_anonymous("Ftp"));
    assert_false(ftp_user_is_anonymous("anon"));
    assert_false(ftp_user_is_anonymous("ftpx"));
    assert_false(ftp_user_is_anonymous(""));
}

static void test_hash_password(void **state)
{
    (void)state;
    char a[FTP_HASH_MAX + 1], b[FTP_HASH_MAX + 1], small[16];
    assert_int_equal(ftp_hash_password("secret", a, sizeof a), 0);
    assert_int_equal(ftp_hash_password("secret", b, sizeof b), 0);
    assert_memory_equal(a, "$y$", 3); /* yescrypt, libcrypt's default cost */
    assert_string_not_equal(a, b);    /* a new salt each time */
    assert_int_equal(ftp_hash_password("secret", small, sizeof small), -1);
    char text[1024], err[512];
    snprintf(text, sizeof text, "u1:%s:rw\nu2:%s:ro\n", a, b);
    struct ftp_users *u = parse(text, err, sizeof err);
    assert_non_null(u);
    assert_true(ftp_users_check(u, "u1", "secret", NULL));
    assert_true(ftp_users_check(u, "u2", "secret", NULL));
    assert_false(ftp_users_check(u, "u1", "Secret", NULL));
    ftp_users_free(u);
}

/* hash-password: in, and what comes out on stdout / stderr. */
static int hash_main(const char *in, char *out, size_t outcap, char *err, size_t errcap)
{
    FILE *fi = fmemopen((void *)in, strlen(in), "r");
    FILE *fo = fmemopen(out, outcap, "w");
    FILE *fe = fmemopen(err, errcap, "w");
    assert_true(fi && fo && fe);
    int rc = ftp_hash_password_main(fi, fo, fe);
    fclose(fi);
    fclose(fo);
    fclose(fe);
    return rc;
}

static void test_hash_password_main(void **state)
{
    (void)state;
    char out[512], err[512];
    static const char *const good[] = {"s3cret\n", "s3cret\r\n", "s3cret", "s3cret\nmore\n"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        memset(out, 0, sizeof out);
        memset(err, 0, sizeof err);
        assert_int_equal(hash_main(good[i], out, sizeof out, err, sizeof err), 0);
        assert_string_equal(err, "");
        size_t n = strlen(out);
        assert_true(n > 4 && out[n - 1] == '\n' && memcmp(out, "$y$", 3) == 0);
        char text[600];
        snprintf(text, sizeof text, "alice:%.*s:ro\n", (int)n - 1, out);
        char perr[512];
        struct ftp_users *u = parse(text, perr, sizeof perr);
        assert_non_null(u);
        assert_true(ftp_users_check(u, "alice", "s3cret", NULL));
        ftp_users_free(u);
    }
    char *longest = repeat('p', FTP_PASS_MAX), *longer = repeat('p', FTP_PASS_MAX + 1);
    memset(out, 0, sizeof out);
    assert_int_equal(hash_main(longest, out, sizeof out, err, sizeof err), 0);
    static const struct {
        const char *in, *want;
    } bad[] = {
        {"", "refserver hash-password: no password on standard input\n"},
        {"\n", "refserver hash-password: empty password\n"},
        {"a\tb\n", "refserver hash-password: control character in password\n"},
        {NULL, "refserver hash-password: password too long (at most 128 bytes)\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 0, sizeof out);
        memset(err, 0, sizeof err);
        assert_int_equal(
            hash_main(bad[i].in ? bad[i].in : longer, out, sizeof out, err, sizeof err), 1);
        assert_string_equal(out, "");
        assert_string_equal(err, bad[i].want);
    }
    free(longest);
    free(longer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_short_error_buffer),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_check_longest_password),
        cmocka_unit_test(test_anonymous_names),
        cmocka_unit_test(test_hash_password),
        cmocka_unit_test(test_hash_password_main),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
