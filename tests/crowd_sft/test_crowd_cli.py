"""The crowd_sft command line: --help defaults come from the code, and --help loads no heavy module."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from crowd_sft.__main__ import build_parser, main


def test_help_defaults_are_the_code_defaults(capsys):
    from crowd_sft import cli_run
    from crowd_sft.sweep import SweepConfig

    fields = {f.name: f.default for f in dataclasses.fields(SweepConfig)}
    for k, v in cli_run.DEFAULTS.items():
        assert fields[k] == v, k
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--help"])
    assert exc.value.code == 0 and "(default: 50)" in capsys.readouterr().out
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    rep = sub["reproduce"]
    helps = {a.option_strings[0]: rep._get_formatter()._expand_help(a) for a in rep._actions if a.option_strings}
    for flag, value in (("--runs", 50), ("--rounds", 100), ("--kernel-samples", 10000), ("--mc-evaluations", 1000),
                        ("--shapley", "kernel"), ("--jobs", -1), ("--out", "crowd_sft_results"),
                        ("--users", (10, 25, 50, 75, 100))):
        assert f"(default: {value})" in helps[flag], (flag, helps[flag])
    assert sub["shapley"].get_default("method") == "auto"


def test_help_imports_no_numpy_numba_scipy_matplotlib_or_dask():
    code = ("import sys\nfrom crowd_sft.__main__ import main\n"
            "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'numba', 'scipy', 'matplotlib', 'dask') if m in sys.modules]\n"
            "print('HEAVY:' + ','.join(heavy))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "HEAVY:"   # none of them


def test_cli_smoke_in_a_subprocess(tmp_path):
    """One real process end to end (the other CLI tests call main(argv) in process)."""
    r = subprocess.run([sys.executable, "-m", "crowd_sft", "run", "--users", "8", "--groups", "2", "--runs", "2",
                        "--rounds", "10", "--shapley", "exact"], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "final_distance" in r.stdout and r.stderr == ""
