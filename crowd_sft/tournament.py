"""The Crowd-SFT tournament (Experiment 2, paper Section IV; spec ``crowd_sft.md``).

One run: ``n`` users with preference vectors ``u_i`` start with 1 point each; a model
``x`` (initially ``x0``) is refined for ``T`` rounds. Each round the users are split into
``m`` groups (see :data:`GROUPINGS`); group ``g`` proposes the candidate
``x_g = x + delta (c_g - x)`` with the weighted centroid
``c_g = sum_i p_i^w u_i / sum_i p_i^w`` (``w = weight_power``; 2 as published, 1 as the
paper's prose "weighted by their accumulated point value"). Candidates are scored with
``s(y) = eval(y, e)`` (:func:`evaluate`; larger is better). If the best candidate beats
``s(x)`` strictly, the round updates: with probability ``error_prob`` the expert errs
(``j ~ U{1..m-1}``, ranks 0 and j swap), the group at 0-based rank ``r`` earns ``m - r``
points for each member, and ``x`` becomes the rank-0 candidate. Otherwise nothing moves.

Randomness. Every run draws one ``(T, n + 3)`` block of uniforms from its own
``numpy.random.Generator`` before the first round (columns ``0..n-1``: shuffle keys;
``n``: epsilon-greedy coin; ``n+1``: expert-error coin; ``n+2``: wrong-rank draw), so a run
is a pure function of its seed and inputs, whatever the engine (the numba kernel or the
plain numpy reference :func:`run_tournament` ``engine="reference"``) and however runs are
scheduled. A shuffle of a list of length ``k`` with keys ``u_0..u_{k-1}`` is Fisher-Yates:
for ``i = k-1 .. 1`` swap items ``i`` and ``floor(u_i (i + 1))`` (a uniform permutation).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial

import numpy as np
from numba import njit

from . import _constants as _C

from ._validate import MAX_ROUNDS, check_choice, check_int, check_seed
from .data import as_preferences
from .scoring import EVALUATIONS, _score, evaluate  # one scoring implementation (crowd_sft.scoring)

__all__ = ["GROUPINGS", "EVALUATIONS", "REWARDS", "Instance", "RunResult", "make_instance",
           "evaluate", "run_tournament", "run_settings", "draw_randomness", "group_assignment"]

GROUPINGS: tuple[str, ...] = _C.GROUPINGS
REWARDS: tuple[str, ...] = _C.REWARDS
"""Per-round reward rules. ``"rank"`` (published): rank ``r`` earns ``m - r``.
``"improvement"``: group ``g`` earns ``m * gain_g / max_h gain_h`` with
``gain_g = max(s(x_g) - s(x), 0)``. ``"shapley"``: the group's Shapley value in the
round game ``v(C) = max(0, max_{g in C} s(x_g) - s(x))`` (closed form of this "max" game),
scaled so that the best group earns ``m``. Both alternatives are the paper's Section VI
"alternative reward mechanisms"; they use true scores (the expert error only changes
which candidate is adopted)."""


_code = check_choice  # backward-compatible private alias


# --------------------------------------------------------------------------- data model
@dataclass(frozen=True)
class Instance:
    """One run's inputs (spec "Data").

    Attributes
    ----------
    user_ids : numpy.ndarray
        Ids of the ``n`` players in player order (MovieLens userIds 1..n+1 minus the expert).
    expert_user_id : int
        Id of the user whose vector is the expert target ``e``.
    users : numpy.ndarray
        ``(n, d)`` preference vectors in player order.
    expert : numpy.ndarray
        ``(d,)`` target.
    x0 : numpy.ndarray
        ``(d,)`` initial model, ``Uniform(x0_low, x0_high)^d`` (0, 5 by default).
    """

    user_ids: np.ndarray
    expert_user_id: int
    users: np.ndarray
    expert: np.ndarray
    x0: np.ndarray


@dataclass(frozen=True)
class RunResult:
    """Outcome of one tournament run.

    Attributes
    ----------
    final_distance, start_distance : float
        ``||x_T - e||_2`` and ``||x_0 - e||_2`` (always L2, whatever the evaluation).
    converged_round : int or None
        Smallest ``t`` in ``0..T`` with ``||x_t - e||_2 <= converge_threshold`` (``t = 0``
        is before the first round), ``None`` if never.
    points : numpy.ndarray
        ``(n,)`` final points (start 1).
    final_model : numpy.ndarray
        ``(d,)`` ``x_T``.
    distance_trace : numpy.ndarray
        ``(T + 1,)`` L2 distance after each round (entry 0: start).
    n_updates : int
        Rounds in which the model moved.
    """

    final_distance: float
    start_distance: float
    converged_round: int | None
    points: np.ndarray
    final_model: np.ndarray
    distance_trace: np.ndarray
    n_updates: int


def _as_seed_rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def make_instance(n_users: int, seed=None, *, preferences=None, x0_low: float = 0.0,
                  x0_high: float = 5.0) -> Instance:
    """Draw one run's inputs: users ``1..n+1``, a uniform expert among them, and ``x0``.

    Parameters
    ----------
    n_users : int
        Crowd size ``n >= 2``; needs ``n + 1 <=`` number of rows of ``preferences``.
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Source of randomness: draws the expert row (``integers(n + 1)``) then ``x0``
        (``uniform(x0_low, x0_high, d)``), in this order.
    preferences : Preferences, array_like (users x dims) or None
        ``None``: the bundled MovieLens matrix (610 users, 20 genres).
    x0_low, x0_high : float
        Box of the initial model (spec: ``Uniform(0, 5)^20``).

    Returns
    -------
    Instance

    Examples
    --------
    >>> inst = make_instance(10, 0)
    >>> inst.users.shape, len(set(inst.user_ids) | {inst.expert_user_id})
    ((10, 20), 11)

    References
    ----------
    Paper Section IV-B step 1 (Initialization); spec "Data".
    """
    prefs = as_preferences(preferences)
    n = check_int(n_users, "n_users", 2)
    if n + 1 > prefs.n_users:
        raise ValueError(f"n_users must be in [2, {prefs.n_users - 1}] for these preferences "
                         f"({prefs.n_users} users; a run uses n_users + 1 of them); got {n}")
    if not (np.isfinite(x0_low) and np.isfinite(x0_high) and x0_low <= x0_high):
        raise ValueError(f"x0_low <= x0_high must be finite; got {x0_low}, {x0_high}")
    rng = _as_seed_rng(seed)
    k = int(rng.integers(n + 1))
    x0 = rng.uniform(x0_low, x0_high, prefs.n_dims)
    keep = np.r_[0:k, k + 1:n + 1]
    return Instance(user_ids=prefs.user_ids[keep].copy(), expert_user_id=int(prefs.user_ids[k]),
                    users=np.array(prefs.matrix[keep]), expert=np.array(prefs.matrix[k]), x0=x0)


_check_int = check_int  # backward-compatible private alias


# --------------------------------------------------------------------------- evaluation
@njit(cache=True)
def _l2(y, e):
    acc = 0.0
    for k in range(y.shape[0]):
        diff = y[k] - e[k]
        acc += diff * diff
    return np.sqrt(acc)


# --------------------------------------------------------------------------- randomness
def draw_randomness(n_users: int, rounds: int, seed) -> np.ndarray:
    """The run's pre-drawn uniforms, shape ``(rounds, n_users + 3)`` (see module docstring)."""
    return _as_seed_rng(seed).random((rounds, n_users + 3))


