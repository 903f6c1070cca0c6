"""Exact small-effort expansion of every built-in mechanism's expected payment around zero effort.

Notation
--------
Agent ``i``'s exact expected payment is ``P(eps_0; eps_1, ..., eps_{N-1})`` (signed efforts, spec section 1;
:meth:`mechanisms.Mechanism.exact`).  At zero effort we define

* ``a = own_curvature = d^2/d eps_0^2 P(eps_0; 0, ..., 0)`` at ``0`` (the *second derivative*, i.e. twice the
  coefficient of ``eps_0^2``);
* ``b = cross = sum_{j >= 1} d^2 P / d eps_0 d eps_j`` at the all-zero profile;
* ``gamma0 = a + b = d/dw [dP/d eps_0 (w; w, ..., w)]`` at ``w = 0``: the slope at zero of the payment part of
  the symmetric first-order condition.

Local conditions (cost ``c(w) = k w^2``)
----------------------------------------
``P(eps; 0..0)`` is even in ``eps`` (global flip symmetry: flipping ``i``'s reports against uninformed peers
changes nothing), so ``P(eps; 0) - P(0; 0) = a eps^2 / 2 + O(eps^4)``.

(i) **UEI.**  Zero effort against zero-effort peers stops being a local maximum of ``P - k w^2`` iff
    ``a / 2 > k``, i.e. ``a > 2k``; since ``a`` is proportional to ``z``: ``z/k > 2 z / a``
    (:func:`local_thresholds` key ``uei_z_over_k``; ``inf`` when ``a <= 0``).
(ii) **omega-BNIC (local bifurcation).**  The symmetric first-order condition is
    ``F(w) := dP/d eps_0 (w; w, ..., w) = 2 k w``.  ``F(0) = 0`` (evenness), ``F`` is odd (flip symmetry), and
    ``F(w) = gamma0 w + O(w^3)``, so an informed symmetric branch leaves ``w = 0`` (a pitchfork) where
    ``gamma0 = 2k``, i.e. ``z/k = 2 z / gamma0`` (key ``bnic_bifurcation_z_over_k``).  This is the *local*
    bifurcation only; the global omega-BNIC threshold (a fold far from zero, or utility comparisons between
    equilibria) can be lower and comes from root-finding in :mod:`equilibria.thresholds`.

Power costs ``k w^p``: for ``p < 2`` the cost dominates every quadratic payment gain near zero, so zero
effort is never left locally (both local thresholds are ``inf``: "no local bifurcation"; a global
threshold may still be finite).  For ``p > 2`` the quadratic payment term dominates, so zero is left
locally for every ``z/k > 0`` as soon as the coefficient is positive (threshold ``0``), and never when
it is ``<= 0``.

Closed forms (``V = Var(theta)``, ``T_P = C(m,2)(N-1)``, ``T_B = C(m,2)(m-2)(N-1)(N-2)``, ``n = m - 2``)
--------------------------------------------------------------------------------------------------
======================  =====================================  ===========================================
mechanism               ``a``                                  ``b``
======================  =====================================  ===========================================
PPA                     ``0`` (payment flat in own effort)     ``z T_P V / 4``
BSST (any ``0<y<z``)    ``0`` (flat)                           ``z T_B V / 8`` (``y`` cancels)
APA ``3cycle``          ``z T_P V (3/4)^n n (n+8) / 36``       ``z T_P V (3/4)^(n-1) (m+1) / 16``
APA ``scc``             ``z T_P V alpha_m`` (enumeration)      ``z T_P V beta_m`` (enumeration)
DG13, CA                ``0`` (flat)                           ``z (N-1) V sum_p (1/4 - sbar_p / 8)``
StatisticRule           pair and triple tables, linear in the entries (see :func:`local_expansion`)
======================  =====================================  ===========================================

PPA's bifurcation is therefore ``z/k = 8 / (T_P V)`` and BSST's ``16 / (T_B V)``, exactly the values stated
in issue 10 item 5; BSST's holds for *every* ``y`` (not only the default ``y = z/2``), because the own-effort
dependent part of a BSST term is ``(z/4)(A_ij + A_ik)`` whatever ``y`` is.  APA ``scc`` coefficients are
exact rationals from the enumeration of the ``2^C(m,2)`` tournaments of agent ``i`` (``m <= 7``); they equal
``3cycle``'s at ``m = 3``.  Beyond ``m = 7`` they are Monte Carlo estimates with a standard error.

Derivation
----------
Given ``theta`` all reports are independent, ``Pr(R_x = s | theta) = sigma(s eps_x L_x(theta))`` with
``L_x = theta_a - theta_b`` for a report on pair ``(a, b)``, and ``sigma(u) = 1/2 + u/4 + O(u^3)`` has no
quadratic term.  So, to second order in the efforts,

    ``E[M] = E_U[M] + (V/4) sum_{x < y} eps_x eps_y G_xy E_U[M s_x s_y] + O(eps^3)``

where ``E_U`` is the expectation under uniformly random reports (everybody at zero effort) and
``G_xy = Cov(L_x, L_y) / V`` (``2`` for the same pair, ``+1`` / ``-1`` for two pairs sharing an item in the
same / opposite position, ``0`` for disjoint pairs).  Because every ``L_x`` is a difference of i.i.d.
qualities, ``E[L_x] = 0`` and ``E[L_x L_y] = V G_xy``: **the second-order coefficients depend on the prior
only through its variance**, for every mechanism, and are rational multiples of ``V``.  This needs only a
finite variance: ``|sigma(u) - 1/2 - u/4| <= C min(|u|, |u|^3) <= C u^2``, so the remainder divided by
``eps^2`` is dominated by an integrable ``C L^2`` and tends to zero (dominated convergence), and ``P`` is
twice continuously differentiable because ``sigma''`` is bounded.  With an infinite variance the second
derivatives do not exist: the coefficients are returned as ``+-inf`` with a note.

The sympy derivations (PPA's agreement, APA ``3cycle``'s coherent agreement with the ``m - 2`` disjoint
triangles raised to the power ``n`` by the truncated binomial series, the generic BSST/statistics triple
with its 8 report patterns and symbolic table) expand the sigmoids, truncate at total degree two and
replace monomials in the qualities by moments ``E[theta] = mu``, ``E[theta^2] = mu^2 + V``; ``mu`` cancels,
which is checked.  ``scc`` and DG13/CA use the identity above with exact integer enumeration.

Fourth order (:func:`next_order`)
--------------------------------
Whether a local threshold is *the* threshold depends on the next terms, ``q4 = d^4 P(eps; 0) / d eps^4`` and
``g3`` (``F(w) = gamma0 w + g3 w^3 + ...``), which involve ``Var^2`` and the fourth central moment ``mu4``
(the third moment cancels).  Per (pair, peer) term, in units of ``z``:

* PPA: ``g3 = -(3 Var^2 + mu4) / 12`` (``= -E[D^4] / 24``): supercritical for every prior;
* BSST: ``g3 = -(3 Var^2 + mu4) / 24`` per term for every ``y``: supercritical for every prior;
* APA ``3cycle``: ``m = 3``: ``q4 = -(9 Var^2 + 3 mu4)/8``, ``g3 = -(21 Var^2 + 7 mu4)/48``; for the normal and
  the uniform prior the bifurcation is supercritical for ``m <= 9`` and **subcritical for m >= 10** (then
  informed equilibria exist below the local value, at a fold), and the UEI local threshold is locally tight
  (``q4 < 0``) for ``m <= 11`` but **not for m >= 12**.

Cache
-----
Derivations are cached in-process (:func:`functools.lru_cache`) and on disk as JSON, keyed by a SHA-256
hash of their input (kind, coherence, ``n_items``, :data:`EXPRESSION_VERSION`), under the directory
``$FEEDBACK_MECHANISMS_CACHE`` (used as is) or ``~/.cache/feedback-mechanisms/sympy/``.  Corrupt or unreadable
files are ignored and recomputed; an unwritable directory leaves the cache in memory only.  Loading a
cached derivation does not import sympy.

Numerical cross-check
---------------------
``numeric`` in :class:`LocalExpansion` is computed from the exact engine only (independently of the
derivations): central second differences ``(P(h) - 2P(0) + P(-h)) / h^2`` and mixed differences
``[Q(h,h) - Q(h,-h) - Q(-h,h) + Q(-h,-h)] / (4h^2)`` with ``Q(u, v) = P(u; v, ..., v)``, at ``h = 0.02`` and
``0.01``, Richardson-extrapolated (``(4 D(h/2) - D(h)) / 3``).  The error estimate is
``|R - D(h/2)|`` (the size of the removed ``h^2`` term, which bounds the ``h^4`` remainder for these analytic
integrands) plus a rounding bound ``8 * 1e-13 max|P| / (h/2)^2``.

References
----------
Manyika, Wooldridge, Gan (2025), eqs. (6)-(8), Defs. 5.1-5.2; spec ``mechanisms.md`` sections 1-3; issue 10,
item 5.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import lru_cache
from itertools import product
from math import comb
from pathlib import Path

import numpy as np

from agents import NormalPrior, ScipyPrior, UniformPrior, as_prior, pair_index

EXPRESSION_VERSION = 1
SCC_EXACT_MAX_ITEMS = 7          # 2^21 tournaments; beyond, Monte Carlo with a standard error
FD_STEPS = (0.02, 0.01)
_ROUNDING = 1e-13                # relative rounding level assumed for one exact-engine value

__all__ = ["LocalExpansion", "local_expansion", "local_thresholds", "next_order", "derivation", "clear_cache",
           "cache_dir", "prior_variance", "prior_fourth_moment", "EXPRESSION_VERSION"]


# ------------------------------------------------------------------------------------------------
# result type
# ------------------------------------------------------------------------------------------------

@dataclass
class LocalExpansion:
    """Second-order expansion of ``P(eps_0; eps_1..eps_{N-1})`` at zero effort (see module docstring).

    Attributes
    ----------
    own_curvature : float
        ``a = d^2 P(eps; 0..0) / d eps^2`` at ``0`` (second derivative, not the ``eps^2`` coefficient).
    cross : float
        ``b = sum_j d^2 P / d eps_0 d eps_j`` at zero.
    gamma0 : float
        ``a + b``: slope at zero of the symmetric first-order condition's payment part.
    exact : bool
        ``True`` when the three values come from a closed form (exact rationals times ``Var(theta)``).
    expressions : dict
        Sympy-style strings: the closed forms at this ``m`` (``N`` symbolic), the general-``m`` forms where
        known, and the local thresholds.
    numeric : dict or None
        The same three from finite differences of the exact engine, with ``error_estimate`` (a dict with
        one bound per quantity), or ``None`` / ``{'skipped': reason}``.
    mechanism, n_agents, n_items, prior : identification
    variance : float
        ``Var(theta)`` of the prior.
    z : float
        The mechanism's scale ``z`` (thresholds are per unit ``z``).
    method : str
        Where the values come from.
    error_estimate : dict or None
        For non-exact values: an error bound (standard error for Monte Carlo) per quantity.
    notes : list of str
    """

    own_curvature: float
    cross: float
    gamma0: float
    exact: bool
    expressions: dict
    numeric: dict | None
    mechanism: str = ""
    n_agents: int = 0
    n_items: int = 0
    prior: str = ""
    variance: float = float("nan")
    z: float = 1.0
    method: str = ""
    error_estimate: dict | None = None
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-friendly dictionary (infinite values become strings ``'inf'`` / ``'-inf'``)."""
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, np.generic):
                return clean(v.item())
            return v
        return clean(asdict(self))


