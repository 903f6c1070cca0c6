"""KernelSHAP without the shap package: the published estimator and a paired variant with error bars.

The paper (Section IV-B) approximated Shapley values with ``shap.KernelExplainer`` using one
all-zeros background row, the all-ones explained instance (so a masked input *is* the coalition's
0/1 mask and the model output is ``v(S)``), identity link, ``nsamples=10_000`` and
``l1_reg="num_features(n)"``. ``variant="published"`` re-implements that estimator:

1. the design: subset sizes are enumerated completely (with their complements) from the outside in
   while the budget allows, the rest is sampled with paired complements and duplicate draws
   accumulate weight;
2. the feature selection that ``l1_reg="num_features(n)"`` triggers: shap runs scikit-learn's
   ``lars_path(..., max_iter=n)`` on an augmented weighted problem and keeps only the active set
   (:mod:`crowd_sft.shapley._lars`). LARS stops early when the remaining correlations fall to
   float32 epsilon, so some players now and then get a value of exactly 0;
3. the efficiency-constrained weighted least squares on the selected players, eliminating the
   last selected one, and shap's clean-up of ``|phi| < 1e-10`` to 0.

With ``n <= 13`` every coalition fits in 10,000 samples and the result is the exact Shapley value;
above that it is a noisy estimate. ``engine="reference"`` is the plain transcription;
``engine="fast"`` (default) computes the same numbers from ``n x n`` moments of the design.

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
from functools import lru_cache

import numpy as np

from .. import _constants as _C

from ..games import MemoGame, PublishedGame, as_game

from ._kernels import _design_moments, _kernelshap_sample, _published_tail, _published_values
from ._lars import lars_active_set, lars_active_set_fast
from .._validate import MAX_KERNEL_SAMPLES
from ._result import ShapleyResult, check_int, seed_sequence

__all__ = ["kernel_shap", "KERNEL_VARIANTS"]

KERNEL_VARIANTS = _C.KERNEL_VARIANTS


def _lars_features(l1_reg, n: int) -> int | None:
    """Number ``r`` of LARS iterations that ``l1_reg`` asks for (``None``: no selection step).

    ``"num_features(r)"`` runs shap's LARS selection with ``max_iter=r`` (published: ``r = n``);
    ``"num_features"`` (no count) means ``r = n``; ``False``/``0``/``None`` skip the selection.
    shap's information-criterion and Lasso options need scikit-learn estimators and are refused.
    """
    if l1_reg is None or l1_reg is False or (isinstance(l1_reg, (int, float)) and not isinstance(l1_reg, bool)
                                             and l1_reg == 0):
        return None
    if isinstance(l1_reg, str):
        if l1_reg == "num_features":
            return n
        m = re.fullmatch(r"num_features\((\d+)\)", l1_reg)
        if m and int(m.group(1)) >= 1:
            return int(m.group(1))
    raise ValueError(f"l1_reg must be 'num_features(r)' with an integer r >= 1 (published: 'num_features({n})'), "
                     f"'num_features' (= all {n} players) or False; got {l1_reg!r}")


def _check_l1(l1_reg, n: int) -> None:
    """``variant='paired'``: no hidden feature selection (all ``n`` players or none requested)."""
    r = _lars_features(l1_reg, n) if not (isinstance(l1_reg, str) and l1_reg in ("auto", "aic", "bic")) else -1
    if r is None or r >= n:
        return
    raise ValueError(f"l1_reg={l1_reg!r} would select a subset of players; variant='paired' does no feature "
                     f"selection: use l1_reg='num_features' (= 'num_features({n})') or l1_reg=False")


def _design_head(n: int, n_samples: int):
    """The deterministic part of shap's design: sizes enumerated completely (with complements).

    Returns ``(n_samples, masks, weights, num_full, weight_vector, num_paired, num_subset_sizes)``.
    """
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
    return n_samples, masks, weights, num_full, weight_vector, num_paired, num_subset_sizes


def _draw_sizes_and_keys(rng, samples_left, num_full, weight_vector, num_paired):
    """The random stream of the sampled part: ``4 * samples_left`` subset sizes (shap's single
    ``choice`` call), then one uniform per member of every candidate subset (partial Fisher-Yates)."""
    rw = weight_vector.copy()
    rw[:num_paired] /= 2
    rw = rw[num_full:]
    rw /= rw.sum()
    sizes = rng.choice(len(rw), 4 * samples_left, p=rw).astype(np.int64) + num_full + 1
    keys = rng.random(int(sizes.sum()))
    return sizes, keys


def _published_design(n: int, n_samples: int, rng: np.random.Generator):
    """shap.KernelExplainer's coalition design, plain transcription (the reference).

    Returns ``(masks (k, n) bool, kernel weights (k,), rows)`` where ``rows`` is shap's
    ``nsamples`` (the rows it allocates: ``k`` or more when the draws run out, the extra rows being
    zero with weight 0; LARS divides by ``2 * rows``).

    A random subset of size ``s`` is the first ``s`` entries of a partial Fisher-Yates shuffle of
    ``0..n-1`` driven by the next ``s`` uniforms of the stream (the published code drew
    ``np.random.permutation(n)[:s]`` from the unseeded global generator; any uniform subset
    draw is the same estimator, and this one is seeded and reproducible).
    """
    n_samples, masks, weights, num_full, weight_vector, num_paired, num_subset_sizes = _design_head(n, n_samples)
    n_fixed = len(masks)
    samples_left = n_samples - n_fixed
    if num_full != num_subset_sizes and samples_left > 0:
        sizes, keys = _draw_sizes_and_keys(rng, samples_left, num_full, weight_vector, num_paired)
        used: dict[bytes, int] = {}
        pos = 0
        off = 0
        while samples_left > 0 and pos < len(sizes):
            size = int(sizes[pos])
            pos += 1
            perm = list(range(n))
            for i in range(size):
                j = i + int(keys[off + i] * (n - i))
                if j > n - 1:
                    j = n - 1
                perm[i], perm[j] = perm[j], perm[i]
            off += size
            m = np.zeros(n, bool)
            m[perm[:size]] = True
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
    return np.array(masks, dtype=bool).reshape(-1, n), np.asarray(weights, dtype=np.float64), int(n_samples)


def _published_solve(masks, weights, ey, fnull, fx, lars_r=None, rows=None):
    """shap's ``KernelExplainer.solve``, plain transcription (the reference).

    Optional LARS feature selection (``lars_r`` iterations on shap's augmented problem,
    ``Gram=None`` path), then the weighted least squares with the efficiency constraint imposed by
    eliminating the last selected player, and shap's clean-up of ``|phi| < 1e-10`` to 0.
    """
    k, n = masks.shape
    rows = k if rows is None else int(rows)
    z = np.zeros((rows, n))
    z[:k] = masks
    w_k = np.zeros(rows)
    w_k[:k] = weights
    e = np.zeros(rows)
    e[:k] = ey
    diff = fx - fnull
    ey_adj = e - fnull
    nonzero = np.arange(n)
    if lars_r is not None:
        s = z.sum(axis=1)
        w_aug = np.hstack((w_k * (n - s), w_k * s))
        w_sqrt = np.sqrt(w_aug)
        y_aug = np.hstack((ey_adj, ey_adj - diff)) * w_sqrt
        x_aug = (w_sqrt * np.vstack((z, z - 1)).T).T
        nonzero = np.asarray(lars_active_set(x_aug, y_aug, max_iter=lars_r), dtype=np.int64)
    phi = np.zeros(n)
    if nonzero.size == 0:
        return phi
    last = nonzero[-1]
    ey2 = ey_adj - z[:, last] * diff
    etmp = (z[:, nonzero[:-1]].T - z[:, last]).T
    tmp = (etmp.T * w_k).T
    lhs = tmp.T @ etmp
    try:
        inv = np.linalg.inv(lhs)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(lhs)
    w = inv @ (tmp.T @ ey2)
    phi[nonzero[:-1]] = w
    phi[last] = diff - sum(w)
    phi[np.abs(phi) < 1e-10] = 0.0
    return phi


@lru_cache(maxsize=64)
def _design_head_cached(n: int, n_samples: int):
    n_samples, masks, weights, num_full, weight_vector, num_paired, num_subset_sizes = _design_head(n, n_samples)
    m = np.array(masks, dtype=bool).reshape(-1, n)
    w = np.asarray(weights, dtype=np.float64)
    m.flags.writeable = False
    w.flags.writeable = False
    return n_samples, m, w, num_full, weight_vector, num_paired, num_subset_sizes


def _published_design_fast(n: int, n_samples: int, rng: np.random.Generator):
    """:func:`_published_design` with the enumerated head cached and the sampled part in numba
    (same random stream, same masks and weights; plain fallback above 128 players)."""
    if n > 128:
        return _published_design(n, n_samples, rng)
    n_samples, head_m, head_w, num_full, weight_vector, num_paired, num_subset_sizes = \
        _design_head_cached(n, int(n_samples))
    samples_left = n_samples - head_m.shape[0]
    if num_full == num_subset_sizes or samples_left <= 0:
        return head_m.copy(), head_w.copy(), int(n_samples)
    sizes, keys = _draw_sizes_and_keys(rng, samples_left, num_full, weight_vector, num_paired)
    masks = np.empty((samples_left, n), dtype=np.bool_)
    weights = np.empty(samples_left)
    k = _kernelshap_sample(n, sizes, keys, samples_left, num_paired, masks, weights)
    tail = weights[:k]
    tail *= float(weight_vector[num_full:].sum()) / tail.sum()
    return np.vstack([head_m, masks[:k]]), np.concatenate([head_w, tail]), int(n_samples)


def _size_cdf(num_full, weight_vector, num_paired):
    rw = weight_vector.copy()
    rw[:num_paired] /= 2
    rw = rw[num_full:]
    rw /= rw.sum()
    cdf = rw.cumsum()  # numpy's Generator.choice(len(rw), size, p=rw): searchsorted of uniforms in this cdf
    cdf /= cdf[-1]
    return cdf


def _first_draws(samples_left: int) -> int:
    """Draws whose sizes and keys are generated up front (a new paired draw takes 2 samples, a repeat
    none: 0.6 covers the paper's crowd sizes; more are drawn on demand)."""
    return int(0.6 * samples_left) + 64


def _published_fused(game, n_samples: int, rng: np.random.Generator, lars_r, v0: float, fx: float):
    """The fast published KernelSHAP on a :class:`PublishedGame`: shap's design drawn from the same
    random stream as :func:`_published_design`, coalition values and the solve's ``n x n`` moments
    in one compiled pass (:func:`._kernels._published_tail`), then :func:`_solve_moments`.

    ``v0``/``fx`` are the values of the empty and grand coalitions. Returns ``(phi, rows)``
    (``rows``: coalitions in the design). Same numbers as the plain transcription to rounding.
    """
    n = game.n_players
    n_samples, head_m, head_w, num_full, weight_vector, num_paired, num_subset_sizes = \
        _design_head_cached(n, int(n_samples))
    users, e, code = game.users, game.expert, game.code
    total = users.sum(axis=0)
    diff = fx - v0
    # the enumerated head: plain moments (few, small rows)
    ey_head = np.empty(head_m.shape[0])
    _published_values(head_m, users, e, code, v0, total, ey_head)
    s_head = head_m.sum(axis=1).astype(np.float64)
    ey_adj = ey_head - v0
    b = head_w * s_head
    t = b * (ey_adj - diff)
    coef = np.ascontiguousarray(np.column_stack([head_w * ey_adj, b, head_w * (n - s_head) * ey_adj + t]))
    p_mat = np.empty((n, n))
    zc = np.empty((n, 3))
    _design_moments(head_m, head_w, coef, p_mat, zc)
    b_sum, t_sum = float(b.sum()), float(t.sum())
    rows = head_m.shape[0]
    samples_left = n_samples - rows
    if num_full != num_subset_sizes and samples_left > 0:
        cdf = _size_cdf(num_full, weight_vector, num_paired)
        u = rng.random(4 * samples_left)  # shap's 4 * samples_left size draws, all taken from the stream
        # sizes and Fisher-Yates keys (which follow in the stream) for the draws the design will likely
        # use; if it needs more, both are extended from the same stream and the pass is repeated
        first = max(1, min(u.size, _first_draws(samples_left)))
        sizes = cdf.searchsorted(u[:first], side="right").astype(np.int64) + num_full + 1
        keys = rng.random(int(sizes.sum()))
        while True:
            q_mat = np.zeros((n, n))
            v_cnt = np.zeros(n)
            m_coef = np.zeros((n, 3))
            acc = np.zeros(8)
            final = sizes.size == u.size
            used = _published_tail(n, sizes, keys, samples_left, num_paired, users, e, code, v0, diff, total,
                                   q_mat, v_cnt, m_coef, acc, final)
            if used >= 0 or final:
                break
            sizes = cdf.searchsorted(u, side="right").astype(np.int64) + num_full + 1
            keys = np.concatenate([keys, rng.random(int(sizes.sum()) - keys.size)])
        f = float(weight_vector[num_full:].sum()) / acc[4]
        q_full = q_mat + q_mat.T
        q_full[np.diag_indices(n)] -= np.diag(q_mat)
        p_mat += f * (acc[0] - v_cnt[:, None] - v_cnt[None, :] + q_full)
        zc += f * (acc[1:4][None, :] + m_coef)
        b_sum += f * acc[5]
        t_sum += f * acc[6]
        rows += int(acc[7])
    phi = _solve_moments(p_mat, zc, b_sum, t_sum, diff, n, int(n_samples), lars_r)
    return phi, rows


def _solve_moments(p_mat, zc, b_sum, t_sum, diff, n, rows, lars_r):
    """LARS selection and constrained least squares from the design moments (see
    :func:`_published_solve_gram`): ``p_mat = Z^T W Z``, ``zc = Z^T [w ey_adj, b, w (n - s) ey_adj + t]``."""
    r_vec = zc[:, 0]
    nonzero = np.arange(n)
    if lars_r is not None:
        u = zc[:, 1]
        gram = n * p_mat - u[:, None] - u[None, :] + b_sum
        xy = zc[:, 2] - t_sum
        nonzero = np.asarray(lars_active_set_fast(gram, xy, n_samples=2 * rows, max_iter=lars_r), dtype=np.int64)
    phi = np.zeros(n)
    if nonzero.size == 0:
        return phi
    last = nonzero[-1]
    a = nonzero[:-1]
    p_al = p_mat[a, last]
    lhs = p_mat[np.ix_(a, a)] - p_al[:, None] - p_al[None, :] + p_mat[last, last]
    rhs = (r_vec[a] - p_mat[a, last] * diff) - (r_vec[last] - p_mat[last, last] * diff)
    try:
        inv = np.linalg.inv(lhs)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(lhs)
    w = inv @ rhs
    phi[a] = w
    phi[last] = diff - sum(w)
    phi[np.abs(phi) < 1e-10] = 0.0
    return phi


def _published_solve_gram(masks, weights, ey, fnull, fx, lars_r=None, rows=None):
    """The same solve as :func:`_published_solve` from ``n x n`` moments of the design.

    With ``P = Z^T W Z`` and ``r = Z^T W (ey - fnull)`` (one pass over the ``k`` coalitions), the
    augmented LARS problem has ``Gram = n P - u 1^T - 1 u^T + sum(b)`` (``b = w * |z|``,
    ``u = Z^T b``) and the constrained least squares is an ``(r-1) x (r-1)`` system read off ``P``,
    so nothing of size ``k x n`` is formed after ``P``. Equal to the reference to rounding.
    """
    k, n = masks.shape
    rows = k if rows is None else int(rows)
    masks = np.ascontiguousarray(masks, dtype=np.bool_)
    diff = fx - fnull
    ey_adj = ey - fnull
    s = masks.sum(axis=1).astype(np.float64)
    b = weights * s
    t = b * (ey_adj - diff)
    coef = np.ascontiguousarray(np.column_stack([weights * ey_adj, b, weights * (n - s) * ey_adj + t]))
    p_mat = np.empty((n, n))
    zc = np.empty((n, 3))
    # read-only views, as the cached head's arrays: one compiled specialisation of the kernel
    masks_ro = masks.view()
    weights_ro = np.ascontiguousarray(weights, dtype=np.float64).view()
    masks_ro.flags.writeable = weights_ro.flags.writeable = False
    _design_moments(masks_ro, weights_ro, coef, p_mat, zc)
    return _solve_moments(p_mat, zc, float(b.sum()), float(t.sum()), diff, n, rows, lars_r)


def _unwrap(game):
    while isinstance(game, MemoGame):
        game = game.game
    return game


def _kernel_A(n: int) -> np.ndarray:
    """Exact A = E[z z^T] under the Shapley kernel (sizes 1..n-1, p(s) ~ 1/(s(n-s)))."""
    s = np.arange(1, n)
    q = 1.0 / (s * (n - s))
    q /= q.sum()
    off = float(np.sum(q * s * (s - 1))) / (n * (n - 1))
    return np.full((n, n), off) + np.eye(n) * (0.5 - off)


KERNEL_ENGINES = ("fast", "reference")


def kernel_shap(game, *, n_samples: int = 10_000, seed=None, l1_reg="num_features", paired: bool = True,
                variant: str = "paired", n_players: int | None = None, engine: str = "fast") -> ShapleyResult:
    """KernelSHAP Shapley estimates (no dependency on the shap package).

    Parameters
    ----------
    game : Game, object with ``n_players``/``values(masks)``, or callable (give ``n_players``)
    n_samples : int
        Coalition budget (shap's ``nsamples``), excluding the empty and grand coalitions.
    seed : int, SeedSequence, Generator or None
    l1_reg : str or False
        ``variant="published"``: shap's feature-selection option. ``"num_features(r)"`` runs shap's
        LARS selection (``lars_path(..., max_iter=r)``) and gives players outside the selected set
        a value of exactly 0, as published with ``r = n``; ``"num_features"`` means ``r = n``
        (default); ``False`` skips the selection. ``variant="paired"``: only ``"num_features"``
        / ``"num_features(n)"`` / ``False`` (no selection). Anything else raises ``ValueError``.
    paired : bool
        ``variant="paired"`` only: draw each coalition with its complement (default True).
    variant : {"paired", "published"}
        ``"published"`` reproduces the paper's estimator (shap.KernelExplainer's design, LARS
        selection and constrained least squares; all coalitions for ``n <= 13`` at 10,000
        samples); ``"paired"`` is Covert & Lee's unbiased estimator with standard errors.
    engine : {"fast", "reference"}
        ``variant="published"``: ``"fast"`` solves from ``n x n`` moments of the design;
        ``"reference"`` is the plain transcription of shap + scikit-learn (same values to
        rounding; ``tests/crowd_sft`` checks 1e-12).

    Returns
    -------
    ShapleyResult
        ``stderr`` for ``"paired"`` (zeros when exact), ``None`` for ``"published"``;
        ``info["selected"]`` counts the players LARS kept (published).

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
    spec "Shapley values as published"; shap ``explainers/_kernel.py`` (``explain``, ``solve``).
    """
    t0 = time.perf_counter()
    g = as_game(game, n_players)
    n = g.n_players
    if variant not in KERNEL_VARIANTS:
        raise ValueError(f"variant must be one of {KERNEL_VARIANTS}, got {variant!r}")
    if engine not in KERNEL_ENGINES:
        raise ValueError(f"engine must be one of {KERNEL_ENGINES}, got {engine!r}")
    n_samples = check_int(n_samples, "n_samples", 1, MAX_KERNEL_SAMPLES)
    lars_r = None
    if variant == "published":
        lars_r = _lars_features(l1_reg, n)
    else:
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
    if variant == "published" and engine == "fast" and n <= 128 and isinstance(_unwrap(g), PublishedGame):
        phi, k = _published_fused(_unwrap(g), n_samples, rng, lars_r, v0, vn)
        selected = int(np.count_nonzero(phi))
        return ShapleyResult(phi, None, int(k) + 2, time.perf_counter() - t0, "kernel",
                             n_samples=int(k), calls=int(k) + 2, converged=all_fit,
                             stop_reason="all coalitions enumerated" if all_fit else f"n_samples={n_samples}",
                             info={"variant": "published", "exact": all_fit and selected == n, "l1_reg": l1_reg,
                                   "lars_iterations": lars_r, "selected": selected, "engine": engine})
    if variant == "published":
        design = _published_design if engine == "reference" else _published_design_fast
        masks, weights, rows = design(n, n_samples, rng)
        if engine == "reference":
            ey = memo.values(masks)
        else:  # the design's rows are distinct: no memo; the published game has a compiled path
            inner = _unwrap(g)
            if isinstance(inner, PublishedGame):
                ey = np.empty(masks.shape[0])
                _published_values(np.ascontiguousarray(masks), inner.users, inner.expert, inner.code,
                                  inner.empty_value, inner.users.sum(axis=0), ey)
            else:
                ey = g.values(masks)
        solve = _published_solve if engine == "reference" else _published_solve_gram
        phi = solve(masks, weights, ey, v0, vn, lars_r, rows)
        selected = int(np.count_nonzero(phi))
        evals = memo.evaluations - before if engine == "reference" else 2 + masks.shape[0]
        return ShapleyResult(phi, None, int(evals), time.perf_counter() - t0, "kernel",
                             n_samples=int(masks.shape[0]), calls=int(masks.shape[0]) + 2, converged=all_fit,
                             stop_reason="all coalitions enumerated" if all_fit else f"n_samples={n_samples}",
                             info={"variant": "published", "exact": all_fit and selected == n, "l1_reg": l1_reg,
                                   "lars_iterations": lars_r, "selected": selected, "engine": engine})
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
