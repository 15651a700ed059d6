"""The open-redirect case of issue 8, on every model (RedirectTest_<model>):
a directory asked for without its trailing slash gets a 301 whose Location is
built from the normalised path. `GET //evil.example` used to answer
`Location: //evil.example/`, a network-path reference that browsers and curl
follow to the host evil.example; now it is `/evil.example/`, on the same
host. curl follows the redirects (--path-as-is keeps the odd forms as sent)."""
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverutil import classes_per_model, class_temp_dir, RefServer  # noqa: E402

IO_TIMEOUT = 10
INDEX = b"evil.example index, served by refserver\n"

# target as sent -> the Location the server must give
FORMS = {
    "//evil.example": "/evil.example/",
    "///evil.example": "/evil.example/",
    "/./evil.example": "/evil.example/",
    "/.//evil.example": "/evil.example/",
    "//evil.example/.": "/evil.example/",
    "//evil.example?next=//x": "/evil.example/",
    "/%2e/evil.example": "/evil.example/",
    "/a%20dir": "/a%20dir/",
}


def location_of(address, target):
    """Sends one GET of target; returns (status, Location header or None)."""
    with socket.create_connection(address, timeout=IO_TIMEOUT) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                   % target).encode())
        data = b"".join(iter(lambda: s.recv(65536), b""))
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    loc = [h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("location:")]
    return int(head[0].split()[1]), loc[0] if loc else None


class RedirectTests:
    """Mixin: the per-model classes set MODEL and inherit unittest.TestCase."""
    MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.root = os.path.join(class_temp_dir(cls, "redirect-it-"), "root")
        for d in ("evil.example", "a dir"):
            os.makedirs(os.path.join(cls.root, d))
            with open(os.path.join(cls.root, d, "index.html"), "wb") as f:
                f.write(INDEX)
        cls.srv = RefServer(cls.MODEL, proto="http", root=cls.root)
        cls.addClassCleanup(cls.srv.close)

    def test_location_is_the_normalised_path(self):
        for target, want in FORMS.items():
            status, loc = location_of(self.srv.address, target)
            self.assertEqual((status, loc), (301, want), target)
            self.assertFalse(loc.startswith("//"), target)
        # ".." is refused, not redirected anywhere
        self.assertEqual(location_of(self.srv.address, "//evil.example/../evil.example"),
                         (403, None))

    def test_curl_follows_to_the_same_host(self):
        base = "http://%s:%d" % (self.srv.host, self.srv.port)
        for target in ("//evil.example", "/./evil.example", "///evil.example"):
            out = subprocess.run(
                ["curl", "-sS", "--path-as-is", "-L", "--max-redirs", "3", "--max-time", "10",
                 "-w", "\n%{url_effective} %{num_redirects}", base + target],
                capture_output=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr.decode(errors="replace"))
            body, _, tail = out.stdout.rpartition(b"\n")
            self.assertEqual(body, INDEX, target)
            self.assertEqual(tail.decode(), base + "/evil.example/ 1", target)
        self.assertIsNone(self.srv.proc.poll(), self.srv.stderr_text())


classes_per_model(globals(), "RedirectTest", RedirectTests)

if __name__ == "__main__":
    unittest.main()
