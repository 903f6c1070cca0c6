"""KernelSHAP without the shap package: the published estimator and a paired variant with error bars.

The paper (Section IV-B) approximated Shapley values with ``shap.KernelExplainer`` using one
all-zeros background row, the all-ones explained instance (so a masked input *is* the coalition's
0/1 mask and the model output is ``v(S)``), identity link, ``nsamples=10_000`` and
``l1_reg="num_features(n)"``. ``variant="published"`` re-implements that sampling scheme and
solver: subset sizes are enumerated completely (with their complements) from the outside in while
the budget allows, the rest is sampled with paired complements and duplicate draws accumulate
weight, and the efficiency-constrained weighted least squares is solved by eliminating one player.
With ``n <= 13`` every coalition fits in 10,000 samples and the result is the exact Shapley value;
above that it is a noisy estimate. ``l1_reg="num_features(n)"`` selects all ``n`` players in
shap's LARS step, i.e. no selection, which is what is implemented; genuine feature selection
(``"auto"``, ``"aic"``, ``"bic"``, ``num_features(k)`` with ``k < n``) is deliberately refused.

``variant="paired"`` (default) is the unbiased paired-sampling KernelSHAP of Covert & Lee (2021):
coalitions ``z`` are drawn i.i.d. from the Shapley kernel with their complements, the exactly known
matrix ``A = E[z z^T]`` is used and only ``b = E[z (v(z) - v(empty))]`` is estimated, so the
estimate is an affine function of a sample mean and its standard errors are exact sample
standard errors. When the budget covers all ``2^n - 2`` coalitions it enumerates them (exact).
"""
from __future__ import annotations

import itertools
import math
import re
import time

import numpy as np

from crowd_sft.games import MemoGame, as_game

from ._result import ShapleyResult, check_int, seed_sequence

__all__ = ["kernel_shap", "KERNEL_VARIANTS"]

KERNEL_VARIANTS = ("paired", "published")


def _check_l1(l1_reg, n: int) -> None:
    if l1_reg in (False, None, 0):
        return
    if isinstance(l1_reg, str):
        if l1_reg == "num_features":
            return
        m = re.fullmatch(r"num_features\((\d+)\)", l1_reg)
        if m and int(m.group(1)) >= n:
            return
    raise ValueError(f"l1_reg={l1_reg!r} would select a subset of players; this KernelSHAP does no hidden "
                     f"feature selection: use l1_reg='num_features' (= 'num_features({n})', all players, as "
                     "published) or l1_reg=False")


def _published_design(n: int, n_samples: int, rng: np.random.Generator):
    """shap.KernelExplainer's coalition design: (masks (k, n) bool, kernel weights (k,))."""
    if n <= 30:
        n_samples = min(n_samples, 2**n - 2)
    num_subset_sizes = int(np.ceil((n - 1) / 2.0))
    num_paired = int(np.floor((n - 1) / 2.0))
    weight_vector = np.array([(n - 1.0) / (i * (n - i)) for i in range(1, num_subset_sizes + 1)])
    weight_vector[:num_paired] *= 2
    weight_vector /= weight_vector.sum()
    masks: list[np.ndarray] = []
    weights: list[float] = []
    num_full = 0
    left = n_samples
    remaining = weight_vector.copy()
    for size in range(1, num_subset_sizes + 1):
        nsub = math.comb(n, size) * (2 if size <= num_paired else 1)
        if left * remaining[size - 1] / nsub >= 1.0 - 1e-8:
            num_full += 1
            left -= nsub
            if remaining[size - 1] < 1.0:
                remaining /= 1.0 - remaining[size - 1]
            w = weight_vector[size - 1] / math.comb(n, size)
            if size <= num_paired:
                w /= 2.0
            for inds in itertools.combinations(range(n), size):
                m = np.zeros(n, bool)
                m[list(inds)] = True
                masks.append(m)
                weights.append(w)
                if size <= num_paired:
                    masks.append(~m)
                    weights.append(w)
        else:
            break
    n_fixed = len(masks)
    samples_left = n_samples - n_fixed
    if num_full != num_subset_sizes and samples_left > 0:
        rw = weight_vector.copy()
        rw[:num_paired] /= 2
        rw = rw[num_full:]
        rw /= rw.sum()
        ind_set = rng.choice(len(rw), 4 * samples_left, p=rw)
        used: dict[bytes, int] = {}
        pos = 0
        while samples_left > 0 and pos < len(ind_set):
            size = int(ind_set[pos]) + num_full + 1
            pos += 1
            m = np.zeros(n, bool)
            m[rng.permutation(n)[:size]] = True
            key = m.tobytes()
            new = key not in used
            if new:
                used[key] = len(masks)
                samples_left -= 1
                masks.append(m)
                weights.append(1.0)
            else:
                weights[used[key]] += 1.0
            if samples_left > 0 and size <= num_paired:
                if new:
                    samples_left -= 1
                    masks.append(~m)
                    weights.append(1.0)
                else:
                    weights[used[key] + 1] += 1.0
        wl = float(weight_vector[num_full:].sum())
        tail = np.asarray(weights[n_fixed:])
        weights[n_fixed:] = list(tail * (wl / tail.sum()))
    return np.array(masks, dtype=bool).reshape(-1, n), np.asarray(weights, dtype=np.float64)


