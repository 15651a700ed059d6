"""FTP protocol integration tests (--proto ftp), one TestCase class per model
`refserver --list-models` prints (FtpTest_<model>), with real clients: Python's
ftplib, curl, lftp and raw sockets; plus the shipped FTP
scenarios run by loadgen against the epoll model (FtpLoadgenScenarios).

Every model's server is started once per class and serves a fresh
make_docroot() tree with an upload/ directory and a users file of crypt(3)
hashes made by `refserver hash-password`: "writer" may write, "reader" may
not, and neither may anonymous. Connections are always closed before the
next one opens, so the iterative model (one client at a time) passes the
same tests (the login delay test says where it differs).

The login-delay test needs the driver's ACT_DELAY (conn.h): a model whose
driver lacks it closes the session at the first failed PASS."""
import ftplib
import io
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns  # noqa: E402
from serverutil import (REFSERVER_CMD, classes_per_model, class_temp_dir, RefServer,  # noqa: E402
                        built_models, descendant_pids, event_model, list_models, make_docroot,
                        scaled, thread_nices,
                        wait_until, yescrypt_hash)

IO_TIMEOUT = scaled(10)
# name -> (password, access); the users file holds hashes of the passwords
USERS = {"writer": ("w-s3cret:with colon", "rw"), "reader": ("r-s3cret", "ro")}
WRITER = ("writer", USERS["writer"][0])
MIB = 1 << 20
DEFAULT_LOGIN_DELAY = 1.0  # seconds a failed PASS waits for its 530 (ftp.h)
# the per-model suites' --login-delay: shorter than the default, so that the
# failed logins of every model do not take a minute of `make test`. Scaled
# under emulation (make test-cross): another client's whole login must be
# answered within half of it, and an emulated crypt() check alone takes a
# good part of 0.2 s on a loaded machine.
LOGIN_DELAY = scaled(0.4)


def hash_password(password):
    """A crypt(3) hash of password, from `refserver hash-password`."""
    out = subprocess.run(REFSERVER_CMD + ["hash-password"], input=password + "\n",
                         capture_output=True, text=True, timeout=scaled(30), check=False)
    if out.returncode != 0:
        raise RuntimeError("refserver hash-password: " + out.stderr)
    return out.stdout.strip()


# A user whose hash is slow to verify: yescrypt at cost 10, ~0.6 s of CPU
# here (cost 9: ~0.3 s; refserver's default: ~40 ms), so a login stays
# being verified long enough for another client's commands to go and come.
SLOW = ("slow", "s-l0w")
SLOW_COST = 10


def slow_hash(password):
    """A yescrypt hash of password at SLOW_COST, through libcrypt."""
    return yescrypt_hash(password, SLOW_COST)


_USERS_TEXT = []


