"""``--strategy-space extended`` and ``--robust-to-conventions`` on ``python -m equilibria`` (in process)."""
import json

import pytest

from tests.test_cli_equilibria import cli

PPA = ["--mechanism", "ppa", "--agents", "3", "--items", "3", "--cost", "quadratic:0.1"]


def test_best_response_against_the_convention(capsys):
    code, out, err = cli(capsys, ["best-response", *PPA, "--peer-effort", "0", "--peer-report", "convention",
                                  "--strategy-space", "extended", "--json"])
    assert code == 0, err
    d = json.loads(out)
    assert d["strategy_space"] == "extended" and d["convention_prob"] == 1.0 and d["informed"] is False
    assert d["utility"] == pytest.approx(6.0, rel=1e-12)          # z T_P: everyone agrees on every pair


@pytest.mark.parametrize("extra, flag", [
    (["--peer-report", "convention"], "--strategy-space"),
    (["--peer-convention-prob", "0.5"], "--strategy-space"),
    (["--peer-report", "convention", "--peer-convention-prob", "0.5", "--strategy-space", "extended"],
     "--peer-convention-prob"),
    (["--peer-convention-prob", "1.5", "--strategy-space", "extended"], "--peer-convention-prob"),
    (["--strategy-space", "mixed"], "--strategy-space"),
])
def test_refused(capsys, extra, flag):
    code, out, err = cli(capsys, ["best-response", *PPA, "--peer-effort", "1", *extra])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and flag in err and "Traceback" not in err


def test_extended_check_and_equilibria(capsys):
    code, out, err = cli(capsys, ["check", *PPA, "--strategy-space", "extended", "--json"])
    assert code == 0, err
    d = json.loads(out)
    assert d["strategy_space"] == "extended"
    assert {"UEI", "omega_BNIC", "EC", "collusion_proof", "coalition_proof"} <= d.keys()
    assert d["collusion_proof"]["holds"] is False                  # the convention pays 6 > U* = 4.08
    code, out, err = cli(capsys, ["equilibria", *PPA, "--strategy-space", "extended"])
    assert code == 0, err
    assert "convention" in out and "complete" in out


def test_extended_threshold_collusion_never_for_ppa(capsys):
    code, out, err = cli(capsys, ["threshold", *PPA, "--strategy-space", "extended", "--property",
                                  "collusion_proof", "--json"])
    assert code == 0, err
    assert json.loads(out)["never"] is True


def test_extended_refuses_heterogeneous_costs(capsys):
    code, out, err = cli(capsys, ["check", "--mechanism", "ppa", "--cost", "quadratic:0.1,quadratic:0.2,linear:0.1",
                                  "--strategy-space", "extended"])
    assert code == 2 and "--strategy-space" in err and len(err.strip().splitlines()) == 1