# ------------------------------------------------------------------------------------------------
# prior variance
# ------------------------------------------------------------------------------------------------

def prior_variance(prior) -> float:
    """``Var(theta)`` of a prior: ``scale^2`` (normal), ``(high - low)^2 / 12`` (uniform), ``dist.var()``
    (scipy; may be ``inf``), else from the prior's quadrature rule."""
    p = as_prior(prior)
    if isinstance(p, NormalPrior):
        return float(p.scale) ** 2
    if isinstance(p, UniformPrior):
        return (float(p.high) - float(p.low)) ** 2 / 12.0
    if isinstance(p, ScipyPrior):
        v = float(p.dist.var())
        return v if not math.isnan(v) else math.inf
    x, w = p.rule(0.0)
    mean = float(w @ x)
    return float(w @ (x - mean) ** 2)


# ------------------------------------------------------------------------------------------------
# disk + memory cache
# ------------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Directory of the on-disk derivation cache: ``$FEEDBACK_MECHANISMS_CACHE`` if set, else
    ``~/.cache/feedback-mechanisms/sympy``."""
    env = os.environ.get("FEEDBACK_MECHANISMS_CACHE")
    if env:
        return Path(env).expanduser()
    try:
        return Path.home() / ".cache" / "feedback-mechanisms" / "sympy"
    except (RuntimeError, KeyError, OSError):      # no home directory: a per-machine temporary one
        return Path(tempfile.gettempdir()) / "feedback-mechanisms-sympy"


def _key(kind: str, n_items, coherence) -> dict:
    return {"module": "equilibria.local", "kind": kind, "coherence": coherence,
            "n_items": None if n_items is None else int(n_items), "version": EXPRESSION_VERSION}


def _cache_file(key: dict) -> Path:
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    m = "" if key["n_items"] is None else f"-m{key['n_items']}"
    return cache_dir() / f"local-{key['kind']}{m}-{h}.json"


def _load(key: dict):
    try:
        path = _cache_file(key)
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("record"), dict):
            return None
        rec = data["record"]
        _validate_record(rec)
        return rec
    except Exception:            # corrupt, unreadable, missing: recompute
        return None


def _store(key: dict, record: dict) -> bool:
    try:
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
        path = _cache_file(key)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=str(d))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, "record": record}, fh, indent=1, sort_keys=True)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return True
    except Exception:            # unwritable: in-memory only
        return False


def _validate_record(rec: dict):
    """Every stored coefficient must parse as an exact rational (or a float for Monte Carlo records)."""
    for name, v in rec.get("coefficients", {}).items():
        if isinstance(v, list):
            [Fraction(x) for x in v]
        else:
            Fraction(v)


@lru_cache(maxsize=None)
def _derivation_cached(kind: str, n_items, coherence, directory: str):
    key = _key(kind, n_items, coherence)
    rec = _load(key)
    if rec is not None:
        return rec, "disk"
    rec = _DERIVERS[kind](n_items)
    stored = _store(key, rec)
    return rec, ("derived" if stored else "derived (cache not writable)")


def derivation(kind: str, n_items=None, coherence=None) -> tuple[dict, str]:
    """A cached derivation record ``(record, source)``; ``source`` is ``'disk'``, ``'derived'`` or
    ``'derived (cache not writable)'`` for the first call in this process (later calls return the same).

    Kinds: ``'agreement'`` (PPA), ``'pair3'`` (agreement x 3cycle coherence tables, per ``m``),
    ``'triple'`` (bonus/penalty tables), ``'scc'`` (per ``m <= 7``), ``'dg13'``, ``'ca'`` (per ``m``).
    """
    if kind not in _DERIVERS:
        raise ValueError(f"unknown derivation kind {kind!r}; one of {sorted(_DERIVERS)}")
    return _derivation_cached(kind, n_items, coherence, str(cache_dir()))


def clear_cache(memory: bool = True, disk: bool = False):
    """Clear the in-process cache and/or delete this module's files in :func:`cache_dir`."""
    if memory:
        _derivation_cached.cache_clear()
    if disk:
        try:
            for f in cache_dir().glob("local-*.json"):
                f.unlink()
        except OSError:
            pass


# ------------------------------------------------------------------------------------------------
# sympy derivations (sympy is imported only here)
# ------------------------------------------------------------------------------------------------

def _sp():
    import sympy
    return sympy


def _sigma1(sp, u):
    """sigma(u) = 1/2 + u/4 + O(u^3): exact to second order (no quadratic term)."""
    return sp.Rational(1, 2) + u / 4


def _truncate(sp, expr, effs, degree=2):
    poly = sp.Poly(sp.expand(expr), *effs)
    out = 0
    for mon, c in poly.terms():
        if sum(mon) <= degree:
            out += c * sp.prod([e ** k for e, k in zip(effs, mon)])
    return sp.expand(out)


def _expect(sp, expr, thetas, mu, V):
    """``E[expr]`` for i.i.d. qualities with ``E theta = mu``, ``E theta^2 = mu^2 + V`` (degree <= 2 each)."""
    moments = {0: sp.Integer(1), 1: mu, 2: mu ** 2 + V}
    poly = sp.Poly(sp.expand(expr), *thetas)
    out = 0
    for mon, c in poly.terms():
        if max(mon) > 2:
            raise AssertionError("a quality appears to degree > 2 at second order")
        out += c * sp.prod([moments[k] for k in mon])
    return sp.expand(out)


