"""Integration tests of loadgen's FTP runs (the libcurl engine) against vsftpd.

Debian's vsftpd (tests/integration/peer_vsftpd.py) serves a copy of the
fixtures made by `loadgen fixtures`. Every shipped ftp-*.ini scenario must run
clean; uploads must land with the payload's bytes; and loadgen must notice
what goes wrong: a file altered by one byte (check failures), a file that
disappears (bad status), a wrong expectation (the verify pass stops the run),
a server refusing sessions with 421 (a bad status, not a timeout), nothing
listening (the verify pass fails).
"""
import os
import sys
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns, flip_bit  # noqa: E402
from peer_vsftpd import VsftpdPeer  # noqa: E402
from serverutil import free_port  # noqa: E402

FTP_SCENARIOS = ["ftp-get.ini", "ftp-list.ini", "ftp-put.ini", "ftp-mixed.ini"]

# check_payload() of loadgen/check.c, byte for byte: byte i is taken from
# mix64(i / 8) (splitmix64's finaliser), 6 bits per byte, into this alphabet.
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_M64 = (1 << 64) - 1


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def payload(n):
    out = bytearray(n)
    word = 0
    for i in range(n):
        if i % 8 == 0:
            word = _mix64(i // 8)
        out[i] = _ALPHABET[(word >> (8 * (i % 8))) & 63]
    return bytes(out)


class FtpCase(LoadgenRuns, unittest.TestCase):
    TMP_PREFIX = "lg-ftp-test-"

    @classmethod
    def setUpClass(cls):
        why = VsftpdPeer.available()
        if why:  # ci/setup installs vsftpd: not being able to run it is an error
            raise RuntimeError("vsftpd cannot run here: " + why)
        super().setUpClass()

    def scenario(self, name, steps, **keys):
        """Write a small FTP scenario file; steps: [(name, {key: value})]."""
        lines = ["[scenario]", "name = " + name, "protocol = ftp", "timeout = 10s"]
        lines += ["%s = %s" % kv for kv in keys.items()]
        for step, body in steps:
            lines.append("[step %s]" % step)
            lines += ["%s = %s" % kv for kv in body.items()]
        path = os.path.join(self.tmp, name + ".ini")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def assert_clean(self, rc, out, err, rows):
        # A scenario of uploads only ("stor-dir") receives nothing.
        received = not rows or rows[0]["scenario"] != "stor-dir"
        return self.assert_clean_run(rc, out, err, rows, engine="curl", protocol="ftp",
                                     received=received)


class TestShippedScenarios(FtpCase):
    ftp = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ftp = VsftpdPeer(cls.fixtures).start()
        cls.addClassCleanup(cls.ftp.stop)

    def test_every_ftp_scenario_runs_clean(self):
        for name in FTP_SCENARIOS:
            with self.subTest(scenario=name):
                res = self.loadgen(os.path.join(SCENARIOS, name), self.ftp, "--requests", "200",
                                   "--connections", "4", "--threads", "2")
                row = self.assert_clean(*res)
                self.assertEqual(row["scenario"], name[:-4])
                self.assertEqual(int(row["requests"]), 200, res[1])
                self.assertEqual(int(row["connections"]), 4)

    def test_duration_run(self):
        res = self.loadgen(os.path.join(SCENARIOS, "ftp-list.ini"), self.ftp, "--duration", "1",
                           "--connections", "4", "--threads", "2")
        row = self.assert_clean(*res)
        self.assertAlmostEqual(float(row["duration_s"]), 1.0, delta=0.2)

    def test_put_lands_the_payload(self):
        res = self.loadgen(os.path.join(SCENARIOS, "ftp-put.ini"), self.ftp, "--requests", "40",
                           "--connections", "4")
        self.assert_clean(*res)
        with open(os.path.join(self.ftp.upload_dir, "put-64k.bin"), "rb") as f:
            self.assertEqual(f.read(), payload(65536))

    def test_stor_into_a_directory_uses_unique_names(self):
        path = self.scenario("stor-dir", [("up", {"method": "STOR", "path": "upload/",
                                                  "body_size": "1000",
                                                  "expect_status": "226"})])
        before = set(os.listdir(self.ftp.upload_dir))
        res = self.loadgen(path, self.ftp, "--requests", "50", "--connections", "4")
        self.assert_clean(*res)
        new = sorted(set(os.listdir(self.ftp.upload_dir)) - before)
        self.assertEqual(len(new), 51, new)  # the verify pass's upload + 50
        want = payload(1000)
        for name in new:
            self.assertRegex(name, r"^lg-[0-9]+-(v0|[0-9]+-[0-9]+-[0-9]+)\.bin$")
            with open(os.path.join(self.ftp.upload_dir, name), "rb") as f:
                self.assertEqual(f.read(), want, name)

    def test_wrong_expectation_fails_the_verify_pass(self):
        path = self.scenario("wrong", [("hello", {"method": "RETR", "path": "hello.txt",
                                                  "expect": "file", "expect_body": "a.txt"})])
        rc, out, err, rows = self.loadgen(path, self.ftp, "--requests", "10")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("verify: step hello (RETR hello.txt): expected 2 bytes, got 14", err)
        self.assertEqual(rows, [])  # no timed run, no row

    def test_nothing_listening_fails_the_verify_pass(self):
        nowhere = types.SimpleNamespace(host="127.0.0.1", port=free_port())
        rc, out, err, rows = self.loadgen(os.path.join(SCENARIOS, "ftp-get.ini"), nowhere,
                                          "--requests", "10")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("verify: step", err)
        self.assertIn("connect", err)
        self.assertEqual(rows, [])


class TestFailuresAreCounted(FtpCase):
    """Each test breaks its own vsftpd."""

    def one_file_scenario(self):
        return self.scenario("one-file", [("1k", {"method": "RETR", "path": "1k.bin",
                                                  "expect": "file", "expect_body": "1k.bin"})])

    def test_one_altered_byte_is_a_check_failure(self):
        with VsftpdPeer(self.fixtures) as ftp:
            proc, csv_path = self.start_with_progress(self.one_file_scenario(), ftp,
                                                      "--duration", "2.5", "--connections", "4")
            # The verify pass is over: serve 1k.bin with one bit flipped.
            flip_bit(os.path.join(ftp.root, "1k.bin"), 500)
            rc, out, err, row = self.finish(proc, csv_path)
        self.assertEqual(rc, 1, out + err)
        self.assertGreater(int(row["check_failures"]), 0, out)
        self.assertIn("wrong_body", out)
        self.assertEqual(int(row["errors"]), 0, out)
        self.assertEqual(int(row["timeouts"]), 0, out)

    def test_missing_file_is_a_bad_status(self):
        with VsftpdPeer(self.fixtures) as ftp:
            proc, csv_path = self.start_with_progress(self.one_file_scenario(), ftp,
                                                      "--duration", "2.5", "--connections", "4")
            os.unlink(os.path.join(ftp.root, "1k.bin"))  # now every RETR gets 550
            rc, out, err, row = self.finish(proc, csv_path)
        self.assertEqual(rc, 1, out + err)
        self.assertGreater(int(row["check_failures"]), 0, out)
        self.assertIn("bad_status", out)
        self.assertEqual(int(row["errors"]), 0, out)
        self.assertEqual(int(row["timeouts"]), 0, out)

    def test_421_too_many_sessions_is_a_refusal_not_a_timeout(self):
        # libcurl reports vsftpd's "421 There are too many connections from
        # your internet address" as CURLE_OPERATION_TIMEDOUT: it must count
        # as what it is, a refusal at the server's limit (not a wrong answer,
        # not a timeout), and fast.
        with VsftpdPeer(self.fixtures, options={"max_per_ip": "2"}) as ftp:
            rc, out, err, rows = self.loadgen(self.one_file_scenario(), ftp, "--requests", "300",
                                              "--connections", "6", "--threads", "1")
        self.assertEqual(len(rows), 1, out + err)
        self.assertGreater(int(rows[0]["refused"]), 0, out)
        self.assertEqual(int(rows[0]["check_failures"]), 0, out)
        self.assertNotIn("bad_status", out)
        self.assertEqual(int(rows[0]["timeouts"]), 0, out)
        self.assertEqual(rc, 0, out + err)  # refusals alone fail no run


if __name__ == "__main__":
    unittest.main()
