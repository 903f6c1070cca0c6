"""Cooperative games for Shapley analysis of Crowd-SFT, and the generic game interface.

A *game* on ``n`` players is anything with

* ``n_players`` (int), and
* ``values(masks) -> ndarray`` taking a ``(k, n)`` 0/1 (bool) array of coalitions and returning
  the ``k`` coalition values (the vectorised fast path).

Plain Python callables on one coalition are wrapped by :class:`CallableGame`; a table of all
``2**n`` values by :class:`TableGame`. :class:`MemoGame` memoises coalition values by key (the
packed bit mask), so that estimators count and pay for *unique* evaluations only.

Crowd-SFT games (paper Section IV-B "Final Evaluation", spec "Shapley values as published"):

* :class:`PublishedGame` -- ``v(S) = eval(mean_{i in S} u_i, e)``, ``v(empty) = eval(0, e)`` with
  ``eval`` one of ``'l2'`` (``-||y-e||_2``), ``'l1'`` (``-||y-e||_1``), ``'dot'`` (``y.e``).
  Points, groups and the trajectory play no role in it.
* :class:`TrueContributionGame` -- ``v(S) = -(final L2 distance of a tournament run in which only
  the users in S take part)``, same seed and settings: the contribution the paper's fairness
  question is really about.

References
----------
Sotiropoulos et al. (2025), "Crowd-SFT: Crowdsourcing for LLM Alignment", Section IV-B, Fig. 6-7.
Spec: ``shared/spec/crowd_sft.md``, sections "One run" and "Shapley values as published".

Layering: this module sits above :mod:`crowd_sft.scoring` and :mod:`crowd_sft.tournament` and
below the Shapley estimators. ``points_vs_shapley`` (which needs the estimators) lives in
:mod:`crowd_sft.analysis`; ``crowd_sft.games.points_vs_shapley`` still works, with a
``DeprecationWarning``.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import _constants as _C

from ._validate import check_int
from .scoring import EVALUATIONS, _score, _score_sum, eval_code, scores  # noqa: F401  (re-exported)
from .tournament import run_tournament

__all__ = [
    "EVALUATIONS",
    "Game",
    "CallableGame",
    "TableGame",
    "MemoGame",
    "PublishedGame",
    "TrueContributionGame",
    "single_user_distance",
    "as_game",
    "check_masks",
    "PointsComparison",
    "compare_points",
]

def check_masks(masks, n_players: int) -> np.ndarray:
    """Validate a batch of coalitions and return it as a ``(k, n)`` bool array."""
    m = np.asarray(masks)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.shape[1] != n_players:
        raise ValueError(f"masks must have shape (k, n_players={n_players}), got {np.shape(masks)}")
    if m.dtype != np.bool_:
        if not np.all((m == 0) | (m == 1)):
            raise ValueError("masks must be 0/1 (or bool) coalition indicators")
        m = m.astype(bool)
    return m


def _check_values(v, k: int, where: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape == (k, 1):
        v = v[:, 0]
    if v.shape != (k,):
        raise ValueError(f"value function ({where}) must return shape ({k},) for {k} coalitions, got {v.shape}")
    if not np.all(np.isfinite(v)):
        bad = int(np.flatnonzero(~np.isfinite(v))[0])
        raise ValueError(f"value function ({where}) returned a non-finite value ({v[bad]}) for a coalition; "
                         "coalition values must be finite numbers")
    return v


class Game:
    """Base class: a cooperative game on ``n_players`` players.

    Subclasses implement :meth:`_values` on a validated ``(k, n)`` bool array. ``values`` checks
    the input and output (shape, finiteness) and raises ``ValueError`` with the parameter name.
    """

    n_players: int

    def values(self, masks) -> np.ndarray:
        """Values of a batch of coalitions: ``(k, n)`` 0/1 array -> ``(k,)`` float array."""
        m = check_masks(masks, self.n_players)
        return _check_values(self._values(m), m.shape[0], type(self).__name__)

    def value(self, coalition) -> float:
        """Value of one coalition: an iterable of distinct player indices, or a boolean mask of length n.

        A 0/1 *integer* array is ambiguous (indices or a mask?) and is rejected through the repeated-index
        check; pass ``mask.astype(bool)`` for a mask.
        """
        items = coalition.ravel() if isinstance(coalition, np.ndarray) else list(coalition)
        if (isinstance(coalition, np.ndarray) and coalition.dtype == bool) or \
                (len(items) and all(isinstance(i, (bool, np.bool_)) for i in items)):
            arr = np.asarray(items, dtype=bool)
            if arr.shape != (self.n_players,):
                raise ValueError(f"a boolean coalition mask must have shape ({self.n_players},), got {arr.shape}")
            return float(self.values(arr[None, :])[0])
        mask = np.zeros((1, self.n_players), dtype=bool)
        idx = [int(i) for i in items]
        if idx:
            if min(idx) < 0 or max(idx) >= self.n_players:
                raise ValueError(f"coalition members must be in 0..{self.n_players - 1}")
            if len(set(idx)) != len(idx):
                raise ValueError("coalition has repeated player indices; give distinct indices, or a boolean "
                                 "mask (e.g. mask.astype(bool)) to select players by 0/1")
            mask[0, idx] = True
        return float(self.values(mask)[0])

    def _values(self, masks: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, masks) -> np.ndarray:
        return self.values(masks)


def _check_n(n_players) -> int:
    return check_int(n_players, "n_players", 1)


class CallableGame(Game):
    """Wrap a Python callable as a game.

    Parameters
    ----------
    fn : callable
        If ``vectorized`` is False (default): called once per coalition with a ``frozenset`` of
        player indices (``coalition="set"``, default) or a 1-D bool mask (``coalition="mask"``),
        returning a float. If ``vectorized`` is True: called with a ``(k, n)`` bool array and
        returning ``k`` values.
    n_players : int
    vectorized : bool
    coalition : {"set", "mask"}

    Examples
    --------
    >>> g = CallableGame(lambda S: float(len(S) ** 2), 3)
    >>> g.value([0, 2])
    4.0
    """

    def __init__(self, fn: Callable, n_players: int, *, vectorized: bool = False, coalition: str = "set"):
        if not callable(fn):
            raise ValueError("fn must be callable")
        if coalition not in ("set", "mask"):
            raise ValueError(f"coalition must be 'set' or 'mask', got {coalition!r}")
        self.fn = fn
        self.n_players = _check_n(n_players)
        self.vectorized = bool(vectorized)
        self.coalition = coalition

    def _values(self, masks):
        if self.vectorized:
            return self.fn(masks)
        out = np.empty(masks.shape[0])
        for r in range(masks.shape[0]):
            arg = frozenset(np.flatnonzero(masks[r]).tolist()) if self.coalition == "set" else masks[r].copy()
            out[r] = self.fn(arg)
        return out


class TableGame(Game):
    """Game given by the table of all ``2**n`` coalition values.

    ``table[b]`` is the value of the coalition whose bit ``i`` of ``b`` is player ``i``.
    """

    def __init__(self, table):
        t = np.asarray(table, dtype=np.float64)
        n = int(round(math.log2(t.shape[0]))) if t.ndim == 1 and t.shape[0] >= 2 else -1
        if n < 1 or t.shape[0] != 1 << n:
            raise ValueError(f"table must be 1-D of length 2**n_players (n_players >= 1), got shape {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError("table must contain only finite values")
        self.table = t
        self.n_players = n
        self._pow = (1 << np.arange(n)).astype(np.int64)

    def _values(self, masks):
        return self.table[masks.astype(np.int64) @ self._pow]


class MemoGame(Game):
    """Memoise a game's coalition values by key and count *unique* evaluations.

    The key of a coalition is its packed bit mask (``np.packbits``), so memory is ``n/8`` bytes per
    coalition. Every batch is deduplicated before the inner game is called; ``evaluations`` is the
    number of distinct coalitions evaluated so far, ``calls`` the number of batched inner calls.
    """

    def __init__(self, game, *, max_cache: int | None = None):
        self.game = as_game(game)
        self.n_players = self.game.n_players
        self.cache: dict[bytes, float] = {}
        self.evaluations = 0
        self.calls = 0
        self.max_cache = max_cache
        self._lock = threading.RLock()

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def values_counted(self, masks) -> tuple[np.ndarray, int]:
        """``(values, new)``: the batch's values and how many unique coalitions it newly evaluated
        (thread-safe: concurrent batches are serialised)."""
        with self._lock:
            before = self.evaluations
            v = self.values(masks)
            return v, self.evaluations - before

    def _values(self, masks):
        packed = np.packbits(masks, axis=1)
        keys = [row.tobytes() for row in packed]
        out = np.empty(len(keys))
        missing: dict[bytes, int] = {}
        for r, key in enumerate(keys):
            val = self.cache.get(key)
            if val is None:
                if key not in missing:
                    missing[key] = r
                out[r] = np.nan
            else:
                out[r] = val
        if missing:
            rows = np.fromiter(missing.values(), dtype=np.int64, count=len(missing))
            vals = self.game.values(masks[rows])
            self.calls += 1
            self.evaluations += len(rows)
            if self.max_cache is None or len(self.cache) + len(rows) <= self.max_cache:
                for key, v in zip(missing.keys(), vals):
                    self.cache[key] = float(v)
            lookup = dict(zip(missing.keys(), vals))
            for r, key in enumerate(keys):
                if key in lookup:
                    out[r] = lookup[key]
        return out


def as_game(obj, n_players: int | None = None, *, vectorized: bool | None = None) -> Game:
    """Turn ``obj`` into a :class:`Game`.

    A :class:`Game` (or anything with ``n_players`` and ``values``) is returned as is; a callable
    needs ``n_players``: it is treated as vectorised if ``vectorized`` is True, else as a function of
    one coalition (a frozenset of indices).
    """
    if isinstance(obj, Game):
        return obj
    if hasattr(obj, "n_players") and hasattr(obj, "values") and callable(obj.values):
        return _DuckGame(obj)
    if callable(obj):
        if n_players is None:
            raise ValueError("n_players is required when the game is a plain callable")
        return CallableGame(obj, n_players, vectorized=bool(vectorized))
    raise ValueError(f"game must be a Game, an object with n_players and values(masks), or a callable; got {type(obj)}")


class _DuckGame(Game):
    def __init__(self, obj):
        self.obj = obj
        self.n_players = _check_n(obj.n_players)

    def _values(self, masks):
        return self.obj.values(masks)


def _as_matrix(users, name="users") -> np.ndarray:
    u = np.ascontiguousarray(users, dtype=np.float64)
    if not u.flags.writeable:     # a read-only array is another numba type: one compiled specialisation only
        u = u.copy()
    if u.ndim != 2 or u.shape[0] < 1 or u.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (n_players >= 1, d >= 1), got shape {np.shape(users)}")
    if not np.all(np.isfinite(u)):
        raise ValueError(f"{name} must be finite")
    return u


class PublishedGame(Game):
    """The Crowd-SFT Shapley game as published: ``v(S) = eval(mean_{i in S} u_i, e)``.

    ``v(empty) = eval(0, e)`` (the all-zeros KernelSHAP background row). Spec "Shapley values as
    published"; paper Section IV-B step 6.

    Parameters
    ----------
    users : (n, d) array
        Preference vectors of the players (player order).
    expert : (d,) array
        Expert target ``e``.
    evaluation : {"l2", "l1", "dot"}
        ``'l2'``: ``-||y-e||_2``; ``'l1'``: ``-||y-e||_1``; ``'dot'``: ``y.e``.

    Examples
    --------
    >>> import numpy as np
    >>> g = PublishedGame(np.eye(2), np.array([1.0, 0.0]), "dot")
    >>> g.values(np.array([[1, 1], [1, 0], [0, 0]]))
    array([0.5, 1. , 0. ])
    """

    def __init__(self, users, expert, evaluation: str = "l2"):
        self.users = _as_matrix(users)
        e = np.ascontiguousarray(expert, dtype=np.float64)
        if not e.flags.writeable:     # as _as_matrix: one compiled specialisation of the kernels
            e = e.copy()
        if e.shape != (self.users.shape[1],):
            raise ValueError(f"expert must have shape ({self.users.shape[1]},), got {e.shape}")
        if not np.all(np.isfinite(e)):
            raise ValueError("expert must be finite")
        self.expert = e
        self.evaluation = evaluation
        self.code = eval_code(evaluation)
        self.n_players = self.users.shape[0]
        self.empty_value = float(scores(np.zeros_like(e), e, evaluation)[0])

    @classmethod
    def from_instance(cls, instance, evaluation: str = "l2") -> "PublishedGame":
        """Build from a :class:`crowd_sft.tournament.Instance`."""
        return cls(instance.users, instance.expert, evaluation)

    @property
    def dot_contributions(self) -> np.ndarray:
        """``a_i = u_i . e``: with ``evaluation='dot'`` the game is ``v(S) = mean_{i in S} a_i``."""
        return self.users @ self.expert

    def _values(self, masks):
        sizes = masks.sum(axis=1)
        sums = masks.astype(np.float64) @ self.users
        out = np.full(masks.shape[0], self.empty_value)
        nz = sizes > 0
        if np.any(nz):
            out[nz] = scores(sums[nz] / sizes[nz, None], self.expert, self.evaluation)
        return out


SMALL_COALITION_RULES = _C.SMALL_COALITION_RULES


class TrueContributionGame(Game):
    """The "true contribution" game: ``v(S) = -(final L2 distance of a tournament with only S)``.

    Every coalition's tournament uses the same seed and settings (``n_groups``, grouping,
    evaluation, rounds, delta, error probability, weight power, and the same initial model
    ``x0``); only the users in S take part (their relative order is kept). The value is always
    minus the *L2* final distance (spec "One run": the reported distance is L2 whatever ``eval``).

    Coalitions smaller than the group count are handled by ``small_coalitions``:

    * ``"fewer_groups"`` (default): run with ``min(n_groups, |S|)`` groups. A single user is a
      single group: every round its candidate ``x + delta (u - x)`` is adopted iff it scores
      strictly better than ``x`` (with one candidate the expert has nothing to confuse it with),
      simulated here because the tournament needs at least two groups.
    * ``"frozen"``: no tournament can be formed, the model stays at ``x0``:
      ``v(S) = -||x0 - e||``.

    The empty coalition always has ``v(empty) = -||x0 - e||`` (nobody moves the model).

    Coalition values are expensive (one full tournament each); wrap in :class:`MemoGame` (the
    estimators in :mod:`crowd_sft.shapley` do) to pay once per unique coalition.
    """

    def __init__(self, users, expert, x0, *, seed, n_groups: int = 3, small_coalitions: str = "fewer_groups",
                 **tournament_kwargs):
        self.users = _as_matrix(users)
        d = self.users.shape[1]
        self.expert = np.ascontiguousarray(expert, dtype=np.float64)
        self.x0 = np.ascontiguousarray(x0, dtype=np.float64)
        if self.expert.shape != (d,):
            raise ValueError(f"expert must have shape ({d},), got {self.expert.shape}")
        if self.x0.shape != (d,):
            raise ValueError(f"x0 must have shape ({d},), got {self.x0.shape}")
        check_int(n_groups, "n_groups", 1)
        if small_coalitions not in SMALL_COALITION_RULES:
            raise ValueError(f"small_coalitions must be one of {SMALL_COALITION_RULES}, got {small_coalitions!r}")
        if isinstance(seed, np.random.Generator) or seed is None:
            raise ValueError("seed must be an int or SeedSequence (the same seed is reused for every coalition)")
        self.seed = seed
        self.n_groups = int(n_groups)
        self.small_coalitions = small_coalitions
        self.tournament_kwargs = dict(tournament_kwargs)
        self.n_players = self.users.shape[0]
        self.empty_value = -float(np.linalg.norm(self.x0 - self.expert))

    @classmethod
    def from_instance(cls, instance, *, seed, **kwargs) -> "TrueContributionGame":
        return cls(instance.users, instance.expert, instance.x0, seed=seed, **kwargs)

    def _seed(self):
        s = self.seed
        if isinstance(s, np.random.SeedSequence):  # fresh copy: identical stream for every coalition
            return np.random.SeedSequence(s.entropy, spawn_key=s.spawn_key, pool_size=s.pool_size)
        return s

    def value_of(self, mask: np.ndarray) -> float:
        idx = np.flatnonzero(mask)
        k = idx.size
        if k == 0:
            return self.empty_value
        if k < self.n_groups and self.small_coalitions == "frozen":
            return self.empty_value
        if k == 1:
            return -single_user_distance(self.users[idx[0]], self.expert, self.x0,
                                         evaluation=self.tournament_kwargs.get("evaluation", "l2"),
                                         rounds=self.tournament_kwargs.get("rounds", 100),
                                         delta=self.tournament_kwargs.get("delta", 0.1))
        res = run_tournament(self.users[idx], self.expert, self.x0, n_groups=max(2, min(self.n_groups, k)),
                             seed=self._seed(), **self.tournament_kwargs)
        return -float(res.final_distance)

    def _values(self, masks):
        return np.array([self.value_of(m) for m in masks], dtype=np.float64)


def single_user_distance(u, e, x0, *, evaluation: str = "l2", rounds: int = 100, delta: float = 0.1) -> float:
    """Final L2 distance of a one-user, one-group tournament (spec "One run" with m = 1).

    Each round the only candidate ``x + delta (u - x)`` is adopted iff ``eval`` scores it strictly
    higher than ``x``; there is no other candidate for an expert error to pick.
    """
    x = np.array(x0, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    s_x = float(scores(x, e, evaluation)[0])
    for _ in range(int(rounds)):
        cand = x + delta * (u - x)
        s_c = float(scores(cand, e, evaluation)[0])
        if not s_c > s_x:
            break  # the state no longer changes: later rounds give the same comparison
        x, s_x = cand, s_c
    return float(np.linalg.norm(x - e))


@dataclass(frozen=True)
class PointsComparison:
    """Correlation of tournament points with Shapley values of one or more games."""

    pearson: dict
    spearman: dict


def _pearson(a, b) -> float:
    a = np.asarray(a, float) - np.mean(a)
    b = np.asarray(b, float) - np.mean(b)
    den = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / den) if den > 0 else float("nan")


def _rank(x) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (``scipy.stats.rankdata``'s default)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return np.full(x.size, np.nan)  # as scipy's nan_policy='propagate'
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.concatenate([[True], xs[1:] != xs[:-1]])
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], x.size)
    avg = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    out = np.empty(x.size)
    out[order] = avg[group]
    return out


_MOVED = {"points_vs_shapley": "crowd_sft.analysis.points_vs_shapley (or crowd_sft.points_vs_shapley)",
          "PointsVsShapley": "crowd_sft.analysis.PointsVsShapley"}


def __getattr__(name):
    """Deprecated names that moved up to :mod:`crowd_sft.analysis` (it sits above this module, so
    they are resolved by name at first use, with a ``DeprecationWarning``; no import edge)."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    value = getattr(importlib.import_module("crowd_sft.analysis"), name)
    if name == "PointsVsShapley":
        return value
    func = value

    def points_vs_shapley(*args, **kwargs):
        warnings.warn(f"crowd_sft.games.{name} is deprecated; use {_MOVED[name]}", DeprecationWarning, stacklevel=2)
        return func(*args, **kwargs)

    points_vs_shapley.__doc__ = func.__doc__
    return points_vs_shapley


def compare_points(points, **shapley_by_game) -> PointsComparison:
    """Pearson and Spearman correlation of ``points`` with each named Shapley vector.

    Examples
    --------
    >>> c = compare_points([1, 2, 3], published=[0.1, 0.2, 0.4], true=[3, 2, 1])
    >>> round(c.spearman["true"], 6)
    -1.0
    """
    p = np.asarray(points, dtype=float)
    if p.ndim != 1 or p.size < 2:
        raise ValueError("points must be a 1-D array with at least 2 entries")
    pear, spear = {}, {}
    for name, sv in shapley_by_game.items():
        s = np.asarray(getattr(sv, "values", sv), dtype=float)
        if s.shape != p.shape:
            raise ValueError(f"{name} must have the same shape as points {p.shape}, got {s.shape}")
        pear[name] = _pearson(p, s)
        spear[name] = _pearson(_rank(p), _rank(s))
    return PointsComparison(pearson=pear, spearman=spear)
