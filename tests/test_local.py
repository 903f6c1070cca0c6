"""equilibria.local: closed-form small-effort expansions vs finite differences of the exact engine, the issue's
closed-form thresholds (issue 10 item 5), the tournament enumeration, and the derivation cache."""
import json
import math
import os
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from agents import NormalPrior, UniformPrior
from equilibria import local as L
from mechanisms import APA, BSST, CA, DG13, PPA, CustomMechanism, StatisticRule

PRIORS = {"normal": NormalPrior(), "uniform": UniformPrior(), "scaled-normal": NormalPrior(0.3, 2.0)}
QUANTITIES = ("own_curvature", "cross", "gamma0")


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    old = os.environ.get("FEEDBACK_MECHANISMS_CACHE")
    os.environ["FEEDBACK_MECHANISMS_CACHE"] = str(tmp_path_factory.mktemp("sympy-cache"))
    L.clear_cache()
    yield
    if old is None:
        os.environ.pop("FEEDBACK_MECHANISMS_CACHE", None)
    else:
        os.environ["FEEDBACK_MECHANISMS_CACHE"] = old
    L.clear_cache()


def _assert_agrees(res):
    """Closed form within the finite-difference error estimate, and the estimate tight enough that a
    coefficient off by 5 % would fail."""
    num = res.numeric
    assert num is not None and "error_estimate" in num, num
    scale = max(abs(res.gamma0), abs(res.cross), abs(res.own_curvature))
    assert scale > 0
    for q in QUANTITIES:
        c, f, e = getattr(res, q), num[q], num["error_estimate"][q]
        assert abs(c - f) <= e, (q, c, f, e)
        if c != 0:
            assert e < 0.01 * abs(c), (q, c, e)
            for off in (0.95, 1.05):
                assert abs(off * c - f) > e, (q, off)
        else:   # a spurious term of 5 % of the expansion's scale would be detected
            assert e < 0.01 * scale, (q, e, scale)


def _cases():
    out = []
    for mname in ("ppa", "bsst", "apa-3cycle", "apa-scc"):
        for N in (3, 4, 5):
            for m in (3, 4, 5):
                for pname in PRIORS:
                    if mname == "apa-scc" and m == 5:
                        continue          # exact scc engine: minutes at m = 5 (enumeration tested below)
                    if mname == "apa-scc" and m == 4 and pname != "uniform" and (N != 3 or pname != "normal"):
                        continue          # the 3-d normal tensor grid costs ~0.4 s per value; one case suffices
                    out.append((mname, N, m, pname))
    return out


def _mech(name):
    return {"ppa": PPA(1.0), "bsst": BSST(1.0, 0.5), "apa-3cycle": APA(1.0), "apa-scc": APA(1.0, "scc")}[name]


@pytest.mark.parametrize("mname,N,m,pname", _cases())
def test_closed_form_matches_finite_differences(mname, N, m, pname):
    res = L.local_expansion(_mech(mname), N, m, PRIORS[pname], numeric=True)
    assert res.exact
    _assert_agrees(res)


@pytest.mark.parametrize("mech", [DG13(1.0), CA(2.0), BSST(1.0, 0.2), BSST(3.0, 2.5)], ids=repr)
@pytest.mark.parametrize("N,m", [(3, 3), (4, 4), (3, 5)])
def test_baselines_and_bsst_y_match_finite_differences(mech, N, m):
    _assert_agrees(L.local_expansion(mech, N, m, "normal", numeric=True))


@pytest.mark.parametrize("dist", [stats.expon(), stats.lognorm(0.8)], ids=["expon", "lognorm"])
@pytest.mark.parametrize("mech", [PPA(), BSST(1.0, 0.3), APA()], ids=repr)
def test_skewed_priors_enter_through_the_variance_only(dist, mech):
    res = L.local_expansion(mech, 3, 4, dist, numeric=True)
    assert res.variance == pytest.approx(float(dist.var()))
    _assert_agrees(res)


def test_doctests():
    import doctest
    assert doctest.testmod(L, verbose=False).failed == 0


