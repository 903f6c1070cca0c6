"""Beyond the paper (Section VI): adversarial users, evaluator error, reward rules."""
import json

import numpy as np
import pytest

from crowd_sft.beyond import run_beyond
from crowd_sft.sweep import SweepConfig, _instance, replay_run
from crowd_sft.tournament import make_instance


def test_adversaries_replace_the_stated_fraction():
    cfg = SweepConfig(users=(20,), groups=(2,), runs=1, adversary_fraction=0.25, adversary_kind="inverted")
    inst = _instance(cfg, 20, 0, ())
    clean = make_instance(20, np.random.SeedSequence(0, spawn_key=(20, 0, 0)))
    changed = np.flatnonzero(np.any(inst.users != clean.users, axis=1))
    assert len(changed) == 5
    np.testing.assert_array_equal(inst.users[changed], 5.0 - clean.users[changed])
    np.testing.assert_array_equal(inst.expert, clean.expert)


def test_inverted_adversaries_get_low_shapley_values():
    # paired seeding: the replayed run uses the instance drawn with key (n, run, 0)
    cfg = SweepConfig(users=(12,), groups=(3,), runs=1, rounds=30, adversary_fraction=0.25, adversary_kind="inverted",
                      paired=True)
    clean = make_instance(12, np.random.SeedSequence(0, spawn_key=(12, 0, 0)))
    inst = _instance(cfg, 12, 0, ())
    bad = np.any(inst.users != clean.users, axis=1)
    rec = replay_run(cfg, 12, 3, "random", "l2", 0)
    assert rec.shapley[bad].mean() < rec.shapley[~bad].mean()


def test_run_beyond_small(tmp_path):
    res = run_beyond(tmp_path, users=10, groups=2, pairs=(("random", "l2"),), runs=3, rounds=15,
                     fractions=(0.0, 0.3), kinds=("random",), error_probs=(0.0, 0.5), rewards=("rank", "shapley"),
                     n_jobs=1)
    assert [(r["factor"], r["level"]) for r in res.rows] == [
        ("adversary-random", 0.0), ("adversary-random", 0.3), ("error", 0.0), ("error", 0.5),
        ("reward", "rank"), ("reward", "shapley")]
    # level 0 adversaries and the paper's reward rule are the same config as error 0.05 etc.: same seeds
    assert res.rows[0]["final_distance_mean"] == res.rows[4]["final_distance_mean"]
    assert (tmp_path / "beyond.png").stat().st_size > 0
    assert len(json.loads((tmp_path / "beyond.json").read_text())) == 6


def test_cli_experiment1_json(capsys):
    from crowd_sft.__main__ import main

    assert main(["experiment1", "--targets", "3", "--seeds", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    out, summ = doc["targets"], doc["summary"]
    assert summ["seeds"] == 4 and summ["ci"][0] < summ["mean_relative_reduction"] < summ["ci"][1]
    assert len(out) == 3 and all(len(o["multi_distances"]) == 3 for o in out)
    for o in out:
        assert o["relative_reduction"] == pytest.approx(1 - o["multi_distances"][-1] / o["single_distance"])


def test_cli_experiment1_exhausted_pool_is_one_line_exit_2(capsys):
    from crowd_sft.__main__ import main

    assert main(["experiment1", "--targets", "2", "--pool-size", "10", "--clones", "2", "--iterations", "5"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "iterations=5 with clones=2" in err


def test_published_vs_accurate_same_tournaments(tmp_path):
    from crowd_sft.beyond import published_vs_accurate

    cfg = SweepConfig(users=(8, 30), groups=(2, 3), pairs=(("random", "l2"), ("interleaved", "dot")), runs=3,
                      rounds=30)
    rows = published_vs_accurate(cfg, tmp_path, n_jobs=1, progress=False)
    assert len(rows) == 4
    for r in rows:
        if r["n"] == 8:  # the published KernelSHAP enumerates every coalition at n <= 13: both are exact
            assert r["pearson_published"] == pytest.approx(r["pearson_accurate"], abs=1e-9)
    assert any(abs(r["pearson_published"] - r["pearson_accurate"]) > 1e-6 for r in rows if r["n"] == 30)
    assert (tmp_path / "beyond_published_vs_accurate.png").stat().st_size > 0
    assert "accurate" in (tmp_path / "beyond_published_vs_accurate.svg").read_text()
    assert (tmp_path / "published_vs_accurate.csv").read_text().startswith("grouping,evaluation,n,")


def test_cli_experiment1_samples_is_a_deprecated_alias_of_pool_size(capsys):
    from crowd_sft.__main__ import main

    args = ["experiment1", "--targets", "1", "--clones", "2", "--iterations", "1", "--seeds", "2", "--json"]
    assert main(args + ["--pool-size", "12"]) == 0
    new, err_new = capsys.readouterr()
    assert main(args + ["--samples", "12"]) == 0
    old, err_old = capsys.readouterr()
    assert new == old and err_new == ""
    assert "--samples is deprecated" in err_old and "--pool-size" in err_old
