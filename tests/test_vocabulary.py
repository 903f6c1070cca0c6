"""One vocabulary across the three CLIs (issue 13, item 8; ``docs/vocabulary.md``): the same flag, the same
destination (Python keyword) and the same type for the same thing, no synonyms, JSON keys = keywords."""
import argparse
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# flag -> (argparse dest, type) as in docs/vocabulary.md
CANONICAL = {
    "--agents": ("agents", int), "--items": ("items", int), "--users": ("users", int), "--groups": ("groups", int),
    "--seed": ("seed", int), "--jobs": ("jobs", int), "--samples": ("samples", int), "--eval": ("evaluation", None),
    "--out": ("out", None), "--json": ("json", None), "--w-max": ("w_max", None), "--tol": ("tol", None),
    "--method": ("method", None), "--prior": ("prior", None), "--cost": ("cost", None),
    "--scheduler": ("scheduler", None), "--dask-local": ("dask_local", None),
}
AVOID = {"--n-agents", "--num-agents", "--n-items", "--num-items", "--evaluation", "--n-jobs", "--workers",
         "--processes", "--procs", "--random-state", "--rng", "--output", "--outdir", "--output-dir", "-o",
         "--n-samples", "--trials", "--nsamples", "--n-users", "--n-groups"}


def _parsers():
    from crowd_sft.__main__ import build_parser as crowd
    from equilibria.__main__ import build_parser as eq
    from mechanisms.__main__ import build_parser as mech

    out = {}
    for cli, build in (("mechanisms", mech), ("equilibria", eq), ("crowd_sft", crowd)):
        for action in build()._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out[f"{cli} {name}"] = sub
    return out


PARSERS = _parsers()


def _options(parser):
    return [(s, a) for a in parser._actions for s in a.option_strings]


def test_vocabulary_page_lists_the_canonical_flags():
    text = (ROOT / "docs" / "vocabulary.md").read_text()
    for flag in CANONICAL:
        assert f"`{flag}`" in text, flag


@pytest.mark.parametrize("name", [n for n in PARSERS if not n.startswith("crowd_sft")])
def test_mechanisms_and_equilibria_parsers_follow_the_vocabulary(name):
    _check(PARSERS[name])


# Known gaps in crowd_sft (not edited from here; reported to the lead): remove an entry when it is fixed.
CROWD_GAPS: dict = {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=CROWD_GAPS[n], strict=False))
                                  if n in CROWD_GAPS else n for n in PARSERS if n.startswith("crowd_sft")])
def test_crowd_sft_parsers_follow_the_vocabulary(name):
    _check(PARSERS[name])


# deprecated aliases kept for old command lines: (flag, the canonical option it aliases)
DEPRECATED = {("--samples", "--pool-size")}


def _check(parser):
    for flag, action in _options(parser):
        if any(flag == old and new in action.option_strings for old, new in DEPRECATED):
            continue
        assert flag not in AVOID, f"{flag}: use the vocabulary's word (docs/vocabulary.md)"
        assert re.fullmatch(r"-h|--[a-z0-9]+(-[a-z0-9]+)*", flag), f"{flag}: lower-case words joined by '-'"
        if flag in CANONICAL:
            dest, typ = CANONICAL[flag]
            assert action.dest == dest, f"{flag} must store into {dest!r} (the Python keyword), not {action.dest!r}"
            if typ is int:       # an integer (a sweep may take a comma-separated list of them)
                assert action.type is not None and action.type("3") in (3, [3], (3,)), f"{flag} must be an integer"
        elif flag != "-h" and action.dest != "help" and not isinstance(action, argparse._VersionAction):
            assert action.dest == flag[2:].replace("-", "_"), f"{flag} must store into {flag[2:].replace('-', '_')!r}"
    json_flag = [a for f, a in _options(parser) if f == "--json"]
    assert all(isinstance(a, argparse._StoreTrueAction) for a in json_flag)


def test_payoff_json_keys_are_python_keywords(capsys):
    from mechanisms.__main__ import main

    assert main(["payoff", "--effort", "1", "--peer-effort", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"n_agents", "n_items", "prior", "method", "effort", "peer_effort"} <= d.keys()
    assert not {"agents", "items", "N", "m"} & d.keys()


def test_cli_errors_name_the_typed_flag_not_the_keyword(capsys):
    from mechanisms.__main__ import main

    assert main(["payoff", "--effort", "1", "--peer-effort", "1", "--agents", "2"]) == 2
    err = capsys.readouterr().err
    assert "--agents" in err and "n_agents" not in err


def test_renamed_keywords_warn_and_still_work(tmp_path):
    # run_report(agents=, items=, jobs=) -> n_agents, n_items, n_jobs: the old names warn, and are honoured
    # (checked before any work: a bad value is refused and nothing is created)
    from equilibria.report import run_report

    with pytest.warns(DeprecationWarning, match="n_agents"):
        with pytest.raises(ValueError, match="n_agents"):
            run_report(str(tmp_path / "r"), agents=2)
    with pytest.warns(DeprecationWarning, match="n_jobs"):
        with pytest.raises(ValueError, match="n_jobs"):
            run_report(str(tmp_path / "r"), jobs=0)
    with pytest.raises(TypeError, match="nonsense"):
        run_report(str(tmp_path / "r"), nonsense=1)
    assert not (tmp_path / "r").exists()
