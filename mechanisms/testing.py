"""Testing tools for payment rules: hypothesis strategies and assertion helpers for your own pytest suite.

The helpers check the properties every rule of the paper has (spec ``mechanisms.md`` sections 2.4 and 3):
limited liability (payments ``>= 0``), global flip invariance (reversing every report of every agent leaves
payments unchanged), anonymity (relabelling agents relabels payments), agreement of the exact expected
payment with Monte Carlo, and UEI (Def. 5.1 of Manyika, Wooldridge & Gan, 2025).  Each raises
``AssertionError`` with a message that says what failed and where.  The strategies (:func:`costs`,
:func:`priors`, :func:`strategies_`, :func:`profiles`, :func:`report_arrays`, :func:`mechanisms`, and for the
extended space of spec section 4 :func:`convention_probs_`, :func:`extended_strategies_`,
:func:`extended_profiles`) are
ordinary composable hypothesis strategies; they need ``hypothesis`` (a test extra), which is imported only
when a strategy is built, so the assertion helpers work without it.

Worked example: a new payment rule in a few lines, checked with the helpers
-------------------------------------------------------------------------

>>> import numpy as np
>>> from agents import simulate_reports
>>> from mechanisms import StatisticRule
>>> from mechanisms.custom import CustomMechanism
>>> from mechanisms.testing import (assert_anonymous, assert_exact_matches_monte_carlo,
...     assert_flip_invariant, assert_limited_liability, assert_uei, report_arrays)
>>> def floor_agreement(reports):
...     '''1 per agreement with a peer on a pair, 0.2 per disagreement (a participation floor).'''
...     R = reports.astype(np.float64)                    # (n_trials, n_agents, n_pairs) of -1/+1
...     N, P = R.shape[1], R.shape[2]
...     agree = ((N - 2 + R * R.sum(axis=1, keepdims=True)) / 2).sum(axis=2)
...     return agree + 0.2 * ((N - 1) * P - agree)
>>> rule = CustomMechanism(floor_agreement, name="floor-agreement",
...                        statistics=StatisticRule(pair=[0.2, 0.2, 1.0, 1.0]))   # gives exact expectations
>>> R = simulate_reports([1.0, 0.5, -0.3, 2.0], n_items=4, n_trials=200, seed=0).reports
>>> assert_limited_liability(rule, R)
>>> assert_flip_invariant(rule, R)
>>> assert_anonymous(rule, R)
>>> assert_exact_matches_monte_carlo(rule, [1.0, 0.5, -0.3], n_items=3, samples=20_000)
>>> assert_uei(rule, "quadratic:0.1", n_agents=3, n_items=3, holds=False)   # agreement alone: no UEI

The same checks as a property-based test (put it in a ``test_*.py`` file; here it is called directly):

>>> from hypothesis import given, settings
>>> @settings(max_examples=20, deadline=None)
... @given(reports=report_arrays(n_agents=4, n_items=4))
... def test_floor_agreement(reports):
...     assert_limited_liability(rule, reports)
...     assert_flip_invariant(rule, reports)
...     assert_anonymous(rule, reports)
>>> test_floor_agreement()

A broken rule fails loudly -- this one pays for saying "a > b", which reversing the reports changes:

>>> def says_yes(reports):
...     return (reports == 1).sum(axis=2).astype(float)
>>> assert_flip_invariant(CustomMechanism(says_yes, name="says-yes"), R)   # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: says-yes: payments change when every report of every agent is reversed ...

References
----------
Manyika, Wooldridge, Gan (2025), Section 4 (limited liability), Defs. 5.1-5.3; spec ``mechanisms.md``
sections 2.4 (limited liability, counts) and 3 (global flip symmetry).
"""
from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from agents import Profile, Strategy, as_prior, make_profile, parse_cost

from .base import Mechanism

__all__ = ["assert_limited_liability", "assert_flip_invariant", "assert_anonymous",
           "assert_exact_matches_monte_carlo", "assert_uei", "costs", "priors", "strategies_", "profiles",
           "convention_probs_", "extended_strategies_", "extended_profiles", "report_arrays", "mechanisms"]


# ---------------------------------------------------------------------------------------------------
# assertion helpers
# ---------------------------------------------------------------------------------------------------
def _reports(reports) -> np.ndarray:
    R = getattr(reports, "reports", reports)       # SimulatedReports or an array
    R = np.asarray(R)
    if R.ndim == 2:
        R = R[None]
    if R.ndim != 3:
        raise ValueError(f"reports must have shape (n_trials, n_agents, n_pairs), got {np.shape(R)}")
    return np.ascontiguousarray(R, dtype=np.int8)