@pytest.mark.parametrize("pname", list(PRIORS))
@pytest.mark.parametrize("N,m", [(3, 3), (4, 4), (5, 5), (7, 6)])
def test_issue_closed_forms_for_ppa_and_bsst(pname, N, m):
    prior = PRIORS[pname]
    var = L.prior_variance(prior)
    TP = comb(m, 2) * (N - 1)
    TB = comb(m, 2) * (m - 2) * (N - 1) * (N - 2)
    t = L.local_thresholds(PPA(2.5), N, m, prior)
    assert t["exact"] and t["uei_z_over_k"] == math.inf
    assert t["bnic_bifurcation_z_over_k"] == pytest.approx(8.0 / (TP * var), rel=1e-14)
    for z, y in ((1.0, 0.5), (1.0, 0.2), (1.0, 0.9), (3.0, 1.0)):      # y cancels: any 0 < y < z
        t = L.local_thresholds(BSST(z, y), N, m, prior)
        assert t["uei_z_over_k"] == math.inf
        assert t["bnic_bifurcation_z_over_k"] == pytest.approx(16.0 / (TB * var), rel=1e-14)
    assert "8/(C(m,2)*(N-1)*Var)" in L.local_thresholds(PPA(), N, m, prior)["expressions"]["bnic_bifurcation_z_over_k"]


def test_apa_3cycle_general_formula_and_enumeration():
    for m in range(3, 11):
        c = L.derivation("pair3", m)[0]["coefficients"]
        n = m - 2
        assert Fraction(c["G_own"]) == Fraction(3, 4) ** n * n * (n + 8) / 36
        assert Fraction(c["G_cross"]) == Fraction(3, 4) ** (n - 1) * (m + 1) / 16
        assert Fraction(c["pC0"]) == Fraction(3, 4) ** n
        if m <= 6:   # independent route: score identity over all 2^C(m,2) tournaments of agent i
            alpha, beta = L._tournament_coefficients(m, "3cycle")
            assert (alpha, beta) == (Fraction(c["G_own"]), Fraction(c["G_cross"]))
    ex = L.local_expansion(APA(), 3, 3, numeric=False)
    assert ex.expressions["own_curvature"] == "a = 3/16 * C(m,2)*(N-1) * z * Var"


def test_scc_enumeration():
    assert L.derivation("scc", 3, "scc")[0]["coefficients"] == {"G_own": "3/16", "G_cross": "1/4"}
    assert L.derivation("scc", 4, "scc")[0]["coefficients"] == {"G_own": "3/8", "G_cross": "7/32"}
    # m = 5: the exact engine takes minutes, so check the rationals against the score identity evaluated by
    # Monte Carlo on APA's own payment kernel (an independent code path)
    res = L.local_expansion(APA(coherence="scc"), 3, 5, numeric="auto")
    assert res.exact and "skipped" in res.numeric
    (a, sa), (b, sb) = L._score_monte_carlo(APA(coherence="scc"), 3, 5, samples=100_000)
    assert abs(a - res.own_curvature) < 4.5 * sa and abs(b - res.cross) < 4.5 * sb


def test_beyond_enumeration_is_monte_carlo_with_error():
    res = L.local_expansion(APA(coherence="scc"), 3, 8, numeric=False)
    assert not res.exact and res.error_estimate["own_curvature"] > 0
    assert res.own_curvature > 0 and res.error_estimate["own_curvature"] < 0.1 * res.own_curvature
    t = L.local_thresholds(APA(coherence="scc"), 3, 8)
    assert t["error_estimate"]["uei_z_over_k"] > 0


def test_custom_rule_without_exact_engine_gets_monte_carlo():
    def agreement(reports):
        R = reports.astype(np.float64)
        S = R.sum(axis=1, keepdims=True)
        return ((R.shape[1] - 2 + R * S) / 2).sum(axis=2)
    res = L.local_expansion(CustomMechanism(agreement, name="my-ppa"), 3, 3, numeric="auto")
    assert not res.exact and "skipped" in res.numeric
    assert abs(res.own_curvature) <= res.error_estimate["own_curvature"]
    assert abs(res.cross - 1.5) <= res.error_estimate["cross"]
    # with a statistics table the closed form is used
    stat = CustomMechanism(agreement, name="my-ppa", statistics=StatisticRule(pair=[0, 0, 1, 1]))
    assert L.local_expansion(stat, 3, 3, numeric=False).exact


