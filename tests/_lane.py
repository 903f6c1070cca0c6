"""A second pytest process for a few heavy, self-contained test files (the suite's second lane on 2 cores).

``tests/conftest.py`` starts ``python -m pytest <files> --junitxml=...`` in a child process at the start of a
full run (the default test paths, no option that selects tests), before this process collects, and puts a
:class:`LaneItem` in place of each of those files' tests, under the same node id.  A ``LaneItem`` waits for
the child and reports that test's own outcome: passed, skipped (with the reason) or failed (with the child's
failure text).  Run the files directly (``pytest tests/test_exact.py``) to debug them in process.
"""
import os
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET

import pytest

#: Heavy files that need nothing from the rest of the suite (no shared state, no ordering).
FILES = ("tests/test_equilibria_bruteforce.py", "tests/test_exact.py", "tests/test_exact_large_effort.py",
         "tests/test_equilibria.py", "tests/test_equilibria_certified.py", "tests/test_extended_equilibria.py",
         "tests/test_design.py", "tests/test_custom.py", "tests/test_cli_extended.py", "tests/test_local.py",
         "tests/test_design_infeasible.py", "tests/test_extended_fast.py")
CHILD = "FEEDBACK_MECHANISMS_TEST_LANE"

_state: dict = {}
_lock = threading.Lock()


def start(rootdir):
    """Start the child pytest on :data:`FILES` (once)."""
    with _lock:
        if "proc" in _state:
            return
        tmp = tempfile.mkdtemp(prefix="pytest_lane_")
        xml, log = os.path.join(tmp, "lane.xml"), os.path.join(tmp, "lane.log")
        env = dict(os.environ, **{CHILD: "1"})
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
                f"--junitxml={xml}", *FILES]
        fh = open(log, "w")
        _state.update(proc=subprocess.Popen(argv, cwd=str(rootdir), env=env, stdout=fh, stderr=subprocess.STDOUT),
                      xml=xml, log=log, fh=fh)


def stop():
    """Stop the child if it still runs (none of its tests was kept, or the run was interrupted)."""
    with _lock:
        proc = _state.get("proc")
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


def _results():
    with _lock:
        if "results" not in _state:
            proc = _state["proc"]
            code = proc.wait()
            _state["fh"].close()
            results = {}
            try:
                root = ET.parse(_state["xml"]).getroot()
            except (OSError, ET.ParseError):
                root = None
            for case in (root.iter("testcase") if root is not None else ()):
                key = (case.get("classname"), case.get("name"))
                outcome, text = "passed", ""
                for child in case:
                    if child.tag in ("failure", "error"):
                        outcome, text = "failed", (child.get("message") or "") + "\n" + (child.text or "")
                    elif child.tag == "skipped":
                        outcome, text = "skipped", child.get("message") or ""
                results[key] = (outcome, text)
            with open(_state["log"]) as f:
                tail = f.read()[-3000:]
            _state.update(results=results, code=code, tail=tail)
        return _state["results"]


def _junit_key(nodeid):
    path, *names = nodeid.split("::")
    mod = path[:-3].replace("/", ".") if path.endswith(".py") else path
    return ".".join([mod, *names[:-1]]), names[-1]


class LaneFailure(Exception):
    pass


class LaneItem(pytest.Item):
    """Stands for one test run by the child process; reports that test's outcome."""

    def runtest(self):
        res = _results()
        outcome, text = res.get(_junit_key(self.nodeid), (None, None))
        if outcome is None:
            raise LaneFailure(f"the second test process did not report this test (exit code {_state['code']}); "
                              f"its output ends with:\n{_state['tail']}")
        if outcome == "skipped":
            pytest.skip(text)
        if outcome == "failed":
            raise LaneFailure(text)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, LaneFailure):
            return f"(run in the second test process, tests/_lane.py)\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name