def _label(mechanism) -> str:
    return getattr(mechanism, "name", type(mechanism).__name__)


def _check_mechanism(mechanism):
    if not isinstance(mechanism, Mechanism):
        raise ValueError(f"mechanism must be a mechanisms.Mechanism, got {mechanism!r}")


def _tolerance(a, rtol, atol):
    return atol + rtol * max(1.0, float(np.max(np.abs(a), initial=0.0)))


def assert_limited_liability(mechanism, reports, *, atol: float = 0.0) -> None:
    """Assert that every realised payment is ``>= -atol`` (limited liability; spec section 2.4).

    Parameters
    ----------
    mechanism : Mechanism
    reports : array of {-1, +1}, shape (n_trials, n_agents, n_pairs) or (n_agents, n_pairs), or SimulatedReports
    atol : float
        Allowed negative slack (0: payments must be non-negative).
    """
    _check_mechanism(mechanism)
    R = _reports(reports)
    pay = mechanism.payments(R)
    bad = np.argwhere(pay < -atol)
    if bad.size:
        t, i = bad[0]
        raise AssertionError(
            f"{_label(mechanism)}: limited liability violated in {len(bad)} of {pay.size} payments; first: "
            f"trial {t}, agent {i} is paid {float(pay[t, i])!r} < 0 (reports of that trial, agents x pairs: "
            f"{R[t].tolist()})")


def assert_flip_invariant(mechanism, reports, *, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    """Assert ``M(-R) == M(R)``: reversing every report of every agent leaves payments unchanged.

    Global flip symmetry (spec section 3) is what makes all-dishonest profiles mirror all-honest ones.
    """
    _check_mechanism(mechanism)
    R = _reports(reports)
    pay = mechanism.payments(R)
    flipped = mechanism.payments(-R)
    diff = np.abs(flipped - pay)
    tol = _tolerance(pay, rtol, atol)
    if np.any(diff > tol):
        t, i = np.unravel_index(int(np.argmax(diff)), diff.shape)
        raise AssertionError(
            f"{_label(mechanism)}: payments change when every report of every agent is reversed (largest "
            f"change {diff[t, i]:.6g} > tolerance {tol:.3g}: trial {t}, agent {i} is paid {float(pay[t, i])!r} "
            f"for R and {float(flipped[t, i])!r} for -R; reports {R[t].tolist()})")


def assert_anonymous(mechanism, reports, *, permutations=None, rtol: float = 1e-12, atol: float = 1e-12,
                     seed: int = 0) -> None:
    """Assert that relabelling the agents relabels the payments: ``M(R[:, pi])[:, k] == M(R)[:, pi[k]]``.

    Parameters
    ----------
    permutations : iterable of index sequences, optional
        Agent permutations to try.  Default: all of them for ``n_agents <= 4``, else the reversal, a
        transposition, a cycle and 5 random ones (from ``seed``).
    """
    _check_mechanism(mechanism)
    R = _reports(reports)
    N = R.shape[1]
    pay = mechanism.payments(R)
    if permutations is None:
        if N <= 4:
            permutations = list(itertools.permutations(range(N)))[1:]
        else:
            rng = np.random.default_rng(seed)
            permutations = [list(range(N))[::-1], [1, 0] + list(range(2, N)), list(range(1, N)) + [0]]
            permutations += [rng.permutation(N).tolist() for _ in range(5)]
    tol = _tolerance(pay, rtol, atol)
    for perm in permutations:
        perm = np.asarray(perm, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(N)):
            raise ValueError(f"permutations must be permutations of range({N}), got {perm.tolist()}")
        got = mechanism.payments(R[:, perm])
        want = pay[:, perm]
        diff = np.abs(got - want)
        if np.any(diff > tol):
            t, k = np.unravel_index(int(np.argmax(diff)), diff.shape)
            raise AssertionError(
                f"{_label(mechanism)}: not anonymous: relabelling agents by {perm.tolist()} changes the "
                f"payment of (original) agent {perm[k]} in trial {t} from {float(want[t, k])!r} to "
                f"{float(got[t, k])!r} (difference {diff[t, k]:.6g} > tolerance {tol:.3g})")


def _signed_efforts(profile) -> np.ndarray:
    if isinstance(profile, Profile):
        return profile.signed_efforts()
    items = list(profile)
    if all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in items):
        eps = np.asarray(items, dtype=float)
        if eps.size < 3 or not np.all(np.isfinite(eps)):
            raise ValueError(f"profile must hold >= 3 finite signed efforts, got {items}")
        return eps
    return make_profile(items[0], items[1:]).signed_efforts()