def test_builtin_rules_as_statistic_tables_give_the_same_expansion():
    for N, m in ((3, 3), (4, 5)):
        for rule, ref in ((StatisticRule(pair=[0, 0, 1, 1]), PPA()), (StatisticRule(pair=[0, 0, 0, 1]), APA()),
                          (StatisticRule(triple=[0, 0.5, 0.5, 1]), BSST())):
            a, b = L.local_expansion(rule, N, m, numeric=False), L.local_expansion(ref, N, m, numeric=False)
            assert (a.own_curvature, a.cross) == pytest.approx((b.own_curvature, b.cross), rel=1e-14)


table = st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 2.0]), min_size=4, max_size=4)


@settings(max_examples=12)
@given(pair=table, triple=table, N=st.integers(3, 4), m=st.integers(3, 4))
def test_statistic_rules_match_finite_differences(pair, triple, N, m):
    if max(pair + triple) == 0:
        pair = [0, 0, 1, 1]
    res = L.local_expansion(StatisticRule(pair, triple), N, m, "uniform", numeric=True)
    num = res.numeric
    for q in QUANTITIES:
        assert abs(getattr(res, q) - num[q]) <= num["error_estimate"][q] + 1e-12


@settings(max_examples=25)
@given(scale=st.floats(0.05, 20.0), z=st.floats(0.1, 10.0), N=st.integers(3, 9), m=st.integers(3, 8),
       kind=st.sampled_from(["ppa", "bsst", "apa-3cycle", "dg13", "ca"]))
def test_coefficients_scale_with_z_times_variance(scale, z, N, m, kind):
    mk = {"ppa": PPA, "bsst": lambda z: BSST(z, z / 3), "apa-3cycle": APA, "dg13": DG13, "ca": CA}[kind]
    unit = L.local_expansion(mk(1.0), N, m, NormalPrior(), numeric=False)
    res = L.local_expansion(mk(z), N, m, NormalPrior(1.0, scale), numeric=False)
    for q in QUANTITIES:
        assert getattr(res, q) == pytest.approx(z * scale ** 2 * getattr(unit, q), rel=1e-12, abs=0)
    tu, tr = (L.local_thresholds(mk(zz), N, m, p) for zz, p in ((1.0, NormalPrior()), (z, NormalPrior(0, scale))))
    if math.isfinite(tu["bnic_bifurcation_z_over_k"]):
        assert tr["bnic_bifurcation_z_over_k"] == pytest.approx(tu["bnic_bifurcation_z_over_k"] / scale ** 2)
    uni = L.local_expansion(mk(1.0), N, m, UniformPrior(-1.0, 2.0), numeric=False)    # Var = 9/12
    assert uni.cross == pytest.approx(0.75 * unit.cross, rel=1e-12)


def test_threshold_definitions_and_power_costs():
    ex = L.local_expansion(APA(), 4, 4, numeric=False)
    t = L.local_thresholds(APA(), 4, 4)
    assert t["uei_z_over_k"] == pytest.approx(2 / ex.own_curvature)
    assert t["bnic_bifurcation_z_over_k"] == pytest.approx(2 / ex.gamma0)
    assert ex.gamma0 == pytest.approx(ex.own_curvature + ex.cross)
    for p in (1.0, 0.5, 1.9):
        t = L.local_thresholds(APA(), 4, 4, power=p)
        assert t["uei_z_over_k"] == math.inf and t["bnic_bifurcation_z_over_k"] == math.inf
    t = L.local_thresholds(APA(), 4, 4, power=3)
    assert t["uei_z_over_k"] == 0.0 and t["bnic_bifurcation_z_over_k"] == 0.0
    t = L.local_thresholds(PPA(), 4, 4, power=3)          # flat against uninformed peers: UEI never
    assert t["uei_z_over_k"] == math.inf and t["bnic_bifurcation_z_over_k"] == 0.0
    json.dumps(L.local_expansion(APA(), 3, 8, numeric=False).to_dict())


