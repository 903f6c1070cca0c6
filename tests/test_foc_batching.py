"""The certified symmetric search on a fixed lattice with batched, shared first-order-condition stencils
(equilibria/symmetric.py): bit-identical whatever was computed before, the same equilibria as the previous
W-relative search, and stencils shared across z/k."""
import math

import numpy as np
import pytest

import equilibria.symmetric as sym
from agents import parse_cost
from equilibria import Game, symmetric_equilibria
from mechanisms import APA, BSST, PPA


@pytest.fixture
def fresh():
    """Empty stencil caches before and after (the legacy switch is always restored)."""
    sym._SHARED.clear()
    sym._SHARED_LEGACY.clear()
    yield
    sym._LEGACY = False
    sym._SHARED.clear()
    sym._SHARED_LEGACY.clear()


def _game(mech, shape, r, n=3, m=3):
    return Game(mech, parse_cost(f"{shape}:1").with_k(1.0 / r), n, m)


def _fingerprint(es):
    return [(e.effort, e.report, e.utility, e.regret, e.slope) for e in es] + [es.complete, es.evaluations]


def test_lattice_blocks_are_canonical():
    # every member of a block names the same block; midpoints of lattice cells stay on the lattice
    for cap in (1, 8):
        for x in (0.75, 1.5, 3.0 * 2.0 ** -7, 1.0 + 5 * 2.0 ** -9, 2.0 ** -13, 6.5, 40.0):
            key, members = sym._lattice_block(x, cap)
            assert x in members and len(members) <= cap
            assert all(sym._lattice_block(y, cap) == (key, members) for y in members)
    assert sym._lattice_block(0.04) is None and sym._lattice_block(0.0) is None
    for W in (1e-3, 0.37, 1.0, 8.0, 26.53, 1234.5):
        pts = sym._initial_points(W)
        assert pts[0] == 0.0 and pts[-2] < W <= pts[-1] and len(pts) < 40
        assert all(sym._lattice_block(x) is not None for x in pts[1:])
        for a, b in zip(pts[:-1], pts[1:]):
            mid = sym._split(a, b)
            assert a < mid < b and sym._lattice_block(mid) is not None


def test_bit_identical_whatever_was_computed_before(fresh):
    g = _game(APA(), "linear", 0.9)
    first = _fingerprint(symmetric_equilibria(g))
    # other populations, other z/k and another z on the same population, then a fresh game object
    for other in (_game(APA(), "linear", 0.4), _game(APA(), "quadratic", 2.0), _game(PPA(), "sqrt", 3.0),
                  Game(APA(3.0), parse_cost("linear:1").with_k(3.0 / 0.7), 3, 3)):
        symmetric_equilibria(other)
    assert _fingerprint(symmetric_equilibria(_game(APA(), "linear", 0.9))) == first
    sym._SHARED.clear()
    symmetric_equilibria(_game(APA(), "linear", 1.3))
    assert _fingerprint(symmetric_equilibria(_game(APA(), "linear", 0.9))) == first


# one cost shape per rule, all three shapes covered (the brute-force file cross-checks the search on 189 games)
CASES = [(PPA, "sqrt"), (BSST, "linear"), (APA, "quadratic")]


@pytest.mark.parametrize("mech,shape", CASES, ids=[f"{m.__name__}-{s}" for m, s in CASES])
def test_same_equilibria_as_the_previous_search(fresh, mech, shape):
    # APA at large z/k (efforts ~20) costs ~0.2 s per engine call: smaller z/k there
    grid = ((3, 3, (0.05, 0.7, 2.0)), (4, 4, (0.3,))) if mech is APA else ((3, 3, (0.05, 0.7, 20.0)),
                                                                           (4, 4, (0.3, 3.0)))
    for n, m, rs in grid:
        for r in rs:
            sym._LEGACY = True
            old = symmetric_equilibria(_game(mech(), shape, r, n, m))
            sym._LEGACY = False
            new = symmetric_equilibria(_game(mech(), shape, r, n, m))
            assert new.complete == old.complete
            eo = [(e.effort, e.report) for e in old]
            en = [(e.effort, e.report) for e in new]
            assert [s for _, s in en] == [s for _, s in eo], (n, m, r)
            for (a, _), (b, _) in zip(eo, en):
                assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12), (n, m, r, a, b)


def test_stencils_are_shared_across_z_over_k(fresh):
    calls = sym.ENGINE_CALLS
    c0 = calls["calls"]
    symmetric_equilibria(_game(APA(), "quadratic", 1.0))
    single = calls["calls"] - c0
    sym._SHARED.clear()
    c0 = calls["calls"]
    for r in np.geomspace(0.05, 20.0, 20):
        symmetric_equilibria(_game(APA(), "quadratic", r))
    swept = calls["calls"] - c0
    assert single > 5
    assert swept < 0.5 * 20 * single, (swept, single)