def _rat(sp, expr, name):
    r = sp.simplify(expr)
    if not r.is_Rational:
        r = sp.nsimplify(r, rational=True)
    if not r.is_Rational:
        raise AssertionError(f"{name} is not rational: {r}")
    return str(r)


def _derive_agreement(_n_items=None) -> dict:
    """PPA: ``Pr(R_i = R_j)`` per (pair, peer) to second order."""
    sp = _sp()
    e0, ej, ta, tb, mu, V = sp.symbols("epsilon_0 epsilon_j theta_a theta_b mu V")
    D = ta - tb
    pa = sum(_sigma1(sp, r * e0 * D) * _sigma1(sp, r * ej * D) for r in (1, -1))
    pa = _expect(sp, _truncate(sp, pa, (e0, ej)), (ta, tb), mu, V)
    own = sp.diff(pa, e0, 2).subs({e0: 0, ej: 0})
    cross = sp.diff(pa, e0, ej).subs({e0: 0, ej: 0})
    assert sp.simplify(sp.diff(own, mu)) == 0 and sp.simplify(sp.diff(cross, mu)) == 0
    return {"kind": "agreement", "coefficients": {"pA_own": _rat(sp, own / V, "own"),
                                                   "pA_cross": _rat(sp, cross / V, "cross")},
            "general": {"pA_cross": "1/4 * Var", "pA_own": "0"}}


@lru_cache(maxsize=1)
def _apa3_general():
    """Symbolic in ``n = m - 2``: second-order coefficients of ``Pr(coherent)`` and ``Pr(coherent, agree)``.

    Per own report orientation ``r``: the ``n`` triangles through the pair use disjoint edges, so given
    ``theta_a, theta_b`` the no-3-cycle probability is ``E_c[1 - sigma(r e (tb - tc)) sigma(r e (tc - ta))]^n``;
    the power is expanded by the binomial series truncated at ``e^2`` (exact to second order).
    """
    sp = _sp()
    e0, ej, ta, tb, tc, mu, V, n = sp.symbols("epsilon_0 epsilon_j theta_a theta_b theta_c mu V n")
    D = ta - tb
    G = 0
    C = 0
    for r in (1, -1):
        tri = 1 - _sigma1(sp, r * e0 * (tb - tc)) * _sigma1(sp, r * e0 * (tc - ta))
        tri = _expect(sp, _truncate(sp, tri, (e0,)), (tc,), mu, V)
        f0 = tri.coeff(e0, 0)
        f1 = tri.coeff(e0, 1)
        f2 = tri.coeff(e0, 2)
        F = (f0 ** n + n * f0 ** (n - 1) * f1 * e0
             + (n * f0 ** (n - 1) * f2 + n * (n - 1) / 2 * f0 ** (n - 2) * f1 ** 2) * e0 ** 2)
        own = _sigma1(sp, r * e0 * D)
        peer = _sigma1(sp, r * ej * D)
        G += _truncate(sp, own * peer * F, (e0, ej))
        C += _truncate(sp, own * F, (e0, ej))
    G = _expect(sp, G, (ta, tb), mu, V)
    C = _expect(sp, C, (ta, tb), mu, V)
    res = {}
    for name, expr in (("G", G), ("pC", C)):
        own = sp.diff(expr, e0, 2).subs({e0: 0, ej: 0})
        cross = sp.diff(expr, e0, ej).subs({e0: 0, ej: 0})
        for tag, val in (("own", own), ("cross", cross)):
            if sp.simplify(sp.diff(val, mu)) != 0:
                raise AssertionError("the APA coefficient depends on the prior's mean")
            res[f"{name}_{tag}"] = sp.factor(sp.simplify(val / V))
    res["pC0"] = sp.simplify(C.subs({e0: 0, ej: 0}))
    return res, n


def _derive_pair3(n_items) -> dict:
    """Agreement x 3cycle-coherence tables (APA 3cycle, PPA, StatisticRule pair table) at ``m = n_items``."""
    sp = _sp()
    res, n = _apa3_general()
    agr = _derive_agreement()["coefficients"]
    coeffs = {k: _rat(sp, v.subs(n, n_items - 2), k) for k, v in res.items()}
    coeffs.update(agr)
    m = sp.Symbol("m")
    general = {k: "(" + str(sp.factor(v.subs(n, m - 2))) + ") * Var" for k, v in res.items() if k != "pC0"}
    return {"kind": "pair3", "n_items": int(n_items), "coefficients": coeffs, "general": general}


def _derive_triple(_n_items=None) -> dict:
    """One BSST-type term: ``s_i = R_i(a,a')``, ``s_j = R_j(a'',a')``, ``s_k = R_k(a'',a)``, payment
    ``t[2 B + Q]`` with ``B = 1[s_j = s_i]``, ``Q = 1[s_k = -s_i]``; all 8 report patterns enumerated."""
    sp = _sp()
    e0, ej, ek, ta, tb, tc, mu, V = sp.symbols("epsilon_0 epsilon_j epsilon_k theta_a theta_b theta_c mu V")
    t = sp.symbols("t0:4")
    total = 0
    for si, sj, sk in product((1, -1), repeat=3):
        pr = (_sigma1(sp, si * e0 * (ta - tb)) * _sigma1(sp, sj * ej * (tc - tb))
              * _sigma1(sp, sk * ek * (tc - ta)))
        B = int(sj == si)
        Q = int(sk == -si)
        total += t[2 * B + Q] * pr
    total = _expect(sp, _truncate(sp, total, (e0, ej, ek)), (ta, tb, tc), mu, V)
    z0 = {e0: 0, ej: 0, ek: 0}
    own = sp.diff(total, e0, 2).subs(z0)
    cb = sp.diff(total, e0, ej).subs(z0)
    cp = sp.diff(total, e0, ek).subs(z0)
    out = {}
    for name, expr in (("own", own), ("cross_bonus", cb), ("cross_penalty", cp)):
        if sp.simplify(sp.diff(expr, mu)) != 0:
            raise AssertionError("the triple coefficient depends on the prior's mean")
        lin = sp.expand(expr / V)
        out[name] = [_rat(sp, lin.coeff(ti), name) for ti in t]
        if sp.simplify(lin - sum(sp.Rational(c) * ti for c, ti in zip(out[name], t))) != 0:
            raise AssertionError("triple coefficient not linear in the table")
    general = {k: "(" + str(sp.expand(sum(sp.Rational(c) * ti for c, ti in zip(v, t)))) + ") * Var"
               for k, v in out.items()}
    return {"kind": "triple", "coefficients": out, "general": general}


def _gram(n_items):
    """``G_xy = Cov(L_x, L_y) / Var`` for the canonical pairs (``L = theta_a - theta_b``)."""
    pa, pb = pair_index(n_items)
    A = np.zeros((pa.size, n_items))
    A[np.arange(pa.size), pa] = 1
    A[np.arange(pa.size), pb] = -1
    return (A @ A.T).astype(np.int64)


