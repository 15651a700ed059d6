"""FTP protocol integration tests (--proto ftp), one TestCase class per model
`refserver --list-models` prints (FtpTest_<model>), with real clients: Python's
ftplib, curl, lftp and raw sockets; plus the shipped FTP
scenarios run by loadgen against the epoll model (FtpLoadgenScenarios).

Every model's server is started once per class and serves a fresh
make_docroot() tree with an upload/ directory and a users file. Connections
are always closed before the next one opens, so the iterative model (one
client at a time) passes the same tests."""
import ftplib
import io
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns  # noqa: E402
from serverutil import (classes_per_model, class_temp_dir, RefServer, list_models,  # noqa: E402
                        make_docroot, wait_until)

IO_TIMEOUT = 10
USERS = {"alice": "s3cret:with colon"}
MIB = 1 << 20


def temp_uploads(directory):
    """The atomic-upload temp files (hidden) left in directory."""
    return [n for n in os.listdir(directory) if n.startswith(".upload")]


def upload_started(directory):
    """True once a temp upload file in directory holds bytes: the server
    has accepted the data connection and is writing what comes."""
    for name in temp_uploads(directory):
        try:
            if os.stat(os.path.join(directory, name)).st_size > 0:
                return True
        except FileNotFoundError:
            pass
    return False


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


class RawFtp:
    """A bare control connection: send a line, read one (multi-line) reply."""

    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=IO_TIMEOUT)
        self.file = self.sock.makefile("rb")

    def reply(self):
        line = self.file.readline()
        if not line:
            raise EOFError("control connection closed")
        text = line.decode("latin-1")
        if len(text) > 3 and text[3] == "-":  # multi-line: up to "NNN "
            code = text[:3]
            while True:
                more = self.file.readline().decode("latin-1")
                text += more
                if not more or more.startswith(code + " "):
                    break
        return text

    def cmd(self, line):
        self.sock.sendall(line.encode("latin-1") + b"\r\n")
        return self.reply()

    def login(self):
        assert self.reply().startswith("220 ")
        assert self.cmd("USER anonymous").startswith("331 ")
        assert self.cmd("PASS x@").startswith("230 ")

    def pasv(self):
        """PASV, then connect the data socket."""
        r = self.cmd("PASV")
        m = re.match(r"227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", r)
        assert m, r
        nums = [int(x) for x in m.groups()]
        host = "%d.%d.%d.%d" % tuple(nums[:4])
        return socket.create_connection((host, nums[4] * 256 + nums[5]), timeout=IO_TIMEOUT)

    def close(self):
        self.file.close()
        self.sock.close()


