"""peer_nginx.py - Debian's nginx as a reference HTTP peer for the tests.

    with NginxPeer(fixtures_dir) as ng:
        ng.host, ng.port    # 127.0.0.1 and the port it listens on
        ng.pid              # the master process (SIGSTOP it to stall the server)
        ng.worker_pids()    # its worker (one)
        ng.kill()           # SIGKILL master and worker (the server is gone)

The config comes from nginx.conf.in: one worker, 127.0.0.1 only, the root is
the fixtures dir (served as is, read-only), pid, logs and temp paths inside a
private temporary directory, access_log off, error_log to that directory.
/time (an ISO-8601 UTC date line) and POST /echo (the body back) are served
by Debian's echo module (libnginx-mod-http-echo, a dependency of nginx-light,
which ci/setup installs), so the http-mixed scenario runs against nginx too;
without the module available() says so and start() fails.
NginxPeer(root, server_extra="...") adds directives to the server block,
where they also override the http block's (ci/bench-server tunes nginx
there); the default adds nothing, so the tests' nginx is unchanged.

The port is chosen by binding port 0 and closing; if another process takes it
in between, nginx exits with a bind error and we retry with a new one.
Readiness = a TCP connect succeeds, polled with a deadline. Stop = SIGQUIT
(graceful), SIGKILL after a deadline.

    python3 peer_nginx.py FIXTURES_DIR   runs one in the foreground (Ctrl-C stops it)
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from serverutil import child_pids, free_port

NGINX = "/usr/sbin/nginx"
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
HERE = os.path.dirname(os.path.abspath(__file__))
CONF_TEMPLATE = os.path.join(HERE, "nginx.conf.in")

# With the echo module: /time and POST /echo like refserver's.
DYNAMIC_LOCATIONS = r"""
        # /time: ISO-8601 UTC ("+00:00" -> "Z"; nginx runs with TZ=UTC)
        location = /time {
            default_type text/plain;
            return 200 "$lg_time_utc\n";
        }
        # POST /echo: the request body back
        location = /echo {
            client_body_buffer_size 16m;
            client_max_body_size 16m;
            echo_read_request_body;
            echo_request_body;
        }
"""
DYNAMIC_HTTP = r"""
    map $time_iso8601 $lg_time_utc {
        "~^(?<lg_t>.+)\+00:00$" "${lg_t}Z";
        default $time_iso8601;
    }
"""


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class NginxPeer:
    """A running nginx (1 worker) serving a directory on 127.0.0.1."""

    @staticmethod
    def available():
        """None when nginx can run here, else the reason it cannot."""
        if not os.access(NGINX, os.X_OK):
            return NGINX + " not installed"
        if not os.path.exists(ECHO_MODULE):
            return ECHO_MODULE + " not installed (libnginx-mod-http-echo)"
        return None

    def __init__(self, root, start_timeout=10.0, server_extra=""):
        self.root = os.path.abspath(root)
        self.server_extra = server_extra
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.tmp = None
        self.log_path = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def worker_pids(self):
        """The master's children (its worker processes)."""
        return child_pids(self.pid) if self.pid else []

    def error_log(self):
        path = os.path.join(self.tmp, "error.log") if self.tmp else None
        if not path or not os.path.exists(path):
            return ""
        with open(path, "rb") as f:
            return f.read()[-4000:].decode(errors="replace")

    # -- setup ---------------------------------------------------------------
    def _write_conf(self, port):
        with open(CONF_TEMPLATE) as f:
            text = f.read()
        load = "load_module %s;\n" % ECHO_MODULE
        # As root the worker would run as nobody, who may not traverse the
        # caller's private temporary directories: keep the caller's identity.
        user = "user root root;" if os.geteuid() == 0 else ""
        for key, val in (("@USER@", user), ("@LOAD_MODULES@", load),
                         ("@HTTP_EXTRA@", DYNAMIC_HTTP),
                         ("@LOCATIONS@", self.server_extra + DYNAMIC_LOCATIONS),
                         ("@PREFIX@", self.tmp),
                         ("@PORT@", str(port)), ("@ROOT@", self.root)):
            text = text.replace(key, val)
        path = os.path.join(self.tmp, "nginx.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def _start_once(self, port):
        conf = self._write_conf(port)
        self.log_path = os.path.join(self.tmp, "nginx.stderr")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TZ": "UTC"}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [NGINX, "-p", self.tmp, "-c", conf, "-e", os.path.join(self.tmp, "error.log"),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False  # exited: most likely the port was taken
            # The master's socket accepts before its worker exists; ready
            # means a worker is there to answer (tests signal the worker).
            if _accepts(port) and self.worker_pids():
                self.port = port
                return True
            time.sleep(0.01)  # polling interval of a readiness check, not a sync
        self._kill()
        raise RuntimeError("nginx did not accept connections within %.0fs" % self.start_timeout)

    def start(self):
        why = self.available()
        if why:
            raise RuntimeError(why)
        self.tmp = tempfile.mkdtemp(prefix="lg-nginx-")
        for _ in range(5):
            if self._start_once(free_port()):
                return self
        tail = ""
        if self.log_path and os.path.exists(self.log_path):
            with open(self.log_path, "rb") as f:
                tail = f.read()[-500:].decode(errors="replace")
        tail += self.error_log()
        self.stop()
        raise RuntimeError("nginx would not start: " + tail)

    # -- teardown ------------------------------------------------------------
    def _kill(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)  # in case a test left it stopped
                self.proc.send_signal(signal.SIGQUIT)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                for pid in self.worker_pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self):
        """Kill master and worker at once (SIGKILL): open connections are
        reset and the port refuses connections from now on."""
        if self.proc and self.proc.poll() is None:
            workers = self.worker_pids()
            self.proc.kill()
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait()
        self.proc = None

    def stop(self):
        self._kill()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: peer_nginx.py FIXTURES_DIR")
    with NginxPeer(sys.argv[1]) as ng:
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGTERM])
        print("listening on %s:%d (pid %d)" % (ng.host, ng.port, ng.pid), flush=True)
        signal.sigwait([signal.SIGINT, signal.SIGTERM])