def _published_solve(masks, weights, ey, fnull, fx):
    """shap's constrained WLS: eliminate the last player with sum(phi) = fx - fnull."""
    n = masks.shape[1]
    z = masks.astype(np.float64)
    diff = fx - fnull
    ey_adj = ey - fnull
    ey2 = ey_adj - z[:, -1] * diff
    etmp = z[:, :-1] - z[:, -1:]
    tmp = etmp * weights[:, None]
    lhs = tmp.T @ etmp
    try:
        inv = np.linalg.inv(lhs)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(lhs)
    w = inv @ (tmp.T @ ey2)
    phi = np.empty(n)
    phi[:-1] = w
    phi[-1] = diff - w.sum()
    return phi


def _kernel_A(n: int) -> np.ndarray:
    """Exact A = E[z z^T] under the Shapley kernel (sizes 1..n-1, p(s) ~ 1/(s(n-s)))."""
    s = np.arange(1, n)
    q = 1.0 / (s * (n - s))
    q /= q.sum()
    off = float(np.sum(q * s * (s - 1))) / (n * (n - 1))
    return np.full((n, n), off) + np.eye(n) * (0.5 - off)


def kernel_shap(game, *, n_samples: int = 10_000, seed=None, l1_reg="num_features", paired: bool = True,
                variant: str = "paired", n_players: int | None = None) -> ShapleyResult:
    """KernelSHAP Shapley estimates (no dependency on the shap package).

    Parameters
    ----------
    game : Game, object with ``n_players``/``values(masks)``, or callable (give ``n_players``)
    n_samples : int
        Coalition budget (shap's ``nsamples``), excluding the empty and grand coalitions.
    seed : int, SeedSequence, Generator or None
    l1_reg : {"num_features", "num_features(n)", False}
        As published (``"num_features(n)"`` keeps all ``n`` players: no selection). Anything that
        would select fewer players raises ``ValueError``.
    paired : bool
        ``variant="paired"`` only: draw each coalition with its complement (default True).
    variant : {"paired", "published"}
        ``"published"`` reproduces the paper's estimator (shap.KernelExplainer scheme; exact for
        ``n <= 13`` at 10,000 samples); ``"paired"`` is Covert & Lee's unbiased estimator with
        standard errors.

    Returns
    -------
    ShapleyResult
        ``stderr`` for ``"paired"`` (zeros when exact), ``None`` for ``"published"``.

    Examples
    --------
    >>> import numpy as np
    >>> from crowd_sft.games import PublishedGame
    >>> g = PublishedGame(np.random.default_rng(0).uniform(0, 5, (8, 20)), np.full(20, 2.5))
    >>> r = kernel_shap(g, variant="published", seed=0)   # 2^8 - 2 <= 10,000: all coalitions
    >>> r.info["exact"]
    True

    References
    ----------
    Lundberg & Lee (2017) [paper ref. 10]; Covert & Lee (2021) [paper ref. 11]; paper Section IV;
    spec "Shapley values as published".
    """
    t0 = time.perf_counter()
    g = as_game(game, n_players)
    n = g.n_players
    if variant not in KERNEL_VARIANTS:
        raise ValueError(f"variant must be one of {KERNEL_VARIANTS}, got {variant!r}")
    n_samples = check_int(n_samples, "n_samples", 1)
    _check_l1(l1_reg, n)
    memo = g if isinstance(g, MemoGame) else MemoGame(g)
    before = memo.evaluations
    rng = np.random.default_rng(seed_sequence(seed))
    ends = memo.values(np.vstack([np.zeros(n, bool), np.ones(n, bool)]))
    v0, vn = float(ends[0]), float(ends[1])
    if n == 1:
        return ShapleyResult(np.array([vn - v0]), np.zeros(1), memo.evaluations - before, time.perf_counter() - t0,
                             "kernel", converged=True, stop_reason="single player", info={"variant": variant, "exact": True})
    all_fit = n <= 30 and n_samples >= 2**n - 2
    if variant == "published":
        masks, weights = _published_design(n, n_samples, rng)
        ey = memo.values(masks)
        phi = _published_solve(masks, weights, ey, v0, vn)
        return ShapleyResult(phi, None, memo.evaluations - before, time.perf_counter() - t0, "kernel",
                             n_samples=int(masks.shape[0]), calls=int(masks.shape[0]) + 2, converged=all_fit,
                             stop_reason="all coalitions enumerated" if all_fit else f"n_samples={n_samples}",
                             info={"variant": "published", "exact": all_fit, "l1_reg": l1_reg})
    if all_fit:
        from .exact import exact_shapley

        r = exact_shapley(memo)
        return ShapleyResult(r.values, np.zeros(n), memo.evaluations - before, time.perf_counter() - t0, "kernel",
                             n_samples=2**n - 2, calls=2**n, converged=True, stop_reason="all coalitions enumerated",
                             info={"variant": "paired", "exact": True})
    n_draws = n_samples // 2 if paired else n_samples
    if n_draws < 2:
        raise ValueError(f"n_samples must be >= {4 if paired else 2} for variant='paired' (two draws for a standard error)")
    s = np.arange(1, n)
    q = 1.0 / (s * (n - s))
    sizes = rng.choice(s, size=n_draws, p=q / q.sum())
    keys = rng.random((n_draws, n))
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    z = rank < sizes[:, None]
    if paired:
        v = memo.values(np.vstack([z, ~z]))
        vz, vc = v[:n_draws] - v0, v[n_draws:] - v0
        contrib = 0.5 * (z * vz[:, None] + (~z) * vc[:, None])
    else:
        vz = memo.values(z) - v0
        contrib = z * vz[:, None]
    a_inv = np.linalg.inv(_kernel_A(n))
    ones = np.ones(n)
    a1 = a_inv @ ones
    m_mat = a_inv - np.outer(a1, a1) / (ones @ a1)
    const = a1 * (vn - v0) / (ones @ a1)
    y = contrib @ m_mat.T
    phi = y.mean(axis=0) + const
    se = y.std(axis=0, ddof=1) / math.sqrt(n_draws)
    return ShapleyResult(phi, se, memo.evaluations - before, time.perf_counter() - t0, "kernel",
                         n_samples=int(n_draws), calls=int(n_draws * (2 if paired else 1)) + 2, converged=False,
                         stop_reason=f"n_samples={n_samples}", info={"variant": "paired", "exact": False, "paired": paired})
