"""Tests for crowd_sft.shapley: exact vs brute force, axioms, closed form, MC error bars, KernelSHAP."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crowd_sft.games import CallableGame, MemoGame, PublishedGame, TableGame
from crowd_sft.shapley import (MaxEvaluations, MaxSamples, RankStable, StandardErrorBelow, closed_form_shapley,
                               exact_shapley, kernel_shap, mean_game_closed_form, monte_carlo_shapley,
                               shapley_values)
from crowd_sft.shapley.samplers import AntitheticSampler, StratifiedSampler
from crowd_sft.shapley.stopping import EstimatorState, MaxTime, NeverStop

HSET = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- references
def brute_force_permutations(table: np.ndarray, n: int) -> np.ndarray:
    """Average marginal contribution over all n! orderings (independent of the weight formula)."""
    phi = np.zeros(n)
    for perm in itertools.permutations(range(n)):
        code = 0
        for i in perm:
            new = code | (1 << i)
            phi[i] += table[new] - table[code]
            code = new
    return phi / math.factorial(n)


def table_of(game) -> np.ndarray:
    n = game.n_players
    codes = np.arange(1 << n)
    masks = ((codes[:, None] >> np.arange(n)) & 1).astype(bool)
    return game.values(masks)


def random_published(n, evaluation, seed, d=20):
    rng = np.random.default_rng(seed)
    return PublishedGame(rng.uniform(0, 5, (n, d)), rng.uniform(0, 5, d), evaluation)


tables = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.floats(-10, 10, allow_nan=False), min_size=1 << n, max_size=1 << n))


# ----------------------------------------------------------------------------- exact
@HSET
@given(tables)
def test_exact_matches_permutation_brute_force(values):
    t = np.array(values)
    n = int(math.log2(t.size))
    np.testing.assert_allclose(exact_shapley(TableGame(t)).values, brute_force_permutations(t, n), atol=1e-9)


@pytest.mark.parametrize("evaluation", ["l2", "l1", "dot"])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_exact_published_kernel_matches_brute_force(evaluation, n):
    g = random_published(n, evaluation, seed=10 * n)
    r = exact_shapley(g)
    np.testing.assert_allclose(r.values, brute_force_permutations(table_of(g), n), atol=1e-10)
    assert r.evaluations == 2**n and r.stderr is None and r.method == "exact"


@pytest.mark.parametrize("evaluation", ["l2", "l1", "dot"])
def test_exact_fast_path_equals_generic_path_n16(evaluation):
    """Gray kernel with incremental sums (and periodic resync) vs generic batched-mask path at n = 16 / 17."""
    for n in (16, 17):
        g = random_published(n, evaluation, seed=n)
        generic = CallableGame(g.values, n, vectorized=True)
        np.testing.assert_allclose(exact_shapley(g).values, exact_shapley(generic).values, rtol=1e-10, atol=1e-10)


@HSET
@given(tables, st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 2**31))
def test_axioms_efficiency_symmetry_null_linearity(values, a, b, seed):
    t = np.array(values)
    n = int(math.log2(t.size))
    phi = exact_shapley(TableGame(t)).values
    assert abs(phi.sum() - (t[-1] - t[0])) < 1e-9  # efficiency
    codes = np.arange(t.size)
    rng = np.random.default_rng(seed)
    t2 = rng.normal(size=t.size)  # linearity
    np.testing.assert_allclose(exact_shapley(TableGame(a * t + b * t2)).values,
                               a * phi + b * exact_shapley(TableGame(t2)).values, atol=1e-9)
    k = int(rng.integers(n))  # null player: v'(S) = v(S without k)
    null = t[codes & ~(1 << k)]
    assert abs(exact_shapley(TableGame(null)).values[k]) < 1e-9
    if n >= 2:  # symmetry: symmetrise players 0 and 1
        b0, b1 = codes & 1, (codes >> 1) & 1
        swapped = (codes & ~3) | (b0 << 1) | b1
        sym = exact_shapley(TableGame((t + t[swapped]) / 2)).values
        assert abs(sym[0] - sym[1]) < 1e-9


def test_exact_n25_runs_and_is_efficient():
    g = random_published(25, "l2", seed=25)
    r = exact_shapley(g)
    assert r.evaluations == 2**25
    assert abs(r.values.sum() - (g.value(range(25)) - g.empty_value)) < 1e-9


# ----------------------------------------------------------------------------- closed form
@HSET
@given(st.integers(1, 9), st.integers(0, 2**31), st.integers(1, 6))
def test_closed_form_dot_matches_exact(n, seed, d):
    g = random_published(n, "dot", seed, d=d)
    np.testing.assert_allclose(closed_form_shapley(g).values, exact_shapley(g).values, rtol=1e-10, atol=1e-10)


@HSET
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=8), st.floats(-5, 5))
def test_mean_game_closed_form_with_nonzero_empty_value(a, v0):
    a = np.array(a)
    n = a.size
    codes = np.arange(1 << n)
    masks = ((codes[:, None] >> np.arange(n)) & 1).astype(bool)
    sizes = masks.sum(1)
    table = np.where(sizes > 0, (masks @ a) / np.maximum(sizes, 1), v0)
    np.testing.assert_allclose(mean_game_closed_form(a, v0), brute_force_permutations(table, n), atol=1e-9)


def test_closed_form_rejects_other_games():
    with pytest.raises(ValueError, match="evaluation='dot'"):
        closed_form_shapley(random_published(4, "l2", 0))


# ----------------------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("sampler", ["antithetic", "permutation", "stratified"])
def test_mc_interval_coverage_over_many_seeds(sampler):
    """The stated 95% intervals cover the exact value about 95% of the time (players x seeds)."""
    g = random_published(8, "l2", seed=3)
    exact = exact_shapley(g).values
    hits = total = 0
    n_seeds = 120
    from crowd_sft.shapley.montecarlo import INTERVAL_MIN_SAMPLES

    for seed in range(n_seeds):  # the smallest sample size with intervals (per player; stratified: draws)
        stop = MaxSamples(INTERVAL_MIN_SAMPLES[sampler] * (1 if sampler != "stratified" else g.n_players))
        r = monte_carlo_shapley(g, seed=seed, sampler=sampler, stop=stop, max_evaluations=10**6,
                                exact_when_complete=False)
        lo, hi = r.interval(0.95)
        hits += int(np.sum((lo <= exact) & (exact <= hi)))
        total += exact.size
    cover = hits / total
    # binomial sd at 0.95 with ~500-960 trials is <= 0.01; allow small-sample t effects
    assert 0.92 <= cover <= 0.98, cover


def test_mc_generic_game_coverage_and_unique_counting():
    rng = np.random.default_rng(7)
    t = rng.normal(size=1 << 7)
    exact = exact_shapley(TableGame(t)).values
    calls = {"n": 0}

    def fn(mask):
        calls["n"] += 1
        return float(t[int(np.sum(mask.astype(np.int64) << np.arange(7)))])

    hits = total = 0
    for seed in range(40):
        calls["n"] = 0
        game = CallableGame(fn, 7, coalition="mask")
        r = monte_carlo_shapley(game, seed=seed, stop=MaxSamples(200), max_evaluations=10**6,
                                exact_when_complete=False)
        assert r.evaluations == calls["n"] <= 2**7  # every coalition evaluated at most once
        lo, hi = r.interval(0.95)
        hits += int(np.sum((lo <= exact) & (exact <= hi)))
        total += 7
    assert 0.88 <= hits / total <= 0.99


@pytest.mark.parametrize("n, budget", [(30, 5000), (100, 4000)])
def test_fast_kernel_equals_memo_path_and_counts(n, budget):
    # n = 100: mid sizes are counted without hashing (_hash_sizes); the memo path counts exactly
    from crowd_sft.shapley.montecarlo import _hash_sizes

    g = random_published(n, "l2", seed=1)
    a = monte_carlo_shapley(g, seed=5, max_evaluations=budget)
    b = monte_carlo_shapley(g, seed=5, max_evaluations=budget, fast=False)
    assert a.info["fast_path"] and not b.info["fast_path"]
    np.testing.assert_allclose(a.values, b.values, atol=1e-9)
    np.testing.assert_allclose(a.stderr, b.stderr, atol=1e-9)
    assert a.evaluations == b.evaluations <= budget
    assert a.n_samples == b.n_samples
    skipped = int((~_hash_sizes(n, 4 * budget, budget)).sum())
    assert (skipped > 30) if n == 100 else (skipped == 0)


def test_mc_reproducible_and_seed_sensitive():
    g = random_published(20, "l1", seed=2)
    a = monte_carlo_shapley(g, seed=np.random.SeedSequence(9), max_evaluations=4000)
    b = monte_carlo_shapley(g, seed=np.random.SeedSequence(9), max_evaluations=4000)
    c = monte_carlo_shapley(g, seed=10, max_evaluations=4000)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


@HSET
@given(st.integers(2, 40), st.integers(100, 20_000), st.sampled_from(["antithetic", "permutation", "stratified"]),
       st.integers(0, 1000))
def test_hard_budget_never_exceeded(n, budget, sampler, seed):
    g = random_published(n, "l2", seed=seed)
    # exact extremes (2n + 2) + one antithetic pair / one permutation / the stratified pilot (4 draws, 1 bin)
    need = {"antithetic": 2 * n - 1, "permutation": n, "stratified": 8 * n if n > 2 else 0}[sampler] + 2 * n + 2
    if budget < need:
        with pytest.raises(ValueError, match="max_evaluations"):
            monte_carlo_shapley(g, seed=seed, sampler=sampler, max_evaluations=budget)
        return
    r = monte_carlo_shapley(g, seed=seed, sampler=sampler, max_evaluations=budget)
    assert 0 < r.evaluations <= budget
    assert np.all(np.isfinite(r.values)) and np.all(np.isfinite(r.stderr) | (r.n_samples < 2))
    plain = monte_carlo_shapley(g, seed=seed, sampler=AntitheticSampler(exact_extremes=False),
                                max_evaluations=max(budget, 4 * n))
    # without the exact-extremes control variate every antithetic sample is efficient
    assert abs(plain.values.sum() - (g.value(range(n)) - g.empty_value)) < 1e-8


def test_target_se_stops_converged():
    g = random_published(15, "l2", seed=4)
    r = monte_carlo_shapley(g, seed=0, target_se=2e-3, max_evaluations=10**6, exact_when_complete=False)
    assert r.converged and np.all(r.stderr <= 2e-3) and "StandardErrorBelow" in r.stop_reason
    r2 = monte_carlo_shapley(g, seed=0, target_se=1e-9, max_evaluations=3000)
    assert not r2.converged and r2.evaluations <= 3000


def test_mc_finishes_exactly_when_all_coalitions_known():
    g = random_published(6, "l1", seed=2)
    r = monte_carlo_shapley(g, seed=0, target_se=1e-9, max_evaluations=10**5)
    assert r.evaluations == 64 and r.converged and np.all(r.stderr == 0)
    np.testing.assert_allclose(r.values, exact_shapley(g).values, atol=1e-12)


@HSET
@given(st.integers(0, 5000), st.integers(1, 60), st.integers(1, 40), st.floats(0, 0.999), st.integers(0, 2**31))
def test_neyman_allocation_exact_total_and_even_players(draws, n, k, offset, seed):
    from crowd_sft.shapley.montecarlo import _neyman

    w = np.random.default_rng(seed).random(k) + 1e-3
    a = _neyman(draws, n, w, offset)
    assert a.shape == (n, k) and a.min() >= 0 and a.sum() == draws
    per_player = a.sum(axis=1)
    assert per_player.max() - per_player.min() <= 1


@pytest.mark.parametrize("fast", [True, False])
def test_stratified_fast_and_generic_paths_agree_with_exact(fast):
    g = random_published(12, "l1", seed=12)
    exact = exact_shapley(g).values
    r = monte_carlo_shapley(g, seed=3, sampler="stratified", max_evaluations=4000, fast=fast,
                            exact_when_complete=False)
    assert r.info["fast_path"] is fast and r.evaluations <= 4000
    z = np.abs(r.values - exact) / r.stderr
    assert np.all(z < 4.5)


@pytest.mark.parametrize("fast", [True, False])
def test_stratified_exact_small_strata(fast):
    """Sizes 1 and n-2 enumerated exactly: n = 4 is then exact, larger n agrees within error."""
    g = random_published(4, "l2", seed=4)
    r = monte_carlo_shapley(g, seed=0, sampler=StratifiedSampler(exact_small_strata=True), fast=fast,
                            exact_when_complete=False)
    np.testing.assert_allclose(r.values, exact_shapley(g).values, atol=1e-12)
    assert np.all(r.stderr == 0) and r.converged
    g = random_published(11, "dot", seed=11)
    exact = exact_shapley(g).values
    for flag in (True, False):
        r = monte_carlo_shapley(g, seed=1, sampler=StratifiedSampler(exact_small_strata=flag), fast=fast,
                                max_evaluations=3000, exact_when_complete=False)
        assert r.info["exact_small_strata"] is flag and r.evaluations <= 3000
        assert np.all(np.abs(r.values - exact) < 4.5 * r.stderr + 1e-12)


def test_stopping_combinators():
    def state(ev=10, se=1.0, n=5):
        return EstimatorState(np.arange(3.0), np.full(3, se), ev, n, 1.0, 1, 100)

    a, b = MaxEvaluations(10), StandardErrorBelow(0.5)
    assert (a | b)(state()) and not (a & b)(state())
    assert (a & b)(state(se=0.1)) and not (~a)(state())
    assert not (MaxEvaluations(11) | b)(state())
    assert not NeverStop()(state()) and MaxSamples(5)(state())
    assert not MaxTime(2.0)(state())
    rs = RankStable(patience=2, min_samples=1)
    assert [rs(state()) for _ in range(3)] == [False, False, True]
    with pytest.raises(ValueError, match="StoppingCriterion"):
        a | 3


def test_max_evaluations_in_stop_is_a_hard_budget():
    g = random_published(40, "l2", seed=9)
    for sampler in ("antithetic", "stratified"):
        r = monte_carlo_shapley(g, seed=2, sampler=sampler, stop=MaxEvaluations(3000) | StandardErrorBelow(1e-9))
        assert r.evaluations <= 3000 and not r.converged
    # under & it is not a budget on its own: the default hard budget applies
    r = monte_carlo_shapley(g, seed=2, stop=MaxEvaluations(3000) & StandardErrorBelow(1e-9), max_evaluations=9000)
    assert 3000 < r.evaluations <= 9000


def test_rank_stability_stop():
    g = random_published(12, "dot", seed=8)
    r = monte_carlo_shapley(g, seed=1, stop=RankStable(threshold=0.99, patience=3), max_evaluations=10**6,
                            chunk_size=4)
    assert r.converged and "RankStable" in r.stop_reason


def test_parallel_process_pool_identical_to_serial():
    g = random_published(25, "l2", seed=6)
    kw = dict(seed=3, max_evaluations=20_000, chunk_size=16, chunks_per_round=4)
    serial = monte_carlo_shapley(g, **kw)
    pooled = monte_carlo_shapley(g, n_jobs=2, **kw)  # default: spawn-started process pool
    assert pooled.info["runner"] == "process"
    np.testing.assert_array_equal(serial.values, pooled.values)
    assert serial.evaluations == pooled.evaluations


def test_dask_identical_to_serial():
    distributed = pytest.importorskip("dask.distributed")
    g = random_published(10, "l1", seed=6)
    kw = dict(seed=4, max_evaluations=6_000, chunk_size=96, chunks_per_round=3, sampler="stratified")
    serial = monte_carlo_shapley(g, **kw)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        dask = monte_carlo_shapley(g, scheduler=client, **kw)
    assert dask.info["runner"] == "dask"
    np.testing.assert_array_equal(serial.values, dask.values)


# ----------------------------------------------------------------------------- KernelSHAP
@pytest.mark.parametrize("n", [3, 8, 13])
def test_published_kernel_exact_up_to_13(n):
    g = random_published(n, "l2", seed=n)
    r = kernel_shap(g, variant="published", seed=0, l1_reg=f"num_features({n})")
    assert r.info["exact"]
    np.testing.assert_allclose(r.values, exact_shapley(g).values, atol=1e-9)
    assert r.evaluations == 2**n


def test_published_kernel_is_estimate_above_13():
    g = random_published(16, "l2", seed=16)
    r = kernel_shap(g, variant="published", seed=0)
    exact = exact_shapley(g).values
    assert not r.info["exact"] and r.evaluations <= 10_002
    assert abs(r.values.sum() - exact.sum()) < 1e-9  # efficiency is enforced
    assert np.max(np.abs(r.values - exact)) < 0.5 * np.max(np.abs(exact))


def test_paired_kernel_coverage_and_exact_when_budget_allows():
    g = random_published(10, "l2", seed=11)
    exact = exact_shapley(g).values
    full = kernel_shap(g, n_samples=2000)
    np.testing.assert_allclose(full.values, exact, atol=1e-10)
    hits = total = 0
    for seed in range(60):
        r = kernel_shap(g, n_samples=300, seed=seed)
        lo, hi = r.interval(0.95)
        hits += int(np.sum((lo <= exact) & (exact <= hi)))
        total += exact.size
        assert abs(r.values.sum() - exact.sum()) < 1e-9
    assert 0.90 <= hits / total <= 0.99


def test_kernel_refuses_feature_selection():
    g = random_published(6, "l2", 0)
    for bad in ("auto", "aic", "num_features(3)", 0.1):
        with pytest.raises(ValueError, match="l1_reg"):
            kernel_shap(g, l1_reg=bad)


# ----------------------------------------------------------------------------- API / bad input
def test_shapley_values_dispatch():
    g = random_published(9, "dot", seed=1)
    e = shapley_values(g, "exact").values
    np.testing.assert_allclose(shapley_values(g, "closed").values, e, atol=1e-10)
    np.testing.assert_allclose(shapley_values(g, "auto").values, e, atol=1e-10)
    np.testing.assert_allclose(shapley_values(g, "kernel", variant="published").values, e, atol=1e-9)
    mc = shapley_values(g, "mc", seed=0, max_evaluations=20_000)
    assert np.all(np.abs(mc.values - e) < 6 * mc.stderr + 1e-12)
    # plain callable with n_players
    r = shapley_values(lambda S: float(len(S)) ** 2, "exact", n_players=4)
    np.testing.assert_allclose(r.values, np.full(4, 4.0))


def test_bad_inputs_raise_value_error_naming_parameter():
    g = random_published(5, "l2", 0)
    with pytest.raises(ValueError, match="n_players"):
        CallableGame(lambda S: 0.0, 0)
    with pytest.raises(ValueError, match="method='mc'"):
        exact_shapley(random_published(31, "l2", 0))
    with pytest.raises(ValueError, match="method='closed'"):
        exact_shapley(random_published(31, "dot", 0))
    with pytest.raises(ValueError, match="n_players=26"):
        exact_shapley(CallableGame(lambda S: 0.0, 26))
    with pytest.raises(ValueError, match="non-finite"):
        exact_shapley(CallableGame(lambda S: float("nan") if len(S) == 2 else 1.0, 3))
    with pytest.raises(ValueError, match="shape"):
        exact_shapley(CallableGame(lambda m: np.zeros((m.shape[0], 2)), 3, vectorized=True))
    with pytest.raises(ValueError, match="max_evaluations"):
        monte_carlo_shapley(g, max_evaluations=0)
    with pytest.raises(ValueError, match="max_evaluations"):
        monte_carlo_shapley(g, max_evaluations=-5)
    with pytest.raises(ValueError, match="target_se"):
        monte_carlo_shapley(g, target_se=0.0)
    with pytest.raises(ValueError, match="sampler"):
        monte_carlo_shapley(g, sampler="owen")
    with pytest.raises(ValueError, match="n_samples"):
        kernel_shap(g, n_samples=0)
    with pytest.raises(ValueError, match="method"):
        shapley_values(g, "banzhaf")
    with pytest.raises(ValueError, match="n_jobs"):
        monte_carlo_shapley(g, n_jobs=0)
    with pytest.raises(ValueError, match="seed"):
        monte_carlo_shapley(g, seed=-1)


def test_memo_game_counts_unique():
    g = random_published(6, "l2", 0)
    memo = MemoGame(g)
    m = np.array([[1, 0, 1, 0, 0, 0], [1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]], bool)
    np.testing.assert_allclose(memo.values(m), g.values(m))
    memo.values(m[:1])
    assert memo.evaluations == 2 and memo.calls == 1


# ----------------------------------------------------------------------------- sampler objects, ~ criterion
def test_sampler_objects_equal_legacy_keywords_which_warn():
    from crowd_sft.shapley import AntitheticSampler, StratifiedSampler

    g = random_published(12, "l1", seed=12)
    obj = monte_carlo_shapley(g, seed=3, max_evaluations=4000, sampler=StratifiedSampler(exact_small_strata=False,
                                                                                         pilot=3))
    with pytest.warns(DeprecationWarning, match="StratifiedSampler"):
        old = monte_carlo_shapley(g, seed=3, max_evaluations=4000, sampler="stratified", exact_small_strata=False,
                                  pilot=3)
    np.testing.assert_array_equal(obj.values, old.values)
    a = monte_carlo_shapley(g, seed=1, max_evaluations=3000, sampler=AntitheticSampler(exact_extremes=False))
    with pytest.warns(DeprecationWarning):
        b = monte_carlo_shapley(g, seed=1, max_evaluations=3000, exact_extremes=False)
    np.testing.assert_array_equal(a.values, b.values)
    assert not a.info["exact_extremes"]
    with pytest.raises(ValueError, match="pilot"):
        StratifiedSampler(pilot=1)
    with pytest.raises(ValueError, match="do not apply"):
        monte_carlo_shapley(g, sampler="antithetic", strata=3)


class _Counting(RankStable):
    def __init__(self, **kw):
        self.calls = 0
        super().__init__(**kw)

    def __call__(self, state):
        self.calls += 1
        return super().__call__(state)


def test_negated_stateful_criterion_is_asked_once_per_round():
    """~RankStable(...) used to call the inner criterion twice per round (once more in fired())."""
    g = random_published(10, "l2", seed=5)
    inner = _Counting(patience=1000, min_samples=2)
    r = monte_carlo_shapley(g, seed=0, stop=MaxEvaluations(20_000) | ~inner, max_evaluations=20_000,
                            exact_when_complete=False)
    assert r.info["rounds"] == inner.calls
    st = EstimatorState(np.arange(3.0), np.ones(3), 10, 100, 0.0, 1, 100)
    neg = ~RankStable(patience=2, min_samples=1)
    seen = [neg(st) for _ in range(3)]
    assert seen == [True, True, False]  # streak 0, 1, 2 -> stop after two stable checks
    assert neg.fired(st) == [] and neg.a._streak == 2  # fired() does not advance the history
