"""Every bad input is answered cleanly (issue 13, items 2 and 3).

One table of bad inputs across ``python -m mechanisms``, ``python -m equilibria`` (every subcommand) and
the public API of ``agents``, ``mechanisms`` and ``equilibria``:

* a CLI case exits with status 2, prints exactly one line on stderr that names the flag the user typed,
  nothing on stdout, and no traceback;
* an API case raises ``ValueError`` whose message names the keyword.

Flags that a subcommand cannot honour and conflicting flags are bad inputs too, and output paths are
checked before any work (each such case would otherwise run for a while: the table stays fast only
because they are refused first).
"""
from __future__ import annotations

import math

import pytest

P = ["payoff", "--effort", "1", "--peer-effort", "1"]     # a valid payoff call to spoil

# (cli, argv, the flag that the message must name)
CLI = [
    # -- python -m mechanisms payoff: numbers
    ("mechanisms", ["payoff", "--effort", "1e308", "--peer-effort", "1"], "--effort"),
    ("mechanisms", ["payoff", "--effort", "1", "--peer-effort", "1e308"], "--peer-effort"),
    ("mechanisms", ["payoff", "--effort", "-1", "--peer-effort", "1"], "--effort"),
    ("mechanisms", ["payoff", "--effort", "1", "--peer-effort", "-0.5"], "--peer-effort"),
    ("mechanisms", ["payoff", "--effort", "nan", "--peer-effort", "1"], "--effort"),
    ("mechanisms", ["payoff", "--effort", "1", "--peer-effort", "inf"], "--peer-effort"),
    ("mechanisms", ["payoff", "--effort", "1e999", "--peer-effort", "1"], "--effort"),
    ("mechanisms", ["payoff", "--effort", "one", "--peer-effort", "1"], "--effort"),
    ("mechanisms", P + ["--z", "1e308"], "--z"),                   # the payment would overflow: never "inf"
    ("mechanisms", P + ["--z", "inf"], "--z"),
    ("mechanisms", P + ["--z", "0"], "--z"),
    ("mechanisms", P + ["--z", "-2"], "--z"),
    ("mechanisms", P + ["--mechanism", "bsst", "--y", "1.5"], "--y"),
    ("mechanisms", P + ["--mechanism", "bsst", "--y", "nan"], "--y"),
    # sizes
    ("mechanisms", P + ["--agents", "2"], "--agents"),
    ("mechanisms", P + ["--agents", "1000000000"], "--agents"),  # used to build huge arrays (a hang)
    ("mechanisms", P + ["--agents", "3.5"], "--agents"),
    ("mechanisms", P + ["--items", "2.7"], "--items"),
    ("mechanisms", P + ["--items", "1"], "--items"),
    ("mechanisms", P + ["--items", "10000000"], "--items"),
    ("mechanisms", P + ["--method", "mc", "--samples", "1"], "--samples"),
    ("mechanisms", P + ["--method", "mc", "--samples", "0"], "--samples"),
    ("mechanisms", P + ["--method", "mc", "--samples", str(10 ** 12)], "--samples"),   # used to hang
    ("mechanisms", P + ["--method", "mc", "--seed", "-1"], "--seed"),
    ("mechanisms", P + ["--method", "mc", "--seed", "1.5"], "--seed"),
    # choices
    ("mechanisms", P + ["--mechanism", "vcg"], "--mechanism"),
    ("mechanisms", P + ["--prior", "cauchy"], "--prior"),
    ("mechanisms", P + ["--coherence", "dag"], "--coherence"),
    ("mechanisms", P + ["--report", "lie"], "--report"),
    ("mechanisms", P + ["--peer-report", "maybe"], "--peer-report"),
    ("mechanisms", P + ["--method", "bayes"], "--method"),
    ("mechanisms", P + ["--convention-prob", "1.5"], "--convention-prob"),
    ("mechanisms", P + ["--report", "convention", "--convention-prob", "0.5"], "--convention-prob"),
    # flags the command cannot honour
    ("mechanisms", P + ["--mechanism", "ppa", "--y", "0.2"], "--y"),
    ("mechanisms", P + ["--mechanism", "bsst", "--coherence", "scc"], "--coherence"),
    ("mechanisms", P + ["--samples", "1000"], "--samples"),          # exact method: no samples
    ("mechanisms", P + ["--seed", "3"], "--seed"),
    # syntax
    ("mechanisms", ["payoff", "--effort", "1"], "--peer-effort"),
    ("mechanisms", P + ["--bogus"], "--bogus"),
    ("mechanisms", [], "command"),
    ("mechanisms", ["pay"], "pay"),
    # -- python -m equilibria best-response
    ("equilibria", ["best-response", "--peer-effort", "1e308"], "--peer-effort"),
    ("equilibria", ["best-response", "--peer-effort", "-1"], "--peer-effort"),
    ("equilibria", ["best-response", "--peer-effort", "1", "--peer-report", "lie"], "--peer-report"),
    ("equilibria", ["best-response", "--peer-effort", "1", "--agent", "1"], "--agent"),
    ("equilibria", ["best-response", "--peer-effort", "1", "--cost", "quadratic:0.1,linear:0.3,sqrt:0.2",
                    "--agent", "3"], "--agent"),
    ("equilibria", ["best-response", "--peer-effort", "1", "--seed", "1"], "--seed"),
    ("equilibria", ["best-response", "--peer-effort", "1", "--tol", "0"], "--tol"),
    ("equilibria", ["best-response", "--peer-effort", "1", "--z", "1e308"], "--z"),
    # equilibria
    ("equilibria", ["equilibria", "--seed", "3"], "--seed"),
    ("equilibria", ["equilibria", "--cost", "quadratic:0.1,quadratic:0.2", "--seed", "-1"], "--cost"),
    ("equilibria", ["equilibria", "--cost", "quadratic:0.1,quadratic:0.2,quadratic:0.3", "--seed", "-1"], "--seed"),
    ("equilibria", ["equilibria", "--w-max", "0"], "--w-max"),
    ("equilibria", ["equilibria", "--w-max", "inf"], "--w-max"),
    ("equilibria", ["equilibria", "--agents", "1000000000"], "--agents"),
    ("equilibria", ["equilibria", "--mechanism", "ppa", "--coherence", "scc"], "--coherence"),
    # check
    ("equilibria", ["check", "--cost", "power:1"], "--cost"),                 # used to mean p = 1.5
    ("equilibria", ["check", "--cost", "cubic:0.1"], "--cost"),
    ("equilibria", ["check", "--cost", "quadratic"], "--cost"),
    ("equilibria", ["check", "--cost", "quadratic:-1"], "--cost"),
    ("equilibria", ["check", "--cost", "quadratic:inf"], "--cost"),
    ("equilibria", ["check", "--tol", "-1"], "--tol"),
    ("equilibria", ["check", "--tol", "nan"], "--tol"),
    ("equilibria", ["check", "--mechanism", "ppa", "--y", "0.3"], "--y"),
    ("equilibria", ["check", "--prior", "cauchy"], "--prior"),
    ("equilibria", ["check", "--items", "2.7"], "--items"),
    # threshold
    ("equilibria", ["threshold"], "--property"),
    ("equilibria", ["threshold", "--property", "EC"], "--property"),
    ("equilibria", ["threshold", "--property", "UEI", "--tol", "1e-3"], "--tol"),   # UEI cannot use --tol
    ("equilibria", ["threshold", "--property", "omega_BNIC", "--tol", "0.9"], "--tol"),
    ("equilibria", ["threshold", "--property", "UEI", "--cost", "quadratic:0.1,quadratic:0.2,linear:1"], "--cost"),
    ("equilibria", ["threshold", "--property", "UEI", "--seed", "2"], "--seed"),
    # design: its own rule, so no game-rule flags; conflicts; the figure path before the minute of work
    ("equilibria", ["design", "--target-effort", "1", "--mechanism", "ppa"], "--mechanism"),
    ("equilibria", ["design", "--target-effort", "1", "--z", "2"], "--z"),
    ("equilibria", ["design", "--target-effort", "1", "--y", "0.2"], "--y"),
    ("equilibria", ["design", "--target-effort", "1", "--coherence", "scc"], "--coherence"),
    ("equilibria", ["design", "--target-effort", "1", "--tol", "1e-3"], "--tol"),
    ("equilibria", ["design", "--target-effort", "1", "--maximise-faithfulness", "--budget", "1"],
     "--maximise-faithfulness"),
    ("equilibria", ["design", "--target-effort", "1", "--no-uei", "--uei-margin", "0.01"], "--no-uei"),
    ("equilibria", ["design", "--maximise-faithfulness"], "--budget"),
    ("equilibria", ["design"], "--target-effort"),
    ("equilibria", ["design", "--target-effort", "9"], "--target-effort"),
    ("equilibria", ["design", "--target-effort", "0"], "--target-effort"),
    ("equilibria", ["design", "--target-effort", "1", "--budget", "-1"], "--budget"),
    ("equilibria", ["design", "--target-effort", "1", "--family", "vcg"], "--family"),
    ("equilibria", ["design", "--target-effort", "1", "--uei-margin", "-1"], "--uei-margin"),
    ("equilibria", ["design", "--target-effort", "1", "--w-max", "-5"], "--w-max"),
    ("equilibria", ["design", "--target-effort", "1", "--figure", "{missing}/curve.png"], "--figure"),
    ("equilibria", ["design", "--target-effort", "1", "--figure", "{tmp}/curve.txt"], "--figure"),
    ("equilibria", ["design", "--target-effort", "1", "--figure", "{tmp}"], "--figure"),
    ("equilibria", ["design", "--target-effort", "1", "--figure", "{file}/curve.png"], "--figure"),
    ("equilibria", ["design", "--target-effort", "1", "--cost", "quadratic:0.1,linear:0.3",
                    "--figure", "{tmp}/c.png"], "--figure"),
    # report: --out and every argument checked before any work
    ("equilibria", ["report", "--out", "{file}"], "--out"),
    ("equilibria", ["report", "--out", "{file}/sub"], "--out"),
    ("equilibria", ["report", "--out", "{tmp}/r", "--agents", "2"], "--agents"),
    ("equilibria", ["report", "--out", "{tmp}/r", "--items", "1"], "--items"),
    ("equilibria", ["report", "--out", "{tmp}/r", "--jobs", "0"], "--jobs"),
    ("equilibria", ["report", "--out", "{tmp}/r", "--jobs", "1000"], "--jobs"),
    ("equilibria", ["report", "--out", "{tmp}/r", "--w-max", "0"], "--w-max"),
    ("equilibria", ["report", "--out", "{tmp}/r", "--prior", "cauchy"], "--prior"),
    ("equilibria", ["report", "--out", "{tmp}/r", "--mechanism", "ppa"], "--mechanism"),
]