def write_users_file(path, slow=False):
    """The users file: "# comment", a blank line, then name:hash:access
    lines (hashed once per run: yescrypt takes a few tens of ms); with slow,
    the SLOW user too (ro)."""
    if not _USERS_TEXT:
        _USERS_TEXT.append("# test users\n\n" + "".join(
            "%s:%s:%s\n" % (name, hash_password(pw), access)
            for name, (pw, access) in USERS.items()))
        _USERS_TEXT.append("%s:%s:ro\n" % (SLOW[0], slow_hash(SLOW[1])))
    with open(path, "w") as f:
        f.write(_USERS_TEXT[0] + (_USERS_TEXT[1] if slow else ""))


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

    def login(self, user="anonymous", password="x@"):
        assert self.reply().startswith("220 ")
        assert self.cmd("USER " + user).startswith("331 ")
        assert self.cmd("PASS " + password).startswith("230 ")

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
        write_users_file(cls.users, slow=True)
        args = ["--idle-timeout", "10", "--users", cls.users,
                "--login-delay", "%dms" % (LOGIN_DELAY * 1000)]
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

    def writer(self):
        """An ftplib client logged in as the users file's rw user."""
        return self.ftp(*WRITER)

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
        f = self.writer()
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
        f = self.writer()
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

    def test_named_users_from_users_file(self):
        for name, (pw, _) in USERS.items():
            f = self.ftp(name, pw)
            self.assertEqual(f.pwd(), "/")
            f.close()
        f = self.ftp(user=None)
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            f.login("writer", "w-s3cret")  # a prefix of the password

    def test_three_bad_logins_530_then_close(self):
        raw = RawFtp(self.srv.address)
        self.addCleanup(raw.close)
        self.assertTrue(raw.reply().startswith("220 "))
        started = time.monotonic()
        for i in range(3):
            raw.cmd("USER writer")
            r = raw.cmd("PASS wrong%d" % i)
            self.assertTrue(r.startswith("530 "), r)
        self.assertGreaterEqual(time.monotonic() - started, 3 * LOGIN_DELAY - 0.05)
        self.assertEqual(raw.sock.recv(100), b"")  # closed

    def test_failed_login_waits_without_blocking_others(self):
        """A failed PASS is answered after --login-delay; meanwhile another client's
        login and command are answered at once (event models: a timer,
        blocking models: a wait of that session's own thread or process).
        The iterative model serves one client at a time, so there the other
        client is answered only after the 530 (and the close)."""
        a = RawFtp(self.srv.address)
        self.addCleanup(a.close)
        self.assertTrue(a.reply().startswith("220 "))
        self.assertTrue(a.cmd("USER writer").startswith("331 "))
        sent = time.monotonic()
        a.sock.sendall(b"PASS wrong\r\n")
        got = {}

        def other_client():
            b = RawFtp(self.srv.address)
            try:
                b.login()
                got["noop"] = b.cmd("NOOP")
                got["at"] = time.monotonic()
            finally:
                b.close()

        t = threading.Thread(target=other_client)
        t.start()
        if self.MODEL == "iterative":
            r = a.reply()
            answered = time.monotonic()
            a.close()  # frees the server for the other client
            t.join(IO_TIMEOUT)
            self.assertGreaterEqual(got["at"], answered)
        else:
            t.join(IO_TIMEOUT)
            self.assertFalse(t.is_alive())
            self.assertLess(got["at"] - sent, LOGIN_DELAY / 2,
                            "another client waited for the failed login's delay")
            r = a.reply()
            answered = time.monotonic()
        self.assertTrue(r.startswith("530 "), r)
        self.assertTrue(got["noop"].startswith("200 "), got)
        self.assertGreaterEqual(answered - sent, LOGIN_DELAY - 0.05)

    def test_slow_login_does_not_block_others(self):
        """While one client's password hash is verified (the SLOW user's
        takes ~0.6 s of CPU), another client of the same server is answered:
        event models verify it on a worker thread, off the loop (ACT_OFFLOAD),
        blocking models in that client's own thread or process. An order,
        not a time: B's NOOPs must come back, one after another, while A's
        230 is still not there. Had the hash run on the loop, at most one
        NOOP (read in the same turn as A's PASS, or before it) could be
        answered first: the next waits for the hash, and the loop writes
        A's 230 before it answers. The iterative model serves one client at
        a time, so there is nothing to show."""
        if self.MODEL == "iterative":
            self.skipTest("one client at a time")
        a = RawFtp(self.srv.address)
        self.addCleanup(a.close)
        b = RawFtp(self.srv.address)
        self.addCleanup(b.close)
        self.assertTrue(a.reply().startswith("220 "))
        self.assertTrue(a.cmd("USER " + SLOW[0]).startswith("331 "))
        b.login()  # anonymous: no hash
        a.sock.sendall(("PASS %s\r\n" % SLOW[1]).encode())
        before = 0  # B's answers while A still had nothing to read
        deadline = time.monotonic() + IO_TIMEOUT
        while not select.select([a.sock], [], [], 0)[0] and time.monotonic() < deadline:
            self.assertTrue(b.cmd("NOOP").startswith("200 "))
            if not select.select([a.sock], [], [], 0)[0]:
                before += 1
        r = a.reply()
        self.assertTrue(r.startswith("230 "), r)
        self.assertGreaterEqual(before, 2, "the other client waited for the hash")
        self.assertTrue(a.cmd("PWD").startswith("257 "))
        self.assertTrue(b.cmd("NOOP").startswith("200 "))

    def test_hash_worker_runs_below_the_connections(self):
        """A login's hash runs on a worker thread at nice 10 (offload.c),
        every model's connections at the server's own 0: seen in /proc while
        A's slow hash is being verified (the worker exists from the first job
        on; in fork's and prefork's processes, in the one serving A)."""
        if "epoll" not in built_models():
            self.skipTest("the portable build: a thread's own nice value is Linux's")
        a = RawFtp(self.srv.address)
        self.addCleanup(a.close)
        self.assertTrue(a.reply().startswith("220 "))
        self.assertTrue(a.cmd("USER " + SLOW[0]).startswith("331 "))
        a.sock.sendall(("PASS %s\r\n" % SLOW[1]).encode())
        pid = self.srv.proc.pid

        def nices():
            out = {}
            for p in [pid] + descendant_pids(pid):
                out.update(thread_nices(p))
            return out
        niced = wait_until(lambda: [t for t, n in nices().items() if n == 10], IO_TIMEOUT, 0.01)
        self.assertTrue(niced, nices())
        self.assertFalse(select.select([a.sock], [], [], 0)[0], "the hash was over already")
        others = {t: n for t, n in nices().items() if t not in niced}
        self.assertEqual(set(others.values()), {0}, others)  # the loops, listeners, sessions
        self.assertTrue(a.reply().startswith("230 "))

    def test_client_gone_during_verification(self):
        """A client that resets its connection while its hash is being
        verified: the job's result is dropped with its session, and the
        server goes on (under ASan: no use after free). The next login's
        hash is queued behind it on the same worker, so when it is
        answered the first job has come back too."""
        a = RawFtp(self.srv.address)
        self.assertTrue(a.reply().startswith("220 "))
        self.assertTrue(a.cmd("USER " + SLOW[0]).startswith("331 "))
        a.sock.sendall(("PASS %s\r\n" % SLOW[1]).encode())
        a.file.close()
        reset_close(a.sock)
        b = RawFtp(self.srv.address)
        self.addCleanup(b.close)
        self.assertTrue(b.reply().startswith("220 "))
        self.assertTrue(b.cmd("USER %s" % WRITER[0]).startswith("331 "))
        self.assertTrue(b.cmd("PASS %s" % WRITER[1]).startswith("230 "))
        self.assertTrue(b.cmd("NOOP").startswith("200 "))
        b.close()  # the iterative model serves one client at a time
        # and a wrong password of the slow user: 530 after the hash and the delay
        c = RawFtp(self.srv.address)
        self.addCleanup(c.close)
        self.assertTrue(c.reply().startswith("220 "))
        self.assertTrue(c.cmd("USER " + SLOW[0]).startswith("331 "))
        sent = time.monotonic()
        r = c.cmd("PASS wrong")
        self.assertTrue(r.startswith("530 "), r)
        self.assertGreaterEqual(time.monotonic() - sent, LOGIN_DELAY - 0.05)

    def test_anonymous_cannot_write(self):
        hello = self.fx["files"]["/hello.txt"]
        before = read_file(hello)
        for user in ("anonymous", "ftp", "reader"):
            f = self.ftp(user, USERS["reader"][0] if user == "reader" else "guest@")
            for call in (lambda: f.storbinary("STOR hello.txt", io.BytesIO(b"pwned")),
                         lambda: f.storbinary("STOR upload/new.txt", io.BytesIO(b"x")),
                         lambda: f.delete("hello.txt"),
                         lambda: f.mkd("upload/newdir"),
                         lambda: f.rmd("sub"),
                         lambda: f.sendcmd("XMKD upload/x")):
                with self.assertRaisesRegex(ftplib.error_perm, r"^550 Permission denied", msg=user):
                    call()
            self.assertEqual(self.retr(f, "hello.txt"), before)  # reading still works
            f.quit()
        self.assertEqual(read_file(hello), before)
        for made in ("new.txt", "newdir", "x"):
            self.assertFalse(os.path.exists(os.path.join(self.upload, made)), made)
        self.assertEqual(temp_uploads(self.upload), [])
        self.assertTrue(os.path.isdir(os.path.join(self.root, "sub")))

    def test_stor_keeps_mode_new_files_get_umask(self):
        f = self.writer()
        target = os.path.join(self.upload, "mode.txt")
        f.storbinary("STOR upload/mode.txt", io.BytesIO(b"one"))
        self.assertEqual(os.stat(target).st_mode & 0o7777, 0o644)  # 0666 & ~022
        os.chmod(target, 0o640)
        f.storbinary("STOR upload/mode.txt", io.BytesIO(b"two"))
        self.assertEqual(read_file(target), b"two")
        self.assertEqual(os.stat(target).st_mode & 0o7777, 0o640)
        f.delete("upload/mode.txt")

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
        out = subprocess.run(["curl", "-sS", "--max-time", str(scaled(20))] + list(args),
                             capture_output=True, timeout=scaled(30))
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
        self.curl("-u", "%s:%s" % WRITER, "-T", src, self.url("upload/curl.bin"))
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
                  "set xfer:clobber on; open -p %d %s; user %s '%s'; cls; "
                  "get big.bin -o %s; put %s -o upload/lftp.bin"
                  % (self.srv.port, self.srv.host, WRITER[0], WRITER[1], got, src))
        out = subprocess.run(["lftp", "-c", script], capture_output=True, timeout=scaled(60),
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
        raw.login(*WRITER)
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
            raw.login(*WRITER)
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

    def test_sigterm_during_verification(self):
        """SIGTERM while a login's hash is being verified (on a worker thread
        in the event models): the verification is work in flight, so the
        server finishes it (230, or nothing if the stop came before the PASS
        was read), then exits 0 with the worker joined (ASan: no leak)."""
        with RefServer(self.MODEL, proto="ftp", root=self.root,
                       args=["--users", self.users]) as srv:
            raw = RawFtp(srv.address)
            self.addCleanup(raw.close)
            self.assertTrue(raw.reply().startswith("220 "))
            self.assertTrue(raw.cmd("USER " + SLOW[0]).startswith("331 "))
            raw.sock.sendall(("PASS %s\r\n" % SLOW[1]).encode())
            self.assertEqual(srv.stop(timeout=8), 0, srv.stderr_text())
            rest = raw.file.read()
            self.assertIn(rest, (b"", b"230 Login successful.\r\n"))
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
        raw.login(*WRITER)
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

    def test_quit_during_upload_deletes_it(self):
        """QUIT (or ABOR) while the data still flows: the transfer fails
        (426), the QUIT is answered (221), the upload is never committed.
        Needs the driver to watch the control connection during a transfer
        (session_abort_requested, conn.h)."""
        for verb in ("QUIT", "ABOR"):
            target = os.path.join(self.upload, "quit.bin")
            raw = RawFtp(self.srv.address)
            self.addCleanup(raw.close)
            raw.login(*WRITER)
            data = raw.pasv()
            self.assertTrue(raw.cmd("STOR upload/quit.bin").startswith("150 "))
            data.sendall(os.urandom(256 * 1024))
            self.assertTrue(wait_until(lambda: upload_started(self.upload), 5))
            raw.sock.sendall(verb.encode() + b"\r\n")
            self.assertTrue(raw.reply().startswith("426 "), verb)
            self.assertTrue(raw.reply().startswith("221 " if verb == "QUIT" else "226 "), verb)
            data.close()  # the server may have closed it already
            self.assertTrue(wait_until(lambda: not temp_uploads(self.upload), 5),
                            temp_uploads(self.upload))
            self.assertFalse(os.path.exists(target), verb)
            raw.close()

    # -- load --------------------------------------------------------------
    def test_ten_concurrent_clients(self):
        big = read_file(self.fx["files"]["/big.bin"])
        errors = []

        def client(i):
            try:
                f = ftplib.FTP()
                f.connect(self.srv.host, self.srv.port, timeout=IO_TIMEOUT)
                try:
                    f.login(*WRITER)
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


class FtpLoginCli(unittest.TestCase):
    """The command line of the FTP logins: hash-password, the users file's
    refusals at start (FILE:LINE, exit 2), --umask."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "ftp-cli-")
        cls.root = os.path.join(cls.tmp, "root")
        os.makedirs(os.path.join(cls.root, "upload"))

    def start(self, *args):
        return subprocess.run(REFSERVER_CMD + ["--model", list_models()[0], "--proto", "ftp",
                               "--root", self.root, "--listen", "127.0.0.1:0"] + list(args),
                              capture_output=True, text=True, timeout=scaled(30),
                              stdin=subprocess.DEVNULL)

    def test_hash_password(self):
        h = hash_password("pw")
        self.assertRegex(h, r"^\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}$")
        self.assertNotEqual(h, hash_password("pw"))  # salted
        for bad, why in (("", "no password"), ("\n", "empty password"),
                         ("x" * 200 + "\n", "password too long")):
            out = subprocess.run(REFSERVER_CMD + ["hash-password"], input=bad,
                                 capture_output=True, text=True, timeout=scaled(30))
            self.assertEqual((out.returncode, out.stdout), (1, ""), bad)
            self.assertIn(why, out.stderr)

    def test_users_file_refusals(self):
        good = hash_password("pw")
        cases = {"bob:plain-text:rw": "not a crypt(3) hash",
                 "bob:abJnggxhB/yWI:rw": "not a crypt(3) hash",  # DES
                 "bob:$1$abcdefgh$4M2ed2ouIyYNUNlTNkYt.1:rw": "weak or unknown hash scheme",
                 "bob:%s:admin" % good: "access must be rw or ro",
                 "bob:%s" % good: "expected name:hash:rw|ro",
                 "bob:%s:rw" % good[:-4]: "malformed hash"}
        path = os.path.join(self.tmp, "users")
        for line, why in cases.items():
            with open(path, "w") as f:
                f.write("alice:%s:ro\n%s\n" % (good, line))
            out = self.start("--users", path)
            self.assertEqual(out.returncode, 2, line)
            self.assertIn("%s:2: %s" % (path, why), out.stderr, line)

    def pass_takes(self, srv, password, want):
        """Seconds from PASS to its reply (which must start with want)."""
        raw = RawFtp(srv.address)
        try:
            self.assertTrue(raw.reply().startswith("220 "))
            self.assertTrue(raw.cmd("USER writer").startswith("331 "))
            sent = time.monotonic()
            self.assertTrue(raw.cmd("PASS " + password).startswith(want))
            return time.monotonic() - sent
        finally:
            raw.close()

    def failed_login_takes(self, *args):
        """(seconds from a wrong PASS to its 530, the delay in it) on a server
        started with args. The delay is what the wrong PASS took beyond a
        right one's 230 (the same crypt() check): under emulation (make
        test-cross) that check alone can take half a second."""
        users = os.path.join(self.tmp, "users-delay")
        write_users_file(users)
        with RefServer(list_models()[0], proto="ftp", root=self.root,
                       args=["--users", users] + list(args)) as srv:
            took = self.pass_takes(srv, "wrong", "530 ")
            return took, took - self.pass_takes(srv, WRITER[1], "230 ")

    def test_login_delay(self):
        """--login-delay: 1 s by default (vsftpd's delay_failed_login), the
        value given, none for 0; malformed or out-of-range values are exit 2."""
        self.assertGreaterEqual(self.failed_login_takes()[0], DEFAULT_LOGIN_DELAY)
        took, delay = self.failed_login_takes("--login-delay", "300ms")
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(delay, DEFAULT_LOGIN_DELAY)
        self.assertLess(self.failed_login_takes("--login-delay", "0")[1], 0.3)
        for bad in ("5x", "-1", "abc", "11s", ""):
            out = self.start("--login-delay", bad)
            self.assertEqual(out.returncode, 2, bad)
            self.assertIn("--login-delay", out.stderr)
            self.assertIn("'%s'" % bad, out.stderr)

    def test_umask(self):
        for bad in ("8", "1000", "-1", "rw", ""):
            out = self.start("--umask", bad)
            self.assertEqual(out.returncode, 2, bad)
            self.assertIn("--umask", out.stderr)
        users = os.path.join(self.tmp, "users-ok")
        write_users_file(users)
        with RefServer(list_models()[0], proto="ftp", root=self.root,
                       args=["--users", users, "--umask", "027"]) as srv:
            f = ftplib.FTP()
            f.connect(srv.host, srv.port, timeout=IO_TIMEOUT)
            f.login(*WRITER)
            f.storbinary("STOR upload/u.txt", io.BytesIO(b"u"))
            f.mkd("upload/d")
            f.quit()
            f.close()
        self.assertEqual(os.stat(os.path.join(self.root, "upload", "u.txt")).st_mode & 0o777,
                         0o640)
        self.assertEqual(os.stat(os.path.join(self.root, "upload", "d")).st_mode & 0o777,
                         0o750 & ~self.process_umask())

    @staticmethod
    def process_umask():
        mask = os.umask(0)
        os.umask(mask)
        return mask


class FtpLoadgenScenarios(LoadgenRuns, unittest.TestCase):
    """The shipped FTP scenarios, run by loadgen against refserver (epoll; poll in the portable build).
    ftp-put uploads, which anonymous may not: it runs as the users file's
    rw user (a copy of the scenario with user and password set)."""
    TMP_PREFIX = "ftp-lg-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        model = event_model() if event_model() in list_models() else list_models()[0]
        users = os.path.join(cls.tmp, "users")
        write_users_file(users)
        cls.srv = RefServer(model, proto="ftp", root=cls.fixtures, args=["--users", users])
        cls.addClassCleanup(cls.srv.close)

    def as_writer(self, name):
        """A copy of scenario name that logs in as the rw user."""
        with open(os.path.join(SCENARIOS, name)) as f:
            lines = [ln for ln in f.read().splitlines()
                     if not re.match(r"\s*(user|password)\s*=", ln)]
        at = lines.index("[scenario]") + 1
        lines[at:at] = ["user = " + WRITER[0], "password = " + WRITER[1]]
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def test_shipped_ftp_scenarios_run_clean(self):
        for name in ("ftp-get.ini", "ftp-list.ini", "ftp-put.ini", "ftp-mixed.ini"):
            with self.subTest(scenario=name):
                path = self.as_writer(name) if name == "ftp-put.ini" else \
                    os.path.join(SCENARIOS, name)
                res = self.loadgen(path, self.srv, "--requests", "100", "--connections", "4")
                row = self.assert_clean_run(*res, engine="curl", protocol="ftp")
                self.assertEqual(int(row["requests"]), 100, res[1])
        self.assertIsNone(self.srv.proc.poll(), self.srv.stderr_text())

    def test_anonymous_put_refused(self):
        """The shipped ftp-put as anonymous: its STOR is refused (550), which
        loadgen's verify pass reports before any timed run."""
        rc, _, err, rows = self.loadgen(os.path.join(SCENARIOS, "ftp-put.ini"), self.srv,
                                        "--requests", "10", "--connections", "1", "--threads", "1")
        self.assertNotEqual(rc, 0, err)
        self.assertIn("expected status 226, got 550", err)
        self.assertEqual(rows, [])
        self.assertFalse(os.path.exists(os.path.join(self.fixtures, "upload", "put-64k.bin")))


if __name__ == "__main__":
    unittest.main()
