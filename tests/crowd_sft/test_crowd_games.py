"""Tests for crowd_sft.games: the published game, the true-contribution game, the game interface."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crowd_sft.games import (CallableGame, MemoGame, PublishedGame, TableGame, TrueContributionGame, as_game,
                             compare_points, scores, single_user_distance)
from crowd_sft.shapley import exact_shapley, monte_carlo_shapley
from crowd_sft.tournament import evaluate, make_instance, run_tournament


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 7), st.integers(1, 5), st.integers(0, 2**31), st.sampled_from(["l2", "l1", "dot"]))
def test_published_game_values_by_definition(n, d, seed, evaluation):
    rng = np.random.default_rng(seed)
    users, e = rng.uniform(0, 5, (n, d)), rng.uniform(0, 5, d)
    g = PublishedGame(users, e, evaluation)
    masks = rng.random((20, n)) < 0.5
    masks[0] = False
    got = g.values(masks)
    for r, m in enumerate(masks):
        y = users[m].mean(axis=0) if m.any() else np.zeros(d)  # v(empty) = eval(0, e)
        want = {"l2": -np.linalg.norm(y - e), "l1": -np.abs(y - e).sum(), "dot": y @ e}[evaluation]
        assert got[r] == pytest.approx(want, rel=1e-12, abs=1e-12)
        assert got[r] == pytest.approx(float(evaluate(y, e, evaluation)), rel=1e-12, abs=1e-12)


def test_scores_match_tournament_evaluate():
    rng = np.random.default_rng(0)
    y, e = rng.normal(size=(5, 20)), rng.normal(size=20)
    for ev in ("l2", "l1", "dot"):
        np.testing.assert_allclose(scores(y, e, ev), evaluate(y, e, ev), rtol=1e-12)


def test_published_game_from_instance_and_dot_contributions():
    inst = make_instance(10, 3)
    g = PublishedGame.from_instance(inst, "dot")
    np.testing.assert_allclose(g.dot_contributions, inst.users @ inst.expert)
    assert g.empty_value == 0.0 and g.n_players == 10


def test_true_game_grand_and_empty_coalitions():
    inst = make_instance(6, 11)
    seed = np.random.SeedSequence(5, spawn_key=(1,))
    g = TrueContributionGame.from_instance(inst, seed=seed, n_groups=3)
    full = run_tournament(inst.users, inst.expert, inst.x0, n_groups=3, seed=np.random.SeedSequence(5, spawn_key=(1,)))
    assert g.value(range(6)) == pytest.approx(-full.final_distance, abs=1e-12)
    assert g.value([]) == pytest.approx(-np.linalg.norm(inst.x0 - inst.expert))
    # the same coalition twice gives the same value (same seed every time)
    assert g.value([0, 2, 4]) == g.value([0, 2, 4])
    sub = run_tournament(inst.users[[0, 2, 4]], inst.expert, inst.x0, n_groups=3,
                         seed=np.random.SeedSequence(5, spawn_key=(1,)))
    assert g.value([0, 2, 4]) == pytest.approx(-sub.final_distance)


def test_true_game_small_coalition_rules():
    inst = make_instance(5, 2)
    fewer = TrueContributionGame.from_instance(inst, seed=1, n_groups=4)
    frozen = TrueContributionGame.from_instance(inst, seed=1, n_groups=4, small_coalitions="frozen")
    start = -np.linalg.norm(inst.x0 - inst.expert)
    assert frozen.value([0, 1]) == pytest.approx(start)
    two = run_tournament(inst.users[[0, 1]], inst.expert, inst.x0, n_groups=2, seed=1)
    assert fewer.value([0, 1]) == pytest.approx(-two.final_distance)
    one = fewer.value([3])
    assert one == pytest.approx(-single_user_distance(inst.users[3], inst.expert, inst.x0))
    assert one >= start  # a single group only ever moves when it improves the L2 score
    assert frozen.value([0, 1, 2, 3]) == fewer.value([0, 1, 2, 3])


def test_single_user_distance_matches_geometric_walk():
    u, e, x0 = np.array([2.0, 0.0]), np.array([1.0, 0.0]), np.array([0.0, 0.0])
    # x_t = u (1 - 0.9^t) approaches u; it improves until it passes e (x > 1 - small step)
    d = single_user_distance(u, e, x0, rounds=100, delta=0.1)
    x, t = 0.0, 0
    while abs(x + 0.1 * (2 - x) - 1) < abs(x - 1):
        x = x + 0.1 * (2 - x)
        t += 1
    assert d == pytest.approx(abs(x - 1))


def test_true_game_shapley_exact_and_mc_agree():
    inst = make_instance(5, 7)
    g = TrueContributionGame.from_instance(inst, seed=3, n_groups=2, rounds=30)
    ex = exact_shapley(g)
    assert ex.evaluations == 32
    assert ex.values.sum() == pytest.approx(g.value(range(5)) - g.value([]), abs=1e-10)
    # once every coalition has been evaluated, Monte Carlo finishes exactly from the memo
    mc = monte_carlo_shapley(g, seed=0, max_evaluations=1000)
    assert mc.evaluations == 32 and "exact" in mc.stop_reason
    np.testing.assert_allclose(mc.values, ex.values, atol=1e-12)
    # a tight hard budget is respected, each tournament run once per unique coalition
    runs = {"n": 0}
    orig = g.value_of

    def counting(mask):
        runs["n"] += 1
        return orig(mask)

    g.value_of = counting
    mc = monte_carlo_shapley(g, seed=1, max_evaluations=25)
    assert mc.evaluations == runs["n"] <= 25


def test_true_game_bad_input():
    inst = make_instance(4, 0)
    with pytest.raises(ValueError, match="small_coalitions"):
        TrueContributionGame.from_instance(inst, seed=1, small_coalitions="drop")
    with pytest.raises(ValueError, match="n_groups"):
        TrueContributionGame.from_instance(inst, seed=1, n_groups=0)
    with pytest.raises(ValueError, match="seed"):
        TrueContributionGame.from_instance(inst, seed=None)


def test_callable_table_memo_and_as_game():
    t = np.arange(8.0)
    tg = TableGame(t)
    cg = CallableGame(lambda S: float(sum(1 << i for i in S)), 3)
    cm = CallableGame(lambda m: float(m @ (1 << np.arange(3))), 3, coalition="mask")
    masks = np.array([[0, 0, 0], [1, 0, 1], [1, 1, 1]])
    for g in (tg, cg, cm, as_game(lambda S: float(sum(1 << i for i in S)), 3)):
        np.testing.assert_allclose(g.values(masks), [0, 5, 7])
    memo = MemoGame(cg)
    memo.values(np.vstack([masks, masks]))
    assert memo.evaluations == 3
    with pytest.raises(ValueError, match="table"):
        TableGame(np.arange(6.0))
    with pytest.raises(ValueError, match="masks"):
        tg.values(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="0/1"):
        tg.values(np.full((1, 3), 2))
    with pytest.raises(ValueError, match="n_players"):
        as_game(lambda S: 0.0)
    with pytest.raises(ValueError, match="evaluation"):
        PublishedGame(np.ones((2, 2)), np.ones(2), "cosine")
    with pytest.raises(ValueError, match="expert"):
        PublishedGame(np.ones((2, 2)), np.ones(3))


def test_compare_points():
    c = compare_points([1, 2, 3, 4], published=[0.1, 0.2, 0.3, 0.5], true=[4, 3, 2, 1])
    assert c.pearson["published"] > 0.9 and c.spearman["published"] == pytest.approx(1.0)
    assert c.spearman["true"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="shape"):
        compare_points([1, 2], x=[1, 2, 3])


def test_value_rejects_ambiguous_integer_masks():
    import numpy as np
    import pytest
    from crowd_sft.games import CallableGame
    g = CallableGame(lambda S: float(sum(2 ** i for i in S)), 5)
    assert g.value([0, 2]) == g.value(np.array([True, False, True, False, False])) == 5.0
    with pytest.raises(ValueError, match="repeated"):
        g.value(np.array([1, 0, 1, 0, 0]))      # would silently have meant {0, 1}


def test_rank_matches_scipy_rankdata_with_ties():
    from scipy.stats import rankdata

    from crowd_sft.games import _rank

    rng = np.random.default_rng(0)
    for t in range(300):
        x = rng.integers(0, 1 + t % 15, 1 + t % 37).astype(float) if t % 2 else rng.random(1 + t % 41)
        np.testing.assert_array_equal(_rank(x), rankdata(x))
