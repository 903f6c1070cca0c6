"""``python -m mechanisms payoff``: JSON output, exact vs Monte Carlo, and one-line errors with exit code 2."""
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


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "mechanisms", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_subprocess_exact_and_mc_agree():
    common = ["payoff", "--mechanism", "bsst", "--agents", "4", "--items", "4", "--effort", "1.5",
              "--peer-effort", "1.0", "--peer-report", "dishonest", "--prior", "uniform", "--z", "2", "--y", "0.5",
              "--json"]
    ex = run(*common)
    assert ex.returncode == 0, ex.stderr
    d = json.loads(ex.stdout)
    assert d["method"] == "exact" and d["stderr"] is None
    assert d["mechanism"] == "bsst" and d["n_agents"] == 4 and d["n_items"] == 4 and d["prior"] == "uniform"
    assert d["mechanism_params"] == {"z": 2.0, "y": 0.5}
    assert d["effort"] == 1.5 and d["report"] == "honest" and d["peer_report"] == "dishonest"
    want = BSST(2.0, 0.5).expected_payment((1.5, "h"), (1.0, "dishonest"), n_agents=4, n_items=4,
                                           prior="uniform").expected_payment
    assert d["expected_payment"] == pytest.approx(want, rel=1e-12)

    mc = run(*common, "--method", "mc", "--samples", "40000", "--seed", "3")
    assert mc.returncode == 0, mc.stderr
    m = json.loads(mc.stdout)
    assert m["method"] == "mc" and m["samples"] == 40000 and m["seed"] == 3
    assert m["stderr"] > 0
    assert abs(m["expected_payment"] - d["expected_payment"]) < 4 * m["stderr"]
    assert mc.stderr == ""


def test_subprocess_text_output_and_bad_input():
    ok = run("payoff", "--effort", "1", "--peer-effort", "1", "--coherence", "scc", "--items", "4")
    assert ok.returncode == 0
    assert "E[M_i] =" in ok.stdout and "(exact)" in ok.stdout
    value = float(ok.stdout.split("E[M_i] = ")[1].split()[0])
    assert value == pytest.approx(APA(1.0, "scc").expected_payment((1.0, "h"), (1.0, "h"), n_agents=3,
                                                                   n_items=4).expected_payment, rel=1e-9)
    for args, param in [
        (("payoff", "--effort", "-1", "--peer-effort", "1"), "effort"),
        (("payoff", "--effort", "1"), "peer-effort"),
    ]:
        r = run(*args)
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert param in lines[0]
        assert "Traceback" not in r.stderr
        assert r.stdout == ""


@pytest.mark.parametrize("args, param", [
    (["--effort", "-1", "--peer-effort", "1"], "effort"),
    (["--effort", "nan", "--peer-effort", "1"], "effort"),
    (["--effort", "inf", "--peer-effort", "1"], "effort"),
    (["--effort", "1", "--peer-effort", "1", "--agents", "2"], "n_agents"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "bsst", "--items", "2"], "n_items"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "apa", "--items", "2"], "n_items"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "bsst", "--y", "1"], "y"),
    (["--effort", "1", "--peer-effort", "1", "--z", "0"], "z"),
    (["--effort", "1", "--peer-effort", "1", "--mechanism", "vcg"], "mechanism"),
    (["--effort", "1", "--peer-effort", "1", "--prior", "cauchy"], "prior"),
    (["--effort", "1", "--peer-effort", "1", "--coherence", "dag"], "coherence"),
    (["--effort", "1", "--peer-effort", "1", "--report", "lie"], "report"),
    (["--effort", "1", "--peer-effort", "1", "--method", "bayes"], "method"),
    (["--effort", "1", "--peer-effort", "1", "--method", "mc", "--samples", "1"], "samples"),
    (["--effort", "abc", "--peer-effort", "1"], "--effort"),
    (["--effort", "1"], "--peer-effort"),
    (["--effort", "1", "--peer-effort", "1", "--bogus"], "--bogus"),
])
def test_bad_input_one_line_exit_2(args, param, capsys):
    try:
        code = main(["payoff", *args])
    except SystemExit as exc:          # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert param in lines[0]
    assert "Traceback" not in err
    assert out == ""


def test_missing_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
