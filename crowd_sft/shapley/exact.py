"""Exact Shapley values: Gray-code enumeration and closed forms.

Enumeration uses ``phi_i = sum_{S contains i} (w(|S|-1) + w(|S|)) v(S) - sum_S w(|S|) v(S)`` with
``w(s) = s!(n-1-s)!/n!`` (``w(n) = 0``): each coalition's value is a +w(|S|-1) term for its
members and a -w(|S|) term for the others. Walking the coalitions in Gray-code order (one player
flips per step) gives every player's member-sum in O(1) per step from a running prefix sum, so
the whole computation is O(2^n) beyond the value evaluations themselves; for the published
mean-vector game the values are also updated incrementally (O(d) per coalition).
"""
from __future__ import annotations

import time

import numpy as np

from ..games import MemoGame, PublishedGame, TableGame, as_game

from ._kernels import _gray_exact_mean_game, _gray_exact_table, shapley_weights
from ._result import Progress, ShapleyResult

__all__ = ["exact_shapley", "closed_form_shapley", "EXACT_MAX_PLAYERS", "EXACT_MAX_PLAYERS_FAST"]

EXACT_MAX_PLAYERS_FAST = 30
"""Largest n for exact enumeration of the published mean-vector game (2^30 Gray steps, ~10-30 s)."""
EXACT_MAX_PLAYERS = 25
"""Largest n for exact enumeration of a generic game (a 2^n table of values, 256 MiB at n = 25)."""

_BATCH = 1 << 15


def _too_large(n: int, limit: int, game) -> ValueError:
    hint = "method='mc' (Monte Carlo with standard errors) or method='kernel'"
    if isinstance(game, PublishedGame) and game.evaluation == "dot":
        hint = "method='closed' (exact closed form for the dot game) or " + hint
    return ValueError(f"n_players={n} is too large for exact enumeration (2^{n} coalitions; the limit for "
                      f"this game is n_players <= {limit}); use {hint}")


def _unwrap(game):
    inner = game
    while isinstance(inner, MemoGame):
        inner = inner.game
    return inner


def exact_shapley(game, *, progress: bool | None = None) -> ShapleyResult:
    """Exact Shapley values by enumerating all ``2**n`` coalitions in Gray-code order.

    Parameters
    ----------
    game : Game or object with ``n_players`` and ``values(masks)``
        :class:`~crowd_sft.games.PublishedGame` uses a numba kernel that updates the running
        sum vector and size incrementally (O(2^n d), n <= 30); a :class:`~crowd_sft.games.TableGame`
        is read directly; any other game is evaluated on all coalitions in batches of 0/1 masks
        (n <= 25), each coalition exactly once.
    progress : bool, optional
        Progress bar on stderr for generic games (default: only if stderr is a TTY).

    Returns
    -------
    ShapleyResult
        ``stderr=None``, ``evaluations = 2**n``.

    Examples
    --------
    >>> import numpy as np
    >>> from crowd_sft.games import TableGame
    >>> r = exact_shapley(TableGame([0.0, 1.0, 2.0, 4.0]))   # v({0})=1, v({1})=2, v({0,1})=4
    >>> r.values
    array([1.5, 2.5])

    References
    ----------
    Shapley (1953); spec "Shapley values as published"; paper Section IV-B step 6.
    """
    t0 = time.perf_counter()
    g = as_game(game)
    inner = _unwrap(g)
    n = g.n_players
    if isinstance(inner, PublishedGame):
        if n > EXACT_MAX_PLAYERS_FAST:
            raise _too_large(n, EXACT_MAX_PLAYERS_FAST, inner)
        w, c = shapley_weights(n)
        phi = np.empty(n)
        total = _gray_exact_mean_game(inner.users, inner.expert, inner.code, inner.empty_value, w, c, phi)
        return ShapleyResult(phi, None, int(total), time.perf_counter() - t0, "exact", n_samples=int(total),
                             calls=int(total), converged=True, stop_reason="exact enumeration",
                             info={"kernel": "gray_mean_game"})
    if n > EXACT_MAX_PLAYERS:
        raise _too_large(n, EXACT_MAX_PLAYERS, inner)
    total = 1 << n
    if isinstance(inner, TableGame):
        table = inner.table
    else:
        table = np.empty(total)
        bits = np.arange(n, dtype=np.int64)
        bar = Progress(f"exact Shapley n={n}", total, progress)
        for b0 in range(0, total, _BATCH):
            codes = np.arange(b0, min(b0 + _BATCH, total), dtype=np.int64)
            masks = ((codes[:, None] >> bits) & 1).astype(bool)
            table[b0:b0 + codes.size] = g.values(masks)
            bar.set(b0 + codes.size)
        bar.close()
    w, c = shapley_weights(n)
    phi = np.empty(n)
    _gray_exact_table(np.ascontiguousarray(table, dtype=np.float64), n, w, c, phi)
    return ShapleyResult(phi, None, total, time.perf_counter() - t0, "exact", n_samples=total, calls=total,
                         converged=True, stop_reason="exact enumeration", info={"kernel": "gray_table"})