def assert_exact_matches_monte_carlo(mechanism, profile, n_items: int, prior="normal", *, n_sigma: float = 4.0,
                                     samples: int = 100_000, seed=0, convention_probs=None) -> None:
    """Assert that the exact expected payment of agent 0 lies within ``n_sigma`` standard errors of Monte Carlo.

    Parameters
    ----------
    mechanism : Mechanism
        Its ``exact()`` must be available (a :class:`mechanisms.custom.CustomMechanism` needs ``statistics``
        or ``with_monte_carlo_expectations``; otherwise its ``ValueError`` propagates).  For the approximate
        Monte Carlo expectations, their own standard error is added in quadrature.
    profile : Profile, sequence of signed efforts ``[eps_0, eps_1, ...]`` or of strategies (agent 0 first)
    n_items : int
    prior : 'normal', 'uniform', Prior or scipy.stats frozen distribution
    n_sigma : float
        Allowed distance in standard errors (4: a correct rule fails with probability about 6e-5; the
        seed is fixed, so a given call either always passes or always fails).
    samples : int
        Monte Carlo trials.
    seed : int or SeedSequence
    convention_probs : sequence of float, optional
        Convention probabilities ``q`` (agent 0 first; extended strategies, spec section 4).  Default: taken
        from ``profile`` when it is a :class:`agents.Profile` or a sequence of strategies, else all zero.
    """
    _check_mechanism(mechanism)
    eps = _signed_efforts(profile)
    if convention_probs is None:
        items = profile if isinstance(profile, Profile) else list(profile)
        if not isinstance(items, Profile) and not all(isinstance(x, numbers.Real) and not isinstance(x, bool)
                                                      for x in items):
            items = make_profile(items[0], items[1:])          # strategies: keep their convention probabilities
        if isinstance(items, Profile) and items.extended:
            convention_probs = items.convention_probs()
    prior = as_prior(prior)
    exact = float(mechanism.exact(eps, n_items, prior, convention_probs=convention_probs))
    mean, se = mechanism.monte_carlo(eps, n_items, prior, samples=samples, seed=seed,
                                     convention_probs=convention_probs)
    se_exact = 0.0
    if getattr(mechanism, "approximate", False):
        se_exact = mechanism.expectation_stderr(eps, n_items, prior, convention_probs=convention_probs)
    total = math.sqrt(se * se + se_exact * se_exact)
    diff = abs(exact - mean)
    slack = 1e-12 * max(1.0, abs(exact))
    if not diff <= n_sigma * total + slack:
        z = diff / total if total > 0 else math.inf
        raise AssertionError(
            f"{_label(mechanism)}: exact E[M_0] = {exact:.10g} but Monte Carlo gives {mean:.10g} +- {se:.3g} "
            f"(s.e., {samples} samples, seed {seed!r}"
            + (f"; exact engine's own s.e. {se_exact:.3g}" if se_exact else "")
            + f"): |difference| = {diff:.3g} = {z:.2f} standard errors > n_sigma = {n_sigma:g} "
            f"(signed efforts {eps.tolist()}"
            + ("" if convention_probs is None
               else f", convention probabilities {np.asarray(convention_probs).tolist()}")
            + f", n_items={n_items}, prior {prior!r})")