def reset_close(sock):
    """Close with an RST (SO_LINGER 0), the way a crashed client ends."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FtpModelTests:
    """Mixin: the per-model classes set MODEL and inherit unittest.TestCase."""
    MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "ftp-it-")
        cls.fx = make_docroot(os.path.join(cls.tmp, "root"))
        cls.root = cls.fx["root"]
        cls.upload = os.path.join(cls.root, "upload")
        os.makedirs(cls.upload)
        cls.users = os.path.join(cls.tmp, "users")
        with open(cls.users, "w") as f:
            f.write("# test users\n\n" + "".join("%s:%s\n" % kv for kv in USERS.items()))
        args = ["--idle-timeout", "10", "--users", cls.users]
        cls.srv = RefServer(cls.MODEL, proto="ftp", root=cls.root, args=args)
        cls.addClassCleanup(cls.srv.close)

    def setUp(self):
        self.assertIsNone(self.srv.proc.poll(), "server died earlier:\n" + self.srv.stderr_text())

    def url(self, path=""):
        return "ftp://%s:%d/%s" % (self.srv.host, self.srv.port, path)

    def ftp(self, user="anonymous", passwd="guest@"):
        """A logged-in ftplib client, closed at the end of the test."""
        f = ftplib.FTP()
        f.connect(self.srv.host, self.srv.port, timeout=IO_TIMEOUT)
        self.addCleanup(f.close)
        if user:
            f.login(user, passwd)
        return f

    def retr(self, f, path):
        buf = io.BytesIO()
        f.retrbinary("RETR " + path, buf.write)
        return buf.getvalue()

    # -- ftplib ------------------------------------------------------------
    def test_login_pwd_cwd_cdup(self):
        f = self.ftp()
        self.assertTrue(f.getwelcome().startswith("220 "))
        self.assertEqual(f.pwd(), "/")
        f.cwd("sub")
        self.assertEqual(f.pwd(), "/sub")
        f.cwd("dir")
        self.assertEqual(f.pwd(), "/sub/dir")
        self.assertTrue(f.sendcmd("CDUP").startswith("250"))
        self.assertEqual(f.pwd(), "/sub")
        f.cwd("/")
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            f.cwd("..")
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            f.cwd("escapedir")
        self.assertEqual(f.pwd(), "/")
        self.assertEqual(f.sendcmd("SYST"), "215 UNIX Type: L8")
        f.quit()

    def test_list_and_nlst_hide_hidden_files(self):
        f = self.ftp()
        names = f.nlst()
        for want in ("hello.txt", "big.bin", "index.html", "sub", "upload", "link.txt"):
            self.assertIn(want, names)
        for hidden in (".secret", ".hiddendir", "escape.txt", "escapedir"):
            self.assertNotIn(hidden, names)
        for cmd in ("LIST", "LIST -la"):
            lines = []
            f.retrlines(cmd, lines.append)
            self.assertEqual(len(lines), len(names), lines)
            text = "\n".join(lines)
            self.assertRegex(text, r"(?m)^-rw\S+ +1 ftp ftp +%d .* big\.bin$" % MIB)
            self.assertRegex(text, r"(?m)^d\S+ .* sub$")
            self.assertNotIn(".secret", text)
        self.assertEqual(f.nlst("sub/dir"), ["file.txt"])

    def test_retr_1mib_byte_identical(self):
        f = self.ftp()
        self.assertEqual(self.retr(f, "big.bin"), read_file(self.fx["files"]["/big.bin"]))
        self.assertEqual(self.retr(f, "/sub/dir/file.txt"), b"nested file in sub/dir\n")
        self.assertEqual(self.retr(f, "link.txt"), b"hello, world\n")

    def test_rest_resumes_retr(self):
        f = self.ftp()
        buf = io.BytesIO()
        f.retrbinary("RETR big.bin", buf.write, rest=MIB - 1000)
        self.assertEqual(buf.getvalue(), read_file(self.fx["files"]["/big.bin"])[-1000:])

    def test_stor_1mib_then_retr(self):
        data = os.urandom(MIB)
        f = self.ftp()
        f.voidcmd("TYPE I")
        r = f.storbinary("STOR upload/stor.bin", io.BytesIO(data))
        self.assertTrue(r.startswith("226"), r)
        self.assertEqual(read_file(os.path.join(self.upload, "stor.bin")), data)
        self.assertEqual(self.retr(f, "upload/stor.bin"), data)
        self.assertEqual(f.size("upload/stor.bin"), MIB)
        self.assertEqual(temp_uploads(self.upload), [])
        f.delete("upload/stor.bin")

    def test_size_and_mdtm(self):
        f = self.ftp()
        self.assertEqual(f.size("big.bin"), MIB)
        mtime = os.stat(self.fx["files"]["/hello.txt"]).st_mtime
        self.assertEqual(f.sendcmd("MDTM hello.txt"),
                         "213 " + time.strftime("%Y%m%d%H%M%S", time.gmtime(mtime)))
        for bad in ("SIZE sub", "SIZE missing", "MDTM .secret", "SIZE escape.txt"):
            with self.assertRaisesRegex(ftplib.error_perm, "^550"):
                f.sendcmd(bad)

    def test_dele_mkd_rmd(self):
        f = self.ftp()
        self.assertEqual(f.mkd("upload/newdir"), "/upload/newdir")
        self.assertTrue(os.path.isdir(os.path.join(self.upload, "newdir")))
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            f.mkd("upload/newdir")
        f.rmd("upload/newdir")
        self.assertFalse(os.path.exists(os.path.join(self.upload, "newdir")))
        victim = os.path.join(self.upload, "victim.txt")
        with open(victim, "wb") as out:
            out.write(b"x")
        self.assertTrue(f.delete("upload/victim.txt").startswith("250"))
        self.assertFalse(os.path.exists(victim))
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            f.delete("upload/victim.txt")

    def test_bad_login_530(self):
        f = self.ftp(user=None)
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            f.login("nosuchuser", "whatever")
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            f.sendcmd("PWD")

    def test_named_user_from_users_file(self):
        f = self.ftp("alice", USERS["alice"])
        self.assertEqual(f.pwd(), "/")
        f.close()
        f = self.ftp(user=None)
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            f.login("alice", "s3cret")

    def test_three_bad_logins_close_with_421(self):
        raw = RawFtp(self.srv.address)
        self.addCleanup(raw.close)
        self.assertTrue(raw.reply().startswith("220 "))
        for i in range(3):
            raw.cmd("USER alice")
            r = raw.cmd("PASS wrong%d" % i)
            self.assertTrue(r.startswith("421 " if i == 2 else "530 "), r)
        self.assertEqual(raw.sock.recv(100), b"")  # closed

    def test_traversal_refused_and_marker_never_returned(self):
        f = self.ftp()
        outside = os.path.basename(self.fx["outside_dir"])
        paths = ["../planted.txt", "../%s/planted.txt" % outside, "/../%s/planted.txt" % outside,
                 "../../etc/passwd", "/../x", "escape.txt", "escapedir/planted.txt",
                 ".secret", ".hiddendir/x.txt", "sub/../../%s/planted.txt" % outside,
                 "sub/%2e%2e/.secret"]
        for p in paths:
            got = io.BytesIO()
            with self.assertRaisesRegex(ftplib.error_perm, "^550", msg=p):
                f.retrbinary("RETR " + p, got.write)
            self.assertEqual(got.getvalue(), b"", p)
        f.cwd("sub")
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            f.retrbinary("RETR ../../%s/planted.txt" % outside, lambda b: None)
        listing = []
        f.cwd("/")
        f.retrlines("LIST", listing.append)
        text = "\n".join(listing)
        self.assertNotIn(self.fx["marker"], text)
        self.assertNotIn(self.fx["hidden_marker"], text)
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            f.retrlines("LIST escapedir", listing.append)
        self.assertNotIn(self.fx["marker"], self.srv.stderr_text())

    def test_active_mode_refused(self):
        f = self.ftp()
        for cmd in ("PORT 127,0,0,1,4,1", "EPRT |1|127.0.0.1|1025|"):
            with self.assertRaisesRegex(ftplib.error_perm, "^502"):
                f.sendcmd(cmd)
        self.assertEqual(f.sendcmd("NOOP")[:3], "200")

    def test_epsv(self):
        f = self.ftp()
        r = f.sendcmd("EPSV")
        m = re.match(r"^229 .*\(\|\|\|(\d+)\|\)$", r)
        self.assertTrue(m, r)
        with socket.create_connection((self.srv.host, int(m.group(1))), IO_TIMEOUT) as d:
            f.sendcmd("TYPE I")
            self.assertTrue(f.sendcmd("RETR hello.txt").startswith("150"))
            data = bytearray()
            for chunk in iter(lambda: d.recv(65536), b""):
                data += chunk
        self.assertEqual(f.voidresp()[:3], "226")
        self.assertEqual(bytes(data), b"hello, world\n")

    # -- curl --------------------------------------------------------------
    def curl(self, *args):
        out = subprocess.run(["curl", "-sS", "--max-time", "20"] + list(args),
                             capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr.decode(errors="replace"))
        return out.stdout

    def test_curl_get_put_list(self):
        out = os.path.join(self.tmp, "curl-out.bin")
        self.curl(self.url("big.bin"), "-o", out)
        self.assertEqual(read_file(out), read_file(self.fx["files"]["/big.bin"]))
        src = os.path.join(self.tmp, "curl-src.bin")
        data = os.urandom(300000)
        with open(src, "wb") as f:
            f.write(data)
        self.curl("-T", src, self.url("upload/curl.bin"))
        self.assertEqual(read_file(os.path.join(self.upload, "curl.bin")), data)
        names = self.curl("--list-only", self.url()).decode().splitlines()
        self.assertIn("hello.txt", names)
        self.assertIn("curl.bin", self.curl("--list-only", self.url("upload/")).decode())
        self.assertNotIn(".secret", names)
        self.assertIn("big.bin", self.curl(self.url()).decode())  # LIST
        os.unlink(os.path.join(self.upload, "curl.bin"))

    # -- lftp --------------------------------------------------------------
    def test_lftp_cls_get_put(self):
        got = os.path.join(self.tmp, "lftp-got.bin")
        src = os.path.join(self.tmp, "lftp-src.bin")
        data = os.urandom(200000)
        with open(src, "wb") as f:
            f.write(data)
        script = ("set net:max-retries 1; set net:timeout 5; set ftp:ssl-allow no; "
                  "set xfer:clobber on; open -p %d %s; user anonymous x; cls; "
                  "get big.bin -o %s; put %s -o upload/lftp.bin"
                  % (self.srv.port, self.srv.host, got, src))
        out = subprocess.run(["lftp", "-c", script], capture_output=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        msg = out.stderr.decode(errors="replace")
        self.assertEqual(out.returncode, 0, msg)
        names = out.stdout.decode().split()
        self.assertIn("hello.txt", names)
        self.assertNotIn(".secret", names)
        self.assertEqual(read_file(got), read_file(self.fx["files"]["/big.bin"]))
        self.assertEqual(read_file(os.path.join(self.upload, "lftp.bin")), data)
        os.unlink(os.path.join(self.upload, "lftp.bin"))

    # -- aborted uploads ---------------------------------------------------
    def test_upload_reset_midway_leaves_nothing(self):
        target = os.path.join(self.upload, "aborted.bin")
        raw = RawFtp(self.srv.address)
        self.addCleanup(raw.close)
        raw.login()
        raw.cmd("TYPE I")
        data = raw.pasv()
        self.assertTrue(raw.cmd("STOR upload/aborted.bin").startswith("150 "))
        data.sendall(os.urandom(512 * 1024))
        # the temp file is filling, the name is not there
        self.assertTrue(wait_until(lambda: upload_started(self.upload), 5))
        self.assertFalse(os.path.exists(target))
        reset_close(data)
        r = raw.reply()
        self.assertTrue(r.startswith("426 "), r)
        self.assertFalse(os.path.exists(target))
        self.assertEqual(temp_uploads(self.upload), [])
        self.assertTrue(raw.cmd("NOOP").startswith("200 "))

    def test_data_connection_reset_before_accept_fails_fast(self):
        """A data connection reset before the server accepts it must end the
        transfer at once with 425/426 (not look like a foreign host and wait
        out the idle timeout), leaving no temp file."""
        for i in range(5):
            raw = RawFtp(self.srv.address)
            self.addCleanup(raw.close)
            raw.login()
            reset_close(raw.pasv())
            r = raw.cmd("STOR upload/reset-%d.bin" % i)
            if r.startswith("150 "):
                raw.sock.settimeout(3)  # the idle timeout is 10 s: 3 s is "at once"
                r = raw.reply()
            self.assertRegex(r, r"^42[56] ", r)
            self.assertFalse(os.path.exists(os.path.join(self.upload, "reset-%d.bin" % i)))
            self.assertTrue(wait_until(lambda: not temp_uploads(self.upload), 3),
                            temp_uploads(self.upload))
            self.assertTrue(raw.cmd("NOOP").startswith("200 "))
            raw.close()  # the iterative model serves one client at a time

    def test_sigterm_while_a_data_connection_is_awaited(self):
        """RETR answered 150 but the client never opens the data connection:
        that is not work in flight, so SIGTERM still stops the server at
        once (exit 0), well before the 30 s idle timeout."""
        with RefServer(self.MODEL, proto="ftp", root=self.root,
                       args=["--idle-timeout", "30"]) as srv:
            raw = RawFtp(srv.address)
            self.addCleanup(raw.close)
            raw.login()
            r = raw.cmd("PASV")
            self.assertTrue(r.startswith("227 "), r)
            self.assertTrue(raw.cmd("RETR hello.txt").startswith("150 "))
            started = time.monotonic()
            self.assertEqual(srv.stop(timeout=8), 0, srv.stderr_text())
            self.assertLess(time.monotonic() - started, 5)
            self.assertEqual(srv.children_left(), [])

    def test_pipelined_transfers_on_reused_data_fds(self):
        """RETR, PASV and RETR sent in one go: once the first data connection
        comes, the server accepts it, sends, closes it, opens the next passive
        listener (often on the fd number the first listener had) and waits
        for it, all in one turn. An event loop must watch that new socket even
        though the fd number it waits on looks unchanged."""
        hello = read_file(self.fx["files"]["/hello.txt"])
        raw = RawFtp(self.srv.address)
        self.addCleanup(raw.close)
        raw.login()

        def fetch(pasv_reply):
            m = re.match(r"227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", pasv_reply)
            self.assertTrue(m, pasv_reply)
            nums = [int(x) for x in m.groups()]
            addr = ("%d.%d.%d.%d" % tuple(nums[:4]), nums[4] * 256 + nums[5])
            with socket.create_connection(addr, IO_TIMEOUT) as d:
                return b"".join(iter(lambda: d.recv(65536), b""))

        first = raw.cmd("PASV")
        raw.sock.sendall(b"RETR hello.txt\r\nPASV\r\nRETR hello.txt\r\n")
        self.assertTrue(raw.reply().startswith("150 "))
        self.assertEqual(fetch(first), hello)
        self.assertTrue(raw.reply().startswith("226 "))
        second = raw.reply()
        self.assertTrue(raw.reply().startswith("150 "))
        self.assertEqual(fetch(second), hello)  # times out if the listener is not watched
        self.assertTrue(raw.reply().startswith("226 "))
        self.assertTrue(raw.cmd("NOOP").startswith("200 "))

    def test_upload_with_control_closed_leaves_nothing(self):
        target = os.path.join(self.upload, "gone.bin")
        raw = RawFtp(self.srv.address)
        raw.login()
        data = raw.pasv()
        self.assertTrue(raw.cmd("STOR upload/gone.bin").startswith("150 "))
        data.sendall(os.urandom(256 * 1024))
        self.assertTrue(wait_until(lambda: upload_started(self.upload), 5))
        reset_close(raw.sock)
        raw.file.close()
        reset_close(data)
        self.assertTrue(wait_until(lambda: not temp_uploads(self.upload), 5),
                        temp_uploads(self.upload))
        self.assertFalse(os.path.exists(target))

    # -- load --------------------------------------------------------------
    def test_ten_concurrent_clients(self):
        big = read_file(self.fx["files"]["/big.bin"])
        errors = []

        def client(i):
            try:
                f = ftplib.FTP()
                f.connect(self.srv.host, self.srv.port, timeout=IO_TIMEOUT)
                try:
                    f.login()
                    if self.retr(f, "big.bin") != big:
                        errors.append("client %d: RETR differs" % i)
                    mine = ("client %d " % i).encode() * 5000
                    f.storbinary("STOR upload/c%d.bin" % i, io.BytesIO(mine))
                    if self.retr(f, "upload/c%d.bin" % i) != mine:
                        errors.append("client %d: read-back differs" % i)
                    f.quit()
                finally:
                    f.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "clients still running")
        self.assertEqual(errors, [])
        for i in range(10):
            os.unlink(os.path.join(self.upload, "c%d.bin" % i))


classes_per_model(globals(), "FtpTest", FtpModelTests)


class FtpLoadgenScenarios(LoadgenRuns, unittest.TestCase):
    """The shipped FTP scenarios, run by loadgen against refserver (epoll)."""
    TMP_PREFIX = "ftp-lg-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        model = "epoll" if "epoll" in list_models() else list_models()[0]
        cls.srv = RefServer(model, proto="ftp", root=cls.fixtures)
        cls.addClassCleanup(cls.srv.close)

    def test_shipped_ftp_scenarios_run_clean(self):
        for name in ("ftp-get.ini", "ftp-list.ini", "ftp-put.ini", "ftp-mixed.ini"):
            with self.subTest(scenario=name):
                res = self.loadgen(os.path.join(SCENARIOS, name), self.srv, "--requests", "100",
                                   "--connections", "4")
                row = self.assert_clean_run(*res, engine="curl", protocol="ftp")
                self.assertEqual(int(row["requests"]), 100, res[1])
        self.assertIsNone(self.srv.proc.poll(), self.srv.stderr_text())


if __name__ == "__main__":
    unittest.main()
