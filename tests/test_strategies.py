"""Strategies ``(w, f)``, signed efforts and profiles (paper Section 4; spec section 1)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents import DISHONEST, HONEST, Profile, Strategy, as_strategy, make_profile, parse_report


@given(w=st.floats(0.0, 1e6), honest=st.booleans())
def test_signed_effort_round_trip(w, honest):
    s = Strategy(w, honest)
    assert s.signed_effort == (w if honest else -w)
    back = Strategy.from_signed(s.signed_effort)
    assert back.effort == w
    if w > 0:
        assert back == s


def test_strategy_basics():
    assert Strategy(1.5, "dishonest").signed_effort == -1.5
    assert Strategy(2).effort == 2.0 and Strategy(2).honest
    assert Strategy.from_signed(0.0).honest
    assert str(Strategy(1.0, "not-h")) == "(1, not-h)"
    assert str(Strategy(0.5)) == "(0.5, h)"


@pytest.mark.parametrize("value, expected", [
    ("honest", HONEST), ("h", HONEST), (" Truthful ", HONEST), (True, HONEST), (np.bool_(True), HONEST),
    ("dishonest", DISHONEST), ("not-h", DISHONEST), ("not_h", DISHONEST), ("~h", DISHONEST), ("flip", DISHONEST),
    (False, DISHONEST), ("DISHONEST", DISHONEST),
])
def test_parse_report(value, expected):
    assert parse_report(value) == expected


@pytest.mark.parametrize("value", ["lie", "", None, 1, 0.5])
def test_parse_report_errors(value):
    with pytest.raises(ValueError, match="report"):
        parse_report(value)


@pytest.mark.parametrize("effort", [-1.0, -1e-300, np.nan, np.inf, -np.inf, "abc", None, True])
def test_bad_effort(effort):
    with pytest.raises(ValueError, match="effort"):
        Strategy(effort)


def test_as_strategy():
    s = Strategy(1.0, "dishonest")
    assert as_strategy(s) is s
    assert as_strategy((1.0, "dishonest")) == s
    assert as_strategy([2.0, True]) == Strategy(2.0)
    assert as_strategy(3.0) == Strategy(3.0)
    with pytest.raises(ValueError, match="own.*effort"):
        as_strategy(-1.0, "own")


def test_profile_construction():
    p = Profile.symmetric((1.0, "h"), (2.0, "dishonest"), 4)
    assert p.n_agents == 4
    np.testing.assert_array_equal(p.signed_efforts(), [1.0, -2.0, -2.0, -2.0])
    q = Profile.from_signed([0.5, -1.0, 2.0])
    assert q.own == Strategy(0.5) and q.peers == (Strategy(1.0, "dishonest"), Strategy(2.0))
    assert q.with_own(3.0).own == Strategy(3.0) and q.with_own(3.0).peers == q.peers
    with pytest.raises(ValueError, match="n_agents"):
        Profile.symmetric(1.0, 1.0, 2)
    with pytest.raises(ValueError, match="n_agents"):
        Profile(Strategy(1.0), (Strategy(1.0),))


def test_make_profile_forms():
    sym = make_profile((1.0, "h"), (2.0, "dishonest"), 4)
    assert sym == Profile.symmetric(Strategy(1.0), Strategy(2.0, "dishonest"), 4)
    assert make_profile(1.0, Strategy(2.0), 3) == Profile.symmetric(1.0, 2.0, 3)
    assert make_profile(1.0, 2.0, 3) == Profile.symmetric(1.0, 2.0, 3)
    het = make_profile(1.0, [(2.0, "h"), (3.0, "dishonest"), 0.5])
    np.testing.assert_array_equal(het.signed_efforts(), [1.0, 2.0, -3.0, 0.5])
    assert make_profile(1.0, [2.0, 3.0], 3).n_agents == 3
    # a two-element list of numbers is two peers, not (effort, report)
    assert make_profile(1.0, [2.0, 3.0]).n_agents == 3


@pytest.mark.parametrize("args, param", [
    (((1.0, "h"), (2.0, "h"), None), "n_agents"),
    ((1.0, 2.0, None), "n_agents"),
    ((1.0, [2.0, 3.0], 4), "n_agents"),
    ((1.0, [2.0], None), "n_agents"),
    ((1.0, (2.0, "h"), 2), "n_agents"),
    ((1.0, [2.0, -3.0], None), "effort"),
    ((-1.0, [2.0, 3.0], None), "effort"),
    ((1.0, [(2.0, "sometimes"), 3.0], None), "report"),
])
def test_make_profile_errors(args, param):
    with pytest.raises(ValueError, match=param):
        make_profile(*args)


# --- extended strategies: convention probability q (issue 12, spec section 4) ----------------------------
def test_convention_strategy():
    c = Strategy(0.0, "convention")
    assert c.is_convention and c.convention_prob == 1.0 and c.report == HONEST
    assert c == Strategy(0.0, "honest", 1.0) and hash(c) == hash(Strategy(0.0, "honest", 1.0))
    assert Strategy(2.0, "convention").effort == 2.0              # kept, irrelevant
    assert Strategy(1.0, "convention", 1.0).is_convention
    mix = Strategy(1.5, "dishonest", 0.25)
    assert not mix.is_convention and mix.signed_effort == -1.5
    assert str(mix) == "(1.5, not-h, q=0.25)" and str(Strategy(1.5, "dishonest")) == "(1.5, not-h)"
    # q = 0 is the paper's strategy: equal and same hash
    assert Strategy(1.0, "h", 0.0) == Strategy(1.0) and hash(Strategy(1.0, "h", 0.0)) == hash(Strategy(1.0))
    assert Strategy.from_signed(-2.0, 0.5) == Strategy(2.0, "dishonest", 0.5)
    assert as_strategy((1.0, "h", 0.3)).convention_prob == 0.3


@pytest.mark.parametrize("q", [-0.1, 1.5, np.nan, np.inf, "a", True])
def test_bad_convention_prob(q):
    with pytest.raises(ValueError, match="convention_prob"):
        Strategy(1.0, "honest", q)


def test_convention_conflicts_with_a_mixture():
    with pytest.raises(ValueError, match="convention_prob"):
        Strategy(0.0, "convention", 0.5)
    with pytest.raises(ValueError, match="convention_prob"):
        Strategy(0.0, "convention", 0.0)
    with pytest.raises(ValueError, match="report"):
        parse_report("convention")                # the paper's reporting maps only, unless asked
    assert parse_report("convention", allow_convention=True) == "convention"


def test_profile_convention_probs():
    prof = make_profile((1.0, "h", 0.2), [(2.0, "dishonest", 1.0), Strategy(0.0, "convention"), 0.5])
    np.testing.assert_array_equal(prof.convention_probs(), [0.2, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(prof.signed_efforts(), [1.0, -2.0, 0.0, 0.5])
    assert prof.extended and not Profile.from_signed([1.0, 2.0, 3.0]).extended
    sym = make_profile(1.0, (2.0, "h", 0.5), 3)
    np.testing.assert_array_equal(sym.convention_probs(), [0.0, 0.5, 0.5])
    back = Profile.from_signed(prof.signed_efforts(), prof.convention_probs())
    np.testing.assert_array_equal(back.convention_probs(), prof.convention_probs())
    with pytest.raises(ValueError, match="convention_probs"):
        Profile.from_signed([1.0, 2.0, 3.0], [0.0, 0.1])
