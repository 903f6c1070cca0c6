"""``python -m equilibria``: every subcommand in process (``main(argv)`` with ``capsys``), one subprocess
smoke test.  More bad inputs: ``tests/test_bad_inputs.py``."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from equilibria.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
GAME = ["--mechanism", "apa", "--agents", "3", "--items", "3", "--cost", "quadratic:0.1"]


def cli(capsys, args):
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_subprocess_smoke():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "equilibria", "best-response", "--mechanism", "ppa", "--peer-effort",
                        "1", "--json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert {"effort", "report", "utility"} <= json.loads(r.stdout).keys()
    bad = subprocess.run([sys.executable, "-m", "equilibria", "check", "--tol", "0"], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--tol" in bad.stderr


def test_best_response_equilibria_check_threshold_json(capsys):
    code, out, err = cli(capsys, ["best-response", *GAME, "--peer-effort", "1", "--peer-report", "honest", "--json"])
    assert code == 0, err
    d = json.loads(out)
    assert {"effort", "report", "utility"} <= d.keys()
    code, out, err = cli(capsys, ["equilibria", *GAME, "--json"])
    eqs = json.loads(out)["equilibria"]
    assert eqs and all({"effort", "report", "utility", "regret", "stable"} <= e.keys() for e in eqs)
    code, out, err = cli(capsys, ["check", *GAME, "--json"])
    d = json.loads(out)
    assert all(d[k]["holds"] in (True, False, None) and "evidence" in d[k] for k in ("UEI", "omega_BNIC", "EC"))
    code, out, err = cli(capsys, ["threshold", "--property", "UEI", *GAME, "--json"])
    assert code == 0 and json.loads(out)["z_over_k"] > 0
    # text output never prints inf or nan
    code, out, err = cli(capsys, ["threshold", "--property", "UEI", "--mechanism", "apa", "--cost", "linear:0.5"])
    assert code == 0 and "inf" not in out.replace("informed", "") and "nan" not in out


@pytest.mark.parametrize("bad", [["--w-max", "0"], ["--cost", "cubic:0.1"], ["--cost", "quadratic"],
                                 ["--cost", "quadratic:abc"], ["--tol", "0"], ["--tol", "-1"]])
def test_bad_input_exits_2_with_one_line(bad, capsys):
    code, out, err = cli(capsys, ["check", "--mechanism", "ppa", *bad])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and out == ""


def test_design_json_and_infeasible(capsys):
    code, out, err = cli(capsys, ["design", "--target-effort", "2", "--cost", "quadratic:0.1", "--agents", "3",
                                  "--items", "3", "--json"])
    assert code == 0, err
    d = json.loads(out)
    assert d["feasible"] and d["expected_payment"] > 0 and d["status"] == "optimal"
    assert {"pair", "triple"} <= d["table"].keys() and d["verification"]["regret"] < 1e-6
    assert {"PPA", "BSST", "APA", "DG13", "CA"} <= d["baselines"].keys()
    code, out, err = cli(capsys, ["design", "--target-effort", "2", "--cost", "quadratic:0.1", "--budget", "0.5",
                                  "--json"])
    d = json.loads(out)
    assert code == 0 and d["feasible"] is False and d["status"] == "infeasible" and d["solver_status"] == "infeasible"
    assert d["binding"] and d["binding"][0].startswith("budget 0.5")
    # text: infeasible with the cvxpy status and the conflicting constraint, never "optimal"
    code, out, err = cli(capsys, ["design", "--target-effort", "2", "--cost", "quadratic:0.1", "--budget", "0.5"])
    assert code == 0 and out.startswith("infeasible (cvxpy status: infeasible)") and "budget 0.5" in out
    assert "optimal" not in out
    code, out, err = cli(capsys, ["design", "--target-effort", "9", "--cost", "quadratic:0.1"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--target-effort" in err


def test_design_mixed_types_that_no_rule_can_satisfy(capsys):
    code, out, err = cli(capsys, ["design", "--target-effort", "1", "--cost", "quadratic:0.1,quadratic:0.2"])
    assert code == 0, err
    assert out.startswith("infeasible (cvxpy status: not solved)") and "first-order condition" in out


def test_report_refuses_bad_output_before_any_work(tmp_path, capsys):
    f = tmp_path / "a_file"
    f.write_text("x")
    code, out, err = cli(capsys, ["report", "--out", str(f)])
    assert code == 2 and "--out" in err and len(err.strip().splitlines()) == 1
    code, out, err = cli(capsys, ["report", "--out", str(f / "sub")])
    assert code == 2 and "--out" in err
    # a bad argument after --out: the directory is not created
    code, out, err = cli(capsys, ["report", "--out", str(tmp_path / "new"), "--agents", "2"])
    assert code == 2 and "--agents" in err and not (tmp_path / "new").exists()


def test_help_shows_the_defaults_of_the_code(capsys):
    # the defaults in --help come from the parser (a formatter), so they cannot go stale (issue 13: --tol)
    import argparse

    from equilibria.__main__ import build_parser

    subs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, sub in subs.items():
        code, out, err = cli(capsys, [name, "--help"])
        assert code == 0, err
        flat = " ".join(out.split())
        for action in sub._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert f"(default: {action.default})" in flat, (name, action.dest)
    tol = {name: next(a.default for a in sub._actions if a.dest == "tol") for name, sub in subs.items()
           if any(a.dest == "tol" for a in sub._actions)}
    assert tol == {"best-response": 1e-9, "equilibria": 1e-7, "check": 1e-7, "threshold": 1e-4, "atlas": 1e-7}
