"""Tests for ``python -m crowd_sft shapley`` (crowd_sft.cli_shapley)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from crowd_sft.__main__ import main
from crowd_sft.data import load_preferences
from crowd_sft.analysis import points_vs_shapley
from crowd_sft.games import PublishedGame
from crowd_sft.shapley import exact_shapley
from crowd_sft.tournament import make_instance


def run_json(capsys, *argv):
    assert main(["shapley", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_output_is_independently_recomputable(capsys):
    out = run_json(capsys, "--users", "9", "--eval", "l1", "--seed", "4", "--method", "exact")
    assert out["method"] == "exact" and out["evaluations"] == 2**9 and out["stderr"] is None
    # recompute from the MovieLens ids alone
    prefs = load_preferences()
    row = {int(u): k for k, u in enumerate(prefs.user_ids)}
    users = prefs.matrix[[row[u] for u in out["user_ids"]]]
    expert = prefs.matrix[row[out["expert_user_id"]]]
    again = exact_shapley(PublishedGame(users, expert, "l1")).values
    np.testing.assert_allclose(out["values"], again, atol=1e-12)
    assert sorted(out["user_ids"] + [out["expert_user_id"]]) == list(range(1, 11))


@pytest.mark.parametrize("method", ["mc", "kernel", "closed", "auto"])
def test_methods(capsys, method):
    n = 30 if method in ("mc", "kernel") else 14
    ev = "dot" if method in ("closed", "auto") else "l2"
    extra = ["--max-evaluations", "20000"] if method in ("mc", "kernel") else []
    out = run_json(capsys, "--users", str(n), "--eval", ev, "--seed", "1", "--method", method, *extra)
    assert len(out["values"]) == n == len(out["user_ids"])
    if method == "mc":
        assert len(out["stderr"]) == n and out["evaluations"] <= 20000
    if method in ("closed", "auto"):
        assert out["method"] == "closed"
        inst = make_instance(n, 1)
        np.testing.assert_allclose(out["values"], exact_shapley(PublishedGame(inst.users, inst.expert, "dot")).values,
                                   rtol=1e-9, atol=1e-9)


def test_target_se_and_true_game(capsys):
    out = run_json(capsys, "--users", "40", "--eval", "l2", "--seed", "2", "--method", "mc", "--sampler", "stratified",
                   "--target-se", "0.01")
    assert max(out["stderr"]) <= 0.01
    out = run_json(capsys, "--users", "5", "--seed", "2", "--method", "exact", "--game", "true", "--groups", "2",
                   "--rounds", "20", "--compare-points")
    assert out["game"] == "true" and out["evaluations"] == 32
    assert set(out["compare_points"]["pearson"]) == {"published", "true", "published~true"}


def test_bad_input_one_line_exit_2(capsys):
    for argv in (["--users", "0"], ["--users", "40", "--method", "exact"], ["--users", "10", "--method", "mc",
                                                                              "--max-evaluations", "0"],
                 ["--users", "10", "--method", "mc", "--target-se", "-1"], ["--users", "10", "--eval", "cos"]):
        with pytest.raises(SystemExit) as exc:
            raise SystemExit(main(["shapley", *argv]))
        err = capsys.readouterr().err
        assert exc.value.code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_json_keys_follow_the_vocabulary(capsys):
    out = run_json(capsys, "--users", "6", "--eval", "l1", "--method", "exact")
    assert out["evaluation"] == "l1" and out["n_users"] == 6     # docs/vocabulary.md: keys are Python keywords
    # the old keys stay one release, marked deprecated (backward compatible for scripts that read them)
    assert out["eval"] == "l1" and out["users"] == 6
    assert out["deprecated_keys"] == {"eval": "evaluation", "users": "n_users"}


def test_points_vs_shapley_small():
    r = points_vs_shapley(make_instance(6, 3), n_groups=2, seed=5, rounds=30)
    assert r.true.method == "exact" and r.true.evaluations == 64
    assert r.points.shape == (6,) and -1 <= r.comparison.pearson["true"] <= 1


def test_compare_points_labels_say_what_is_correlated(capsys):
    """The third correlation is between the two Shapley vectors, not with the points: say so."""
    from crowd_sft.__main__ import main

    argv = ["shapley", "--users", "5", "--seed", "2", "--method", "exact", "--game", "true", "--groups", "2",
            "--rounds", "20", "--compare-points"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "published Shapley vs true Shapley" in text and "points vs published~true" not in text
    assert main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    c = out["compare_points"]
    assert "no points" in c["labels"]["published~true"]
    pvs = points_vs_shapley(make_instance(5, 2), n_groups=2, seed=np.random.SeedSequence(2, spawn_key=(1,)),
                            grouping="random", rounds=20)
    pear = np.corrcoef(pvs.published.values, pvs.true.values)[0, 1]
    assert c["pearson"]["published~true"] == pytest.approx(pear)
    assert c["pearson"]["published"] == pytest.approx(np.corrcoef(c["points"], pvs.published.values)[0, 1])
