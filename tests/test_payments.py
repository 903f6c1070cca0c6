"""Realised payments of PPA, BSST and APA (paper eqs. 6-8; spec section 2).

Three implementations are compared on the same report arrays:

* the numba kernels behind :meth:`mechanisms.Mechanism.payments`;
* the vectorised numpy reference :mod:`mechanisms.reference`;
* literal pure-Python loops written here, following the equations as printed (for BSST over *all*
  ordered triples ``(a, a', a'')``, which the spec says doubles every realisation exactly).

and the structural properties are checked on hypothesis-generated report arrays: limited liability,
anonymity, item relabelling, global-flip invariance, APA <= PPA with equality on coherent reports.
"""
from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from agents import pair_index
from mechanisms import APA, BSST, PPA, make_mechanism
from mechanisms import reference as ref


# --------------------------------------------------------------------------------------------
# hypothesis strategies
# --------------------------------------------------------------------------------------------

@st.composite
def report_arrays(draw, min_items=3, max_items=5, min_agents=3, max_agents=6, max_trials=4):
    """Report arrays of shape (T, N, P) with entries in {-1, +1}, N >= 3, m in [min_items, max_items]."""
    m = draw(st.integers(min_items, max_items))
    n = draw(st.integers(min_agents, max_agents))
    t = draw(st.integers(1, max_trials))
    P = comb(m, 2)
    return draw(hnp.arrays(np.int8, (t, n, P), elements=st.sampled_from([-1, 1])))


@st.composite
def transitive_reports(draw, min_items=3, max_items=5, min_agents=3, max_agents=6, max_trials=3):
    """Every agent reports a linear order (a transitive tournament): every pair is coherent."""
    m = draw(st.integers(min_items, max_items))
    n = draw(st.integers(min_agents, max_agents))
    t = draw(st.integers(1, max_trials))
    pa, pb = pair_index(m)
    out = np.empty((t, n, len(pa)), dtype=np.int8)
    for tt in range(t):
        for x in range(n):
            perm = draw(st.permutations(range(m)))
            rank = np.empty(m, dtype=int)
            rank[list(perm)] = np.arange(m)          # rank[a] = position of a in the order
            out[tt, x] = np.where(rank[pa] < rank[pb], 1, -1)
    return out


MECHS = [PPA(1.0), PPA(2.5), BSST(1.0, 0.5), BSST(1.0, 0.3), BSST(2.0, 1.5), APA(1.0), APA(1.5, "scc")]
MECH_IDS = [repr(m) for m in MECHS]


def n_items_of(reports):
    P = reports.shape[-1]
    return int(round((1 + np.sqrt(1 + 8 * P)) / 2))


# --------------------------------------------------------------------------------------------
# literal pure-Python implementations of eqs. 6-8
# --------------------------------------------------------------------------------------------