def _tournament_coefficients(n_items, coherence, codes=None, rng=None, samples=0):
    """For pair 0 of agent ``i``'s tournament: ``alpha = E_U[coh_0 Q(s)] / 4`` and
    ``beta = E_U[coh_0 s_0 (G s)_0] / 8`` with ``Q(s) = sum_{x<y} G_xy s_x s_y``.

    Exact (integer sums over all ``2^P`` tournaments, as Fractions) when ``samples == 0``; otherwise Monte
    Carlo over uniformly random tournaments averaged over all pairs (by symmetry), with standard errors.
    """
    from mechanisms.kernels import COHERENCE_3CYCLE, COHERENCE_SCC, _coherence
    pa, pb = pair_index(n_items)
    P = pa.size
    G = _gram(n_items).astype(np.float64)
    rule = COHERENCE_SCC if coherence == "scc" else COHERENCE_3CYCLE
    chunk = 1 << 16
    if samples == 0:
        total = 1 << P
        acc_a = 0
        acc_b = 0
        for start in range(0, total, chunk):
            code = np.arange(start, min(total, start + chunk), dtype=np.int64)
            bits = ((code[:, None] >> np.arange(P)[None, :]) & 1).astype(np.int8)
            s = (2 * bits - 1).astype(np.int8)
            coh = np.empty((s.shape[0], 1, P), dtype=np.int8)
            _coherence(np.ascontiguousarray(s[:, None, :]), pa, pb, n_items, rule, coh)
            c0 = coh[:, 0, 0].astype(bool)
            sf = s[c0].astype(np.float64)
            Gs = sf @ G
            quad = ((Gs * sf).sum(axis=1) - 2.0 * P) / 2.0
            acc_a += int(round(quad.sum()))
            acc_b += int(round((sf[:, 0] * Gs[:, 0]).sum()))
        return Fraction(acc_a, 4 * total), Fraction(acc_b, 8 * total)
    rng = rng or np.random.default_rng(20261127)
    fa = []
    fb = []
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        s = (2 * rng.integers(0, 2, size=(k, P)) - 1).astype(np.int8)
        coh = np.empty((k, 1, P), dtype=np.int8)
        _coherence(np.ascontiguousarray(s[:, None, :]), pa, pb, n_items, rule, coh)
        c = coh[:, 0, :].astype(np.float64)
        sf = s.astype(np.float64)
        Gs = sf @ G
        quad = ((Gs * sf).sum(axis=1) - 2.0 * P) / 2.0
        fa.append(c.mean(axis=1) * quad / 4.0)
        fb.append((c * sf * Gs).mean(axis=1) / 8.0)
        done += k
    fa = np.concatenate(fa)
    fb = np.concatenate(fb)
    return ((float(fa.mean()), float(fa.std(ddof=1) / math.sqrt(samples))),
            (float(fb.mean()), float(fb.std(ddof=1) / math.sqrt(samples))))


def _derive_scc(n_items) -> dict:
    """APA scc at ``m <= 7``: exact rationals from all tournaments (score identity, module docstring)."""
    sp = _sp()
    if n_items > SCC_EXACT_MAX_ITEMS:
        raise ValueError(f"exact scc enumeration is limited to m <= {SCC_EXACT_MAX_ITEMS}")
    alpha, beta = _tournament_coefficients(n_items, "scc")
    return {"kind": "scc", "n_items": int(n_items),
            "coefficients": {"G_own": _rat(sp, sp.Rational(alpha.numerator, alpha.denominator), "G_own"),
                             "G_cross": _rat(sp, sp.Rational(beta.numerator, beta.denominator), "G_cross")},
            "general": {"G_own": "E_U[coh_01 * sum_{x<y} G_xy s_x s_y] / 4 * Var (tournament enumeration)",
                        "G_cross": "E_U[coh_01 * s_01 * (G s)_01] / 8 * Var (tournament enumeration)"}}


def _shared_sign_matrix(n_items):
    G = _gram(n_items)
    S = G.copy()
    np.fill_diagonal(S, 0)
    return S


def _derive_chance(kind, n_items) -> dict:
    """DG13 / CA: ``b / (z (N-1) Var) = sum_p [1/4 - sbar_p / 8]`` with ``sbar_p`` the exact mean shared-item
    sign over ``p``'s penalty pairs (``G_{p'p''}`` of the score identity); ``a = 0`` (flat)."""
    from mechanisms import CA, DG13
    mech = DG13() if kind == "dg13" else CA()
    S = _shared_sign_matrix(n_items)
    total = Fraction(0)
    for p, pairs in enumerate(mech.penalty_sets(n_items)):
        arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        sbar = Fraction(int(S[arr[:, 0], arr[:, 1]].sum()), len(pairs))
        total += Fraction(1, 4) - sbar / 8
    return {"kind": kind, "n_items": int(n_items),
            "coefficients": {"cross_per_peer": str(total), "own": "0"},
            "general": {"cross": "z*(N-1)*Var*sum_p (1/4 - sbar_p/8), sbar_p = mean shared-item sign of p's "
                                 "penalty pairs"}}


_DERIVERS = {
    "agreement": _derive_agreement,
    "pair3": _derive_pair3,
    "triple": _derive_triple,
    "scc": _derive_scc,
    "dg13": lambda m: _derive_chance("dg13", m),
    "ca": lambda m: _derive_chance("ca", m),
}


# ------------------------------------------------------------------------------------------------
# fourth order: direction of the bifurcations (depends on the prior's kurtosis, not only on Var)
# ------------------------------------------------------------------------------------------------

_O4 = 4


def _o4_tools():
    """Truncated power series in the efforts with exact ``QQ[theta_a, theta_b, theta_c, V, kappa3, mu4]``
    polynomial coefficients; qualities centred (``mu = 0`` by translation invariance: payments depend on
    quality differences only)."""
    sp = _sp()
    ta, tb, tc, V, k3, k4 = sp.symbols("theta_a theta_b theta_c V kappa3 mu4")
    gens = (ta, tb, tc, V, k3, k4)

    def P(x):
        return sp.Poly(x, *gens, domain="QQ")

    class Series:
        def __init__(self, d, nv):
            self.d, self.nv = d, nv

        @staticmethod
        def const(c, nv):
            return Series({(0,) * nv: P(c)}, nv)

        def __add__(self, o):
            d = dict(self.d)
            for k, v in o.d.items():
                d[k] = d[k] + v if k in d else v
            return Series(d, self.nv)

        def __mul__(self, o):
            if not isinstance(o, Series):
                return Series({k: v * P(o) for k, v in self.d.items()}, self.nv)
            d = {}
            for k1, v1 in self.d.items():
                for k2, v2 in o.d.items():
                    k = tuple(a + b for a, b in zip(k1, k2))
                    if sum(k) <= _O4:
                        d[k] = d[k] + v1 * v2 if k in d else v1 * v2
            return Series(d, self.nv)

        def __pow__(self, n):
            out, base = Series.const(1, self.nv), self
            while n:
                if n & 1:
                    out = out * base
                base = base * base
                n >>= 1
            return out

        def map(self, f):
            return Series({k: f(v) for k, v in self.d.items()}, self.nv)

    def sigma(idx, lin, nv, sign=1):
        """``sigma(s e L) = 1/2 + s e L/4 - (s e L)^3/48 + O(e^5)``."""
        z = [0] * nv
        k1 = list(z)
        k1[idx] = 1
        k3_ = list(z)
        k3_[idx] = 3
        return Series({tuple(z): P(sp.Rational(1, 2)), tuple(k1): P(sign * lin / 4),
                       tuple(k3_): P(-(sign * lin) ** 3 / 48)}, nv)

    moments = {0: 1, 1: 0, 2: V, 3: k3, 4: k4}

    def expect(poly, var):
        i = gens.index(var)
        out = P(0)
        for mon, c in poly.terms():
            rest = list(mon)
            k = rest[i]
            rest[i] = 0
            out += P(c * moments[k] * sp.prod([g ** e for g, e in zip(gens, rest)]))
        return out

    return sp, Series, sigma, expect, (ta, tb, tc, V, k3, k4)


def _o4_pack(sp, expr, V, k3, k4, name):
    """``expr = c1 V^2 + c2 mu4`` -> ``[c1, c2]`` (checks that the third moment cancels)."""
    e = sp.expand(expr)
    if e.has(k3):
        raise AssertionError(f"{name} depends on the third moment")
    c1, c2 = e.coeff(V, 2), e.coeff(k4, 1)
    if sp.expand(e - c1 * V ** 2 - c2 * k4) != 0:
        raise AssertionError(f"{name} is not of the form c1 V^2 + c2 mu4: {e}")
    return [str(sp.Rational(c1)), str(sp.Rational(c2))]


def _o4_quantities(sp, ser, V, k3, k4, name):
    """``q4 = d^4 X(e, 0, ..) / de^4`` at 0 and ``g3`` = coefficient of ``w^3`` in ``dX/de_0 (w, w, ..)``."""
    q4 = 0
    g3 = 0
    for k, v in ser.d.items():
        if sum(k) != _O4:
            continue
        ex = v.as_expr()
        if k[0] == _O4:
            q4 += 24 * ex
        g3 += k[0] * ex
    return {f"{name}_q4": _o4_pack(sp, q4, V, k3, k4, name), f"{name}_g3": _o4_pack(sp, g3, V, k3, k4, name)}


