"""The published KernelSHAP: shap's design, LARS selection and constrained least squares.

Cross-checks: the LARS transcription against hand-computed paths and against its own Gram form;
the fast engine against the plain transcription (1e-12); and, when ``shap`` is importable (the
bench extra), the solve against ``shap.KernelExplainer`` on the same design.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from crowd_sft.games import CallableGame, PublishedGame
from crowd_sft.shapley import exact_shapley, kernel_shap
from crowd_sft.shapley._lars import lars_active_set, lars_active_set_fast
from crowd_sft.shapley.kernelshap import _published_design, _published_solve
from crowd_sft.tournament import make_instance


def test_lars_orthonormal_design_enters_by_correlation_and_stops_early():
    # orthonormal columns: LAR enters features by |x_j . y| and stops when the rest have zero correlation
    x = np.eye(4)[:, :3]
    y = np.array([3.0, 0.0, -1.0, 0.5])
    assert lars_active_set(x, y, max_iter=3) == [0, 2]   # feature 1 is orthogonal to y: never enters
    assert lars_active_set(x, y, max_iter=1) == [0]      # max_iter caps the iterations
    assert lars_active_set_fast(x.T @ x, x.T @ y, n_samples=4, max_iter=3) == [0, 2]


def test_lars_full_path_reaches_least_squares_and_gram_form_agrees():
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.normal(size=(60, 8))
        y = x @ rng.normal(size=8) + 0.1 * rng.normal(size=60)
        act = lars_active_set(x, y, max_iter=8)
        assert sorted(act) == list(range(8))
        assert act[0] == int(np.argmax(np.abs(x.T @ y)))
        assert lars_active_set(Gram=x.T @ x, Xy=x.T @ y, n_samples=60, max_iter=8) == act
        assert lars_active_set_fast(x.T @ x, x.T @ y, n_samples=60, max_iter=8) == act
        assert lars_active_set_fast(x.T @ x, x.T @ y, n_samples=60, max_iter=3) == act[:3]
    # sign flips (LAR's "drop" iterations add no feature) and collinear columns, python vs compiled
    for _ in range(30):
        x = rng.normal(size=(40, 10))
        x[:, 9] = x[:, 8] + 1e-9 * rng.normal(size=40)   # nearly degenerate pair
        y = rng.normal(size=40)
        g, xy = x.T @ x, x.T @ y
        assert lars_active_set_fast(g, xy, n_samples=40, max_iter=10) == \
            lars_active_set(Gram=g, Xy=xy, n_samples=40, max_iter=10)


def _instances():
    # (n, instance seed 1000 + s, design seed s): (50, 6, l2), (50, 10, l2) and (100, 0, l2) are cases where
    # LARS leaves players out; the others keep everyone (every evaluation is covered at n = 25)
    for n, s, evs in ((25, 1, ("l2", "l1", "dot")), (50, 6, ("l2", "dot")), (50, 10, ("l2",)),
                      (100, 0, ("l2",))):
        inst = make_instance(n, 1000 + s)
        for ev in evs:
            yield PublishedGame(inst.users, inst.expert, ev), s


def test_fast_engine_equals_plain_transcription():
    partial = 0
    for g, s in _instances():
        a = kernel_shap(g, variant="published", seed=s, engine="reference")
        b = kernel_shap(g, variant="published", seed=s)   # fused compiled pass (published game)
        c = kernel_shap(CallableGame(g.values, g.n_players, vectorized=True), variant="published", seed=s)
        scale = max(1.0, float(np.abs(a.values).max()))
        for fast in (b, c):                               # c: design + moments path of any game
            np.testing.assert_allclose(fast.values, a.values, rtol=0, atol=1e-12 * scale)
            np.testing.assert_array_equal(a.values == 0, fast.values == 0)
        partial += a.info["selected"] < g.n_players
    assert partial >= 3  # the LARS selection did leave players out somewhere (not a vacuous check)


@pytest.mark.parametrize("n", [3, 8, 13])
def test_published_is_exact_up_to_13_players(n):
    inst = make_instance(n, n)
    for ev in ("l2", "l1", "dot"):
        g = PublishedGame(inst.users, inst.expert, ev)
        for engine in ("fast", "reference"):
            r = kernel_shap(g, variant="published", seed=0, engine=engine)
            np.testing.assert_allclose(r.values, exact_shapley(g).values, atol=1e-9)


def test_selection_can_be_switched_off_and_refuses_unknown_options():
    g = PublishedGame(*[a for a in (make_instance(30, 2).users, make_instance(30, 2).expert)], "l2")
    r = kernel_shap(g, variant="published", seed=0, l1_reg=False)
    assert r.info["lars_iterations"] is None
    few = kernel_shap(g, variant="published", seed=0, l1_reg="num_features(5)")
    assert few.info["selected"] <= 5
    assert abs(few.values.sum() - r.values.sum()) < 1e-9   # efficiency holds with or without selection
    for bad in ("auto", "aic", "num_features(0)", 0.1):
        with pytest.raises(ValueError, match="l1_reg"):
            kernel_shap(g, variant="published", l1_reg=bad)


@pytest.mark.skipif(importlib.util.find_spec("shap") is None, reason="shap not installed (bench extra)")
@pytest.mark.parametrize("n", [8, 30, 60])
def test_solve_matches_shap_kernel_explainer(n):
    """Same instance and same coalition design: our LARS + constrained WLS equals shap's."""
    import shap

    inst = make_instance(n, 7)
    for ev in ("l2", "l1"):
        g = PublishedGame(inst.users, inst.expert, ev)
        np.random.seed(0)
        ex = shap.KernelExplainer(lambda X: g.values(np.asarray(X) > 0.5), np.zeros((1, n)))
        phi = np.asarray(ex.shap_values(np.ones((1, n)), nsamples=10_000, l1_reg=f"num_features({n})",
                                        silent=True)).reshape(-1)
        k = ex.nsamplesAdded
        ours = _published_solve(ex.maskMatrix[:k] > 0.5, ex.kernelWeights[:k], ex.ey[:k, 0], float(ex.fnull[0]),
                                float(ex.fx[0]), n, ex.nsamples)
        np.testing.assert_allclose(ours, phi, atol=1e-8)
        if n <= 13:
            np.testing.assert_allclose(phi, exact_shapley(g).values, atol=1e-8)
            masks, weights, rows = _published_design(n, 10_000, np.random.default_rng(0))
            assert rows == ex.nsamples and masks.shape[0] == k


def test_fused_engine_continues_the_key_stream_when_it_runs_out(monkeypatch):
    """The fused engine draws the Fisher-Yates keys lazily; when they run out it continues the same
    stream, so the design (and the values) equal the plain transcription's."""
    import crowd_sft.shapley.kernelshap as ks

    inst = make_instance(40, 5)
    g = PublishedGame(inst.users, inst.expert, "l1")
    ref = kernel_shap(g, variant="published", seed=3, engine="reference")
    monkeypatch.setattr(ks, "_first_draws", lambda left: 1)
    calls = []
    real = ks._published_tail
    monkeypatch.setattr(ks, "_published_tail", lambda *a: calls.append(real(*a)) or calls[-1])
    fast = kernel_shap(g, variant="published", seed=3)
    assert calls[0] == -1 and calls[-1] > 0 and len(calls) == 2
    assert fast.n_samples == ref.n_samples
    np.testing.assert_allclose(fast.values, ref.values, rtol=0, atol=1e-12 * max(1.0, np.abs(ref.values).max()))