class Lit:
    """One trial's reports with ``R(x, u, v)`` for any ordered pair (``R(x, v, u) = -R(x, u, v)``)."""

    def __init__(self, reports_tnp):
        self.r = np.asarray(reports_tnp)
        self.N, P = self.r.shape
        self.m = n_items_of(self.r)
        pa, pb = pair_index(self.m)
        self.idx = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(pa, pb))}

    def R(self, x, u, v):
        if u < v:
            return int(self.r[x, self.idx[(u, v)]])
        return -int(self.r[x, self.idx[(v, u)]])

    def canonical_pairs(self):
        return [(a, b) for a in range(self.m) for b in range(a + 1, self.m)]

    # eq. 6
    def ppa(self, i, z):
        return z * sum(1 for (a, b) in self.canonical_pairs() for j in range(self.N)
                       if j != i and self.R(i, a, b) == self.R(j, a, b))

    # eq. 7, summed over ALL ordered triples (a, a', a'') of distinct items and ordered peers j != k
    def bsst_all_ordered(self, i, z, y):
        total = 0.0
        for a, a1, a2 in itertools.permutations(range(self.m), 3):
            si = self.R(i, a, a1)
            for j in range(self.N):
                for k in range(self.N):
                    if j == i or k == i or j == k:
                        continue
                    sj = self.R(j, a2, a1)
                    sk = self.R(k, a2, a)
                    bonus = sj == si
                    no_penalty = sk == -si
                    total += z if (bonus and no_penalty) else (y if (bonus or no_penalty) else 0.0)
        return total

    # spec 2.3, '3cycle': {a, b} incoherent iff exists a'' with R(a,b) = R(b,a'') = R(a'',a)
    def coherent_3cycle(self, i, a, b):
        return not any(self.R(i, a, b) == self.R(i, b, c) == self.R(i, c, a)
                       for c in range(self.m) if c not in (a, b))

    # spec 2.3, 'scc': {a, b} incoherent iff its edge lies on a directed cycle of i's tournament
    def coherent_scc(self, i, a, b):
        winner, loser = (a, b) if self.R(i, a, b) == 1 else (b, a)
        # the edge winner -> loser is on a cycle iff there is a directed path loser -> ... -> winner
        seen, stack = {loser}, [loser]
        while stack:
            u = stack.pop()
            for v in range(self.m):
                if v != u and v not in seen and self.R(i, u, v) == 1:
                    if v == winner:
                        return False
                    seen.add(v)
                    stack.append(v)
        return True

    # eq. 8
    def apa(self, i, z, rule):
        coh = self.coherent_3cycle if rule == "3cycle" else self.coherent_scc
        return z * sum(1 for (a, b) in self.canonical_pairs() if coh(i, a, b) for j in range(self.N)
                       if j != i and self.R(i, a, b) == self.R(j, a, b))


def literal_payments(mech, reports):
    out = np.zeros(reports.shape[:2])
    for t in range(reports.shape[0]):
        lit = Lit(reports[t])
        for i in range(lit.N):
            if isinstance(mech, PPA):
                out[t, i] = lit.ppa(i, mech.z)
            elif isinstance(mech, BSST):
                out[t, i] = lit.bsst_all_ordered(i, mech.z, mech.y) / 2.0
            else:
                out[t, i] = lit.apa(i, mech.z, mech.coherence)
    return out


def reference_payments(mech, reports):
    if isinstance(mech, PPA):
        return ref.ppa_payments(reports, mech.z)
    if isinstance(mech, BSST):
        return ref.bsst_payments(reports, mech.z, mech.y)
    return ref.apa_payments(reports, mech.z, mech.coherence)


# --------------------------------------------------------------------------------------------
# kernels == reference == literal
# --------------------------------------------------------------------------------------------