# --------------------------------------------------------------------------- grouping kernel
@njit(cache=True)
def _shuffle_into(src, keys, out):
    """Fisher-Yates shuffle of ``src`` into ``out`` driven by uniforms ``keys[0..k-1]``:
    for i = k-1..1, swap positions i and floor(keys[i] * (i + 1))."""
    k = src.shape[0]
    for i in range(k):
        out[i] = src[i]
    for i in range(k - 1, 0, -1):
        j = int(keys[i] * (i + 1))
        if j > i:
            j = i
        tmp = out[i]
        out[i] = out[j]
        out[j] = tmp


@njit(cache=True)
def _cut_contiguous(order, n_groups, group_of):
    n = order.shape[0]
    base = n // n_groups
    extra = n % n_groups
    pos = 0
    for g in range(n_groups):
        size = base + (1 if g < extra else 0)
        for k in range(size):
            group_of[order[pos + k]] = g
        pos += size


@njit(cache=True)
def _assign_groups(points, keys, u_eps, t, rounds, n_groups, grouping, group_of):
    """Fill ``group_of`` (n,) with group indices for round ``t`` (spec "Grouping")."""
    n = points.shape[0]
    work = np.empty(n, dtype=np.int64)
    if grouping == 0 or (grouping == 1 and u_eps < max(0.4, 1.0 - t / rounds)):
        _shuffle_into(np.arange(n), keys, work)
        _cut_contiguous(work, n_groups, group_of)
        return
    order = np.argsort(points, kind="mergesort")  # ascending, ties by user index
    if grouping == 1:
        _cut_contiguous(order, n_groups, group_of)
        return
    h = n // 2  # bottom half: the lowest floor(n/2) scorers; top half: the rest
    _shuffle_into(order[h:], keys[h:n], work[h:])
    for k in range(n - h):
        group_of[work[h + k]] = k % n_groups
    _shuffle_into(order[:h], keys[:h], work[:h])
    for k in range(h):
        group_of[work[k]] = k % n_groups