def assert_uei(mechanism, cost, *, n_agents: int = 3, n_items: int = 3, holds: bool = True, prior="normal",
               w_max: float | None = None, tol: float = 1e-9, n_sigma: float = 4.0) -> None:
    """Assert that UEI (Def. 5.1) holds (``holds=True``) or fails (``holds=False``) for the game.

    Builds ``equilibria.Game(mechanism, cost, n_agents, n_items, prior, w_max)`` (``w_max=None``: the
    derived effort bound) and runs
    :func:`equilibria.check_uei`.  ``equilibria`` is imported inside this function (``mechanisms`` must not
    import ``equilibria`` at import time: ``equilibria`` depends on ``mechanisms``).  A verdict of ``None``
    (zero effort ties with the best response within the tolerance) counts as "does not hold".  The
    mechanism needs exact expectations; with approximate Monte Carlo expectations the verdict is only as
    good as their standard error.
    """
    _check_mechanism(mechanism)
    if not isinstance(holds, bool):
        raise ValueError(f"holds must be True or False, got {holds!r}")
    from equilibria import Game, check_uei   # lazy: equilibria imports mechanisms

    game = Game(mechanism, parse_cost(cost) if isinstance(cost, str) else cost, n_agents, n_items, prior, w_max)
    v = check_uei(game, tol=tol)
    br = v.evidence["best_response"]
    got = v.holds is True
    noise = ""
    if got and getattr(mechanism, "approximate", False):
        # Monte Carlo expectations: a gain within n_sigma standard errors is not evidence of UEI
        eps = np.r_[br["effort"] if br["report"] == "honest" else -br["effort"], np.zeros(n_agents - 1)]
        se = mechanism.expectation_stderr(eps, n_items, game.prior)
        got = v.margin > n_sigma * se
        noise = f"; Monte Carlo expectations: s.e. {se:.3g}, a gain must exceed {n_sigma:g} s.e."
    if got != holds:
        what = "holds" if got else ("is undetermined (zero effort ties within tolerance)" if v.holds is None
                                    else "fails")
        raise AssertionError(
            f"{_label(mechanism)}: expected UEI to {'hold' if holds else 'fail'} but it {what}: against "
            f"zero-effort peers the best response is effort {br['effort']:.6g} ({br['report']}) with utility "
            f"gain {v.margin:.6g} over zero effort (tolerance {v.tolerance:.3g}; cost "
            f"{getattr(game.cost, 'spec', game.cost)}, n_agents={n_agents}, n_items={n_items}, "
            f"prior {game.prior!r}{noise})")


# ---------------------------------------------------------------------------------------------------
# hypothesis strategies
# ---------------------------------------------------------------------------------------------------
def _st():
    try:
        from hypothesis import strategies as st
    except ImportError as exc:   # pragma: no cover - hypothesis is in the test extra
        raise ImportError("mechanisms.testing strategies need hypothesis "
                          "(pip install 'feedback-mechanisms[test]')") from exc
    return st


def _as_strategy(value, name, low):
    st = _st()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value}")
        return st.just(int(value))
    if hasattr(value, "example") or type(value).__module__.startswith("hypothesis"):
        return value
    raise ValueError(f"{name} must be an integer >= {low} or a hypothesis strategy, got {value!r}")


def _cubic_plus_linear(w):
    return w + 0.1 * w ** 3


def costs(*, k_min: float = 0.01, k_max: float = 2.0, include_callable: bool = True):
    """Effort costs: linear, quadratic, sqrt (the paper's concave), power, exp, log and a CallableCost.

    Returns a hypothesis strategy of :class:`agents.Cost`.
    """
    st = _st()
    from agents import CallableCost, make_cost
    k = st.floats(k_min, k_max, allow_nan=False)
    named = st.builds(make_cost, st.sampled_from(["linear", "quadratic", "sqrt", "exp", "log"]), k)
    power = st.builds(lambda kk, p: make_cost("power", kk, p), k, st.floats(0.5, 3.0))
    options = [named, power]
    if include_callable:
        options.append(st.builds(lambda kk: CallableCost(_cubic_plus_linear, k=kk, label="w+0.1w^3"), k))
    return st.one_of(*options)


def priors():
    """Quality priors: standard normal, U[0, 1], and shifted / scaled normal and uniform laws."""
    st = _st()
    from agents import NormalPrior, UniformPrior
    return st.one_of(st.sampled_from(["normal", "uniform"]).map(as_prior),
                     st.builds(NormalPrior, st.floats(-1.0, 1.0), st.floats(0.5, 2.0)),
                     st.builds(lambda lo, width: UniformPrior(lo, lo + width), st.floats(-1.0, 1.0),
                               st.floats(0.5, 3.0)))


def strategies_(*, min_effort: float = 0.0, max_effort: float = 4.0):
    """Agent strategies ``(w, honest | dishonest)`` with ``w`` in ``[min_effort, max_effort]``."""
    st = _st()
    return st.builds(Strategy, st.floats(min_effort, max_effort, allow_nan=False),
                     st.sampled_from(["honest", "dishonest"]))


def profiles(*, n_agents=None, max_effort: float = 4.0, symmetric: bool = False):
    """Strategy profiles (:class:`agents.Profile`, agent 0 first).

    ``n_agents``: an int or a strategy of ints (default 3..5).  ``symmetric=True``: all peers play alike.
    """
    st = _st()
    n = _as_strategy(n_agents, "n_agents", 3) if n_agents is not None else st.integers(3, 5)
    s = strategies_(max_effort=max_effort)

    @st.composite
    def _profile(draw):
        N = draw(n)
        own = draw(s)
        if symmetric:
            return Profile.symmetric(own, draw(s), N)
        return Profile(own, tuple(draw(s) for _ in range(N - 1)))
    return _profile()


