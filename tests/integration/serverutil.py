"""serverutil.py - start refserver for integration tests, build fixture trees.

Shared by every integration test (stdlib only). The API is fixed:

    REFSERVER, LOADGEN, SOURCE_DIR, BUILD_DIR   paths (from ctest's environment)
    EMULATOR                                    argv prefix for the binaries (below)
    REFSERVER_CMD, LOADGEN_CMD                  EMULATOR + [REFSERVER], + [LOADGEN]:
                                                the head of every command line that
                                                starts them
    TIME_SCALE, scaled(seconds)                 how much longer to wait (below)
    list_models() -> list[str]                  from `refserver --list-models`
    event_model() -> str                        epoll, or poll where it is not built
    RefServer(model, proto='http', root=DIR, args=(), timeout=10)
        context manager; .host .port .proc .stderr_text() .stdout_text()
        .stop(sig=SIGTERM, timeout=10) -> returncode, .children_left(),
        .zombies()
    make_docroot(path) -> dict                  the HTTP fixture tree
    wait_until(pred, timeout, interval=0.01)    poll a condition with a deadline
    free_port() -> int                          a port nothing listens on
    class_temp_dir(cls, prefix) -> path         a temp dir removed after the class
    child_pids(pid), descendant_pids(pid), alive(pid)   from /proc

The server is started in its own session (so its process group id is its
pid): whatever it forks stays in that group, so descendants left behind after
it exits can still be found even though they were re-parented.
"""
import ctypes
import ctypes.util
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))

SOURCE_DIR = os.environ.get("SOURCE_DIR") or _REPO
BUILD_DIR = os.environ.get("BUILD_DIR") or os.path.join(_REPO, "build")
REFSERVER = os.environ.get("REFSERVER") or os.path.join(_REPO, "build", "servers", "refserver")
LOADGEN = os.environ.get("LOADGEN") or os.path.join(_REPO, "build", "loadgen", "loadgen")

# SERVERMODELS_EMULATOR: a command the binaries run under, split as a shell
# would (make test-cross: "qemu-aarch64-static" for the aarch64 build, see
# ci/test-cross). Every command line that starts refserver or loadgen
# begins with REFSERVER_CMD or LOADGEN_CMD, never the bare path.
EMULATOR = shlex.split(os.environ.get("SERVERMODELS_EMULATOR", ""))
REFSERVER_CMD = EMULATOR + [REFSERVER]
LOADGEN_CMD = EMULATOR + [LOADGEN]

# SERVERMODELS_TIME_SCALE: a factor for the suites' waits (deadlines for an
# answer, a readiness line, an exit), 1 by default; make test-cross sets it
# for emulated binaries, which run several times slower. It lengthens only
# how long a test waits for something that should happen, never a bound a
# test asserts ("not closed before the 1 s timeout" stays 1 s).
TIME_SCALE = float(os.environ.get("SERVERMODELS_TIME_SCALE") or 1)
if TIME_SCALE < 1:
    raise RuntimeError("SERVERMODELS_TIME_SCALE=%s: want a factor >= 1" % TIME_SCALE)


def scaled(seconds):
    """seconds, times TIME_SCALE: a wait long enough under emulation too."""
    return seconds * TIME_SCALE

# The readiness line, exactly: "listening on HOST:PORT" (HOST may be [v6]).
READY_RE = re.compile(r"^listening on (\[[0-9a-fA-F:.]+\]|[^\s:]+):(\d+)$")


def wait_until(pred, timeout, interval=0.01):
    """Calls pred() until it returns something truthy or timeout seconds
    (scaled: times TIME_SCALE) pass.

    Returns the last value of pred() (truthy on success, falsy on timeout)."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def yescrypt_hash(password, cost):
    """A yescrypt hash of password at libcrypt's cost `cost` (refserver's
    hash-password uses the default, 5: some 20 ms here; each step doubles)."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$y$", cost, None, 0)
    h = lib.crypt(password.encode(), salt) if salt else None
    if not h or not h.startswith(b"$y$"):
        raise RuntimeError("libcrypt: no yescrypt hash")
    return h.decode()


def thread_nices(pid):
    """{thread id: nice value} of every thread of process pid (/proc)."""
    nices = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return nices
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        nices[int(tid)] = int(fields[16])  # field 19 of stat(5), counted after the name
    return nices


