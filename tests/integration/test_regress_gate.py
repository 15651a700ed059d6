"""test_regress_gate.py - the self-test of the performance gate (ci/regress, make regress).

Two builds of the same tree, side by side in BUILD_DIR: regress-clean and
regress-inject (-DREGRESS_INJECT=ON: about 1200 extra instructions in every
HTTP request, servers/core/http.c). A baseline written from the clean build
must pass against the clean build and fail against the injected one, naming
the model. A malformed baseline is a usage error (exit 2), a run whose
answers fail their checks fails the gate (exit 1). Restricted to epoll and
http-hello to stay short; needs valgrind (ci/setup).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverutil import BUILD_DIR, SOURCE_DIR  # noqa: E402

GATE = os.path.join(SOURCE_DIR, "ci", "regress")
CLEAN = os.path.join(BUILD_DIR, "regress-clean")
INJECT = os.path.join(BUILD_DIR, "regress-inject")
ONLY = ["--models", "epoll", "--scenarios", "http-hello", "--no-pinned"]


def build(build_dir, inject, targets):
    """Configures and builds targets in build_dir (a RelWithDebInfo build, no
    sanitizers, whatever the suite's own build is). Raises on failure."""
    cfg = ["cmake", "-S", SOURCE_DIR, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
           "-DWITH_SANITIZERS=", "-DREGRESS_INJECT=%s" % ("ON" if inject else "OFF")]
    for cmd in (cfg, ["cmake", "--build", build_dir, "-j", "2", "--target"] + targets):
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        if out.returncode != 0:
            raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), out.stdout.decode()[-4000:]))


def gate(build_dir, *args):
    """Runs ci/regress on build_dir's refserver with the clean build's loadgen.
    Returns (exit status, stdout + stderr)."""
    cmd = [sys.executable, GATE, "--build", build_dir,
           "--refserver", os.path.join(build_dir, "servers", "refserver"),
           "--loadgen", os.path.join(CLEAN, "loadgen", "loadgen")] + list(args)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    return out.returncode, out.stdout.decode(errors="replace")


class RegressGate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("valgrind"):
            raise RuntimeError("valgrind is not installed: the gate needs it (apt-get install "
                               "valgrind)")
        build(CLEAN, False, ["refserver", "loadgen"])
        build(INJECT, True, ["refserver"])
        cls.tmp = tempfile.mkdtemp(prefix="regress-gate-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def baseline_path(self, name):
        return os.path.join(self.tmp, name)

    def test_clean_build_passes_and_injected_build_fails(self):
        baseline = self.baseline_path("baseline.csv")
        rc, out = gate(CLEAN, "--write-baseline", "--baseline", baseline, *ONLY)
        self.assertEqual(rc, 0, out)
        with open(baseline) as f:
            lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("model,protocol,scenario,requests,server_ir_per_req,"),
                        lines[0])
        epoll = [ln for ln in lines if ln.startswith("epoll,http,http-hello,")]
        self.assertEqual(len(epoll), 1, lines)
        self.assertGreater(float(epoll[0].split(",")[4]), 1000, epoll[0])
        self.assertTrue(any(ln.startswith("loadgen,http,http-hello,") for ln in lines), lines)
        # a row of a model this build lacks is reported, not a failure
        with open(baseline, "a") as f:
            f.write("no-such-model,http,http-hello,2000,12345.0,,,,,\n")

        rc, out = gate(CLEAN, "--baseline", baseline, *ONLY)
        self.assertEqual(rc, 0, out)
        self.assertIn("ci/regress: PASS", out)
        self.assertIn("no-such-model / http-hello: model not built here", out)
        self.assertNotIn("REGRESSION", out)

        rc, out = gate(INJECT, "--baseline", baseline, *ONLY)
        self.assertEqual(rc, 1, out)
        self.assertIn("REGRESSION: epoll / http-hello: server_ir_per_req", out)
        self.assertIn("ci/regress: FAIL", out)
        # over the threshold, the gate measures twice more: three values that agree
        m = re.search(r"epoll / http-hello: [\d.]+  \(spread over 3: ([\d.]+) %\)", out)
        self.assertIsNotNone(m, out)
        self.assertLess(float(m.group(1)), 1.5, out)
        # loadgen is the same binary in both runs: it must not be blamed
        self.assertNotIn("REGRESSION: loadgen", out)

    def test_malformed_baseline_is_a_usage_error(self):
        cases = {
            "not-regress.csv": ("model,scenario,req_per_s\nepoll,http-hello,5\n",
                                "missing columns server_ir_per_req, loadgen_ir_per_req"),
            "not-a-number.csv": ("model,protocol,scenario,requests,server_ir_per_req,"
                                 "loadgen_ir_per_req\nepoll,http,http-hello,2000,fast,\n",
                                 "line 2: server_ir_per_req is 'fast', not a number"),
            "ragged.csv": ("model,protocol,scenario,requests,server_ir_per_req,"
                           "loadgen_ir_per_req\nepoll,http,http-hello,2000\n",
                           "line 2: 4 fields, the header has 6"),
            "twice.csv": ("model,scenario,server_ir_per_req,loadgen_ir_per_req\n"
                          "epoll,echo,600,\nepoll,echo,601,\n", "line 3: a second row"),
        }
        for name, (text, why) in cases.items():
            with self.subTest(name):
                path = self.baseline_path(name)
                with open(path, "w") as f:
                    f.write(text)
                rc, out = gate(CLEAN, "--baseline", path, *ONLY)
                self.assertEqual(rc, 2, out)
                self.assertIn("malformed baseline: %s" % path, out)
                self.assertIn(why, out)
        rc, out = gate(CLEAN, "--baseline", self.baseline_path("missing.csv"), *ONLY)
        self.assertEqual(rc, 2, out)
        self.assertIn("cannot read", out)

    def test_a_failed_check_fails_the_gate(self):
        scen_dir = os.path.join(self.tmp, "scenarios")
        os.makedirs(scen_dir, exist_ok=True)
        with open(os.path.join(scen_dir, "http-wrong.ini"), "w") as f:
            f.write("[scenario]\nname = http-wrong\nprotocol = http\n\n"
                    "[step index]\npath = /index.html\nexpect_status = 404\n")
        baseline = self.baseline_path("never-written.csv")
        rc, out = gate(CLEAN, "--write-baseline", "--baseline", baseline, "--models", "epoll",
                       "--scenarios-dir", scen_dir, "--scenarios", "http-wrong", "--no-pinned",
                       "--no-loadgen")
        self.assertEqual(rc, 1, out)
        self.assertIn("FAILED RUN: epoll / http-wrong", out)
        self.assertIn("baseline NOT written", out)
        self.assertFalse(os.path.exists(baseline))


if __name__ == "__main__":
    unittest.main()
