"""Agent strategies ``(effort, honest | dishonest, convention probability)`` and strategy profiles.

An agent chooses one effort ``w >= 0`` for all pairs and one reporting map, honest (``h``: report
the observation) or dishonest (``not h``: flip every observation) -- paper Section 4, spec section 1.
The *signed effort* ``eps = +w`` (honest) or ``-w`` (dishonest) summarises a paper strategy completely:
``Pr(R(a,b) = +1 | theta) = sigmoid(eps * (theta_a - theta_b))``.

The extended space (spec section 4) adds the *convention probability* ``q in [0, 1]``: independently on
every canonical pair ``a < b``, with probability ``q`` the agent reports the public index order
``R(a, b) = +1`` ("the item with the smaller index is better"), otherwise its Bradley-Terry observation
mapped by ``f``.  So ``E[R(a, b) | theta] = q + (1 - q) tanh(eps (theta_a - theta_b) / 2)``.  ``q = 0`` is the
paper's space; ``report='convention'`` is shorthand for ``q = 1`` (the effort is then irrelevant).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ._validation import check_choice, check_effort, check_int, check_real

HONEST = "honest"
DISHONEST = "dishonest"
CONVENTION = "convention"
REPORTS = (HONEST, DISHONEST)
_ALIASES = {"h": HONEST, "honest": HONEST, "truthful": HONEST,
            "d": DISHONEST, "dishonest": DISHONEST, "not-h": DISHONEST, "not_h": DISHONEST, "~h": DISHONEST,
            "flip": DISHONEST}


def parse_report(value, name: str = "report", allow_convention: bool = False) -> str:
    """Normalise a reporting map: ``'honest'``/``'h'``/``True`` or ``'dishonest'``/``'not-h'``/``False``
    (and ``'convention'`` when ``allow_convention``)."""
    if isinstance(value, (bool, np.bool_)):
        return HONEST if value else DISHONEST
    if isinstance(value, str) and value.strip().lower() in _ALIASES:
        return _ALIASES[value.strip().lower()]
    if allow_convention:
        return check_choice(name, value, REPORTS + (CONVENTION,))
    return check_choice(name, value, REPORTS)


def check_convention_prob(value, name: str = "convention_prob") -> float:
    """A convention probability ``q`` in ``[0, 1]``."""
    return check_real(name, value, low=0.0, high=1.0)


@dataclass(frozen=True)
class Strategy:
    """One agent's strategy ``(w, f, q)``.

    Parameters
    ----------
    effort : float
        Effort (Bradley-Terry precision) ``w >= 0``; ``w = 0`` gives fair-coin reports.
    report : {'honest', 'dishonest', 'convention'}
        Reporting map ``f``: ``h`` or ``not h`` (flip every observation).  ``'convention'`` is shorthand for
        ``convention_prob = 1`` (stored as ``report='honest'``, ``convention_prob=1.0``; the effort is kept but
        irrelevant).
    convention_prob : float
        ``q in [0, 1]``: per canonical pair ``a < b``, independently, the probability of reporting the public
        index order ``R(a, b) = +1`` instead of the mapped observation (spec section 4).  ``0``: the paper's space.

    Examples
    --------
    >>> Strategy(1.5, "dishonest").signed_effort
    -1.5
    >>> Strategy(0.0, "convention").is_convention
    True
    >>> str(Strategy(1.0, "honest", 0.25))
    '(1, h, q=0.25)'
    """

    effort: float
    report: str = HONEST
    convention_prob: float = None            # None: 0, or 1 with report='convention'

    def __post_init__(self):
        object.__setattr__(self, "effort", check_effort("effort", self.effort))
        report = parse_report(self.report, allow_convention=True)
        q = None if self.convention_prob is None else check_convention_prob(self.convention_prob)
        if report == CONVENTION:
            if q is not None and q != 1.0:
                raise ValueError(f"convention_prob must be 1 (or omitted) with report='convention', got {q!r}")
            report, q = HONEST, 1.0
        elif q is None:
            q = 0.0
        object.__setattr__(self, "report", report)
        object.__setattr__(self, "convention_prob", q)

    @property
    def honest(self) -> bool:
        return self.report == HONEST

    @property
    def is_convention(self) -> bool:
        """``True`` for the pure convention (``q = 1``)."""
        return self.convention_prob == 1.0

    @property
    def signed_effort(self) -> float:
        """``+w`` if honest, ``-w`` if dishonest (spec section 1, "Signed effort")."""
        return self.effort if self.honest else -self.effort

    @classmethod
    def from_signed(cls, eps: float, convention_prob: float | None = None) -> "Strategy":
        """The strategy with signed effort ``eps`` (``eps = 0`` is reported as honest) and convention
        probability ``convention_prob``."""
        return cls(abs(float(eps)), HONEST if eps >= 0 else DISHONEST, convention_prob)

    def __str__(self) -> str:
        base = f"{self.effort:g}, {'h' if self.honest else 'not-h'}"
        if self.convention_prob > 0.0:
            return f"({base}, q={self.convention_prob:g})"
        return f"({base})"


def as_strategy(value, name: str = "strategy") -> Strategy:
    """Accept a :class:`Strategy`, an ``(effort, report)`` pair, an ``(effort, report, convention_prob)``
    triple or a bare effort (honest)."""
    if isinstance(value, Strategy):
        return value
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        try:
            return Strategy(*value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    try:
        return Strategy(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class Profile:
    """A strategy profile seen from the paid agent ``i``: own strategy and the ``N - 1`` peers'.

    Parameters
    ----------
    own : Strategy
    peers : tuple of Strategy
        One per peer, ``len(peers) = N - 1 >= 2``.
    """

    own: Strategy
    peers: tuple

    def __post_init__(self):
        object.__setattr__(self, "own", as_strategy(self.own, "own"))
        peers = tuple(as_strategy(p, "peers") for p in self.peers)
        if len(peers) < 2:
            raise ValueError(f"n_agents must be >= 3 (the paid agent plus >= 2 peers), got {len(peers) + 1}")
        object.__setattr__(self, "peers", peers)

    @classmethod
    def symmetric(cls, own, peer, n_agents: int) -> "Profile":
        """Agent ``i`` plays ``own``; all ``n_agents - 1`` peers play ``peer``."""
        from ._validation import MAX_AGENTS

        n_agents = check_int("n_agents", n_agents, low=3, high=MAX_AGENTS)
        return cls(as_strategy(own, "own"), (as_strategy(peer, "peer"),) * (n_agents - 1))

    @classmethod
    def from_signed(cls, eps: Sequence[float], convention_probs: Sequence[float] | None = None) -> "Profile":
        """Build from signed efforts ``[eps_i, eps_peer_1, ...]`` (and convention probabilities, same order)."""
        eps = list(eps)
        qs = [0.0] * len(eps) if convention_probs is None else list(convention_probs)
        if len(qs) != len(eps):
            raise ValueError(f"convention_probs must have one entry per agent ({len(eps)}), got {len(qs)}")
        return cls(Strategy.from_signed(eps[0], qs[0]),
                   tuple(Strategy.from_signed(e, q) for e, q in zip(eps[1:], qs[1:])))

    @property
    def n_agents(self) -> int:
        return len(self.peers) + 1

    def signed_efforts(self) -> np.ndarray:
        """``[eps_i, eps_1, ..., eps_{N-1}]`` with the paid agent first."""
        return np.array([self.own.signed_effort] + [p.signed_effort for p in self.peers], dtype=np.float64)

    def convention_probs(self) -> np.ndarray:
        """``[q_i, q_1, ..., q_{N-1}]`` with the paid agent first."""
        return np.array([self.own.convention_prob] + [p.convention_prob for p in self.peers], dtype=np.float64)

    @property
    def extended(self) -> bool:
        """``True`` if some agent reports the convention with positive probability."""
        return self.own.convention_prob > 0.0 or any(p.convention_prob > 0.0 for p in self.peers)

    def with_own(self, own) -> "Profile":
        return Profile(as_strategy(own, "own"), self.peers)


def make_profile(own, peers, n_agents=None) -> Profile:
    """Normalise ``(own, peers, n_agents)`` user input into a :class:`Profile`.

    ``peers`` is one strategy shared by all peers (then ``n_agents`` is required) or a sequence of
    ``N - 1`` strategies (then ``n_agents``, if given, must equal ``len(peers) + 1``).
    """
    if isinstance(peers, Strategy) or (isinstance(peers, (tuple, list)) and len(peers) in (2, 3)
                                       and isinstance(peers[1], (str, bool))):
        if n_agents is None:
            raise ValueError("n_agents is required when one peer strategy is given (n_agents >= 3)")
        return Profile.symmetric(own, peers, n_agents)
    if isinstance(peers, (int, float, np.floating, np.integer)):
        if n_agents is None:
            raise ValueError("n_agents is required when one peer strategy is given (n_agents >= 3)")
        return Profile.symmetric(own, peers, n_agents)
    peers = tuple(peers) if isinstance(peers, Iterable) else (peers,)
    prof = Profile(own, peers)
    if n_agents is not None and check_int("n_agents", n_agents, low=3) != prof.n_agents:
        raise ValueError(f"n_agents={n_agents} but {len(peers)} peer strategies were given "
                         f"(n_agents must be len(peers) + 1 = {prof.n_agents})")
    return prof