def group_assignment(points, keys, u_eps, t, rounds, n_groups, grouping="random"):
    """Group index of every user in round ``t`` (0-based), as the tournament uses it.

    Parameters
    ----------
    points : array_like (n,)
        Current points.
    keys : array_like (n,)
        The round's shuffle keys (uniforms).
    u_eps : float
        The round's epsilon-greedy coin: random grouping iff ``u_eps < max(0.4, 1 - t/T)``.
    t, rounds : int
        Round index and ``T``.
    n_groups : int
    grouping : {'random', 'epsilon-greedy', 'interleaved'}

    Returns
    -------
    numpy.ndarray of int64, shape (n,)

    Examples
    --------
    >>> g = group_assignment(np.arange(10.0), np.linspace(0, 1, 10), 0.0, 0, 100, 3, "interleaved")
    >>> np.bincount(g).tolist()
    [4, 4, 2]

    References
    ----------
    Paper Section IV-A (grouping methods); spec "Grouping".
    """
    code = check_choice(grouping, GROUPINGS, "grouping")
    points = np.ascontiguousarray(points, dtype=np.float64)
    out = np.empty(points.shape[0], dtype=np.int64)
    _assign_groups(points, np.ascontiguousarray(keys, dtype=np.float64), float(u_eps), int(t),
                   int(rounds), int(n_groups), code, out)
    return out


# --------------------------------------------------------------------------- run kernel
@njit(cache=True)
def _round_rewards(scores, base, order, n_groups, reward, delta_pts):
    """Points per group (indexed by group) for an updating round."""
    m = n_groups
    if reward == 0:
        for r in range(m):
            delta_pts[order[r]] = m - r
        return
    gains = np.empty(m)
    for g in range(m):
        gains[g] = max(scores[g] - base, 0.0)
    if reward == 1:
        vals = gains
    else:
        # Shapley value of v(C) = max_{g in C} gain_g: sort ascending a_(1..m), a_(0) = 0,
        # phi_(k) = sum_{j <= k} (a_(j) - a_(j-1)) / (m - j + 1)
        asc = np.argsort(gains, kind="mergesort")
        vals = np.empty(m)
        acc = 0.0
        prev = 0.0
        for j in range(m):
            a = gains[asc[j]]
            acc += (a - prev) / (m - j)
            prev = a
            vals[asc[j]] = acc
    top = 0.0
    for g in range(m):
        top = max(top, vals[g])
    for g in range(m):
        delta_pts[g] = m * vals[g] / top


@njit(cache=True)
def _power(p, w):
    if w == 2.0:
        return p * p
    if w == 1.0:
        return p
    return p ** w


