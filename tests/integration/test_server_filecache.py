"""The open-file cache (servers/core/filecache.c) is never stale: on every model
`refserver --list-models` prints (FileCacheTest_<model>), a file changed
between two requests - rewritten in place, renamed over, deleted, its
directory renamed or replaced by a symlink - is answered with what is there
now by the very next request, sent right after the change returned (no
sleep). Both on one keep-alive connection (the same process or thread as the
first answer) and on a new one.

FileCacheStatTest_<model> runs the same on a few models with
REFSERVER_FILECACHE=stat (the fstatat fallback); there, a rewrite in place
changes the size (a same-size rewrite within one clock tick is the fallback's
documented blind spot).

FileCacheLoadgen: loadgen's mid-run corruption check against refserver: a
fixture replaced while the load runs must show up as check failures."""
import os
import shutil
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lgutil import SCENARIOS, LoadgenRuns, flip_bit  # noqa: E402
from serverutil import (RefServer, class_temp_dir, classes_per_model, event_model,  # noqa: E402
                        list_models)

IO_TIMEOUT = 10
BIG = 100 * 1024  # above the 16 KiB kept in memory: an fd kept open, sendfile


class Conn:
    """A keep-alive HTTP/1.1 client that reconnects when the server closes."""

    def __init__(self, addr):
        self.addr, self.sock, self.buf = addr, None, b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock, self.buf = None, b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("closed mid-answer")
        self.buf += chunk

    def get(self, path):
        """(status, body) of GET path."""
        if self.sock is None:
            self.sock = socket.create_connection(self.addr, timeout=IO_TIMEOUT)
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict((k.strip().lower(), v.strip())
                       for k, _, v in (line.partition(":") for line in lines[1:]))
        n = int(headers["content-length"])
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(lines[0].split()[1]), body


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def rewrite_in_place(path, data):
    """Same inode: open without O_TRUNC, write, truncate to the new length."""
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate(len(data))


def replace(path, data):
    """A new inode renamed over the old name (how editors and deploys do it)."""
    write(path + ".new", data)
    os.replace(path + ".new", path)


