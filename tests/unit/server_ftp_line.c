/* Unit tests of the FTP control connection's text (servers/core/ftp_line.c):
 * Telnet IAC removal, control bytes, path quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ftp_line.h"

/* ftp_clean_line over the n bytes of in; the result must be want. */
static void assert_clean(const char *in, size_t n, const char *want)
{
    char out[64];
    assert_true(n < sizeof out);
    memset(out, 'z', sizeof out);
    ftp_clean_line(in, n, out);
    assert_string_equal(out, want);
}

static void test_clean_line_ends(void **state)
{
    (void)state;
    assert_clean("NOOP\r\n", 6, "NOOP");
    assert_clean("NOOP\n", 5, "NOOP");
    assert_clean("NOOP", 4, "NOOP");
    assert_clean("NOOP\r\r\n\n", 8, "NOOP"); /* every trailing CR and LF */
    assert_clean("\r\n", 2, "");
    assert_clean("", 0, "");
    assert_clean("A\rB\n", 4, "A\rB"); /* a CR inside stays (the argument check refuses it) */
}

static void test_clean_line_telnet(void **state)
{
    (void)state;
    assert_clean("NO\xff\xffOP\r\n", 8, "NO\xffOP");      /* IAC IAC is a 0xff byte */
    assert_clean("\xff\xf4\xff\xf2NOOP\r\n", 10, "NOOP"); /* IAC IP, IAC DM */
    assert_clean("\xff\xfb\x01NOOP\n", 7, "NOOP");        /* IAC WILL ECHO */
    assert_clean("\xff\xfe\x22NOOP\n", 7, "NOOP");        /* IAC DONT x */
    assert_clean("NOOP\xff", 5, "NOOP\xff");              /* a lone IAC at the end stays */
    assert_clean("\xff\xfb", 2, "");                      /* a cut WILL: the option is gone */
}

static void test_clean_line_nul(void **state)
{
    (void)state;
    char out[16];
    ftp_clean_line("CWD a\0b\r\n", 9, out);
    assert_string_equal(out, "CWD a\x01"
                             "b");
    assert_true(ftp_has_ctl(out));
}

static void test_has_ctl(void **state)
{
    (void)state;
    assert_false(ftp_has_ctl(""));
    assert_false(ftp_has_ctl("plain name.txt"));
    assert_false(ftp_has_ctl("caf\xc3\xa9 \xff~")); /* bytes >= 0x80 are not control */
    assert_true(ftp_has_ctl("a\tb"));
    assert_true(ftp_has_ctl("a\rb"));
    assert_true(ftp_has_ctl("\x1f"));
    assert_true(ftp_has_ctl("del\x7f"));
}

static void test_quote_path(void **state)
{
    (void)state;
    char out[32];
    ftp_quote_path("/plain", out, sizeof out);
    assert_string_equal(out, "/plain");
    ftp_quote_path("/q\"uote", out, sizeof out);
    assert_string_equal(out, "/q\"\"uote");
    ftp_quote_path("/\xff", out, sizeof out);
    assert_string_equal(out, "/\xff\xff");
    ftp_quote_path("", out, sizeof out);
    assert_string_equal(out, "");
}

static void test_quote_path_cut(void **state)
{
    (void)state;
    char out[6];
    memset(out, 'z', sizeof out);
    ftp_quote_path("/abcdefgh", out, sizeof out);
    assert_string_equal(out, "/abc"); /* room for 5 bytes and the NUL: stops at 4 */
    /* a doubled byte goes in whole, or not at all */
    ftp_quote_path("/ab\"c", out, sizeof out);
    assert_string_equal(out, "/ab\"\"");
    ftp_quote_path("/abc\"", out, sizeof out);
    assert_string_equal(out, "/abc");
    ftp_quote_path("x", out, 1);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_line_ends), cmocka_unit_test(test_clean_line_telnet),
        cmocka_unit_test(test_clean_line_nul),  cmocka_unit_test(test_has_ctl),
        cmocka_unit_test(test_quote_path),      cmocka_unit_test(test_quote_path_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