@njit(cache=True)
def _run_kernel(users, expert, x0, draws, n_groups, grouping, evaluation, delta, error_prob,
                weight_power, reward, threshold, points, x, trace, group_of, cand, cand_scores,
                wsum, delta_pts):
    """One run, all rounds, in preallocated arrays. Returns (converged_round or -1, n_updates)."""
    n, d = users.shape
    m = n_groups
    rounds = draws.shape[0]
    weights = np.empty(n)
    for i in range(n):
        points[i] = 1.0
        weights[i] = 1.0  # 1 ** w
    for k in range(d):
        x[k] = x0[k]
    trace[0] = _l2(x, expert)
    converged = 0 if trace[0] <= threshold else -1
    n_updates = 0
    order = np.empty(m, dtype=np.int64)
    for t in range(rounds):
        row = draws[t]
        _assign_groups(points, row, row[n], t, rounds, m, grouping, group_of)
        for g in range(m):
            wsum[g] = 0.0
            for k in range(d):
                cand[g, k] = 0.0
        for i in range(n):
            g = group_of[i]
            w = weights[i]
            wsum[g] += w
            for k in range(d):
                cand[g, k] += w * users[i, k]
        for g in range(m):
            if wsum[g] > 0.0:
                for k in range(d):
                    cand[g, k] = x[k] + delta * (cand[g, k] / wsum[g] - x[k])
            else:  # empty group (interleaved with m > ceil(n/2)): no fine-tuning, candidate = x
                for k in range(d):
                    cand[g, k] = x[k]
            cand_scores[g] = _score(cand[g], expert, evaluation)
        base = _score(x, expert, evaluation)
        # rank: descending score, ties by group index (stable insertion sort)
        for g in range(m):
            order[g] = g
        for a in range(1, m):
            b = a
            while b > 0 and cand_scores[order[b]] > cand_scores[order[b - 1]]:
                tmp = order[b]
                order[b] = order[b - 1]
                order[b - 1] = tmp
                b -= 1
        if cand_scores[order[0]] > base:
            n_updates += 1
            if row[n + 1] < error_prob:
                j = 1 + int(row[n + 2] * (m - 1))
                if j > m - 1:
                    j = m - 1
                tmp = order[0]
                order[0] = order[j]
                order[j] = tmp
            _round_rewards(cand_scores, base, order, m, reward, delta_pts)
            for i in range(n):
                points[i] += delta_pts[group_of[i]]
                weights[i] = _power(points[i], weight_power)
            win = order[0]
            for k in range(d):
                x[k] = cand[win, k]
        trace[t + 1] = _l2(x, expert)
        if converged < 0 and trace[t + 1] <= threshold:
            converged = t + 1
    return converged, n_updates


@njit(cache=True)
def _run_batch_kernel(users, expert, x0, draws, n_groups, grouping, evaluation, delta, error_prob, weight_power,
                      reward, threshold, points, x, traces, converged, n_updates):
    """Runs ``s = 0..S-1`` of one instance (shared users/expert/x0/draws), setting ``s`` given by
    ``n_groups[s]``, ``grouping[s]``, ``evaluation[s]``; outputs ``points (S, n)``, ``x (S, d)``,
    ``traces (S, T+1)``, ``converged (S,)``, ``n_updates (S,)``."""
    n, d = users.shape
    m_max = 0
    for s in range(n_groups.shape[0]):
        m_max = max(m_max, n_groups[s])
    group_of = np.empty(n, dtype=np.int64)
    cand = np.empty((m_max, d))
    cand_scores = np.empty(m_max)
    wsum = np.empty(m_max)
    delta_pts = np.empty(m_max)
    for s in range(n_groups.shape[0]):
        m = n_groups[s]
        c, u = _run_kernel(users, expert, x0, draws, m, grouping[s], evaluation[s], delta, error_prob,
                           weight_power, reward, threshold, points[s], x[s], traces[s], group_of, cand[:m],
                           cand_scores[:m], wsum[:m], delta_pts[:m])
        converged[s] = c
        n_updates[s] = u


