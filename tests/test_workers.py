"""Pool workers die with their parent (issue 13, item 4): SIGKILL the parent, no worker survives."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from agents._workers import exit_with_parent

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX process semantics")

# The parent starts a spawn pool whose workers sleep for a minute, prints their pids, then waits.
PARENT = textwrap.dedent("""
    import multiprocessing as mp, os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from agents._workers import exit_with_parent

    def where(_):
        return os.getpid()

    def nap(_):
        time.sleep(60)

    if __name__ == "__main__":
        use_prctl = sys.argv[1] == "prctl"
        ex = ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"), initializer=exit_with_parent,
                                 initargs=(os.getpid(), 0.1, use_prctl))
        pids = set()
        while len(pids) < 2:           # both workers started and initialised
            pids |= set(ex.map(where, range(8)))
        for _ in range(2):
            ex.submit(nap, 0)          # both workers now busy in the middle of a task
        print(" ".join(map(str, sorted(pids))), flush=True)
        time.sleep(120)
""")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (dead, not yet reaped by the new parent) counts as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


@pytest.mark.parametrize("how", ["prctl", "watchdog"])
def test_workers_die_after_sigkill_of_parent(tmp_path, how):
    if how == "prctl" and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE, text=True, env=env,
                            cwd=str(tmp_path))
    try:
        line = proc.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        time.sleep(0.3)               # the workers are inside nap()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 5.0
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        survivors = [p for p in pids if _alive(p)]
        assert not survivors, f"workers {survivors} outlived their SIGKILLed parent ({how})"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in locals().get("pids", []):
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_parent_already_gone_exits_at_once():
    # the expected parent is not this process's parent: it must end itself instead of returning
    code = "import os; from agents._workers import exit_with_parent; exit_with_parent(os.getppid() + 10**6); print('survived')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "survived" not in r.stdout
    assert r.returncode == 128 + signal.SIGTERM


def test_reports_mechanism_and_rejects_bad_poll():
    code = ("import os; from agents._workers import exit_with_parent; "
            "print(exit_with_parent(os.getppid()), exit_with_parent(os.getppid(), prctl=False))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    expected = "prctl" if sys.platform.startswith("linux") else "watchdog"
    assert r.stdout.split() == [expected, "watchdog"], r.stderr
    with pytest.raises(ValueError, match="poll"):
        exit_with_parent(os.getppid(), poll=0)


def _children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_report_workers_die_with_a_killed_report(tmp_path):
    # the real case: kill -9 of `python -m equilibria report` while its pool works on the cells
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "equilibria", "report", "--out", str(tmp_path / "r"),
                             "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    workers = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(workers) < 2:
            workers = [c for c in _children(proc.pid) if "spawn_main" in open(f"/proc/{c}/cmdline").read()]
            time.sleep(0.1)
        assert len(workers) == 2, "the report's pool did not start"
        time.sleep(1.0)                         # inside the cells
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 5.0
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.05)
        assert not [p for p in workers if _alive(p)], "report workers outlived their SIGKILLed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
