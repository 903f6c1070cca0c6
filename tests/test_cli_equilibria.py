import json
import subprocess
import sys

import pytest

PY = [sys.executable, "-m", "equilibria"]
GAME = ["--mechanism", "apa", "--agents", "3", "--items", "3", "--cost", "quadratic:0.1"]


def run(args):
    return subprocess.run(PY + args, capture_output=True, text=True, timeout=300)


def test_best_response_equilibria_check_threshold_json():
    r = run(["best-response", *GAME, "--peer-effort", "1", "--peer-report", "honest", "--json"])
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {"effort", "report", "utility"} <= d.keys()
    r = run(["equilibria", *GAME, "--json"])
    eqs = json.loads(r.stdout)["equilibria"]
    assert eqs and all({"effort", "report", "utility", "regret", "stable"} <= e.keys() for e in eqs)
    r = run(["check", *GAME, "--json"])
    d = json.loads(r.stdout)
    assert all(d[k]["holds"] in (True, False, None) and "evidence" in d[k] for k in ("UEI", "omega_BNIC", "EC"))
    r = run(["threshold", "--property", "UEI", *GAME, "--json"])
    assert json.loads(r.stdout)["z_over_k"] > 0


@pytest.mark.parametrize("bad", [["--w-max", "0"], ["--cost", "cubic:0.1"], ["--cost", "quadratic"],
                                 ["--cost", "quadratic:abc"], ["--tol", "0"], ["--tol", "-1"]])
def test_bad_input_exits_2_with_one_line(bad):
    r = run(["check", "--mechanism", "ppa", *bad])
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_design_json_and_infeasible():
    r = run(["design", "--target-effort", "2", "--cost", "quadratic:0.1", "--agents", "3", "--items", "3",
             "--json"])
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["feasible"] and d["expected_payment"] > 0
    assert {"pair", "triple"} <= d["table"].keys() and d["verification"]["regret"] < 1e-6
    assert {"PPA", "BSST", "APA", "DG13", "CA"} <= d["baselines"].keys()
    r = run(["design", "--target-effort", "2", "--cost", "quadratic:0.1", "--budget", "0.5", "--json"])
    assert r.returncode == 0 and json.loads(r.stdout)["feasible"] is False
    r = run(["design", "--target-effort", "9", "--cost", "quadratic:0.1"])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