def free_port():
    """A port nothing listens on: bound a moment ago, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def class_temp_dir(cls, prefix):
    """A new temporary directory for a TestCase class, removed once its tests
    ran. Called from setUpClass; the removal is a class cleanup, so it also
    happens when setUpClass fails after this call."""
    path = tempfile.mkdtemp(prefix=prefix)
    cls.addClassCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def built_models():
    """The models this refserver build offers: the first word of each line."""
    out = subprocess.run(REFSERVER_CMD + ["--list-models"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=scaled(10), check=False)
    if out.returncode != 0:
        raise RuntimeError("refserver --list-models exited %d: %s"
                           % (out.returncode, out.stderr.decode(errors="replace")))
    return [line.split()[0] for line in out.stdout.decode().splitlines() if line.strip()]


def event_model():
    """The event-driven model for tests that need one, any one: epoll where
    it is built, poll in the portable build (docs/portable.md)."""
    return "epoll" if "epoll" in built_models() else "poll"


def list_models():
    """The models under test: built_models(), narrowed by SERVERMODELS_MODELS."""
    models = built_models()
    # SERVERMODELS_MODELS=thread,threadpool narrows a run (make test-tsan runs
    # only the threaded models under ThreadSanitizer).
    only = os.environ.get("SERVERMODELS_MODELS")
    if only:
        wanted = [m.strip() for m in only.split(",") if m.strip()]
        models = [m for m in models if m in wanted]
    if not models:
        raise RuntimeError("refserver --list-models printed no model")
    return models


# --- /proc helpers ---------------------------------------------------------

def _proc_stat(pid):
    """(state, ppid, pgrp, comm) of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: split at the last ')'.
    lpar, rpar = data.index("("), data.rindex(")")
    fields = data[rpar + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), data[lpar + 1:rpar]


def child_pids(pid):
    """Direct children of pid (all its threads), from /proc/PID/task/*/children."""
    kids = set()
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return []
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids.update(int(k) for k in f.read().split())
        except OSError:
            pass
    return sorted(kids)


def descendant_pids(pid):
    """Every live descendant of pid, recursively."""
    found, todo = [], child_pids(pid)
    while todo:
        p = todo.pop()
        if p not in found:
            found.append(p)
            todo.extend(child_pids(p))
    return sorted(found)


def _group_members(pgid):
    """Live processes whose process group is pgid."""
    members = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _proc_stat(int(name))
            if st and st[2] == pgid:
                members.append(int(name))
    return members


