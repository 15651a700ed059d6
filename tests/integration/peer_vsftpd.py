"""peer_vsftpd.py - Debian's vsftpd as a reference FTP peer for the tests.

    with VsftpdPeer(fixtures_dir, options={"max_per_ip": "2"}) as ftp:
        ftp.port            # the control port on 127.0.0.1
        ftp.root            # the served tree (a copy of fixtures_dir)
        ftp.upload_dir      # root/upload, writable by the anonymous user
        ftp.host            # "127.0.0.1"

vsftpd refuses an anonymous root the anonymous user can write to, so it serves
a COPY of the fixtures in a temporary directory: the root is root-owned and
read-only, upload/ belongs to the ftp user. The port is chosen by binding port
0 and closing (vsftpd cannot report the port it bound); if another process
takes it in between, vsftpd exits and we retry with a new one. Readiness is
the 220 greeting, polled with a deadline. Stop = SIGTERM to the listener,
SIGKILL to the session processes below it (they would outlive it).

Needs root (vsftpd drops privileges to ftp_username itself) and
/usr/sbin/vsftpd; `VsftpdPeer.available()` says why not when it cannot run.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from serverutil import alive, descendant_pids, free_port, wait_until

VSFTPD = "/usr/sbin/vsftpd"
HERE = os.path.dirname(os.path.abspath(__file__))
CONF_TEMPLATE = os.path.join(HERE, "vsftpd.conf.in")


def _ftp_user():
    for name in ("ftp", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


class VsftpdPeer:
    """A running vsftpd serving a copy of a fixtures tree."""

    @staticmethod
    def available():
        """None when vsftpd can run here, else the reason it cannot."""
        if not os.path.exists(VSFTPD):
            return VSFTPD + " not installed"
        if os.geteuid() != 0:
            return "vsftpd needs root"
        if _ftp_user() is None:
            return "no 'ftp' or 'nobody' user"
        return None

    def __init__(self, fixtures, options=None, start_timeout=10.0):
        """options: vsftpd.conf keys that replace the template's values."""
        self.fixtures = fixtures
        self.options = dict(options or {})
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self.proc = None
        self.tmp = None
        self.port = None
        self.root = None
        self.upload_dir = None

    # -- setup ---------------------------------------------------------------
    def _prepare_tree(self):
        user = _ftp_user()
        self.tmp = tempfile.mkdtemp(prefix="lg-vsftpd-")
        os.chmod(self.tmp, 0o755)
        self.root = os.path.join(self.tmp, "root")
        shutil.copytree(self.fixtures, self.root, symlinks=False)
        self.upload_dir = os.path.join(self.root, "upload")
        os.makedirs(self.upload_dir, exist_ok=True)
        for dirpath, dirnames, filenames in os.walk(self.root):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)
        # The root must not be writable by the anonymous user; upload/ must be.
        os.chmod(self.root, 0o555)
        os.chown(self.upload_dir, user.pw_uid, user.pw_gid)
        os.chmod(self.upload_dir, 0o755)
        # secure_chroot_dir: empty, root-owned, not writable by anyone else.
        self.empty = os.path.join(self.tmp, "empty")
        os.mkdir(self.empty, 0o555)
        self.user = user.pw_name

    def _write_conf(self, port):
        with open(CONF_TEMPLATE) as f:
            text = f.read()
        for key, val in (("@PORT@", str(port)), ("@ROOT@", self.root),
                         ("@FTP_USER@", self.user),
                         ("@EMPTY_DIR@", self.empty)):
            text = text.replace(key, val)
        lines = []
        for line in text.splitlines():
            key = line.split("=", 1)[0].strip()
            if key in self.options:
                line = "%s=%s" % (key, self.options[key])
            lines.append(line)
        missing = set(self.options) - {ln.split("=", 1)[0] for ln in lines}
        lines += ["%s=%s" % (k, self.options[k]) for k in sorted(missing)]
        text = "\n".join(lines) + "\n"
        path = os.path.join(self.tmp, "vsftpd.conf")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)  # vsftpd refuses a config not owned by root
        return path

    def _greeting(self, port):
        """True once the server answered 220 on the control port."""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(256)
                    if not chunk:
                        return False
                    data += chunk
                return data.startswith(b"220")
        except OSError:
            return False

    def _start_once(self, port):
        conf = self._write_conf(port)
        self.log_path = os.path.join(self.tmp, "vsftpd.stderr")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([VSFTPD, conf], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # exited: most likely the port was taken
            if self._greeting(port):
                self.port = port
                return True
            time.sleep(0.02)  # polling interval of a readiness check, not a sync
        self._kill()
        raise RuntimeError("vsftpd did not greet within %.0fs" % self.start_timeout)

    def start(self):
        why = self.available()
        if why:
            raise RuntimeError(why)
        self._prepare_tree()
        for _ in range(5):
            if self._start_once(free_port()):
                return self
        with open(self.log_path, "rb") as f:
            tail = f.read()[-500:].decode(errors="replace")
        self.stop()
        raise RuntimeError("vsftpd would not start: " + tail)

    # -- teardown ------------------------------------------------------------
    def _kill(self):
        """SIGTERM to the listener, SIGKILL to the session processes below it
        (a session busy in a transfer ignores SIGTERM); returns once they are
        all gone (SIGKILL for the listener too after 5 s)."""
        if not self.proc:
            return
        # The session processes call setsid: found by parentage, not group.
        sessions = descendant_pids(self.proc.pid)
        for pid, sig in [(self.proc.pid, signal.SIGTERM)] + [(p, signal.SIGKILL) for p in sessions]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        wait_until(lambda: not any(alive(p) for p in sessions), 5, 0.02)
        self.proc = None

    def stop(self):
        self._kill()
        if self.tmp:
            if self.root and os.path.isdir(self.root):
                os.chmod(self.root, 0o755)
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