class FileCacheTests:
    MODEL = None
    MODE = "inotify"

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_temp_dir(cls, "itest-fc-%s-" % cls.MODEL)
        cls.root = os.path.join(cls.tmp, "root")
        os.makedirs(cls.root)
        saved = os.environ.get("REFSERVER_FILECACHE")
        os.environ["REFSERVER_FILECACHE"] = cls.MODE
        try:
            cls.srv = RefServer(cls.MODEL, root=cls.root)
        finally:
            if saved is None:
                del os.environ["REFSERVER_FILECACHE"]
            else:
                os.environ["REFSERVER_FILECACHE"] = saved
        cls.addClassCleanup(cls.srv.close)

    def setUp(self):
        self.assertIsNone(self.srv.proc.poll(), "server died:\n" + self.srv.stderr_text())
        self.conn = Conn(self.srv.address)
        self.addCleanup(self.conn.close)
        self.dir = os.path.join(self.root, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.dir)
        self.url = "/" + os.path.basename(self.dir)

    def expect(self, path, status, body=None):
        """The answer on the kept connection, then on a new one."""
        for conn in (self.conn, Conn(self.srv.address)):
            got_status, got = conn.get(path)
            self.assertEqual(got_status, status, path)
            if body is not None:
                self.assertEqual(got, body, path)
            if conn is not self.conn:
                conn.close()

    def warm(self, path, body):
        for _ in range(3):  # a miss, then hits
            self.expect(path, 200, body)

    def test_rewrite_in_place(self):
        f = os.path.join(self.dir, "f.txt")
        write(f, b"first version\n")
        self.warm(self.url + "/f.txt", b"first version\n")
        new = b"other version\n" if self.MODE == "inotify" else b"a longer second version\n"
        rewrite_in_place(f, new)
        self.expect(self.url + "/f.txt", 200, new)

    def test_rename_over(self):
        f = os.path.join(self.dir, "f.txt")
        write(f, b"0123456789")
        self.warm(self.url + "/f.txt", b"0123456789")
        replace(f, b"0123456788")
        self.expect(self.url + "/f.txt", 200, b"0123456788")

    def test_big_file_rename_over_and_rewrite(self):
        f = os.path.join(self.dir, "big.bin")
        data = os.urandom(BIG)
        write(f, data)
        self.warm(self.url + "/big.bin", data)
        data = os.urandom(BIG)
        replace(f, data)
        self.expect(self.url + "/big.bin", 200, data)
        data = os.urandom(BIG - 1000)  # shorter: a stale size would cut the stream
        rewrite_in_place(f, data)
        self.expect(self.url + "/big.bin", 200, data)

    def test_delete_and_recreate(self):
        f = os.path.join(self.dir, "f.txt")
        write(f, b"here\n")
        self.warm(self.url + "/f.txt", b"here\n")
        os.unlink(f)
        self.expect(self.url + "/f.txt", 404)
        write(f, b"back again\n")
        self.expect(self.url + "/f.txt", 200, b"back again\n")

    def test_directory_replaced_by_symlink(self):
        write(os.path.join(self.dir, "d", "f.txt"), b"in d\n")
        write(os.path.join(self.dir, "other", "f.txt"), b"in other\n")
        self.warm(self.url + "/d/f.txt", b"in d\n")
        os.rename(os.path.join(self.dir, "d"), os.path.join(self.dir, "d.old"))
        os.symlink("other", os.path.join(self.dir, "d"))
        self.expect(self.url + "/d/f.txt", 200, b"in other\n")

    def test_parent_renamed_and_removed(self):
        write(os.path.join(self.dir, "p", "q", "f.txt"), b"deep\n")
        self.warm(self.url + "/p/q/f.txt", b"deep\n")
        os.rename(os.path.join(self.dir, "p"), os.path.join(self.dir, "p2"))
        self.expect(self.url + "/p/q/f.txt", 404)
        self.expect(self.url + "/p2/q/f.txt", 200, b"deep\n")
        shutil.rmtree(os.path.join(self.dir, "p2"))
        self.expect(self.url + "/p2/q/f.txt", 404)

    def test_index_rewritten(self):
        write(os.path.join(self.dir, "index.html"), b"<p>one</p>\n")
        self.warm(self.url + "/", b"<p>one</p>\n")
        replace(os.path.join(self.dir, "index.html"), b"<p>two</p>\n")
        self.expect(self.url + "/", 200, b"<p>two</p>\n")
        os.unlink(os.path.join(self.dir, "index.html"))
        self.expect(self.url + "/", 404)


classes_per_model(globals(), "FileCacheTest", FileCacheTests)


class FileCacheStatTests(FileCacheTests):
    MODE = "stat"


for _m in [m for m in list_models() if m in ("epoll", "thread", "prefork")]:
    _name = "FileCacheStatTest_" + _m
    globals()[_name] = type(_name, (FileCacheStatTests, unittest.TestCase), {"MODEL": _m})


class FileCacheLoadgen(LoadgenRuns, unittest.TestCase):
    """loadgen replays http-hello (GET /index.html, every body checked) while
    index.html is replaced with one bit flipped: the answers after it are
    check failures, as they are against nginx."""
    TMP_PREFIX = "lg-fc-test-"

    def flip_mid_run(self, model):
        served = os.path.join(self.tmp, "served-" + model)
        shutil.copytree(self.fixtures, served)
        with RefServer(model, root=served) as srv:
            proc, csv_path = self.start_with_progress(os.path.join(SCENARIOS, "http-hello.ini"),
                                                      srv, "--duration", "3",
                                                      "--connections", "8")
            index = os.path.join(served, "index.html")
            flip_bit(index, os.path.getsize(index) // 2)
            rc, out, err, row = self.finish(proc, csv_path)
        self.assertEqual(rc, 1, out + err)
        self.assertGreater(int(row["check_failures"]), 0, out)
        self.assertIn("wrong_body", out)
        self.assertEqual(int(row["errors"]), 0, out)

    def test_flip_mid_run_event_model(self):
        self.flip_mid_run(event_model())  # epoll, or poll where epoll is not built

    def test_flip_mid_run_threadpool(self):
        self.flip_mid_run("threadpool")

    def test_flip_mid_run_prefork(self):
        self.flip_mid_run("prefork")


if __name__ == "__main__":
    unittest.main()
