"""Every bad input to ``python -m crowd_sft`` and the crowd_sft API is answered at once and cleanly
(issue 13, items 2, 3 and 8; ``docs/vocabulary.md``).

CLI cases run in process (``main(argv)`` with ``capsys``): exit status 2, exactly one line on stderr
that names the flag the user typed, no traceback, nothing on stdout, and -- for commands with an
output directory -- nothing created. API cases raise ``ValueError`` naming the parameter. Sizes beyond
what the machine can do are refused with the limit, without allocating anything (each case must
finish well within a second).
"""
from __future__ import annotations

import os
import shutil
import socket
import time

import numpy as np
import pytest

from crowd_sft.__main__ import main


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    afile = base / "a_file.txt"
    afile.write_text("x")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # a port nobody listens on
    return {"FILE": str(afile), "UNDER_FILE": str(afile / "sub"), "NEW": str(base / "new_out"),
            "DEAD": f"tcp://127.0.0.1:{port}"}


R = ["run", "--users", "10", "--groups", "2", "--runs", "1", "--rounds", "5"]
P = ["reproduce", "--users", "10", "--groups", "2", "--runs", "1", "--rounds", "5", "--no-figures", "--no-accurate",
     "--out", "NEW"]
S = ["shapley", "--users", "8"]
E = ["experiment1", "--targets", "2", "--seeds", "2"]

