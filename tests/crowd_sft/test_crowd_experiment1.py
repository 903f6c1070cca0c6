"""Experiment 1 (paper Section III): single-model vs multi-model selection in vector space."""
import numpy as np
import pytest

from crowd_sft.experiment1 import SurrogateModel, run_experiment1, synthetic_targets


def _exact_tune(model, samples, rng):  # deterministic: jump to the sample centroid
    return np.asarray(samples).mean(axis=0)


def _exact_embed(model, rng):
    return np.atleast_2d(model)


def test_bookkeeping_with_deterministic_callables():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(30, 4))
    target = np.zeros(4)
    res = run_experiment1(samples, np.full(4, 9.0), clones=3, iterations=3, target=target,
                          fine_tune=_exact_tune, embed=_exact_embed, seed=1)
    # single model: the centroid of all samples
    assert res.single_distance == pytest.approx(np.linalg.norm(samples.mean(axis=0)))
    assert res.base_distance == pytest.approx(np.linalg.norm(np.full(4, 9.0)))
    # winners are disjoint, even splits of the remaining pool: 10, then 7, then 5 (ceil of 20/3, 14/3)
    sizes = [len(w) for w in res.winners]
    assert sizes[0] == 10 and sizes[1] in (6, 7) and sizes[2] in (4, 5)
    used = np.concatenate(res.winners)
    assert len(set(used.tolist())) == len(used)
    # each iteration's winner is the centroid of its samples (deterministic tune), and the reported distance matches
    for w, d in zip(res.winners, res.multi_distances):
        assert d == pytest.approx(np.linalg.norm(samples[w].mean(axis=0)))
    assert res.relative_reduction == pytest.approx((res.single_distance - res.multi_distances[-1]) / res.single_distance)


def test_winner_is_the_best_clone():
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(12, 2))
    calls = []

    def tune(model, s, r):
        calls.append(len(s))
        return s.mean(axis=0)

    res = run_experiment1(samples, np.zeros(2), clones=4, iterations=1, target=np.ones(2), fine_tune=tune,
                          embed=_exact_embed, seed=0)
    assert calls == [12, 3, 3, 3, 3]
    best = res.winners[0]
    assert res.multi_distances[0] == pytest.approx(np.linalg.norm(samples[best].mean(axis=0) - 1))


def test_default_surrogate_reproducible_and_selection_helps_on_average():
    base, targets = synthetic_targets(n_targets=6, seed=0)
    a = [run_experiment1(s, base, seed=k) for k, s in enumerate(targets.values())]
    b = [run_experiment1(s, base, seed=k) for k, s in enumerate(targets.values())]
    assert [r.relative_reduction for r in a] == [r.relative_reduction for r in b]
    assert all(r.single_distance < r.base_distance for r in a)
    # iterations keep the winner and move it toward the target
    assert np.mean([r.multi_distances[-1] < r.multi_distances[0] for r in a]) >= 0.5


def test_surrogate_step_saturates():
    m = SurrogateModel(tune_noise=0.0, max_step=0.8, half_k=50)
    rng = np.random.default_rng(0)
    x = np.zeros(3)
    s = np.ones((50, 3))
    np.testing.assert_allclose(m.fine_tune(x, s, rng), 0.4)  # half_k samples -> half of max_step
    np.testing.assert_allclose(m.fine_tune(x, np.ones((150, 3)), rng), 0.6)


@pytest.mark.parametrize("kw,match", [
    (dict(clones=0), "clones"), (dict(iterations=0), "iterations"), (dict(clones=5, iterations=5), "clones"),
    (dict(target=np.zeros(2)), "target"),
])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        run_experiment1(np.ones((10, 3)), np.zeros(3), **kw)
    with pytest.raises(ValueError, match="NaN"):
        run_experiment1(np.full((10, 3), np.nan), np.zeros(3))


def test_pool_exhaustion_is_refused_and_the_limit_is_exact():
    from crowd_sft.experiment1 import max_iterations, min_samples_needed

    need = min_samples_needed(3, 3)
    assert need == 8  # 8 -> 5 -> 3 in the worst case: every clone still gets one sample
    # the old rule clones * iterations <= k let k = 10 with 2 x 5 through (10 -> 5 -> 2 -> 1: an empty clone);
    # 2 clones halve the pool, so 5 iterations need 32 -> 16 -> 8 -> 4 -> 2
    with pytest.raises(ValueError, match=r"iterations=5 with clones=2.*at least 32 samples"):
        run_experiment1(np.ones((10, 3)), np.zeros(3), clones=2, iterations=5)
    with pytest.raises(ValueError, match="iterations=3 with clones=3"):
        run_experiment1(np.ones((7, 3)), np.zeros(3), clones=3, iterations=3)
    with pytest.raises(ValueError, match="clones=1"):
        run_experiment1(np.ones((7, 3)), np.zeros(3), clones=1, iterations=2)
    # at the limit, every seed gives finite distances and non-empty winners (exhaustive over the split draws)
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(need, 3))
    for seed in range(200):
        r = run_experiment1(samples, np.zeros(3), clones=3, iterations=3, target=np.full(3, 5.0),
                            fine_tune=_exact_tune, embed=_exact_embed, seed=seed)
        assert np.all(np.isfinite(r.multi_distances)) and all(len(w) >= 1 for w in r.winners)
    assert max_iterations(need, 3) == 3 and max_iterations(need - 1, 3) == 2


def test_non_finite_callable_output_raises_instead_of_returning_nan():
    with pytest.raises(ValueError, match="non-finite"):
        run_experiment1(np.ones((10, 3)), np.zeros(3), fine_tune=lambda m, s, r: np.full(3, np.nan),
                        embed=_exact_embed, seed=0)
    with pytest.raises(ValueError, match="undefined"):  # single model hits the target: reduction 0/0
        run_experiment1(np.ones((10, 3)), np.zeros(3), fine_tune=_exact_tune, embed=_exact_embed, seed=0)


def test_reduction_over_seeds_reports_mean_and_interval():
    from crowd_sft.experiment1 import reduction_over_seeds

    base, targets = synthetic_targets(n_targets=3, seed=0)
    a = reduction_over_seeds(targets, base, seeds=6, seed=1)
    b = reduction_over_seeds(targets, base, seeds=6, seed=1)
    np.testing.assert_array_equal(a.per_seed, b.per_seed)
    assert a.ci[0] < a.mean < a.ci[1] and a.mean == pytest.approx(a.per_seed.mean())
    # the interval is a t-interval over the 6 per-seed means
    from scipy.stats import t
    h = t.ppf(0.975, 5) * a.per_seed.std(ddof=1) / np.sqrt(6)
    assert a.ci[1] - a.mean == pytest.approx(h)
    assert set(a.per_target) == set(targets)