@settings(max_examples=40)
@given(reports=report_arrays(max_agents=5, max_trials=3), which=st.integers(0, len(MECHS) - 1))
def test_kernel_equals_reference_equals_literal(reports, which):
    mech = MECHS[which]
    k = mech.payments(reports)
    r = reference_payments(mech, reports)
    lit = literal_payments(mech, reports)
    # PPA/APA sums are integers times z (exact); BSST sums y and z - 2y terms in a different order
    np.testing.assert_allclose(k, r, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(k, lit, rtol=1e-13, atol=1e-12)


@settings(max_examples=25)
@given(reports=report_arrays(max_agents=5, max_trials=2))
def test_bsst_all_ordered_triples_is_exactly_twice_the_kernel(reports):
    """Spec 2.2 choice 1: summing eq. 7 over all ordered triples doubles every realisation exactly."""
    # dyadic z, y: every partial sum is exact in binary floating point, so equality is exact
    mech = BSST(1.0, 0.375)
    k = mech.payments(reports)
    for t in range(reports.shape[0]):
        lit = Lit(reports[t])
        for i in range(lit.N):
            assert lit.bsst_all_ordered(i, 1.0, 0.375) == 2.0 * k[t, i]


@settings(max_examples=40)
@given(reports=report_arrays(), rule=st.sampled_from(["3cycle", "scc"]))
def test_coherence_kernel_equals_reference_and_literal(reports, rule):
    coh = APA(coherence=rule).coherent(reports)
    np.testing.assert_array_equal(coh.astype(bool), ref.coherence(reports, rule))
    for t in range(reports.shape[0]):
        lit = Lit(reports[t])
        f = lit.coherent_3cycle if rule == "3cycle" else lit.coherent_scc
        expect = [[f(i, a, b) for (a, b) in lit.canonical_pairs()] for i in range(lit.N)]
        np.testing.assert_array_equal(coh[t].astype(bool), np.array(expect))


def test_hand_computed_example():
    """m = 3, N = 3; agent 0 reports the cycle 0>1, 1>2, 2>0 (pairs (0,1), (0,2), (1,2))."""
    R = np.array([[[1, -1, 1],       # 0>1, 2>0, 1>2: a 3-cycle
                   [1, 1, 1],        # 0>1>2
                   [-1, 1, 1]]],     # 1>0, 0>2, 1>2
                 dtype=np.int8)
    # PPA: agreements 0-1 on (0,1), (1,2); 0-2 on (1,2); 1-2 on (0,2), (1,2)
    np.testing.assert_array_equal(PPA().payments(R)[0], [3.0, 4.0, 3.0])
    # APA: agent 0 is fully incoherent -> 0; agents 1, 2 are transitive -> their PPA payment
    np.testing.assert_array_equal(APA().payments(R)[0], [0.0, 4.0, 3.0])
    # BSST for agent 1 (z=1, y=1/2) by hand via the literal formula
    assert BSST().payments(R)[0, 1] == pytest.approx(Lit(R[0]).bsst_all_ordered(1, 1.0, 0.5) / 2)


# --------------------------------------------------------------------------------------------
# structural properties on hypothesis report arrays
# --------------------------------------------------------------------------------------------

@settings(max_examples=60)
@given(reports=report_arrays(max_agents=7, max_trials=6), which=st.integers(0, len(MECHS) - 1))
def test_limited_liability_and_max_payment(reports, which):
    """All payments are >= 0 (spec 2.4) and at most ``z * n_terms``."""
    mech = MECHS[which]
    pay = mech.payments(reports)
    N, m = reports.shape[1], n_items_of(reports)
    assert pay.shape == reports.shape[:2]
    assert np.all(pay >= 0.0)
    assert np.all(pay <= mech.max_payment(N, m) + 1e-9)


@settings(max_examples=60)
@given(reports=report_arrays(max_agents=7), which=st.integers(0, len(MECHS) - 1), data=st.data())
def test_anonymity(reports, which, data):
    """Permuting the agents permutes the payments."""
    mech = MECHS[which]
    perm = np.array(data.draw(st.permutations(range(reports.shape[1]))))
    np.testing.assert_array_equal(mech.payments(reports[:, perm]), mech.payments(reports)[:, perm])


@settings(max_examples=60)
@given(reports=report_arrays(max_agents=5), which=st.integers(0, len(MECHS) - 1), data=st.data())
def test_neutrality_item_relabelling(reports, which, data):
    """Renaming the items (and re-orienting the canonical reports) leaves every payment unchanged."""
    mech = MECHS[which]
    m = n_items_of(reports)
    pi = np.array(data.draw(st.permutations(range(m))))
    pa, pb = pair_index(m)
    new = np.empty_like(reports)
    lookup = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(pa, pb))}
    for k, (a, b) in enumerate(zip(pa, pb)):
        u, v = int(pi[a]), int(pi[b])
        if u < v:
            new[..., lookup[(u, v)]] = reports[..., k]
        else:
            new[..., lookup[(v, u)]] = -reports[..., k]
    np.testing.assert_allclose(mech.payments(new), mech.payments(reports), rtol=0, atol=1e-12)