CLI_CASES = [
    # sizes against machine limits: answered at once, with the limit
    (["run", "--users", "1000000000", "--groups", "2"], "--users"),
    (["run", "--users", "1", "--groups", "2"], "--users"),
    (["run", "--users", "5", "--groups", "6"], "--groups"),
    (R + ["--rounds", str(10**12)], "--rounds"),
    (R + ["--runs", str(10**12)], "--runs"),
    (R + ["--runs", "0"], "--runs"),
    (R + ["--kernel-samples", str(10**12)], "--kernel-samples"),
    (R + ["--shapley", "mc", "--mc-evaluations", str(10**12)], "--mc-evaluations"),
    (["experiment1", "--pool-size", str(10**12)], "--pool-size"),
    (["experiment1", "--targets", "1000", "--pool-size", "100000"], "--pool-size"),
    (E + ["--seeds", "1"], "--seeds"),
    (S[:2] + ["1000000000"], "--users"),
    (S + ["--method", "mc", "--max-evaluations", str(10**12)], "--max-evaluations"),
    (["shapley", "--users", "100", "--method", "exact"], "--method exact"),
    # ranges and types, named as typed
    (R + ["--delta", "1.5"], "--delta"),
    (R + ["--delta", "nan"], "--delta"),
    (R + ["--error-prob", "1"], "--error-prob"),
    (R + ["--weight-power", "inf"], "--weight-power"),
    (R + ["--eval", "cos"], "--eval"),
    (R + ["--seed", "-1"], "--seed"),
    (R + ["--seed", "1.5"], "--seed"),
    (E + ["--seed", "-3"], "--seed"),
    (S + ["--seed", "-2"], "--seed"),
    (["reproduce", "--users", "10,x"], "--users"),
    (["reproduce", "--users", "10,10", "--out", "NEW"], "--users"),
    (["run", "--users", "5", "--groups", "2", "--items", "3"], "--items"),          # unknown flag
    # conflicting flags and flags a command cannot honour
    (P + ["--jobs", "0"], "--jobs"),
    (P + ["--dask-local", "0"], "--dask-local"),
    (P + ["--dask-local", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
    (P + ["--scheduler", "DEAD"], "--scheduler"),
    (P + ["--scheduler", "not an address"], "--scheduler"),
    (P + ["--paired", "--unpaired"], "--unpaired"),
    (P[:-2] + ["--shapley", "mc", "--no-accurate", "--out", "NEW"], "--no-accurate"),
    (P + ["--mc-evaluations", "10"], "--mc-evaluations"),
    (R + ["--shapley", "mc", "--kernel-samples", "100"], "--kernel-samples"),
    (R + ["--mc-evaluations", "100"], "--mc-evaluations"),
    (S + ["--game", "true", "--groups", "20"], "--groups"),
    (S + ["--groups", "3"], "--groups"),                   # published game: no tournament to group
    (S + ["--method", "exact", "--target-se", "0.01"], "--target-se"),
    (S + ["--method", "mc", "--target-se", "-1"], "--target-se"),
    (S + ["--method", "exact", "--kernel-variant", "paired"], "--kernel-variant"),
    (S + ["--method", "exact", "--max-evaluations", "100"], "--max-evaluations"),
    (S + ["--method", "closed"], "--method closed"),
    (S + ["--game", "true", "--grouping", "sideways"], "--grouping"),
    (["shapley", "--users", "25", "--game", "true"], "--users"),
    # output paths, checked before any work
    (P[:-1] + ["FILE"], "--out"),
    (P[:-1] + ["UNDER_FILE"], "--out"),
    (P[:-1] + ["/proc/no/such/dir"], "--out"),
    (["beyond", "--runs", "1", "--out", "FILE"], "--out"),
]


@pytest.mark.parametrize("argv, flag", CLI_CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CLI_CASES])
def test_cli_bad_input_is_one_line_exit_2_naming_the_flag(argv, flag, paths, capsys):
    argv = [paths.get(a, a) for a in argv]
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    seconds = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert exc.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error:" in lines[0] and flag in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    assert seconds < 5.0          # answered at once (the dead scheduler is refused by a connection test)
    created = os.path.exists(paths["NEW"])
    shutil.rmtree(paths["NEW"], ignore_errors=True)
    assert not created                        # nothing created before the arguments are checked


def test_cli_bad_input_case_count():
    assert len(CLI_CASES) >= 30


def _api_cases():
    from crowd_sft.experiment1 import run_experiment1, synthetic_targets
    from crowd_sft.games import PublishedGame
    from crowd_sft.shapley import kernel_shap, monte_carlo_shapley, shapley_values
    from crowd_sft.sweep import SweepConfig, run_sweep
    from crowd_sft.tournament import make_instance, run_tournament

    inst = make_instance(6, 0)
    g = PublishedGame(inst.users, inst.expert, "l2")
    small = SweepConfig(users=(10,), groups=(2,), runs=1, rounds=5)
    return [
        (lambda: make_instance(2.7, 0), "n_users"),
        (lambda: make_instance(10**9, 0), "n_users"),
        (lambda: make_instance(10, -1), "seed"),
        (lambda: make_instance(10, 1.5), "seed"),
        (lambda: make_instance(10, "0"), "seed"),
        (lambda: run_tournament(inst.users, inst.expert, inst.x0, n_groups=2.5), "n_groups"),
        (lambda: run_tournament(inst.users, inst.expert, inst.x0, n_groups=2, rounds=10**12), "rounds"),
        (lambda: run_tournament(inst.users, inst.expert, inst.x0, n_groups=2, seed=-5), "seed"),
        (lambda: SweepConfig(users=(2.7,)), "users"),
        (lambda: SweepConfig(runs=10**12), "runs"),
        (lambda: SweepConfig(seed=-1), "seed"),
        (lambda: SweepConfig(kernel_samples=0), "kernel_samples"),
        (lambda: run_sweep(small, n_jobs=0), "n_jobs"),
        (lambda: run_sweep(small, scheduler="tcp://127.0.0.1:1", dask_local=2), "dask_local"),
        (lambda: run_sweep(small, scheduler="tcp://127.0.0.1:1"), "scheduler"),
        (lambda: run_sweep(small, __file__), "out_dir"),
        (lambda: kernel_shap(g, n_samples=0), "n_samples"),
        (lambda: kernel_shap(g, n_samples=1, variant="paired"), "n_samples"),
        (lambda: kernel_shap(g, n_samples=10**12), "n_samples"),
        (lambda: kernel_shap(g, seed=-1), "seed"),
        (lambda: monte_carlo_shapley(g, max_evaluations=0), "max_evaluations"),
        (lambda: monte_carlo_shapley(g, max_evaluations=1), "max_evaluations"),
        (lambda: monte_carlo_shapley(g, max_evaluations=10**12), "max_evaluations"),
        (lambda: monte_carlo_shapley(g, seed=2.5), "seed"),
        (lambda: monte_carlo_shapley(g, target_se=float("nan")), "target_se"),
        (lambda: shapley_values(g, "magic"), "method"),
        (lambda: run_experiment1(np.zeros((0, 3)), np.zeros(3)), "samples"),
        (lambda: synthetic_targets(n_targets=2.7), "n_targets"),
    ]


def test_api_bad_input_raises_value_error_naming_the_parameter():
    cases = _api_cases()
    assert len(cases) >= 25
    for call, name in cases:
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match=name):
            call()
        assert time.perf_counter() - t0 < 5.0, name
