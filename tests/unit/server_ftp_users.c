/* Unit tests of the FTP users file (servers/core/ftp_users.c): the parser
 * on good and malformed lines, the lookup and the password check. Most
 * inputs are parsed from memory (ftp_users_read on fmemopen), the file
 * itself through ftp_users_load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    char err[256];
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
    char err[256];
    struct ftp_users *u =
        parse("# users\r\n\r\n   \n\t\nalice:pw\r\n  # indented comment\ncarol.x_y-z:p w:d\n"
              "Alice:other\nbob:a#b \nlast:no-newline",
              err, sizeof err);
    assert_non_null(u);
    assert_int_equal(ftp_users_count(u), 5);
    assert_true(ftp_users_check(u, "alice", "pw"));
    assert_true(ftp_users_check(u, "carol.x_y-z", "p w:d")); /* the first ':' splits */
    assert_true(ftp_users_check(u, "Alice", "other"));       /* names are case-sensitive */
    assert_false(ftp_users_check(u, "Alice", "pw"));
    assert_true(ftp_users_check(u, "bob", "a#b ")); /* '#' and blanks inside are kept */
    assert_false(ftp_users_check(u, "bob", "a#b"));
    assert_true(ftp_users_check(u, "last", "no-newline"));
    ftp_users_free(u);
}

static void test_parse_limits(void **state)
{
    (void)state;
    char err[256], line[512];
    char *name = repeat('n', FTP_USER_MAX), *pass = repeat('p', FTP_PASS_MAX);
    snprintf(line, sizeof line, "%s:%s\n", name, pass);
    struct ftp_users *u = parse(line, err, sizeof err);
    assert_non_null(u);
    assert_true(ftp_users_check(u, name, pass));
    ftp_users_free(u);

    snprintf(line, sizeof line, "%sn:x\n", name);
    assert_refused(line, NAME ":1: bad user name");
    snprintf(line, sizeof line, "alice:%sp\n", pass);
    assert_refused(line, NAME ":1: password too long");
    free(name);
    free(pass);

    /* longer than a name, a ':' and a password can be: refused as such */
    char *huge = repeat('x', 300);
    snprintf(line, sizeof line, "# fine\nalice:%s\n", huge);
    assert_refused(line, NAME ":2: line too long");
    snprintf(line, sizeof line, "alice:%s", huge); /* without a line end too */
    assert_refused(line, NAME ":1: line too long");
    free(huge);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        /* missing fields */
        {"alice:pw\n\nnocolon\n", NAME ":3: expected name:password"},
        {"alice\n", NAME ":1: expected name:password"},
        {":pw\n", NAME ":1: bad user name"},
        {":\n", NAME ":1: bad user name"},
        {"alice:\n", NAME ":1: empty password"},
        {"alice:\r\n", NAME ":1: empty password"},
        /* bad names */
        {"al ice:pw\n", NAME ":1: bad user name"},
        {" alice:pw\n", NAME ":1: bad user name"},
        {"a/b:pw\n", NAME ":1: bad user name"},
        {"caf\xc3\xa9:pw\n", NAME ":1: bad user name"},
        {"anonymous:x\n", NAME ":1: user name reserved for anonymous logins"},
        {"FTP:x\n", NAME ":1: user name reserved"},
        {"Anonymous:x\n", NAME ":1: user name reserved"},
        {"alice:pw\nalice:other\n", NAME ":2: duplicate user name"},
        /* bad passwords */
        {"alice:a\tb\n", NAME ":1: control character in password"},
        {"alice:a\x7f\n", NAME ":1: control character in password"},
        {"alice:a\rb\n", NAME ":1: control character in password"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_refused(bad[i].text, bad[i].want);
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
    char path[600], err[256];
    assert_non_null(scratch_create("ftp-users"));
    snprintf(path, sizeof path, "%s", scratch_write("users", "", 0)); /* empty: an empty table */
    struct ftp_users *u = ftp_users_load(path, err, sizeof err);
    assert_non_null(u);
    assert_int_equal(ftp_users_count(u), 0);
    assert_false(ftp_users_check(u, "alice", "pw"));
    ftp_users_free(u);

    scratch_write_text("users", "alice:pw\nbroken\n");
    assert_null(ftp_users_load(path, err, sizeof err));
    char want[700];
    snprintf(want, sizeof want, "%s:2: expected name:password", path);
    assert_string_equal(err, want);

    assert_int_equal(unlink(path), 0);
    assert_null(ftp_users_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(scratch_remove(), 0);
}

static void test_check(void **state)
{
    (void)state;
    char err[256];
    struct ftp_users *u = parse("alice:pw\n", err, sizeof err);
    assert_non_null(u);
    assert_true(ftp_users_check(u, "alice", "pw"));
    assert_false(ftp_users_check(u, "alice", "pw\r"));
    assert_false(ftp_users_check(u, "alice", "p"));
    assert_false(ftp_users_check(u, "alice", "pwx"));
    assert_false(ftp_users_check(u, "alice", ""));
    assert_false(ftp_users_check(u, "alice ", "pw"));
    assert_false(ftp_users_check(u, "nobody", "pw"));
    assert_false(ftp_users_check(u, "", ""));
    assert_false(ftp_users_check(u, "", "\x01")); /* the unknown user's stand-in */
    char *huge = repeat('p', FTP_PASS_MAX + 10);
    assert_false(ftp_users_check(u, "alice", huge));
    free(huge);
    ftp_users_free(u);

    assert_false(ftp_users_check(NULL, "alice", "pw"));
    assert_int_equal(ftp_users_count(NULL), 0);
    ftp_users_free(NULL);
}

/* A password of exactly FTP_PASS_MAX bytes: a longer attempt sharing those
 * bytes must still fail (the compare stops at FTP_PASS_MAX). */
static void test_check_longest_password(void **state)
{
    (void)state;
    char err[256], line[300];
    char *pass = repeat('p', FTP_PASS_MAX), *longer = repeat('p', FTP_PASS_MAX + 1);
    snprintf(line, sizeof line, "alice:%s\n", pass);
    struct ftp_users *u = parse(line, err, sizeof err);
    assert_non_null(u);
    assert_true(ftp_users_check(u, "alice", pass));
    assert_false(ftp_users_check(u, "alice", longer));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
