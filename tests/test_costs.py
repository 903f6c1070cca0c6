"""Effort costs ``c(w) = k c0(w)``: continuous, strictly increasing, ``c(0) = 0`` (paper eq. 5; spec 1, 3)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import (COST_NAMES, CallableCost, Exponential, Linear, Log1p, Power, Quadratic, Sqrt, as_costs,
                    make_cost, parse_cost)
from agents.costs import W

FAMILIES = [Linear(0.3), Quadratic(0.5), Power(0.1, 1.5), Power(2.0, 0.4), Sqrt(0.7), Exponential(0.05),
            Log1p(1.2)]
IDS = [repr(c) for c in FAMILIES]
GRID = np.array([0.05, 0.2, 0.5, 1.0, 2.0, 3.7, 6.0])


@pytest.mark.parametrize("cost", FAMILIES, ids=IDS)
def test_basic_properties(cost):
    assert cost(0.0) == 0.0
    vals = cost(np.linspace(0.0, 8.0, 401))
    assert np.all(np.diff(vals) > 0)
    assert np.all(np.isfinite(vals))
    assert cost(GRID).shape == GRID.shape
    # k scaling and base shape
    np.testing.assert_allclose(cost.with_k(2.5)(GRID), 2.5 / cost.k * cost(GRID), rtol=1e-14)
    np.testing.assert_allclose(cost.base()(GRID) * cost.k, cost(GRID), rtol=1e-14)
    # convexity / concavity flags agree with the second difference
    h = 1e-3
    second = cost(GRID + h) - 2 * cost(GRID) + cost(GRID - h)
    if cost.convex and not cost.concave:
        assert np.all(second > 0)
    if cost.concave and not cost.convex:
        assert np.all(second < 0)
    if cost.convex and cost.concave:
        np.testing.assert_allclose(second, 0.0, atol=1e-12)


@pytest.mark.parametrize("cost", FAMILIES, ids=IDS)
def test_derivative_matches_central_difference(cost):
    h = 1e-6
    fd = (cost(GRID + h) - cost(GRID - h)) / (2 * h)
    np.testing.assert_allclose(cost.derivative(GRID), fd, rtol=1e-7)


def test_derivative_at_zero():
    assert Sqrt(1.0).derivative(0.0) == np.inf
    assert Power(1.0, 0.5).derivative(0.0) == np.inf
    assert Power(1.0, 2.0).derivative(0.0) == 0.0
    assert Linear(3.0).derivative(0.0) == 3.0
    assert Exponential(2.0).derivative(0.0) == 2.0
    assert Log1p(2.0).derivative(0.0) == 2.0


@pytest.mark.parametrize("cost", FAMILIES, ids=IDS)
def test_sympy_expression_equals_cost(cost):
    expr = cost.sympy()
    assert expr.free_symbols == {W}
    f = sp.lambdify(W, expr, "numpy")
    np.testing.assert_allclose(np.asarray(f(GRID), dtype=float), cost(GRID), rtol=1e-12)
    df = sp.lambdify(W, sp.diff(expr, W), "numpy")
    np.testing.assert_allclose(np.asarray(df(GRID), dtype=float), cost.derivative(GRID), rtol=1e-12)
    k = sp.Symbol("k", positive=True)
    assert sp.simplify(cost.sympy(k) / k - cost.base().sympy()) == 0


def test_sympy_forms():
    assert str(Quadratic(0.5).sympy()) == "0.5*w**2"
    assert sp.simplify(Sqrt(1.0).sympy() - sp.sqrt(W)) == 0
    assert sp.simplify(Power(1.0, 1.5).sympy() - W ** sp.Rational(3, 2)) == 0


@pytest.mark.parametrize("cost", FAMILIES, ids=IDS)
def test_spec_round_trip(cost):
    assert parse_cost(cost.spec) == cost
    assert parse_cost(cost) is cost


@settings(max_examples=50)
@given(name=st.sampled_from(COST_NAMES), k=st.floats(1e-6, 1e6, allow_nan=False),
       p=st.floats(0.1, 5.0))
def test_spec_round_trip_any_float(name, k, p):
    c = make_cost(name, k, p if name == "power" else None)
    back = parse_cost(c.spec)
    assert back == c


@pytest.mark.parametrize("text, expected", [
    ("linear:2", Linear(2.0)), ("quadratic:0.1", Quadratic(0.1)), ("power:0.1:1.5", Power(0.1, 1.5)),
    ("sqrt:1", Sqrt(1.0)), ("exp:0.5", Exponential(0.5)), ("log:3", Log1p(3.0)),
    ("  QUADRATIC:0.25", Quadratic(0.25)), ("power:1:1.5", Power(1.0, 1.5)),
])
def test_parse_cost(text, expected):
    assert parse_cost(text) == expected


@pytest.mark.parametrize("text, param", [
    ("quadratic", "NAME:K"), ("quadratic:", "K"), ("quadratic:abc", "K"), ("cubic:1", "cost name"),
    (":1", "NAME:K"), ("quadratic:1:2", "exponent"), ("power:1:x", "P"), ("a:b:c:d", "NAME:K"),
    ("quadratic:0", "k"), ("quadratic:-1", "k"), ("linear:nan", "k"), ("linear:inf", "k"),
    ("power:1:0", "p"), ("power:1:-2", "p"),
])
def test_parse_cost_errors(text, param):
    with pytest.raises(ValueError, match=param):
        parse_cost(text)


def test_make_cost_errors():
    with pytest.raises(ValueError, match="cost name"):
        make_cost("cubic")
    with pytest.raises(ValueError, match="k"):
        make_cost("linear", 0.0)


def test_callable_cost():
    c = CallableCost(lambda w: w ** 3 + w, derivative=lambda w: 3 * w ** 2 + 1, k=2.0, label="cubic")
    np.testing.assert_allclose(c(GRID), 2.0 * (GRID ** 3 + GRID))
    np.testing.assert_allclose(c.derivative(GRID), 2.0 * (3 * GRID ** 2 + 1))
    assert c.spec == "cubic:2"
    # without a derivative: finite differences
    c2 = CallableCost(lambda w: math.log1p(w) + w ** 2)
    np.testing.assert_allclose(c2.derivative(GRID), 1 / (1 + GRID) + 2 * GRID, rtol=1e-6)
    assert c2.derivative(0.0) == pytest.approx(1.0, rel=1e-5)
    c3 = CallableCost(lambda w: w ** 2, sympy_expr=W ** 2)
    assert sp.simplify(c3.sympy() - W ** 2) == 0
    assert CallableCost(lambda w: w).sympy() is None


@pytest.mark.parametrize("fn, msg", [
    (lambda w: w + 1.0, "c\\(0\\) = 0"),
    (lambda w: 0.1 + w ** 2, "c\\(0\\) = 0"),
    (lambda w: -w, "strictly increasing"),
    (lambda w: np.sin(w), "strictly increasing"),
    (lambda w: min(w, 1.0), "strictly increasing"),
    (lambda w: 0.0 * w, "strictly increasing"),
    (lambda w: w if w < 5 else float("nan"), "finite"),
])
def test_callable_cost_rejects(fn, msg):
    with pytest.raises(ValueError, match=msg):
        CallableCost(fn)
    with pytest.raises(ValueError, match="callable"):
        CallableCost(3.0)


def test_as_costs_heterogeneous():
    assert as_costs("quadratic:0.1", 3) == (Quadratic(0.1),) * 3
    assert as_costs(Sqrt(2.0), 2) == (Sqrt(2.0), Sqrt(2.0))
    costs = as_costs(["linear:1", Quadratic(0.5), "power:0.2:2.5"], 3)
    assert costs == (Linear(1.0), Quadratic(0.5), Power(0.2, 2.5))
    with pytest.raises(ValueError, match="one entry per agent"):
        as_costs(["linear:1", "linear:2"], 3)
    with pytest.raises(ValueError, match="cost"):
        as_costs(3.0, 3)
    with pytest.raises(ValueError, match="cost"):
        as_costs(["linear:1", "bogus:1", "linear:1"], 3)


def test_equality_and_hash():
    assert Quadratic(0.5) == Quadratic(0.5) and hash(Quadratic(0.5)) == hash(Quadratic(0.5))
    assert Quadratic(0.5) != Linear(0.5)
    assert Power(1.0, 2.0) != Quadratic(1.0)
    assert len({Quadratic(0.5), Quadratic(0.5), Sqrt(0.5)}) == 2