@settings(max_examples=60)
@given(reports=report_arrays(max_agents=7, max_trials=6), which=st.integers(0, len(MECHS) - 1))
def test_global_flip_invariance(reports, which):
    """Negating every report of every agent leaves all payments unchanged (spec section 3)."""
    mech = MECHS[which]
    np.testing.assert_array_equal(mech.payments(-reports), mech.payments(reports))


@settings(max_examples=60)
@given(reports=report_arrays(max_agents=7, max_trials=6), z=st.floats(0.1, 10.0))
def test_apa_at_most_ppa(reports, z):
    ppa = PPA(z).payments(reports)
    a3 = APA(z, "3cycle").payments(reports)
    scc = APA(z, "scc").payments(reports)
    assert np.all(a3 <= ppa + 1e-12)
    assert np.all(scc <= a3 + 1e-12)      # scc-incoherent pairs include the 3-cycle ones
    # APA pays exactly PPA's agreement terms on i's coherent pairs
    coh = APA(z).coherent(reports).astype(bool)
    N = reports.shape[1]
    plus = (reports > 0).sum(axis=1, keepdims=True)
    agree = np.where(reports > 0, plus - 1, N - plus - 1)
    np.testing.assert_allclose(a3, z * (agree * coh).sum(axis=2), rtol=1e-14)


@settings(max_examples=50)
@given(reports=transitive_reports(), rule=st.sampled_from(["3cycle", "scc"]))
def test_apa_equals_ppa_when_every_pair_is_coherent(reports, rule):
    mech = APA(1.0, rule)
    assert np.all(mech.coherent(reports) == 1)
    np.testing.assert_array_equal(mech.payments(reports), PPA(1.0).payments(reports))


@settings(max_examples=40)
@given(reports=report_arrays(max_agents=5))
def test_apa_equals_ppa_exactly_when_coherent_else_strictly_less(reports):
    """Per agent: APA == PPA iff every pair with a positive agreement count is coherent."""
    coh = APA().coherent(reports).astype(bool)
    N = reports.shape[1]
    plus = (reports > 0).sum(axis=1, keepdims=True)
    agree = np.where(reports > 0, plus - 1, N - plus - 1)
    lost = ((~coh) & (agree > 0)).any(axis=2)
    ppa, apa = PPA().payments(reports), APA().payments(reports)
    np.testing.assert_array_equal(apa < ppa, lost)


def test_unanimous_transitive_reports_reach_the_maximum():
    """All agents report the true order: PPA = APA = z T_P; BSST = z * #(a'' between a and a') * ..."""
    m, N = 5, 4
    pa, pb = pair_index(m)
    R = np.broadcast_to(np.where(pa < pb, 1, -1).astype(np.int8), (1, N, len(pa))).copy()   # 0 > 1 > ... > 4
    TP = comb(m, 2) * (N - 1)
    np.testing.assert_array_equal(PPA(2.0).payments(R), np.full((1, N), 2.0 * TP))
    np.testing.assert_array_equal(APA(2.0, "scc").payments(R), np.full((1, N), 2.0 * TP))
    # BSST with perfect unanimous reports: z iff a'' lies between a and a' (1/3 of the triples), else y
    TB = comb(m, 2) * (m - 2) * (N - 1) * (N - 2)
    between = sum(b - a - 1 for a, b in zip(pa, pb))               # third items strictly between a and b
    per_peer_pair = 1.0 * between + 0.5 * (comb(m, 2) * (m - 2) - between)
    np.testing.assert_allclose(BSST().payments(R), per_peer_pair * (N - 1) * (N - 2))
    assert between * 3 == comb(m, 2) * (m - 2)                      # exactly one third
    assert per_peer_pair * (N - 1) * (N - 2) == pytest.approx(TB * (1.0 + 2 * 0.5) / 3)