def mean_game_closed_form(a: np.ndarray, v0: float) -> np.ndarray:
    """Shapley values of ``v(S) = mean_{i in S} a_i`` (``S`` non-empty), ``v(empty) = v0``.

    Derivation. Player i joining a uniformly random coalition S of size s >= 1 of the others
    (``A_S = sum_{j in S} a_j``, ``E[A_S] = s * abar_i`` with ``abar_i = (sum a - a_i)/(n-1)``)
    has expected marginal ``E[(A_S + a_i)/(s+1) - A_S/s] = (a_i - abar_i)/(s+1)``; for s = 0 the
    marginal is ``a_i - v0``. Averaging over the n equally likely sizes,

        phi_i = (a_i - v0 + (a_i - abar_i) (H_n - 1)) / n,     H_n = 1 + 1/2 + ... + 1/n,

    which is O(n). Efficiency: ``sum_i (a_i - abar_i) = 0`` so ``sum phi = mean(a) - v0 =
    v(N) - v(empty)``.
    """
    a = np.asarray(a, dtype=np.float64)
    n = a.size
    if n == 1:
        return a - v0
    h = float(np.sum(1.0 / np.arange(1, n + 1)))
    abar = (a.sum() - a) / (n - 1)
    return (a - v0 + (a - abar) * (h - 1.0)) / n


def closed_form_shapley(game) -> ShapleyResult:
    """Exact Shapley values of the dot-product game in closed form, O(n d).

    For :class:`~crowd_sft.games.PublishedGame` with ``evaluation='dot'``,
    ``v(S) = mean_{i in S} u_i . e = mean_{i in S} a_i`` and ``v(empty) = 0 . e = 0``, so (see
    :func:`mean_game_closed_form`) ``phi_i = (a_i + (a_i - abar_{-i})(H_n - 1)) / n``. Tested
    against Gray-code enumeration.

    Raises
    ------
    ValueError
        For any other game (L2 / L1 have no closed form: use ``method='exact'`` or ``'mc'``).

    Examples
    --------
    >>> import numpy as np
    >>> from crowd_sft.games import PublishedGame
    >>> g = PublishedGame(np.array([[1.0], [3.0]]), np.array([1.0]), "dot")
    >>> closed_form_shapley(g).values        # v({0})=1, v({1})=3, v(N)=2
    array([0., 2.])

    References
    ----------
    Spec "Shapley values as published" (dot evaluation); paper Section IV-A "Dot Product".
    """
    t0 = time.perf_counter()
    inner = _unwrap(as_game(game))
    if not (isinstance(inner, PublishedGame) and inner.evaluation == "dot"):
        raise ValueError("method='closed' needs the published game with evaluation='dot' (v(S) = mean of u_i.e); "
                         "for other games use method='exact' (n <= 25) or method='mc'")
    phi = mean_game_closed_form(inner.dot_contributions, inner.empty_value)
    return ShapleyResult(phi, None, 0, time.perf_counter() - t0, "closed", converged=True,
                         stop_reason="closed form", info={"formula": "mean-game closed form"})
