"""``python -m mechanisms payoff``: JSON output, exact vs Monte Carlo, and one-line errors with exit code 2.

In process (``main(argv)`` with ``capsys``); one subprocess smoke test runs the real ``python -m``.
More bad inputs: ``tests/test_bad_inputs.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mechanisms import APA, BSST
from mechanisms.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys, *args):
    """``(exit code, stdout, stderr)`` of ``main(args)`` run in this process."""
    try:
        code = main(list(args))
    except SystemExit as exc:          # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_subprocess_smoke():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "mechanisms", "payoff", "--effort", "1", "--peer-effort", "1",
                        "--json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode == 0 and r.stderr == ""
    want = APA().expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=3).expected_payment
    assert json.loads(r.stdout)["expected_payment"] == pytest.approx(want, rel=1e-12)
    bad = subprocess.run([sys.executable, "-m", "mechanisms", "payoff", "--effort", "1"], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--peer-effort" in bad.stderr


def test_exact_and_mc_agree(capsys):
    common = ["payoff", "--mechanism", "bsst", "--agents", "4", "--items", "4", "--effort", "1.5",
              "--peer-effort", "1.0", "--peer-report", "dishonest", "--prior", "uniform", "--z", "2", "--y", "0.5",
              "--json"]
    code, out, err = cli(capsys, *common)
    assert code == 0, err
    d = json.loads(out)
    assert d["method"] == "exact" and d["stderr"] is None
    assert d["mechanism"] == "bsst" and d["n_agents"] == 4 and d["n_items"] == 4 and d["prior"] == "uniform"
    assert d["mechanism_params"] == {"z": 2.0, "y": 0.5}
    assert d["effort"] == 1.5 and d["report"] == "honest" and d["peer_report"] == "dishonest"
    want = BSST(2.0, 0.5).expected_payment((1.5, "h"), (1.0, "dishonest"), n_agents=4, n_items=4,
                                           prior="uniform").expected_payment
    assert d["expected_payment"] == pytest.approx(want, rel=1e-12)

    code, out, err = cli(capsys, *common, "--method", "mc", "--samples", "40000", "--seed", "3")
    assert code == 0, err
    m = json.loads(out)
    assert m["method"] == "mc" and m["samples"] == 40000 and m["seed"] == 3
    assert m["stderr"] > 0
    assert abs(m["expected_payment"] - d["expected_payment"]) < 4 * m["stderr"]
    assert err == ""


def test_text_output(capsys):
    code, out, err = cli(capsys, "payoff", "--effort", "1", "--peer-effort", "1", "--coherence", "scc", "--items", "4")
    assert code == 0, err
    assert "E[M_i] =" in out and "(exact)" in out
    value = float(out.split("E[M_i] = ")[1].split()[0])
    assert value == pytest.approx(APA(1.0, "scc").expected_payment((1.0, "h"), (1.0, "h"), n_agents=3,
                                                                   n_items=4).expected_payment, rel=1e-9)


@pytest.mark.parametrize("args, flag", [
    (["--effort", "-1", "--peer-effort", "1"], "--effort"),
    (["--effort", "nan", "--peer-effort", "1"], "--effort"),
    (["--effort", "inf", "--peer-effort", "1"], "--effort"),
    (["--effort", "1", "--peer-effort", "1", "--agents", "2"], "--agents"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "bsst", "--items", "2"], "--items"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "apa", "--items", "2"], "--items"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "bsst", "--y", "1"], "--y"),
    (["--effort", "1", "--peer-effort", "1", "--z", "0"], "--z"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "vcg"], "--mechanism"),
    (["--effort", "1", "--peer-effort", "1", "--prior", "cauchy"], "--prior"),
    (["--effort", "1", "--peer-effort", "1", "--coherence", "dag"], "--coherence"),
    (["--effort", "1", "--peer-effort", "1", "--report", "lie"], "report"),
    (["--effort", "1", "--peer-effort", "1", "--method", "bayes"], "--method"),
    (["--effort", "1", "--peer-effort", "1", "--method", "mc", "--samples", "1"], "--samples"),
    (["--effort", "abc", "--peer-effort", "1"], "--effort"),
    (["--effort", "1"], "--peer-effort"),
    (["--effort", "1", "--peer-effort", "1", "--bogus"], "--bogus"),
])
def test_bad_input_one_line_exit_2(args, flag, capsys):
    code, out, err = cli(capsys, "payoff", *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert flag in lines[0]
    assert "Traceback" not in err
    assert out == ""


def test_missing_command(capsys):
    code, out, err = cli(capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_help_shows_the_defaults_of_the_code(capsys):
    from mechanisms.__main__ import build_parser

    code, out, err = cli(capsys, "payoff", "--help")
    assert code == 0
    payoff = build_parser()._subparsers._group_actions[0].choices["payoff"]
    flat = " ".join(out.split())
    for action in payoff._actions:
        if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
            assert f"(default: {action.default})" in flat, action.dest