def alive(pid):
    """True if pid exists and is not a zombie."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


# --- the server ------------------------------------------------------------

class RefServer:
    """A running refserver; use as a context manager (or call close())."""

    timed_out = False  # set by stop() when the server had to be SIGKILLed

    def __init__(self, model, proto="http", root=None, args=(), timeout=10):
        self.model, self.proto = model, proto
        self._tmp_root = None
        if root is None:  # echo needs no files, but the CLI may still want a root
            self._tmp_root = tempfile.mkdtemp(prefix="refserver-root-")
            root = self._tmp_root
        self.root = root
        args = list(args)
        self.cmd = REFSERVER_CMD + ["--model", model, "--proto", proto, "--root", root]
        if "--listen" not in args:
            self.cmd += ["--listen", "127.0.0.1:0"]
        self.cmd += args
        self.host = self.port = None
        self.returncode = None
        self.leftover = []  # descendants still alive when the server exited
        self._err, self._out = bytearray(), bytearray()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._known_kids = set()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self._threads = [threading.Thread(target=self._drain, args=(self.proc.stderr, self._err),
                                          daemon=True),
                         threading.Thread(target=self._drain_stdout, daemon=True)]
        for t in self._threads:
            t.start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.close()
            raise

    # -- output draining (never let a full pipe block the server) --
    def _drain(self, pipe, buf):
        for chunk in iter(lambda: pipe.read1(65536), b""):
            with self._lock:
                buf.extend(chunk)

    def _drain_stdout(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self._out.extend(line)
            if not self._ready.is_set():
                m = READY_RE.match(line.decode(errors="replace").rstrip("\r\n"))
                if m:
                    self.host, self.port = m.group(1).strip("[]"), int(m.group(2))
                    self._ready.set()
        self._ready.set()  # EOF: wake the waiter, it checks self.port

    def _wait_ready(self, timeout):
        timeout = scaled(timeout)
        if not self._ready.wait(timeout) or self.port is None:
            rc = self.proc.poll()
            raise RuntimeError("refserver %s (%s) not ready within %gs (exit status %s)\n"
                               "cmd: %s\nstdout: %s\nstderr: %s"
                               % (self.model, self.proto, timeout, rc, " ".join(self.cmd),
                                  self.stdout_text(), self.stderr_text()))

    def stderr_text(self):
        with self._lock:
            return self._err.decode(errors="replace")

    def stdout_text(self):
        with self._lock:
            return self._out.decode(errors="replace")

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def pid(self):
        return self.proc.pid

    # -- processes --
    def children(self):
        """Live (not zombie) descendants of the running server (remembered for stop())."""
        kids = [p for p in descendant_pids(self.proc.pid) if alive(p)]
        self._known_kids.update(kids)
        return kids

    def zombies(self):
        """Direct children of the server in state Z (unreaped)."""
        return [p for p in child_pids(self.proc.pid) if (_proc_stat(p) or ("",))[0] == "Z"]

    def children_left(self):
        """Live descendants: while running, the server's descendants; after it
        exited, those that survived it (recorded by stop())."""
        if self.proc.poll() is None:
            return self.children()
        if self.returncode is None:  # exited on its own, stop() not called yet
            self._record_leftover()
        return list(self.leftover)

    def _record_leftover(self):
        cands = set(_group_members(self.proc.pid)) | self._known_kids
        self.leftover = sorted(p for p in cands if p != self.proc.pid and alive(p))
        self.returncode = self.proc.returncode

    def send_signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig, waits up to timeout seconds, scaled (then SIGKILLs the group).

        Returns the exit status (negative: killed by that signal). Records the
        descendants that outlived the server in .leftover / children_left(),
        then kills them so they do not disturb other tests."""
        if self.proc.poll() is None:
            self.children()  # remember who exists before the signal
            self.proc.send_signal(sig)
            try:
                self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.timed_out = True
                self._kill_group()
                self.proc.wait(5)
        self._record_leftover()
        for p in self.leftover:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        for t in self._threads:
            t.join(2)
        return self.proc.returncode

    def _kill_group(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def close(self):
        """Stops the server if still running (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc.poll() is None or self.returncode is None:
            self.stop()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        if self._tmp_root:
            shutil.rmtree(self._tmp_root, ignore_errors=True)
            self._tmp_root = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# --- fixtures --------------------------------------------------------------

def make_docroot(path):
    """Creates the HTTP fixture tree at path (created if missing).

    Returns a dict:
      root            the document root (absolute)
      files           URL path -> local file for every servable file
      marker          unique string found only in files OUTSIDE the root
      hidden_marker   unique string found only in hidden files inside the root
      outside_dir     sibling temp dir holding the planted file (remove it too)
      planted         the planted file outside the root (contains marker)
      link_in         URL of a symlink inside the root to hello.txt
      link_out        URL of a symlink pointing outside the root (to planted)
      link_out_dir    URL through a directory symlink pointing outside the root
    """
    root = os.path.abspath(path)
    os.makedirs(root, exist_ok=True)
    marker = "PLANTED-OUTSIDE-" + secrets.token_hex(16)
    hidden_marker = "HIDDEN-INSIDE-" + secrets.token_hex(16)
    outside_dir = tempfile.mkdtemp(prefix="outside-", dir=os.path.dirname(root))
    planted = os.path.join(outside_dir, "planted.txt")
    _write(planted, ("secret outside the root: %s\n" % marker).encode())

    files = {
        "/index.html": ("index.html", b"<!doctype html>\n<html><head><title>refserver</title>"
                        b"</head><body><p>index page</p></body></html>\n"),
        "/hello.txt": ("hello.txt", b"hello, world\n"),
        "/big.bin": ("big.bin", os.urandom(1 << 20)),
        "/sub/dir/file.txt": ("sub/dir/file.txt", b"nested file in sub/dir\n"),
    }
    out = {}
    for url, (rel, data) in files.items():
        out[url] = os.path.join(root, rel)
        _write(out[url], data)
    _write(os.path.join(root, ".secret"), ("hidden file %s\n" % hidden_marker).encode())
    _write(os.path.join(root, ".hiddendir", "x.txt"), ("hidden dir %s\n" % hidden_marker).encode())
    os.symlink("hello.txt", os.path.join(root, "link.txt"))
    os.symlink(planted, os.path.join(root, "escape.txt"))
    os.symlink(outside_dir, os.path.join(root, "escapedir"))
    return {
        "root": root, "files": out, "marker": marker, "hidden_marker": hidden_marker,
        "outside_dir": outside_dir, "planted": planted,
        "link_in": "/link.txt", "link_out": "/escape.txt",
        "link_out_dir": "/escapedir/planted.txt",
    }


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def classes_per_model(namespace, prefix, mixin):
    """Puts one unittest.TestCase class per model into namespace (a module's
    globals()), named PREFIX_<model>, so a failure names its model. If the
    models cannot be listed, a failing PREFIX_ListModels test says why."""
    import unittest
    try:
        models = list_models()
    except Exception as e:  # noqa: BLE001 - turned into a failing test
        err = "cannot list models: %r" % e

        def test_list_models(self):
            self.fail(err)
        name = prefix + "ListModels"
        namespace[name] = type(name, (unittest.TestCase,), {"test_list_models": test_list_models})
        return
    for m in models:
        name = prefix + "_" + re.sub(r"\W", "_", m)
        namespace[name] = type(name, (mixin, unittest.TestCase), {"MODEL": m})