def _derive_pair3_o4(n_items) -> dict:
    """Fourth order of ``Pr(agree)``, ``Pr(coherent)`` and ``Pr(coherent, agree)`` (3cycle) at ``m``."""
    sp, Series, sigma, expect, (ta, tb, tc, V, k3, k4) = _o4_tools()
    n = int(n_items) - 2
    G = C = A = None
    for r in (1, -1):
        tri = Series.const(1, 2) + sigma(0, tb - tc, 2, r) * sigma(0, tc - ta, 2, r) * (-1)
        tri = tri.map(lambda p: expect(p, tc))
        F = tri ** n
        own, peer = sigma(0, ta - tb, 2, r), sigma(1, ta - tb, 2, r)
        parts = (own * peer * F, own * F, own * peer)
        G, C, A = parts if G is None else (G + parts[0], C + parts[1], A + parts[2])
    out = {}
    for name, ser in (("G", G), ("pC", C), ("pA", A)):
        ser = ser.map(lambda p: expect(expect(p, ta), tb))
        out.update(_o4_quantities(sp, ser, V, k3, k4, name))
    return {"kind": "pair3_o4", "n_items": int(n_items), "coefficients": out}


def _derive_triple_o4(_n_items=None) -> dict:
    """Fourth order of one bonus/penalty term, per table entry (``t = e_0 .. e_3``)."""
    sp, Series, sigma, expect, (ta, tb, tc, V, k3, k4) = _o4_tools()
    out = {}
    probs = {}
    for si, sj, sk in product((1, -1), repeat=3):
        pr = sigma(0, ta - tb, 3, si) * sigma(1, tc - tb, 3, sj) * sigma(2, tc - ta, 3, sk)
        probs[(si, sj, sk)] = pr.map(lambda p: expect(expect(expect(p, ta), tb), tc))
    for idx in range(4):
        tot = None
        for (si, sj, sk), pr in probs.items():
            if 2 * int(sj == si) + int(sk == -si) == idx:
                tot = pr if tot is None else tot + pr
        q = _o4_quantities(sp, tot, V, k3, k4, f"t{idx}")
        out.update(q)
    return {"kind": "triple_o4", "coefficients": out}


_DERIVERS.update({"pair3_o4": _derive_pair3_o4, "triple_o4": _derive_triple_o4})


def prior_fourth_moment(prior) -> float:
    """Fourth central moment ``mu4 = E (theta - E theta)^4``: ``3 Var^2`` (normal), ``(high - low)^4 / 80``
    (uniform), ``(excess kurtosis + 3) Var^2`` (scipy; may be ``inf``), else from the quadrature rule."""
    p = as_prior(prior)
    if isinstance(p, NormalPrior):
        return 3.0 * float(p.scale) ** 4
    if isinstance(p, UniformPrior):
        return (float(p.high) - float(p.low)) ** 4 / 80.0
    if isinstance(p, ScipyPrior):
        v, k = (float(x) for x in p.dist.stats(moments="vk"))
        return math.inf if not (math.isfinite(v) and math.isfinite(k)) else (k + 3.0) * v * v
    x, w = p.rule(0.0)
    mean = float(w @ x)
    return float(w @ (x - mean) ** 4)


def _o4_closed(mech, N, m):
    """``(q4, g3)`` as pairs of Fractions ``(c1, c2)`` meaning ``c1 Var^2 + c2 mu4`` (payment scale included),
    or ``None`` (no fourth-order closed form: DG13, CA, scc with m > 3, Monte Carlo rules)."""
    from mechanisms import APA, BSST, PPA, StatisticRule
    from mechanisms.custom import CustomMechanism
    if isinstance(mech, CustomMechanism):
        return None if mech.statistics is None else _o4_closed(mech.statistics, N, m)
    TP = comb(m, 2) * (N - 1)
    TB = comb(m, 2) * (m - 2) * (N - 1) * (N - 2)

    def vec(x):
        return np.array([_F(x[0]), _F(x[1])], dtype=object)
    if isinstance(mech, PPA):
        pair, trip = [0, 0, mech.z, mech.z], None
    elif isinstance(mech, APA) and (mech.coherence == "3cycle" or m == 3):
        pair, trip = [0, 0, 0, mech.z], None
    elif isinstance(mech, BSST):
        pair, trip = None, [0, mech.y, mech.y, mech.z]
    elif isinstance(mech, StatisticRule):
        pair = list(mech.pair) if np.any(mech.pair != 0) else None
        trip = list(mech.triple) if np.any(mech.triple != 0) else None
    else:
        return None
    q4 = np.array([Fraction(0), Fraction(0)], dtype=object)
    g3 = q4.copy()
    if pair is not None:
        c = derivation("pair3_o4", m)[0]["coefficients"]
        v = [_F(x) for x in pair]
        w = {"pA": v[2] - v[0], "pC": v[1] - v[0], "G": v[0] - v[1] - v[2] + v[3]}
        for name, wt in w.items():
            q4 = q4 + TP * wt * vec(c[f"{name}_q4"])
            g3 = g3 + TP * wt * vec(c[f"{name}_g3"])
    if trip is not None:
        c = derivation("triple_o4")[0]["coefficients"]
        for idx, t in enumerate(trip):
            q4 = q4 + TB * _F(t) * vec(c[f"t{idx}_q4"])
            g3 = g3 + TB * _F(t) * vec(c[f"t{idx}_g3"])
    return tuple(q4), tuple(g3)


def _o4_numeric(mech, N, m, prior):
    """Finite differences of the exact engine: ``q4`` by the 5-point fourth difference at ``h = 0.1, 0.05``
    (Richardson), ``g3`` by a least-squares fit of ``F(w)/w = g1 + g3 w^2 + g5 w^4`` on
    ``w = 0.05 .. 0.2`` with ``F`` from a 4-point derivative (``delta = 0.01``); error estimates from the
    Richardson step and from the change when a ``w^6`` term is added, plus rounding."""
    zeros = np.zeros(N - 1)
    hs = (0.1, 0.05)
    own = np.array([-0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2])
    Pz = dict(zip(own.tolist(), mech.payment_curve(own, zeros, m, prior)))
    scale = max(abs(x) for x in Pz.values())
    D4 = {h: (Pz[-2 * h] - 4 * Pz[-h] + 6 * Pz[0.0] - 4 * Pz[h] + Pz[2 * h]) / h ** 4 for h in hs}
    q4 = (4 * D4[hs[1]] - D4[hs[0]]) / 3
    eq4 = abs(q4 - D4[hs[1]]) + 16 * _ROUNDING * scale / hs[1] ** 4
    ws = np.array([0.05, 0.1, 0.15, 0.2])
    d = 0.01
    R = []
    for w in ws:
        v = mech.payment_curve([w - 2 * d, w - d, w + d, w + 2 * d], np.full(N - 1, w), m, prior)
        scale = max(scale, float(np.max(np.abs(v))))
        R.append((v[0] - 8 * v[1] + 8 * v[2] - v[3]) / (12 * d) / w)
    R = np.array(R)
    A3 = np.c_[np.ones_like(ws), ws ** 2, ws ** 4]
    A4 = np.c_[A3, ws ** 6]
    c3 = np.linalg.lstsq(A3, R, rcond=None)[0]
    c4 = np.linalg.solve(A4, R)
    g3 = float(c4[1])
    eg3 = abs(c4[1] - c3[1]) + 18 * _ROUNDING * scale / (12 * d) / ws[0] / (ws[1] ** 2 - ws[0] ** 2) * 10
    return {"own_quartic": float(q4), "foc_cubic": g3,
            "error_estimate": {"own_quartic": float(eq4), "foc_cubic": float(eg3)},
            "method": "finite differences of the exact engine (Richardson / least squares)"}


