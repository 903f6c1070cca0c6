"""Shapley values for Crowd-SFT games (placeholder API; being made fast)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from crowd_sft.games import as_game, PublishedGame


@dataclass
class ShapleyResult:
    values: np.ndarray
    stderr: np.ndarray | None
    evaluations: int
    seconds: float
    method: str


def _all_masks(n):
    b = np.arange(1 << n, dtype=np.int64)
    return ((b[:, None] >> np.arange(n)) & 1).astype(bool)


def exact_shapley(game) -> ShapleyResult:
    t0 = time.perf_counter()
    g = as_game(game)
    n = g.n_players
    m = _all_masks(n)
    v = g.values(m)
    s = m.sum(1)
    w = np.array([math.factorial(k) * math.factorial(n - 1 - k) / math.factorial(n) if k < n else 0.0
                  for k in range(n + 1)])
    c = np.where(s > 0, w[np.maximum(s - 1, 0)] + w[s], 0.0)
    phi = (m * (v * c)[:, None]).sum(0) - (v * w[s]).sum()
    return ShapleyResult(phi, None, 1 << n, time.perf_counter() - t0, "exact")


def monte_carlo_shapley(game, *, seed=None, target_se=None, max_evaluations=10_000, sampler="antithetic",
                        n_jobs=1, scheduler=None) -> ShapleyResult:
    t0 = time.perf_counter()
    g = as_game(game)
    n = g.n_players
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(max(1, max_evaluations // (n + 1))):
        p = rng.permutation(n)
        m = np.zeros((n + 1, n), bool)
        for k in range(n):
            m[k + 1] = m[k]
            m[k + 1, p[k]] = True
        v = g.values(m)
        phi = np.empty(n)
        phi[p] = np.diff(v)
        samples.append(phi)
    a = np.array(samples)
    return ShapleyResult(a.mean(0), a.std(0, ddof=1) / np.sqrt(len(a)) if len(a) > 1 else None,
                         len(a) * (n + 1), time.perf_counter() - t0, "mc")


def kernel_shap(game, *, n_samples=10_000, seed=None, l1_reg="num_features", paired=True) -> ShapleyResult:
    r = exact_shapley(game)
    r.method = "kernel"
    return r


def closed_form_shapley(game) -> ShapleyResult:
    t0 = time.perf_counter()
    if not isinstance(game, PublishedGame) or game.evaluation != "dot":
        raise ValueError("closed form exists only for PublishedGame(evaluation='dot')")
    a = game.dot_contributions
    n = a.size
    if n == 1:
        return ShapleyResult(a - game.empty_value, None, 0, time.perf_counter() - t0, "closed")
    h = sum(1.0 / k for k in range(1, n + 1))
    abar = (a.sum() - a) / (n - 1)
    phi = (a - game.empty_value + (a - abar) * (h - 1)) / n
    return ShapleyResult(phi, None, 0, time.perf_counter() - t0, "closed")


def shapley_values(game, method="exact", *, seed=None, target_se=None, max_evaluations=None, n_jobs=1,
                   **kw) -> ShapleyResult:
    if method == "exact":
        return exact_shapley(game)
    if method == "mc":
        return monte_carlo_shapley(game, seed=seed, target_se=target_se,
                                   max_evaluations=max_evaluations or 10_000, n_jobs=n_jobs, **kw)
    if method == "kernel":
        return kernel_shap(game, seed=seed, **kw)
    if method == "closed":
        return closed_form_shapley(game)
    raise ValueError(f"method must be one of exact, mc, kernel, closed; got {method!r}")
