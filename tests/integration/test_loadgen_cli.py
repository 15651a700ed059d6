"""loadgen's command line: usage errors exit 2 with a clear message, --help
exits 0, `loadgen fixtures` creates the tree. No server is needed: where a
command line is valid, nothing listens on the target and the verify pass
fails with exit status 1 (not 2), which proves the line was accepted."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverutil import LOADGEN, class_temp_dir  # noqa: E402
from serverutil import free_port as closed_port  # noqa: E402  (nothing listens on it)

GOOD_SCENARIO = """\
[scenario]
name = cli-test
protocol = http
duration = 1

[step index]
method = GET
path = /index.html
expect_status = 200
"""

FILE_SCENARIO = """\
[scenario]
name = cli-file
protocol = http

[step index]
path = /index.html
expect = file
expect_body = index.html
"""

FTP_SCENARIO = """\
[scenario]
name = cli-ftp
protocol = ftp

[step get]
method = RETR
path = /hello.txt
"""

# The unknown key is on line 4.
BAD_KEY_SCENARIO = """\
[scenario]
name = cli-bad
protocol = http
bogus_key = 1

[step index]
path = /
"""


class TestCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "lg-cli-test-")
        cls.sc = {}
        for name, text in (("good", GOOD_SCENARIO), ("file", FILE_SCENARIO),
                           ("ftp", FTP_SCENARIO), ("badkey", BAD_KEY_SCENARIO)):
            path = os.path.join(cls.tmp, name + ".ini")
            with open(path, "w") as f:
                f.write(text)
            cls.sc[name] = path
        cls.target = "127.0.0.1:%d" % closed_port()

    def lg(self, *args, timeout=60):
        out = subprocess.run([LOADGEN] + list(args), capture_output=True, timeout=timeout)
        return out.returncode, out.stdout.decode(), out.stderr.decode()

    def assert_usage(self, *args, mentions=None):
        rc, out, err = self.lg(*args)
        self.assertEqual(rc, 2, "args %r: exit %d\n%s%s" % (args, rc, out, err))
        self.assertTrue(err.strip(), "no message for %r" % (args,))
        if mentions:
            self.assertIn(mentions, err)
        return err

    def run_good(self, *extra):
        return self.lg("run", self.sc["good"], "--target", self.target, "--timeout", "1", *extra)

    # -- help ---------------------------------------------------------------
    def test_help_exits_0(self):
        for args in (["--help"], ["run", "--help"], ["fixtures", "--help"], ["bench", "--help"],
                     ["compare", "--help"]):
            with self.subTest(args=args):
                rc, out, err = self.lg(*args)
                self.assertEqual(rc, 0, err)
                self.assertIn("usage:", out)
                # printed as text, not through printf: "%%" would show as is
                self.assertNotIn("%%", out)
        rc, out, _ = self.lg("run", "--help")
        for flag in ("--target", "--fixtures", "--threads", "--connections", "--duration",
                     "--requests", "--rate", "--timeout", "--warmup", "--csv", "--label",
                     "--engine", "--progress"):
            self.assertIn(flag, out)

    def test_no_command_and_unknown_command(self):
        self.assert_usage()
        self.assert_usage("frobnicate", mentions="frobnicate")

    def test_bench_and_compare_usage(self):
        self.assert_usage("bench", "a.csv", mentions="unexpected argument 'a.csv'")
        self.assert_usage("compare", "a.csv", mentions="needs two CSV files")

    # -- usage errors ---------------------------------------------------------
    def test_bad_flag(self):
        self.assert_usage("run", self.sc["good"], "--target", self.target, "--bogus",
                          mentions="--bogus")
        self.assert_usage("run", self.sc["good"], "--target", self.target, "-x", mentions="-x")
        self.assert_usage("run", self.sc["good"], "--target", self.target, "--progress=yes")

    def test_flag_without_value(self):
        self.assert_usage("run", self.sc["good"], "--target", mentions="--target")
        self.assert_usage("run", self.sc["good"], "--target", self.target, "--threads",
                          mentions="--threads")

    def test_bad_numbers(self):
        cases = [
            ("--threads", "abc"), ("--threads", "0"), ("--threads", "-1"), ("--threads", "1.5"),
            ("--threads", "2x"), ("--threads", ""), ("--threads", "99999999999999999999999"),
            ("--connections", "0"), ("--connections", "-3"), ("--connections", "1e3"),
            ("--duration", "0"), ("--duration", "-1"), ("--duration", "abc"),
            ("--duration", "1x"), ("--duration", "nan"), ("--duration", "inf"),
            ("--requests", "0"), ("--requests", "1.5"), ("--requests", "-5"),
            ("--rate", "0"), ("--rate", "-10"), ("--rate", "fast"), ("--rate", "1s"),
            ("--timeout", "0"), ("--timeout", "nan"), ("--timeout", "5min"),
            ("--warmup", "-1"), ("--warmup", "x"),
            ("--engine", "fast"), ("--label", ""), ("--label", "x" * 80),
        ]
        for flag, value in cases:
            with self.subTest(flag=flag, value=value):
                self.assert_usage("run", self.sc["good"], "--target", self.target, flag, value,
                                  mentions=flag)

    def test_missing_target_and_scenario(self):
        self.assert_usage("run", self.sc["good"], mentions="--target")
        self.assert_usage("run", "--target", self.target, mentions="scenario")
        self.assert_usage("run", self.sc["good"], self.sc["good"], "--target", self.target)

    def test_bad_host_port(self):
        for target in ("localhost", "localhost:", ":80", "localhost:0", "localhost:65536",
                       "localhost:80x", "localhost:-1", "::1:80", "[::1]80", "[::1]:",
                       "[]:80", "[localhost]:80", "a b:80", "host:+80"):
            with self.subTest(target=target):
                self.assert_usage("run", self.sc["good"], "--target", target,
                                  mentions="--target")

    def test_good_host_port_forms_are_accepted(self):
        port = closed_port()
        for target in ("127.0.0.1:%d" % port, "localhost:%d" % port, "[::1]:%d" % port):
            with self.subTest(target=target):
                rc, out, err = self.lg("run", self.sc["good"], "--target", target,
                                       "--timeout", "1", "--requests", "1")
                self.assertEqual(rc, 1, err)  # accepted; the verify pass finds no server
                self.assertIn("verify", err)

    def test_duration_and_requests_exclude_each_other(self):
        self.assert_usage("run", self.sc["good"], "--target", self.target, "--duration", "1",
                          "--requests", "10", mentions="--requests")

    def test_threads_above_connections(self):
        self.assert_usage("run", self.sc["good"], "--target", self.target, "--threads", "4",
                          "--connections", "2", mentions="threads")

    def test_scenario_errors(self):
        err = self.assert_usage("run", self.sc["badkey"], "--target", self.target)
        self.assertIn(self.sc["badkey"] + ":4:", err)
        self.assertIn("bogus_key", err)
        self.assert_usage("run", os.path.join(self.tmp, "missing.ini"), "--target", self.target,
                          mentions="missing.ini")

    def test_fixtures_required_when_a_step_checks_a_file(self):
        self.assert_usage("run", self.sc["file"], "--target", self.target, mentions="--fixtures")
        empty = os.path.join(self.tmp, "empty-fixtures")
        os.makedirs(empty, exist_ok=True)
        self.assert_usage("run", self.sc["file"], "--target", self.target, "--fixtures", empty,
                          mentions="index.html")

    def test_raw_engine_refuses_ftp(self):
        self.assert_usage("run", self.sc["ftp"], "--target", self.target, "--engine", "raw",
                          mentions="raw")

    def test_valid_flags_reach_the_verify_pass(self):
        rc, out, err = self.run_good("--threads", "2", "--connections", "4", "--duration", "1.5s",
                                     "--rate", "100", "--warmup", "0", "--label=x",
                                     "--engine", "raw", "--csv", os.path.join(self.tmp, "x.csv"))
        self.assertEqual(rc, 1, err)
        self.assertIn("verify", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.csv")))

    # -- units: every number goes through common/units.h ----------------------
    def test_unit_spellings_reach_the_verify_pass(self):
        cases = [
            ("--timeout", "250ms"), ("--timeout", "1s"), ("--duration", "1500ms"),
            ("--duration", "2m"), ("--duration", "0.5"), ("--warmup", "500ms"),
            ("--warmup", "0"), ("--rate", "2.5k"), ("--rate", "2.5k/s"), ("--rate", "100"),
            ("--requests", "10k"), ("--connections", "1k"), ("--threads", "2"),
        ]
        for flag, value in cases:
            with self.subTest(flag=flag, value=value):
                rc, out, err = self.lg("run", self.sc["good"], "--target", self.target, flag,
                                       value)
                self.assertEqual(rc, 1, "%s %s: exit %d\n%s" % (flag, value, rc, err))
                self.assertIn("verify", err)

    def test_bad_unit_spellings_name_the_option_and_the_syntax(self):
        cases = [
            ("--timeout", "5x", "e.g. 1.5, 250ms"), ("--duration", "2min", "e.g. 1.5, 250ms"),
            ("--duration", "1h5m", "e.g. 1.5, 250ms"), ("--warmup", "5x", "e.g. 1.5, 250ms"),
            ("--rate", "-1", "e.g. 1000, 20k"), ("--rate", "2.5k/m", "e.g. 1000, 20k"),
            ("--rate", "0/s", "e.g. 1000, 20k"), ("--requests", "1.5", "e.g. 100 or 10k"),
            ("--requests", "10x", "e.g. 100 or 10k"), ("--connections", "1.5", "e.g. 100 or 10k"),
            ("--connections", "200k", "1..100000"), ("--threads", "2k", "1..1024"),
        ]
        for flag, value, syntax in cases:
            with self.subTest(flag=flag, value=value):
                err = self.assert_usage("run", self.sc["good"], "--target", self.target, flag,
                                        value, mentions=flag)
                self.assertIn("'%s'" % value, err)
                self.assertIn(syntax, err)

    def test_bench_numbers_use_the_same_units(self):
        # Valid spellings get past the options to the model check (exit 2 for
        # --models, not for a number); bad ones are refused by name.
        srv = os.path.join(self.tmp, "no-server")
        with open(srv, "w") as f:
            f.write("#!/bin/sh\necho only\n")
        os.chmod(srv, 0o755)
        err = self.assert_usage("bench", "--server", srv, "--models", "nosuchmodel",
                                "--duration", "1500ms", "--ready-timeout", "2s",
                                "--stop-timeout", "500ms", "--connections", "1k",
                                "--threads", "2", "--repeat", "1", mentions="--models")
        self.assertNotIn("--duration", err)
        for flag, value in (("--duration", "5x"), ("--connections", "1.5"),
                            ("--repeat", "1k5"), ("--stop-timeout", "0")):
            with self.subTest(flag=flag, value=value):
                err = self.assert_usage("bench", "--server", srv, flag, value, mentions=flag)
                self.assertIn("e.g.", err)

    # -- fixtures -------------------------------------------------------------
    def test_fixtures_creates_the_tree(self):
        d = os.path.join(self.tmp, "fx", "nested")
        rc, out, err = self.lg("fixtures", d)
        self.assertEqual(rc, 0, err)
        for name in ("index.html", "hello.txt", "1k.bin", "64k.bin", "1m.bin", "16m.bin"):
            self.assertTrue(os.path.isfile(os.path.join(d, name)), name)
        self.assertEqual(os.path.getsize(os.path.join(d, "1k.bin")), 1024)
        self.assertEqual(os.path.getsize(os.path.join(d, "1m.bin")), 1 << 20)
        self.assertTrue(os.path.isdir(os.path.join(d, "upload")))
        with open(os.path.join(d, "64k.bin"), "rb") as f:
            first = f.read()
        rc, out, err = self.lg("fixtures", d)  # idempotent, same bytes
        self.assertEqual(rc, 0, err)
        with open(os.path.join(d, "64k.bin"), "rb") as f:
            self.assertEqual(f.read(), first)

    def test_fixtures_usage(self):
        self.assert_usage("fixtures")
        self.assert_usage("fixtures", "a", "b")


if __name__ == "__main__":
    unittest.main()