def next_order(mechanism, n_agents, n_items, prior="normal", *, numeric="auto") -> dict:
    """Fourth-order terms at zero effort: whether the local thresholds are the actual thresholds.

    With ``P(eps; 0..0) = P0 + a eps^2/2 + q4 eps^4/24 + ...`` and the symmetric first-order condition's
    payment part ``F(w) = dP/d eps_0 (w; w, ..., w) = gamma0 w + g3 w^3 + ...``, for the cost ``k w^2``:

    * **UEI** near its local threshold ``z/k = 2z/a``: if ``q4 < 0`` small efforts gain less than the
      quadratic term, so the local threshold is locally tight (``uei_local = 'tight'``); if ``q4 > 0`` UEI
      already holds slightly below it (``'not tight'``: the global threshold is lower).  ``'flat'``: the payment
      against uninformed peers does not depend on own effort at all (UEI never holds).
    * **omega-BNIC** bifurcation at ``gamma0 = 2k``: the informed branch satisfies
      ``w^2 = (gamma0 - 2k) / (-g3)``.  ``g3 < 0``: *supercritical* (the branch exists exactly above the
      local threshold, with ``w ~ sqrt((gamma0 - 2k)/|g3|)``); ``g3 > 0``: *subcritical* (an unstable informed
      branch exists *below* the local threshold, so informed equilibria appear at a fold below it and the
      omega-BNIC threshold is not the local value).

    These terms depend on the prior through ``Var^2`` and the fourth central moment ``mu4`` (the third
    moment cancels; checked in the derivation): closed forms ``c1 Var^2 + c2 mu4`` for PPA, BSST, APA
    ``3cycle`` and StatisticRule (sympy, cached); finite differences of the exact engine otherwise.

    Parameters
    ----------
    mechanism, n_agents, n_items, prior
        As in :func:`local_expansion`.
    numeric : {'auto', True, False}
        Also (or, without a closed form, only) the finite-difference values.  ``'auto'`` skips them when a
        closed form exists.

    Returns
    -------
    dict
        ``own_quartic`` (``q4``), ``foc_cubic`` (``g3``), ``uei_local``, ``bnic_branch``, ``exact``,
        ``expressions``, ``numeric``, ``notes``.

    Examples
    --------
    >>> from mechanisms import APA
    >>> next_order(APA(), 3, 3, "normal")["bnic_branch"]
    'supercritical'
    >>> next_order(APA(), 3, 10, "normal")["bnic_branch"]           # subcritical from m = 10 on (normal)
    'subcritical'
    """
    from agents._validation import check_int
    N = check_int("n_agents", n_agents, low=3)
    m = check_int("n_items", n_items, low=2)
    prior = as_prior(prior)
    var, mu4 = prior_variance(prior), prior_fourth_moment(prior)
    closed = _o4_closed(mechanism, N, m)
    notes = []
    expressions = {}
    num = None
    if closed is not None and math.isfinite(mu4):
        (q1, q2), (g1, g2) = closed
        q4 = float(q1) * var * var + float(q2) * mu4
        g3 = float(g1) * var * var + float(g2) * mu4
        exact = True
        zf = _F(mechanism.z)
        def form(c1, c2):
            c1, c2 = c1 / zf, c2 / zf
            return f"({c1})*Var^2 + ({c2})*mu4"
        expressions = {"own_quartic": f"q4 = [{form(q1, q2)}] * z",
                       "foc_cubic": f"g3 = [{form(g1, g2)}] * z"}
        if numeric is True:
            num = _o4_numeric(mechanism, N, m, prior)
    else:
        exact = False
        if closed is not None:
            notes.append("infinite fourth moment: no fourth-order expansion")
            return {"own_quartic": math.nan, "foc_cubic": math.nan, "uei_local": None, "bnic_branch": None,
                    "exact": False, "expressions": {}, "numeric": None, "notes": notes}
        if numeric is False:
            raise ValueError("no closed fourth-order form for this rule: use numeric='auto' or True")
        num = _o4_numeric(mechanism, N, m, prior)
        q4, g3 = num["own_quartic"], num["foc_cubic"]
        notes.append("no closed fourth-order form: finite differences of the exact engine")
    ex = local_expansion(mechanism, N, m, prior, numeric=False)
    if getattr(ex, "_flat", False) and ex.own_curvature == 0:
        uei = "flat"
    else:
        tol = 0.0 if exact else num["error_estimate"]["own_quartic"]
        uei = "tight" if q4 < -tol else "not tight" if q4 > tol else None
    tol = 0.0 if exact else num["error_estimate"]["foc_cubic"]
    branch = "supercritical" if g3 < -tol else "subcritical" if g3 > tol else None
    if branch is None or (uei is None):
        notes.append("a fourth-order term is zero or not resolved by its error estimate: undecided (None)")
    return {"own_quartic": float(q4), "foc_cubic": float(g3), "uei_local": uei, "bnic_branch": branch,
            "exact": exact, "expressions": expressions, "numeric": num, "notes": notes}


# ------------------------------------------------------------------------------------------------
# assembling the expansion
# ------------------------------------------------------------------------------------------------

def _F(x) -> Fraction:
    """Exact rational: stored strings as is, floats by their shortest decimal repr (``0.1 -> 1/10``)."""
    if isinstance(x, (str, Fraction, int)):
        return Fraction(x)
    return Fraction(repr(float(x)))


def _fmt(fr: Fraction) -> str:
    return str(fr)


def _closed_form(mech, N, m):
    """``(a_coef, b_coef, forms, general, notes, flat)``: Fractions with ``a = a_coef * Var`` (payment scale
    included), string templates, or ``None`` when there is no closed form."""
    from mechanisms import APA, BSST, CA, DG13, PPA, StatisticRule
    from mechanisms.custom import CustomMechanism
    notes = []
    TP = comb(m, 2) * (N - 1)
    TB = comb(m, 2) * (m - 2) * (N - 1) * (N - 2)
    zf = _F(mech.z) if not isinstance(mech, StatisticRule) else None
    if isinstance(mech, CustomMechanism):
        if mech.statistics is None:
            return None
        notes.append("custom rule: the expansion of its statistics table")
        return _closed_form(mech.statistics, N, m)
    if isinstance(mech, PPA):
        c = derivation("agreement")[0]["coefficients"]
        a, b = _F(c["pA_own"]), _F(c["pA_cross"])
        return (zf * TP * a, zf * TP * b, ("C(m,2)*(N-1)", a, b), {"a": "0", "b": "1/4 * C(m,2)*(N-1) * z * Var"},
                notes + ["PPA: against zero-effort peers every agreement has probability 1/2 whatever i does: "
                         "the payment is flat in own effort (a = 0 exactly, to all orders)"], True)
    if isinstance(mech, BSST):
        c = derivation("triple")[0]["coefficients"]
        t = [Fraction(0), _F(mech.y), _F(mech.y), _F(mech.z)]
        own = sum(_F(x) * ti for x, ti in zip(c["own"], t))
        cr = sum((_F(x) + _F(w)) * ti for x, w, ti in zip(c["cross_bonus"], c["cross_penalty"], t))
        return (TB * own, TB * cr, ("C(m,2)*(m-2)*(N-1)*(N-2)", own / zf, cr / zf),
                {"a": "0", "b": "1/8 * T_B * z * Var  (for every 0 < y < z: y cancels)"},
                notes + ["BSST: the own-effort-dependent part of a term is (z/4)(A_ij + A_ik) for every y, so "
                         "the local expansion does not depend on y; against zero-effort peers the payment is "
                         "flat in own effort (a = 0 exactly)"], True)
    if isinstance(mech, APA):
        if mech.coherence == "3cycle" or m == 3:
            rec = derivation("pair3", m)[0]
            c = rec["coefficients"]
            general = {"a": f"{rec['general']['G_own']} * C(m,2)*(N-1) * z",
                       "b": f"{rec['general']['G_cross']} * C(m,2)*(N-1) * z"}
            if mech.coherence == "scc":
                notes.append("scc coincides with 3cycle at m = 3")
        elif m <= SCC_EXACT_MAX_ITEMS:
            rec = derivation("scc", m, "scc")[0]
            c = rec["coefficients"]
            general = {"a": rec["general"]["G_own"] + " * C(m,2)*(N-1) * z",
                       "b": rec["general"]["G_cross"] + " * C(m,2)*(N-1) * z"}
            notes.append(f"scc: exact rationals from all 2^{comb(m, 2)} tournaments of agent i")
        else:
            return None
        a, b = _F(c["G_own"]), _F(c["G_cross"])
        return (zf * TP * a, zf * TP * b, ("C(m,2)*(N-1)", a, b), general, notes, False)
    if isinstance(mech, (DG13, CA)):
        kind = "dg13" if isinstance(mech, DG13) else "ca"
        c = derivation(kind, m)[0]["coefficients"]
        b = _F(c["cross_per_peer"])
        return (Fraction(0), zf * (N - 1) * b, ("(N-1)", Fraction(0), b),
                {"a": "0", "b": "z*(N-1)*Var*sum_p (1/4 - sbar_p/8)"},
                notes + [f"{kind.upper()}: flat in own effort against zero-effort peers (a = 0 exactly)"], True)
    if isinstance(mech, StatisticRule):
        v = [_F(float(x)) for x in mech.pair]
        t = [_F(float(x)) for x in mech.triple]
        c = derivation("pair3", m)[0]["coefficients"]
        inter = v[0] - v[1] - v[2] + v[3]
        own_p = (v[2] - v[0]) * _F(c["pA_own"]) + (v[1] - v[0]) * _F(c["pC_own"]) + inter * _F(c["G_own"])
        cr_p = (v[2] - v[0]) * _F(c["pA_cross"]) + (v[1] - v[0]) * _F(c["pC_cross"]) + inter * _F(c["G_cross"])
        own_t = cr_t = Fraction(0)
        if np.any(mech.triple != 0):
            ct = derivation("triple")[0]["coefficients"]
            own_t = sum(_F(x) * ti for x, ti in zip(ct["own"], t))
            cr_t = sum((_F(x) + _F(w)) * ti for x, w, ti in zip(ct["cross_bonus"], ct["cross_penalty"], t))
        a = TP * own_p + TB * own_t
        b = TP * cr_p + TB * cr_t
        zs = _F(mech.z)
        forms = ("1", a / zs / 1, b / zs / 1)
        general = {"a": "C(m,2)*(N-1)*[(v2-v0)*pA'' + (v1-v0)*pC'' + (v0-v1-v2+v3)*G''] "
                        "+ T_B*[triple own]  (pC'' = 2 G'' = 2 a_m Var, pA'' = 0)",
                   "b": "C(m,2)*(N-1)*[(v2-v0)/4 + (v0-v1-v2+v3)*beta_m] * Var + T_B*(t3-t0)/8 * Var"}
        flat = (v[1] - v[0] + v[3] - v[2]) == 0
        return (a, b, forms, general, notes + ["StatisticRule: linear in its eight table entries"], flat)
    return None