@settings(max_examples=30)
@given(reports=report_arrays(max_agents=5), z=st.floats(0.5, 4.0), frac=st.floats(0.05, 0.95))
def test_bsst_affine_in_bonus_penalty_iff_y_half_z(reports, z, frac):
    """Spec 2.2 item 4: v = y (B + Q) + (z - 2y) B Q, so payments are affine in y for fixed z."""
    y = frac * z
    p_y = BSST(z, y).payments(reports)
    p_half = BSST(z, z / 2).payments(reports)
    p_small = BSST(z, z / 4).payments(reports)
    # affine in y: p(y) = p(z/2) + (y - z/2) * slope, slope from two points
    slope = (p_half - p_small) / (z / 4)
    np.testing.assert_allclose(p_y, p_half + (y - z / 2) * slope, rtol=1e-12, atol=1e-9)


@settings(max_examples=30)
@given(reports=report_arrays(max_agents=5), factor=st.floats(0.1, 10.0), which=st.integers(0, len(MECHS) - 1))
def test_scaled_mechanism_scales_payments(reports, factor, which):
    mech = MECHS[which]
    np.testing.assert_allclose(mech.scaled(factor).payments(reports), factor * mech.payments(reports),
                               rtol=1e-12)


def test_single_trial_2d_input_and_dtype_independence():
    rng = np.random.default_rng(3)
    R = rng.choice(np.array([-1, 1]), size=(4, 6))
    for mech in MECHS:
        p2 = mech.payments(R)
        assert p2.shape == (4,)
        np.testing.assert_array_equal(p2, mech.payments(R[None])[0])
        np.testing.assert_array_equal(p2, mech.payments(R.astype(np.float64)))


# --------------------------------------------------------------------------------------------
# coherence of uniformly random reports, by enumeration of all tournaments (spec 2.3 table)
# --------------------------------------------------------------------------------------------

def all_tournaments(m):
    P = comb(m, 2)
    codes = np.arange(1 << P)
    bits = (codes[:, None] >> np.arange(P)[None, :]) & 1
    return np.where(bits == 1, 1, -1).astype(np.int8)[:, None, :]      # (2^P, 1, P)