def test_infinite_variance_prior():
    res = L.local_expansion(APA(), 3, 4, stats.t(df=1.5), numeric=False)
    assert res.own_curvature == math.inf and res.cross == math.inf
    assert L.local_expansion(PPA(), 3, 4, stats.t(df=1.5), numeric=False).own_curvature == 0.0
    assert any("infinite variance" in n for n in res.notes)
    assert L.local_thresholds(APA(), 3, 4, stats.t(df=1.5))["uei_z_over_k"] == 0.0


def test_disk_cache_round_trip_and_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDBACK_MECHANISMS_CACHE", str(tmp_path / "c"))
    L.clear_cache()
    rec, src = L.derivation("pair3", 5)
    assert src == "derived"
    files = list((tmp_path / "c").glob("local-pair3-m5-*.json"))
    assert len(files) == 1
    L.clear_cache()                                      # a new process: nothing in memory
    rec2, src2 = L.derivation("pair3", 5)
    assert src2 == "disk" and rec2 == rec
    files[0].unlink()                                    # the in-process cache answers without the disk
    assert L.derivation("pair3", 5)[1] == "disk"
    for garbage in ("{not json", json.dumps({"key": "x", "record": {}}), "",
                    json.dumps({"key": L._key("pair3", 5, None),
                                "record": {"coefficients": {"G_own": "not a number"}}})):
        L.clear_cache()
        files[0].write_text(garbage)
        rec3, src3 = L.derivation("pair3", 5)
        assert src3 == "derived" and rec3 == rec
        assert json.loads(files[0].read_text())["record"] == rec       # rewritten
    L.clear_cache()
    files[0].chmod(0o000)                                # unreadable: recomputed, never a traceback
    try:
        assert L.derivation("pair3", 5)[0] == rec
    finally:
        files[0].chmod(0o600)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("FEEDBACK_MECHANISMS_CACHE", str(blocker / "sub"))   # unwritable directory
    L.clear_cache()
    rec4, src4 = L.derivation("pair3", 5)
    assert rec4 == rec and src4 == "derived (cache not writable)"
    assert L.derivation("pair3", 5)[1] == "derived (cache not writable)"    # in memory
    L.clear_cache()


@pytest.mark.parametrize("mech,N,m,pname", [(PPA(), 3, 3, "normal"), (PPA(), 4, 5, "uniform"),
                                            (BSST(1.0, 0.2), 4, 4, "normal"), (BSST(), 3, 5, "uniform"),
                                            (APA(), 3, 3, "normal"), (APA(), 4, 4, "uniform"),
                                            (APA(), 3, 5, "scaled-normal"), (APA(), 3, 10, "normal"),
                                            (StatisticRule([0.1, 0.3, 0.6, 1.0], [0.2, 0.1, 0.5, 0.9]), 4, 4,
                                             "normal")], ids=str)
def test_fourth_order_closed_forms_match_finite_differences(mech, N, m, pname):
    r = L.next_order(mech, N, m, PRIORS[pname], numeric=True)
    assert r["exact"]
    num = r["numeric"]
    for q in ("own_quartic", "foc_cubic"):
        assert abs(r[q] - num[q]) <= num["error_estimate"][q], (q, r[q], num)
        if r[q] != 0:
            assert num["error_estimate"][q] < 0.05 * abs(r[q])


def test_fourth_order_classification():
    for mech in (PPA(), BSST(1.0, 0.3)):
        r = L.next_order(mech, 4, 5, stats.expon())
        assert r["uei_local"] == "flat" and r["bnic_branch"] == "supercritical"
    assert L.next_order(APA(), 3, 9)["bnic_branch"] == "supercritical"
    assert L.next_order(APA(), 3, 10)["bnic_branch"] == "subcritical"
    assert L.next_order(APA(), 3, 11, "uniform")["uei_local"] == "tight"
    assert L.next_order(APA(), 3, 12, "uniform")["uei_local"] == "not tight"
    # no closed form (DG13): finite differences only
    r = L.next_order(DG13(), 3, 4, "uniform")
    assert not r["exact"] and r["uei_local"] == "flat" and r["bnic_branch"] == "supercritical"