def _finite_differences(mech, N, m, prior, steps=FD_STEPS):
    """Richardson-extrapolated central differences of the exact engine (independent of the derivations)."""
    h1, h2 = steps
    zeros = np.zeros(N - 1)
    own = np.array([-h1, -h2, 0.0, h2, h1])
    Pz = mech.payment_curve(own, zeros, m, prior)
    scale = float(np.max(np.abs(Pz)))
    D2 = {}
    for h, (lo, hi) in ((h1, (0, 4)), (h2, (1, 3))):
        D2[h] = (Pz[hi] - 2.0 * Pz[2] + Pz[lo]) / h ** 2
    M = {}
    for h in (h1, h2):
        Qp = mech.payment_curve([h, -h], np.full(N - 1, h), m, prior)
        Qm = mech.payment_curve([h, -h], np.full(N - 1, -h), m, prior)
        scale = max(scale, float(np.max(np.abs(Qp))), float(np.max(np.abs(Qm))))
        M[h] = (Qp[0] - Qm[0] - Qp[1] + Qm[1]) / (4.0 * h ** 2)
    rounding = 8.0 * _ROUNDING * max(scale, 1e-300) / h2 ** 2
    ra = (4.0 * D2[h2] - D2[h1]) / 3.0
    rb = (4.0 * M[h2] - M[h1]) / 3.0
    ea = abs(ra - D2[h2]) + rounding
    eb = abs(rb - M[h2]) + rounding
    return {"own_curvature": float(ra), "cross": float(rb), "gamma0": float(ra + rb),
            "error_estimate": {"own_curvature": float(ea), "cross": float(eb), "gamma0": float(ea + eb)},
            "steps": list(steps),
            "method": "Richardson-extrapolated central differences of the exact engine (payment_curve)"}