def _reference_run(users, expert, x0, draws, m, grouping, evaluation, delta, error_prob,
                   weight_power, reward, threshold):
    """Plain numpy transcription of the spec, sharing only the pre-drawn uniforms."""
    n, d = users.shape
    rounds = draws.shape[0]
    points = np.ones(n)
    x = x0.astype(np.float64).copy()
    def l2(y):
        total = 0.0
        for a, b in zip(y, expert):
            total += (a - b) * (a - b)
        return float(np.sqrt(total))

    trace = [l2(x)]
    n_updates = 0
    sizes = [n // m + (1 if g < n % m else 0) for g in range(m)]
    bounds = np.cumsum([0] + sizes)
    def seq_score(y):  # evaluate(), summing coordinates left to right like the kernel
        if evaluation == "dot":
            terms, sign = [a * b for a, b in zip(y, expert)], 1.0
        elif evaluation == "l1":
            terms, sign = [abs(a - b) for a, b in zip(y, expert)], -1.0
        else:
            terms, sign = [(a - b) * (a - b) for a, b in zip(y, expert)], -1.0
        total = 0.0
        for v in terms:
            total += v
        return sign * (np.sqrt(total) if evaluation == "l2" else total)

    def shuffle(items, ks):  # Fisher-Yates driven by the keys (module docstring)
        items = list(items)
        for i in range(len(items) - 1, 0, -1):
            j = min(int(ks[i] * (i + 1)), i)
            items[i], items[j] = items[j], items[i]
        return items

    for t in range(rounds):
        keys, u_eps, u_err, u_j = draws[t, :n], draws[t, n], draws[t, n + 1], draws[t, n + 2]
        groups: list[list[int]]
        if grouping == "random" or (grouping == "epsilon-greedy" and u_eps < max(0.4, 1 - t / rounds)):
            perm = shuffle(range(n), keys)
            groups = [perm[bounds[g]:bounds[g + 1]] for g in range(m)]
        else:
            ranked = sorted(range(n), key=lambda i: (points[i], i))
            if grouping == "epsilon-greedy":
                groups = [ranked[bounds[g]:bounds[g + 1]] for g in range(m)]
            else:
                h = n // 2
                bottom, top = ranked[:h], ranked[h:]
                bottom = shuffle(bottom, keys[:h])
                top = shuffle(top, keys[h:])
                groups = [[] for _ in range(m)]
                for k, i in enumerate(top):
                    groups[k % m].append(i)
                for k, i in enumerate(bottom):
                    groups[k % m].append(i)
        cands = []
        for grp in groups:
            if not grp:
                cands.append(x.copy())
                continue
            # sums in user-index order, one term at a time (the kernel's order: bit-identical)
            acc, wsum = np.zeros(d), 0.0
            for i in sorted(grp):
                w = points[i] * points[i] if weight_power == 2 else points[i] ** weight_power
                wsum += w
                acc = acc + w * users[i]
            cands.append(x + delta * (acc / wsum - x))
        scores = [seq_score(c) for c in cands]
        base = seq_score(x)
        order = sorted(range(m), key=lambda g: (-scores[g], g))
        if scores[order[0]] > base:
            n_updates += 1
            if u_err < error_prob:
                j = min(1 + int(u_j * (m - 1)), m - 1)
                order[0], order[j] = order[j], order[0]
            if reward == "rank":
                gain_pts = {g: m - r for r, g in enumerate(order)}
            else:
                gains = {g: max(scores[g] - base, 0.0) for g in range(m)}
                if reward == "improvement":
                    vals = gains
                else:  # brute-force Shapley of the max game over groups
                    vals = {}
                    for g in range(m):
                        others = [h for h in range(m) if h != g]
                        phi = 0.0
                        for size in range(m):
                            wgt = factorial(size) * factorial(m - size - 1) / factorial(m)
                            for coal in combinations(others, size):
                                v0 = max([gains[h] for h in coal], default=0.0)
                                phi += wgt * (max(v0, gains[g]) - v0)
                        vals[g] = phi
                top_val = max(vals.values())
                gain_pts = {g: m * vals[g] / top_val for g in range(m)}
            for g, grp in enumerate(groups):
                points[grp] += gain_pts[g]
            x = cands[order[0]].copy()
        trace.append(l2(x))
    trace = np.asarray(trace)
    hit = np.flatnonzero(trace <= threshold)
    conv = int(hit[0]) if hit.size else -1
    return points, x, trace, conv, n_updates


def _validate_run(users, expert, x0, n_groups, grouping, evaluation, rounds, delta, error_prob,
                  weight_power, reward, threshold):
    users = np.ascontiguousarray(users, dtype=np.float64)
    if users.ndim != 2 or users.shape[0] < 2 or users.shape[1] < 1:
        raise ValueError(f"users must be a 2-D (n_users >= 2, n_dims >= 1) array; got shape {users.shape}")
    n, d = users.shape
    expert = np.ascontiguousarray(expert, dtype=np.float64)
    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    if expert.shape != (d,):
        raise ValueError(f"expert must have shape ({d},) to match users; got {expert.shape}")
    if x0.shape != (d,):
        raise ValueError(f"x0 must have shape ({d},) to match users; got {x0.shape}")
    for name, arr in (("users", users), ("expert", expert), ("x0", x0)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite (no NaN or inf entries)")
    m = check_int(n_groups, "n_groups", 2, n)
    check_int(rounds, "rounds", 0, MAX_ROUNDS)
    if not (0.0 < float(delta) <= 1.0):
        raise ValueError(f"delta must be in (0, 1]; got {delta}")
    if not (0.0 <= float(error_prob) < 1.0):
        raise ValueError(f"error_prob must be in [0, 1); got {error_prob}")
    if not (np.isfinite(weight_power) and float(weight_power) >= 0.0):
        raise ValueError(f"weight_power must be a finite number >= 0; got {weight_power}")
    if not np.isfinite(threshold):
        raise ValueError(f"converge_threshold must be finite; got {threshold}")
    codes = (check_choice(grouping, GROUPINGS, "grouping"), check_choice(evaluation, EVALUATIONS, "evaluation"),
             check_choice(reward, REWARDS, "reward"))
    return users, expert, x0, m, codes


def run_tournament(users, expert, x0, *, n_groups, grouping="random", evaluation="l2", rounds=100,
                   delta=0.1, error_prob=0.05, weight_power=2, reward="rank", converge_threshold=5.0,
                   seed=None, draws=None, engine="numba") -> RunResult:
    """Run one Crowd-SFT tournament.

    Parameters
    ----------
    users : array_like, shape (n, d)
        Preference vectors of the ``n >= 2`` players.
    expert : array_like, shape (d,)
        Target ``e``.
    x0 : array_like, shape (d,)
        Initial model.
    n_groups : int
        ``m`` in ``[2, n]``.
    grouping : {'random', 'epsilon-greedy', 'interleaved'}
    evaluation : {'l2', 'l1', 'dot'}
        Selection score (:func:`evaluate`).
    rounds : int
        ``T`` (100 in the paper).
    delta : float in (0, 1]
        Step toward the group centroid (0.1).
    error_prob : float in [0, 1)
        Expert error probability per updating round (0.05).
    weight_power : float >= 0
        Centroid weights are ``points ** weight_power``: 2 as published (spec default), 1 for
        the paper's prose ("weighted by their accumulated point value"), 0 for plain means.
    reward : {'rank', 'improvement', 'shapley'}
        Per-round reward rule (:data:`REWARDS`); ``'rank'`` is the paper's ``m - rank``.
    converge_threshold : float
        Distance defining ``converged_round`` (5.0).
    seed : int, SeedSequence, Generator or None
        Source of the run's pre-drawn uniforms (:func:`draw_randomness`).
    draws : array_like (rounds, n + 3), optional
        The uniforms themselves (overrides ``seed``).
    engine : {'numba', 'reference'}
        Compiled kernel (default) or the plain Python/numpy transcription of the spec used to
        cross-check it (bit-identical for the rank and improvement rules; to rounding for
        ``reward='shapley'``, whose reference uses brute force).

    Returns
    -------
    RunResult

    Notes
    -----
    Candidates are ranked by descending score, ties to the lower group index. Rounds are
    0-based: epsilon-greedy groups at random in round ``t`` with probability
    ``max(0.4, 1 - t/T)``, so round 0 is always random. An empty group (interleaved grouping
    with ``m > ceil(n/2)``) proposes the current model unchanged.

    Examples
    --------
    >>> inst = make_instance(10, 1)
    >>> res = run_tournament(inst.users, inst.expert, inst.x0, n_groups=3, seed=2)
    >>> res.points.shape, res.distance_trace.shape
    ((10,), (101,))

    References
    ----------
    Paper Section IV-B (steps 2-5, Fig. 4); spec "One run" and "Grouping".
    """
    opts = dict(rounds=rounds, delta=delta, error_prob=error_prob, weight_power=weight_power, reward=reward,
                converge_threshold=converge_threshold, seed=seed, draws=draws)
    if engine == "numba":
        return run_settings(users, expert, x0, [(n_groups, grouping, evaluation)], **opts)[0]
    if engine != "reference":
        raise ValueError(f"engine must be one of numba, reference; got {engine!r}")
    users, expert, x0, m, _ = _validate_run(users, expert, x0, n_groups, grouping, evaluation, rounds, delta,
                                            error_prob, weight_power, reward, converge_threshold)
    points, x, trace, conv, n_upd = _reference_run(
        users, expert, x0, _get_draws(users.shape[0], rounds, seed, draws), m, grouping, evaluation, float(delta),
        float(error_prob), float(weight_power), reward, float(converge_threshold))
    return RunResult(final_distance=float(trace[-1]), start_distance=float(trace[0]),
                     converged_round=None if conv < 0 else int(conv), points=points,
                     final_model=x, distance_trace=trace, n_updates=int(n_upd))


def _get_draws(n, rounds, seed, draws):
    if draws is None:
        return draw_randomness(n, int(rounds), seed)
    draws = np.ascontiguousarray(draws, dtype=np.float64)
    if draws.shape != (int(rounds), n + 3):
        raise ValueError(f"draws must have shape ({rounds}, {n + 3}); got {draws.shape}")
    return draws


def run_settings(users, expert, x0, settings, *, rounds=100, delta=0.1, error_prob=0.05, weight_power=2,
                 reward="rank", converge_threshold=5.0, seed=None, draws=None) -> list[RunResult]:
    """Run several ``(n_groups, grouping, evaluation)`` settings on one instance in one compiled call.

    All settings share the instance and the pre-drawn uniforms (the sweep's paired design), so
    ``run_settings(..., settings=[(m, g, e)], draws=D)[0]`` equals
    ``run_tournament(..., n_groups=m, grouping=g, evaluation=e, draws=D)``.

    Parameters
    ----------
    users, expert, x0, rounds, delta, error_prob, weight_power, reward, converge_threshold, seed, draws
        As :func:`run_tournament`.
    settings : sequence of (int, str, str)
        ``(n_groups, grouping, evaluation)`` per run.

    Returns
    -------
    list of RunResult, in the order of ``settings``.

    Examples
    --------
    >>> inst = make_instance(10, 1)
    >>> res = run_settings(inst.users, inst.expert, inst.x0, [(2, "random", "l2"), (3, "interleaved", "dot")], seed=4)
    >>> [r.points.shape for r in res]
    [(10,), (10,)]

    References
    ----------
    Paper Section IV-C/D (the sweep over m, grouping and evaluation); spec "One run".
    """
    settings = list(settings)
    if not settings:
        raise ValueError("settings must be a non-empty sequence of (n_groups, grouping, evaluation)")
    codes = []
    for m, g, e in settings:
        users_, expert_, x0_, m, (gc, ec, rc) = _validate_run(
            users, expert, x0, m, g, e, rounds, delta, error_prob, weight_power, reward, converge_threshold)
        codes.append((m, gc, ec))
    n, d = users_.shape
    draws = _get_draws(n, rounds, seed, draws)
    k = len(codes)
    arr = np.array(codes, dtype=np.int64)
    points, x = np.empty((k, n)), np.empty((k, d))
    traces = np.empty((k, int(rounds) + 1))
    conv, n_upd = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
    _run_batch_kernel(users_, expert_, x0_, draws, arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), float(delta),
                      float(error_prob), float(weight_power), rc, float(converge_threshold), points, x, traces,
                      conv, n_upd)
    return [RunResult(final_distance=float(traces[s, -1]), start_distance=float(traces[s, 0]),
                      converged_round=None if conv[s] < 0 else int(conv[s]), points=points[s], final_model=x[s],
                      distance_trace=traces[s], n_updates=int(n_upd[s])) for s in range(k)]