def convention_probs_():
    """Convention probabilities ``q in [0, 1]``: 0 (the paper's space), 1 (the convention) or any mixture."""
    st = _st()
    return st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, allow_nan=False))


def extended_strategies_(*, min_effort: float = 0.0, max_effort: float = 4.0):
    """Extended strategies ``(w, honest | dishonest, q)`` (spec section 4): ``q`` is 0, 1 or any mixture.

    Composable like :func:`strategies_`; e.g. ``profiles`` of them with :func:`extended_profiles`."""
    st = _st()
    return st.builds(Strategy, st.floats(min_effort, max_effort, allow_nan=False),
                     st.sampled_from(["honest", "dishonest"]), convention_probs_())


def extended_profiles(*, n_agents=None, max_effort: float = 4.0, symmetric: bool = False):
    """Profiles of extended strategies (:class:`agents.Profile`, agent 0 first); as :func:`profiles`."""
    st = _st()
    n = _as_strategy(n_agents, "n_agents", 3) if n_agents is not None else st.integers(3, 5)
    s = extended_strategies_(max_effort=max_effort)

    @st.composite
    def _profile(draw):
        N = draw(n)
        own = draw(s)
        if symmetric:
            return Profile.symmetric(own, draw(s), N)
        return Profile(own, tuple(draw(s) for _ in range(N - 1)))
    return _profile()


def report_arrays(*, n_agents=None, n_items=None, n_trials=None):
    """Report arrays of ``{-1, +1}`` (int8), shape ``(n_trials, n_agents, m (m - 1) / 2)``.

    Each of ``n_agents`` (default 3..5), ``n_items`` (default 3..5) and ``n_trials`` (default 1..4) is an
    int or a hypothesis strategy of ints.
    """
    st = _st()
    from hypothesis.extra.numpy import arrays
    n = _as_strategy(n_agents, "n_agents", 3) if n_agents is not None else st.integers(3, 5)
    m = _as_strategy(n_items, "n_items", 2) if n_items is not None else st.integers(3, 5)
    t = _as_strategy(n_trials, "n_trials", 1) if n_trials is not None else st.integers(1, 4)

    @st.composite
    def _arrays(draw):
        N, M, T = draw(n), draw(m), draw(t)
        return draw(arrays(np.int8, (T, N, M * (M - 1) // 2), elements=st.sampled_from([-1, 1])))
    return _arrays()


def _custom_agreement(reports):
    """PPA (eq. 6, z = 1) written as a plain numpy function: the reference custom rule of the strategies."""
    R = reports.astype(np.float64)
    return ((R.shape[1] - 2 + R * R.sum(axis=1, keepdims=True)) / 2).sum(axis=2)


def mechanisms(*, include_custom: bool = False):
    """Payment rules: PPA, BSST, APA (both coherence rules), DG13, CA and random StatisticRule tables.

    ``include_custom=True`` adds :class:`mechanisms.custom.CustomMechanism` rules (a numpy agreement rule,
    with and without its statistics table, scaled).  Every rule accepts ``n_items >= 3``.
    """
    st = _st()
    from . import APA, BSST, CA, DG13, PPA, StatisticRule
    z = st.floats(0.1, 3.0, allow_nan=False)
    table = st.lists(st.floats(0.0, 2.0, allow_nan=False), min_size=4, max_size=4)
    options = [
        st.builds(PPA, z),
        st.builds(lambda zz, frac: BSST(zz, zz * frac), z, st.floats(0.05, 0.95)),
        st.builds(APA, z, st.sampled_from(["3cycle", "scc"])),
        st.builds(DG13, z),
        st.builds(CA, z),
        st.builds(lambda p, t: StatisticRule(p, t, name="table"), table, table),
    ]
    if include_custom:
        from .custom import CustomMechanism
        options.append(st.builds(lambda zz: CustomMechanism(_custom_agreement, name="custom-ppa").scaled(zz), z))
        options.append(st.builds(lambda zz: CustomMechanism(
            _custom_agreement, name="custom-ppa-table", statistics=StatisticRule(pair=[0, 0, 1, 1]),
            check_statistics=False).scaled(zz), z))
    return st.one_of(*options)