def _score_monte_carlo(mech, N, m, samples=200_000, seed=20261127):
    """Generic estimate from the score identity under uniformly random reports (any payment rule):
    ``a = (V/2) E_U[M_0 sum_{x<y own} G_xy s_x s_y]``, ``b = (V/4) E_U[M_0 s_0^T G sum_j s_j]``; per unit ``V``.

    Returns ``((a, se_a), (b, se_b))``.
    """
    rng = np.random.default_rng(seed)
    P = comb(m, 2)
    G = _gram(m).astype(np.float64)
    chunk = max(1, min(samples, 2_000_000 // max(1, N * P)))
    fa = []
    fb = []
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        R = (2 * rng.integers(0, 2, size=(k, N, P)) - 1).astype(np.int8)
        pay = mech.payments(R)[:, 0]
        s0 = R[:, 0, :].astype(np.float64)
        Gs0 = s0 @ G
        quad = ((Gs0 * s0).sum(axis=1) - 2.0 * P) / 2.0
        cross = (Gs0 * R[:, 1:, :].astype(np.float64).sum(axis=1)).sum(axis=1)
        fa.append(pay * quad / 2.0)
        fb.append(pay * cross / 4.0)
        done += k
    fa = np.concatenate(fa)
    fb = np.concatenate(fb)
    se = lambda f: float(f.std(ddof=1) / math.sqrt(f.size))  # noqa: E731
    return (float(fa.mean()), se(fa)), (float(fb.mean()), se(fb))


def _scaled_value(coef: Fraction, var: float) -> float:
    if coef == 0:
        return 0.0
    if math.isinf(var):
        return math.copysign(math.inf, float(coef))
    return float(coef) * var


@lru_cache(maxsize=256)
def _expansion_core(mech_repr, mech, N, m, prior_repr, prior):
    return _compute(mech, N, m, prior, numeric=False)


def _mechanism_label(mech):
    return getattr(mech, "name", type(mech).__name__) + (
        f"[{mech.coherence}]" if hasattr(mech, "coherence") else "")


def _compute(mech, N, m, prior, numeric):
    var = prior_variance(prior)
    notes = []
    closed = _closed_form(mech, N, m)
    expressions = {}
    err = None
    if closed is not None:
        a_c, b_c, (count, a_u, b_u), general, cnotes, flat = closed
        notes += cnotes
        a = _scaled_value(a_c, var)
        b = _scaled_value(b_c, var)
        g = _scaled_value(a_c + b_c, var)
        exact = True
        method = "closed form (sympy / exact enumeration)"
        if count == "1":
            expressions["own_curvature"] = f"a = {_fmt(a_u)} * z * Var"
            expressions["cross"] = f"b = {_fmt(b_u)} * z * Var"
            expressions["gamma0"] = f"gamma0 = {_fmt(a_u + b_u)} * z * Var"
        else:
            expressions["own_curvature"] = f"a = {_fmt(a_u)} * {count} * z * Var"
            expressions["cross"] = f"b = {_fmt(b_u)} * {count} * z * Var"
            expressions["gamma0"] = f"gamma0 = {_fmt(a_u + b_u)} * {count} * z * Var"
        zf = _F(mech.z)
        expressions["values"] = (f"a = {_fmt(a_c / zf)} * z * Var, b = {_fmt(b_c / zf)} * z * Var, "
                                 f"gamma0 = {_fmt((a_c + b_c) / zf)} * z * Var  (N = {N}, m = {m})")
        expressions["general_own_curvature"] = "a = " + general["a"]
        expressions["general_cross"] = "b = " + general["b"]
        den = count + "*Var" if count != "1" else "Var"

        def ratio_str(c):
            q = 2 / c
            return f"{q}/({den})" if q.denominator == 1 else f"({q})/({den})"
        if a_u > 0:
            expressions["uei_z_over_k"] = f"z/k > 2z/a = {ratio_str(a_u)}"
        else:
            expressions["uei_z_over_k"] = "inf (a <= 0: zero effort stays a local maximum for every z/k)"
        if a_u + b_u > 0:
            expressions["bnic_bifurcation_z_over_k"] = f"z/k = 2z/gamma0 = {ratio_str(a_u + b_u)}"
        else:
            expressions["bnic_bifurcation_z_over_k"] = "inf (gamma0 <= 0: no local bifurcation)"
        if math.isinf(var):
            notes.append("the prior has infinite variance: P is not twice differentiable at zero effort and "
                         "the nonzero coefficients diverge (returned as +-inf); the local thresholds are 0 for "
                         "positive coefficients")
    else:
        flat = False
        exact = False
        from mechanisms import APA
        if isinstance(mech, APA) and mech.coherence == "scc":
            samples = 400_000
            (ga, sa), (gb, sb) = _tournament_coefficients(m, "scc", samples=samples)
            TP = comb(m, 2) * (N - 1) * mech.z
            a, b = TP * ga * var, TP * gb * var
            err = {"own_curvature": 4 * TP * sa * var, "cross": 4 * TP * sb * var}
            method = (f"Monte Carlo over {samples} uniformly random tournaments (score identity); "
                      "error_estimate = 4 standard errors")
            notes.append(f"scc at m = {m} > {SCC_EXACT_MAX_ITEMS}: exact enumeration of 2^{comb(m, 2)} "
                         "tournaments is out of reach")
        else:
            samples = 200_000
            (ma, sa), (mb, sb) = _score_monte_carlo(mech, N, m, samples)
            a, b = ma * var, mb * var
            err = {"own_curvature": 4 * sa * var, "cross": 4 * sb * var}
            method = (f"Monte Carlo score identity over {samples} uniformly random report profiles "
                      "(mechanism.payments); error_estimate = 4 standard errors")
            notes.append("no closed form for this rule: Monte Carlo estimate")
        g = a + b
        err["gamma0"] = err["own_curvature"] + err["cross"]
        expressions["own_curvature"] = f"a ~ {a:.6g} +- {err['own_curvature']:.2g}"
        expressions["cross"] = f"b ~ {b:.6g} +- {err['cross']:.2g}"
        expressions["gamma0"] = f"gamma0 ~ {g:.6g} +- {err['gamma0']:.2g}"
    res = LocalExpansion(float(a), float(b), float(g), exact, expressions, None,
                         mechanism=_mechanism_label(mech), n_agents=N, n_items=m,
                         prior=getattr(prior, "name", str(prior)), variance=var, z=float(mech.z),
                         method=method, error_estimate=err, notes=notes)
    res._flat = flat
    return res


def local_expansion(mechanism, n_agents, n_items, prior="normal", *, numeric="auto") -> LocalExpansion:
    """Exact second-order expansion of agent ``i``'s expected payment around zero effort.

    Parameters
    ----------
    mechanism : Mechanism
        PPA, BSST (any ``y``), APA (``3cycle``: any ``m``; ``scc``: exact for ``m <= 7``, Monte Carlo beyond),
        DG13, CA, StatisticRule, or a CustomMechanism with ``statistics``; any other rule with realised
        payments gets a Monte Carlo estimate (``exact=False``) with an error estimate.
    n_agents : int
        ``N >= 3``.
    n_items : int
        ``m``.
    prior : {'normal', 'uniform'}, Prior or scipy.stats frozen distribution
        Only its variance enters (module docstring); infinite variance gives ``+-inf`` coefficients.
    numeric : {'auto', True, False}
        Also compute the finite-difference cross-check from the exact engine (``numeric`` field).
        ``'auto'`` skips it where the exact engine is unavailable or slow (APA ``scc`` with ``m >= 5``).

    Returns
    -------
    LocalExpansion

    Examples
    --------
    >>> from mechanisms import PPA, APA
    >>> r = local_expansion(PPA(z=1.0), 3, 3, "normal", numeric=False)
    >>> r.own_curvature, r.cross, r.expressions["cross"]
    (0.0, 1.5, 'b = 1/4 * C(m,2)*(N-1) * z * Var')
    >>> local_expansion(APA(), 3, 3, numeric=False).expressions["own_curvature"]
    'a = 3/16 * C(m,2)*(N-1) * z * Var'

    References
    ----------
    Manyika, Wooldridge, Gan (2025), eqs. (6)-(8); issue 10, item 5.
    """
    from agents._validation import check_int
    N = check_int("n_agents", n_agents, low=3)
    m = check_int("n_items", n_items, low=2)
    if m < getattr(mechanism, "min_items", 2):
        raise ValueError(f"n_items must be >= {mechanism.min_items} for {mechanism.name}, got {m}")
    prior = as_prior(prior)
    base = _expansion_core(repr(mechanism), mechanism, N, m, repr(prior), prior)
    res = LocalExpansion(**{k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                            for k, v in asdict(base).items()})
    res._flat = base._flat
    if numeric not in ("auto", True, False):
        raise ValueError(f"numeric must be 'auto', True or False, got {numeric!r}")
    if numeric is not False:
        skip = None
        if numeric == "auto" and getattr(mechanism, "coherence", None) == "scc" and m >= 5:
            skip = "APA scc with m >= 5: the exact engine is unavailable or takes minutes (numeric=True forces)"
        if skip:
            res.numeric = {"skipped": skip}
        else:
            try:
                res.numeric = _finite_differences(mechanism, N, m, prior)
            except Exception as exc:      # no exact engine for this rule
                res.numeric = {"skipped": f"{type(exc).__name__}: {exc}"}
    return res


def local_thresholds(mechanism, n_agents, n_items, prior="normal", *, power: float = 2.0,
                     numeric=False) -> dict:
    """Local thresholds on ``z/k`` at zero effort for the cost ``c(w) = k w^power``.

    Parameters
    ----------
    mechanism, n_agents, n_items, prior
        As in :func:`local_expansion`.
    power : float
        ``p`` of the cost ``k w^p``.  ``p = 2``: ``uei_z_over_k = 2 z / a`` (``inf`` if ``a <= 0``) and
        ``bnic_bifurcation_z_over_k = 2 z / gamma0`` (``inf`` if ``gamma0 <= 0``).  ``p < 2``: both ``inf``
        (no local bifurcation: the cost dominates near zero).  ``p > 2``: ``0`` when the coefficient is
        positive (zero effort is left locally for every ``z/k``), ``inf`` otherwise.
    numeric : {'auto', True, False}
        Passed to :func:`local_expansion`.

    Returns
    -------
    dict
        ``uei_z_over_k``, ``bnic_bifurcation_z_over_k`` (per unit ``k``), ``power``, ``exact``,
        ``expressions``, ``error_estimate`` (``None`` when exact), ``notes`` and ``expansion``
        (:meth:`LocalExpansion.to_dict`).

    Examples
    --------
    >>> from mechanisms import PPA
    >>> t = local_thresholds(PPA(), 3, 3, "normal")       # 8 / (T_P Var) with T_P = 6
    >>> round(t["bnic_bifurcation_z_over_k"], 12), t["uei_z_over_k"]
    (1.333333333333, inf)
    """
    p = float(power)
    if not p > 0:
        raise ValueError(f"power must be > 0, got {power!r}")
    ex = local_expansion(mechanism, n_agents, n_items, prior, numeric=numeric)
    z = ex.z
    notes = ["local thresholds at zero effort, per unit k of c(w) = k w^p; a global threshold (root-finding) "
             "can be finite where the local one is inf, and lower where both are finite"]
    err = None

    def ratio(coef, e):
        if coef > 0:
            return 2.0 * z / coef, (None if e is None else 2.0 * z * e / coef ** 2)
        return math.inf, None
    if p == 2:
        uei, eu = ratio(ex.own_curvature, None if ex.error_estimate is None else ex.error_estimate["own_curvature"])
        bn, eb = ratio(ex.gamma0, None if ex.error_estimate is None else ex.error_estimate["gamma0"])
        if not ex.exact:
            err = {"uei_z_over_k": eu, "bnic_bifurcation_z_over_k": eb}
        if ex.own_curvature <= 0 and getattr(ex, "_flat", False):
            notes.append("UEI: the payment against zero-effort peers is flat in own effort: zero effort is a "
                         "best response for every z/k (UEI never holds)")
    elif p < 2:
        uei = bn = math.inf
        notes.append(f"p = {p:g} < 2: k w^p dominates the quadratic payment gain near zero: no local "
                     "bifurcation (zero effort stays a strict local maximum / the FOC has no small root)")
    else:
        uei = 0.0 if ex.own_curvature > 0 else math.inf
        bn = 0.0 if ex.gamma0 > 0 else math.inf
        notes.append(f"p = {p:g} > 2: the quadratic payment term dominates k w^p near zero: zero effort is left "
                     "locally for every z/k > 0 when the coefficient is positive, never otherwise")
        if not ex.exact:
            notes.append("the sign of a Monte Carlo coefficient is only as certain as its error estimate")
    if p == 2:
        expressions = {k: v for k, v in ex.expressions.items()
                       if k in ("uei_z_over_k", "bnic_bifurcation_z_over_k", "own_curvature", "gamma0")}
    elif p < 2:
        expressions = {"uei_z_over_k": "inf (no local bifurcation for p < 2)",
                       "bnic_bifurcation_z_over_k": "inf (no local bifurcation for p < 2)"}
    else:
        expressions = {"uei_z_over_k": "0 if a > 0 else inf (p > 2)",
                       "bnic_bifurcation_z_over_k": "0 if gamma0 > 0 else inf (p > 2)"}
    return {"uei_z_over_k": uei, "bnic_bifurcation_z_over_k": bn, "power": p, "exact": ex.exact,
            "expressions": expressions,
            "error_estimate": err, "notes": notes + ex.notes, "expansion": ex.to_dict()}