def _run(cli, argv):
    import importlib

    main = importlib.import_module(f"{cli}.__main__").main
    try:
        return main(argv)
    except SystemExit as exc:          # argparse
        return exc.code


@pytest.mark.parametrize("cli, argv, flag", CLI, ids=[f"{c}-{' '.join(a)}"[:90] for c, a, _ in CLI])
def test_cli_bad_input(cli, argv, flag, tmp_path, capsys):
    file = tmp_path / "a_file"
    file.write_text("not a directory")
    argv = [a.format(tmp=tmp_path, file=file, missing=tmp_path / "missing") for a in argv]
    code = _run(cli, argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err and out == ""
    assert flag in lines[0], lines[0]
    # nothing was created before the arguments were refused
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


# (callable, the keyword that the message must name)
def _api():
    from agents import (NormalPrior, Strategy, UniformPrior, as_prior, make_cost, make_profile, parse_cost,
                        parse_report, simulate_reports)
    from equilibria import (Game, best_response, check_properties, design_rule, symmetric_equilibria,
                            threshold)
    from mechanisms import APA, BSST, PPA, make_mechanism, principal_utility

    game = lambda: Game(PPA(), "quadratic:0.1", 3, 3)      # noqa: E731
    pay = APA().expected_payment
    one = Strategy(1.0)
    return [
        (lambda: Strategy(1e308), "effort"),
        (lambda: PPA(z=1e308), "z"),                       # payments would overflow to inf
        (lambda: Strategy(1.0, "honest", convention_prob=1.5), "convention_prob"),
        (lambda: Game(PPA(), "quadratic:0.1", 3, 3).mechanism.extended_curve([1.0], [2.0], [1.0, 1.0], [0.0, 0.0], 3),
         "own_q"),
        (lambda: Strategy(-1.0), "effort"),
        (lambda: Strategy(math.nan), "effort"),
        (lambda: Strategy(1.0, "lie"), "report"),
        (lambda: Strategy("1"), "effort"),
        (lambda: parse_report("maybe"), "report"),
        (lambda: make_profile(one, one), "n_agents"),
        (lambda: make_profile(one, [one, one], n_agents=4), "n_agents"),
        (lambda: parse_cost("power:1"), "cost"),
        (lambda: parse_cost("quadratic:-1"), "k"),
        (lambda: parse_cost("cubic:1"), "cost"),
        (lambda: parse_cost("quadratic:x"), "cost"),
        (lambda: make_cost("power", 1.0), "p"),
        (lambda: make_cost("linear", 1.0, 2.0), "cost"),
        (lambda: as_prior("cauchy"), "prior"),
        (lambda: NormalPrior(scale=0.0), "scale"),
        (lambda: UniformPrior(1.0, 0.0), "high"),
        (lambda: simulate_reports([1.0, 1.0, 1.0], 3, 0, seed=0), "n_trials"),
        (lambda: simulate_reports([1.0, 1.0, 1.0], 3, 10, seed=-1), "seed"),
        (lambda: PPA(z=0.0), "z"),
        (lambda: PPA(z=math.inf), "z"),
        (lambda: BSST(1.0, 2.0), "y"),
        (lambda: APA(coherence="dag"), "coherence"),
        (lambda: make_mechanism("vcg"), "mechanism"),
        (lambda: pay(one, one, n_agents=2, n_items=3), "n_agents"),
        (lambda: pay(one, one, n_agents=3, n_items=2.7), "n_items"),
        (lambda: pay(one, one, n_agents=3, n_items=3, method="bayes"), "method"),
        (lambda: pay(one, one, n_agents=3, n_items=3, method="mc", samples=1, seed=0), "samples"),
        (lambda: pay(one, one, n_agents=3, n_items=3, method="mc", samples=0, seed=0), "samples"),
        (lambda: pay(one, one, n_agents=3, n_items=3, method="mc", samples=100, seed=-1), "seed"),
        (lambda: pay(one, one, n_agents=3, n_items=3, method="mc", samples=100, seed="a"), "seed"),
        (lambda: pay(one, one, n_agents=3, n_items=3, prior="cauchy"), "prior"),
        (lambda: principal_utility([one] * 3, n_items=1), "n_items"),
        (lambda: Game(PPA(), "quadratic:0.1", 2, 3), "n_agents"),
        (lambda: Game(PPA(), "quadratic:0.1", 10 ** 9, 3), "n_agents"),                 # used to hang
        (lambda: pay(one, one, n_agents=10 ** 9, n_items=3), "n_agents"),               # used to hang
        (lambda: pay(one, one, n_agents=3, n_items=3, method="mc", samples=10 ** 12, seed=0), "samples"),
        (lambda: simulate_reports([1.0, 1.0, 1.0], 3, 10 ** 10, seed=0), "n_trials"),
        (lambda: Game(PPA(), "quadratic:0.1", 3, 3, w_max=0.0), "w_max"),
        (lambda: Game(PPA(), "power:0.1", 3, 3), "cost"),
        (lambda: Game(PPA(), ["quadratic:0.1", "linear:1"], 3, 3), "cost"),
        (lambda: best_response(game(), Strategy(1.0), tol=0.0), "tol"),
        (lambda: best_response(game(), Strategy(1.0), agent=5), "agent"),
        (lambda: symmetric_equilibria(game(), tol=-1.0), "tol"),
        (lambda: check_properties(game(), tol=math.nan), "tol"),
        (lambda: threshold(game(), "EC"), "property"),
        (lambda: design_rule(0.0), "target_effort"),
        (lambda: design_rule(1.0, family="vcg"), "family"),
        (lambda: design_rule(1.0, budget=-1.0), "budget"),
        (lambda: design_rule(1.0, n_agents=2), "n_agents"),
        (lambda: design_rule(1.0, w_max=math.inf), "w_max"),
    ]


API = _api()


@pytest.mark.parametrize("k", range(len(API)))
def test_api_bad_input(k):
    fn, keyword = API[k]
    with pytest.raises(ValueError) as exc:
        fn()
    msg = str(exc.value)
    assert keyword in msg and "\n" not in msg, msg


def test_report_api_refuses_a_file_as_out(tmp_path):
    from equilibria.report import run_report

    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(ValueError, match="out"):
        run_report(str(f))
    with pytest.raises(ValueError, match="n_jobs"):
        run_report(str(tmp_path / "new"), n_jobs=0)
    assert not (tmp_path / "new").exists()


def test_table_size():
    assert len(CLI) + len(API) >= 80
    assert {c for c, *_ in CLI} == {"mechanisms", "equilibria"}
    assert {a[0] for c, a, _ in CLI if c == "equilibria" and a} >= {
        "best-response", "equilibria", "check", "threshold", "design", "report"}