@pytest.mark.parametrize("m, rule, count", [
    (3, "3cycle", 3 * 2 ** 3 // 4), (3, "scc", 3 * 2 ** 3 // 4),
    (4, "3cycle", 9 * 2 ** 6 // 16), (4, "scc", 2 ** 6 // 2),
    (5, "3cycle", 27 * 2 ** 10 // 64), (5, "scc", 300),
])
def test_coherence_probability_by_enumeration(m, rule, count):
    T = all_tournaments(m)
    coh = APA(coherence=rule).coherent(T)[:, 0, :]
    # every pair has exactly `count` coherent tournaments out of 2^P
    np.testing.assert_array_equal(coh.sum(axis=0), np.full(comb(m, 2), count))
    if rule == "3cycle":
        assert count / 2 ** comb(m, 2) == pytest.approx(0.75 ** (m - 2), abs=0)


def test_strong_four_tournaments_differ_in_exactly_one_pair():
    """Spec 2.3: the rules differ on all 24 strong 4-tournaments, each in exactly one pair."""
    T = all_tournaments(4)
    c3 = APA(coherence="3cycle").coherent(T)[:, 0, :]
    cs = APA(coherence="scc").coherent(T)[:, 0, :]
    assert np.all(cs <= c3)
    diff = (c3 != cs).sum(axis=1)
    strong = cs.sum(axis=1) == 0                # strong tournament: every pair on a cycle
    assert strong.sum() == 24
    np.testing.assert_array_equal(diff[strong], 1)
    np.testing.assert_array_equal(diff[~strong], 0)
    # the spec's example: 0->1->2->3->0 with chords 0->2, 1->3; pairs (01,02,03,12,13,23)
    ex = np.array([[[1, 1, -1, 1, 1, 1]]], dtype=np.int8)
    pa, pb = pair_index(4)
    k12 = int(np.flatnonzero((pa == 1) & (pb == 2))[0])
    assert APA(coherence="3cycle").coherent(ex)[0, 0, k12] == 1
    assert APA(coherence="scc").coherent(ex)[0, 0, k12] == 0


# --------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mech", MECHS, ids=MECH_IDS)
def test_payments_reject_bad_reports(mech):
    with pytest.raises(ValueError, match="n_agents"):
        mech.payments(np.ones((1, 2, 3), dtype=np.int8))
    with pytest.raises(ValueError, match="n_pairs"):
        mech.payments(np.ones((1, 3, 4), dtype=np.int8))
    with pytest.raises(ValueError, match="-1 and \\+1"):
        mech.payments(np.zeros((1, 3, 3), dtype=np.int8))
    with pytest.raises(ValueError, match="reports"):
        mech.payments(np.ones((3,), dtype=np.int8))


@pytest.mark.parametrize("name", ["bsst", "apa"])
def test_triangle_rules_need_three_items(name):
    with pytest.raises(ValueError, match="n_items"):
        make_mechanism(name).payments(np.ones((1, 3, 1), dtype=np.int8))
    # PPA works on a single pair
    np.testing.assert_array_equal(PPA().payments(np.ones((1, 3, 1), dtype=np.int8)), [[2.0, 2.0, 2.0]])


# --------------------------------------------------------------------------------------------
# generic table kernels (the statistics PPA/APA/BSST are built from) with arbitrary tables
# --------------------------------------------------------------------------------------------

def literal_pair_table(reports, tab, rule):
    out = np.zeros(reports.shape[:2])
    for t in range(reports.shape[0]):
        lit = Lit(reports[t])
        coh = lit.coherent_3cycle if rule == "3cycle" else lit.coherent_scc
        for i in range(lit.N):
            for (a, b) in lit.canonical_pairs():
                c = int(coh(i, a, b))
                for j in range(lit.N):
                    if j != i:
                        out[t, i] += tab[2 * int(lit.R(i, a, b) == lit.R(j, a, b)) + c]
    return out


def literal_triple_table(reports, g):
    """Canonical pairs (a < a'), third items a'', ordered peers j != k (both != i): g[2 B + Q]."""
    out = np.zeros(reports.shape[:2])
    for t in range(reports.shape[0]):
        lit = Lit(reports[t])
        for i in range(lit.N):
            for (a, a1) in lit.canonical_pairs():
                si = lit.R(i, a, a1)
                for a2 in range(lit.m):
                    if a2 in (a, a1):
                        continue
                    for j in range(lit.N):
                        for k in range(lit.N):
                            if j == i or k == i or j == k:
                                continue
                            B = int(lit.R(j, a2, a1) == si)
                            Q = int(lit.R(k, a2, a) == -si)
                            out[t, i] += g[2 * B + Q]
    return out


_TABLE = st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, -1.0, 3.5]), min_size=4, max_size=4)


@settings(max_examples=40)
@given(reports=report_arrays(max_agents=5, max_trials=3), tab=_TABLE, rule=st.sampled_from(["3cycle", "scc"]))
def test_pair_table_kernel_with_any_table(reports, tab, rule):
    from mechanisms.kernels import COHERENCE_3CYCLE, COHERENCE_SCC, _pair_table
    m = n_items_of(reports)
    pa, pb = pair_index(m)
    out = np.empty(reports.shape[:2])
    _pair_table(np.ascontiguousarray(reports), np.array(tab), pa, pb, m,
                COHERENCE_3CYCLE if rule == "3cycle" else COHERENCE_SCC, out)
    np.testing.assert_array_equal(out, literal_pair_table(reports, tab, rule))   # dyadic values: exact


@settings(max_examples=30)
@given(reports=report_arrays(max_agents=5, max_trials=2), g=_TABLE)
def test_triple_table_kernel_with_any_table(reports, g):
    from agents import pair_lookup
    from mechanisms.kernels import _triple_table
    m = n_items_of(reports)
    pa, pb = pair_index(m)
    out = np.empty(reports.shape[:2])
    _triple_table(np.ascontiguousarray(reports), np.array(g), pa, pb, pair_lookup(m), m, out)
    np.testing.assert_array_equal(out, literal_triple_table(reports, g))
