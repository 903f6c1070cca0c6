"""Agent strategies ``(effort, honest | dishonest)`` and strategy profiles.

An agent chooses one effort ``w >= 0`` for all pairs and one reporting map, honest (``h``: report
the observation) or dishonest (``not h``: flip every observation) -- paper Section 4, spec section 1.
The *signed effort* ``eps = +w`` (honest) or ``-w`` (dishonest) summarises a strategy completely:
``Pr(R(a,b) = +1 | theta) = sigmoid(eps * (theta_a - theta_b))``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ._validation import check_choice, check_effort, check_int

HONEST = "honest"
DISHONEST = "dishonest"
REPORTS = (HONEST, DISHONEST)
_ALIASES = {"h": HONEST, "honest": HONEST, "truthful": HONEST,
            "d": DISHONEST, "dishonest": DISHONEST, "not-h": DISHONEST, "not_h": DISHONEST, "~h": DISHONEST,
            "flip": DISHONEST}


def parse_report(value, name: str = "report") -> str:
    """Normalise a reporting map: ``'honest'``/``'h'``/``True`` or ``'dishonest'``/``'not-h'``/``False``."""
    if isinstance(value, (bool, np.bool_)):
        return HONEST if value else DISHONEST
    if isinstance(value, str) and value.strip().lower() in _ALIASES:
        return _ALIASES[value.strip().lower()]
    return check_choice(name, value, REPORTS)


@dataclass(frozen=True)
class Strategy:
    """One agent's strategy ``(w, f)``.

    Parameters
    ----------
    effort : float
        Effort (Bradley-Terry precision) ``w >= 0``; ``w = 0`` gives fair-coin reports.
    report : {'honest', 'dishonest'}
        Reporting map ``f``: ``h`` or ``not h`` (flip every observation).

    Examples
    --------
    >>> Strategy(1.5, "dishonest").signed_effort
    -1.5
    """

    effort: float
    report: str = HONEST

    def __post_init__(self):
        object.__setattr__(self, "effort", check_effort("effort", self.effort))
        object.__setattr__(self, "report", parse_report(self.report))

    @property
    def honest(self) -> bool:
        return self.report == HONEST

    @property
    def signed_effort(self) -> float:
        """``+w`` if honest, ``-w`` if dishonest (spec section 1, "Signed effort")."""
        return self.effort if self.honest else -self.effort

    @classmethod
    def from_signed(cls, eps: float) -> "Strategy":
        """The strategy with signed effort ``eps`` (``eps = 0`` is reported as honest)."""
        return cls(abs(float(eps)), HONEST if eps >= 0 else DISHONEST)

    def __str__(self) -> str:
        return f"({self.effort:g}, {'h' if self.honest else 'not-h'})"


def as_strategy(value, name: str = "strategy") -> Strategy:
    """Accept a :class:`Strategy`, an ``(effort, report)`` pair or a bare effort (honest)."""
    if isinstance(value, Strategy):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return Strategy(value[0], value[1])
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
        n_agents = check_int("n_agents", n_agents, low=3)
        return cls(as_strategy(own, "own"), (as_strategy(peer, "peer"),) * (n_agents - 1))

    @classmethod
    def from_signed(cls, eps: Sequence[float]) -> "Profile":
        """Build from signed efforts ``[eps_i, eps_peer_1, ...]``."""
        eps = list(eps)
        return cls(Strategy.from_signed(eps[0]), tuple(Strategy.from_signed(e) for e in eps[1:]))

    @property
    def n_agents(self) -> int:
        return len(self.peers) + 1

    def signed_efforts(self) -> np.ndarray:
        """``[eps_i, eps_1, ..., eps_{N-1}]`` with the paid agent first."""
        return np.array([self.own.signed_effort] + [p.signed_effort for p in self.peers], dtype=np.float64)

    def with_own(self, own) -> "Profile":
        return Profile(as_strategy(own, "own"), self.peers)


def make_profile(own, peers, n_agents=None) -> Profile:
    """Normalise ``(own, peers, n_agents)`` user input into a :class:`Profile`.

    ``peers`` is one strategy shared by all peers (then ``n_agents`` is required) or a sequence of
    ``N - 1`` strategies (then ``n_agents``, if given, must equal ``len(peers) + 1``).
    """
    if isinstance(peers, Strategy) or (isinstance(peers, (tuple, list)) and len(peers) == 2
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
