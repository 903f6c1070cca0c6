"""Shapley values for any cooperative game and for the Crowd-SFT games.

Estimators (all return a :class:`ShapleyResult` with ``values``, ``stderr``, unique
``evaluations``, ``seconds``, ``method``):

* :func:`exact_shapley` -- Gray-code enumeration, O(2^n) beyond the value evaluations; numba
  incremental kernel for the published mean-vector game (n = 25 in about a second).
* :func:`closed_form_shapley` -- O(n) closed form of the dot-product game.
* :func:`monte_carlo_shapley` -- antithetic / plain permutation or stratified sampling (sampler
  objects in :mod:`crowd_sft.shapley.samplers` carry each scheme's own options) with
  standard errors, composable stopping rules (:mod:`crowd_sft.shapley.stopping`), a hard budget,
  process-pool or Dask workers.
* :func:`kernel_shap` -- KernelSHAP: the published estimator (``variant="published"``) and the
  paired unbiased variant with standard errors.
* :func:`shapley_values` -- one entry point for all of them.

Games live in :mod:`crowd_sft.games`. References: paper Section IV-B (step 6, Fig. 6-7);
spec ``shared/spec/crowd_sft.md`` "Shapley values as published".
"""
from __future__ import annotations

from .. import _constants as _C

from ..games import MemoGame, PublishedGame, as_game

from ._result import ShapleyResult
from .exact import EXACT_MAX_PLAYERS, EXACT_MAX_PLAYERS_FAST, closed_form_shapley, exact_shapley, mean_game_closed_form
from .kernelshap import KERNEL_VARIANTS, kernel_shap
from .montecarlo import SAMPLERS, monte_carlo_shapley
from .samplers import AntitheticSampler, PermutationSampler, Sampler, StratifiedSampler
from .stopping import (EstimatorState, MaxEvaluations, MaxSamples, MaxTime, NeverStop, RankStable,
                       StandardErrorBelow, StoppingCriterion)

__all__ = ["ShapleyResult", "shapley_values", "exact_shapley", "closed_form_shapley", "monte_carlo_shapley",
           "kernel_shap", "mean_game_closed_form", "METHODS", "SAMPLERS", "KERNEL_VARIANTS", "EXACT_MAX_PLAYERS",
           "EXACT_MAX_PLAYERS_FAST", "StoppingCriterion", "EstimatorState", "MaxEvaluations", "MaxSamples", "MaxTime",
           "StandardErrorBelow", "RankStable", "NeverStop", "Sampler", "AntitheticSampler", "PermutationSampler",
           "StratifiedSampler"]

METHODS = _C.METHODS


def _auto_method(game) -> str:
    inner = game
    while isinstance(inner, MemoGame):
        inner = inner.game
    if isinstance(inner, PublishedGame):
        if inner.evaluation == "dot":
            return "closed"
        return "exact" if inner.n_players <= 22 else "mc"
    return "exact" if game.n_players <= 12 else "mc"


def shapley_values(game, method: str = "exact", *, seed=None, target_se: float | None = None,
                   max_evaluations: int | None = None, n_jobs: int = 1, n_players: int | None = None,
                   **kw) -> ShapleyResult:
    """Shapley values of ``game`` by ``method``.

    Parameters
    ----------
    game : Game, object with ``n_players`` and ``values(masks)``, or callable (give ``n_players``)
    method : {"exact", "mc", "kernel", "closed", "auto"}
        ``"auto"``: closed form for the dot game, exact for the published game up to n = 22 (and
        generic games up to 12), stratified Monte Carlo above.
    seed, target_se, max_evaluations, n_jobs
        Passed to :func:`monte_carlo_shapley` (``seed`` and ``max_evaluations`` -> ``n_samples``
        also to :func:`kernel_shap`).
    **kw
        Further keywords of the chosen estimator (e.g. ``sampler=``, ``stop=``, ``scheduler=``,
        ``variant=``).

    Examples
    --------
    >>> import numpy as np
    >>> from crowd_sft.games import PublishedGame
    >>> rng = np.random.default_rng(0)
    >>> g = PublishedGame(rng.uniform(0, 5, (10, 20)), rng.uniform(0, 5, 20), "l2")
    >>> exact = shapley_values(g, "exact")
    >>> mc = shapley_values(g, "mc", seed=1, max_evaluations=500, sampler="stratified")
    >>> bool(abs(mc.values - exact.values).max() < 6 * mc.stderr.max())
    True
    >>> mc.evaluations <= 500
    True
    """
    g = as_game(game, n_players)
    if method == "auto":
        method = _auto_method(g)
        if method == "mc":
            kw.setdefault("sampler", "stratified")  # the most accurate sampler for the Crowd-SFT games
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method in ("exact", "closed"):
        extra = set(kw) - {"progress"}
        if extra or target_se is not None or max_evaluations is not None:
            raise ValueError(f"method={method!r} takes no sampling options (got {sorted(extra) or 'target_se/max_evaluations'})")
        return exact_shapley(g, **kw) if method == "exact" else closed_form_shapley(g)
    if method == "mc":
        return monte_carlo_shapley(g, seed=seed, target_se=target_se, max_evaluations=max_evaluations,
                                   n_jobs=n_jobs, **kw)
    if target_se is not None:
        raise ValueError("target_se is not supported by method='kernel' (fixed budget n_samples); use method='mc'")
    if max_evaluations is not None:
        kw.setdefault("n_samples", max_evaluations)
    return kernel_shap(g, seed=seed, **kw)
