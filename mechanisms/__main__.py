"""``python -m mechanisms payoff ...``: expected payment of one agent, exact or Monte Carlo.

Bad input prints one line on stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from agents import CONVENTION, Strategy, check_convention_prob, parse_report

from . import make_mechanism


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def add_game_arguments(p: argparse.ArgumentParser) -> None:
    """Game arguments shared with ``python -m equilibria``."""
    p.add_argument("--mechanism", default="apa", help="ppa, bsst, apa, dg13 or ca (default apa)")
    p.add_argument("--agents", type=int, default=3, help="number of agents N >= 3 (default 3)")
    p.add_argument("--items", type=int, default=3, help="number of items m (default 3)")
    p.add_argument("--z", type=float, default=1.0, help="payment scale z > 0 (default 1)")
    p.add_argument("--y", type=float, default=0.5, help="BSST partial payment, 0 < y < z (default 0.5)")
    p.add_argument("--prior", default="normal", help="normal or uniform (default normal)")
    p.add_argument("--coherence", default="3cycle", help="APA coherence rule: 3cycle or scc (default 3cycle)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mechanisms", description="Payment rules for pairwise feedback.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("payoff", help="expected payment of agent i against symmetric peers")
    add_game_arguments(p)
    p.add_argument("--effort", type=float, required=True, help="agent i's effort w >= 0")
    p.add_argument("--report", default="honest",
                   help="agent i's report: honest, dishonest or convention (always the index order: q = 1)")
    p.add_argument("--convention-prob", type=float, default=None, metavar="Q",
                   help="agent i's convention probability q in [0, 1] (per pair; default 0, 1 with --report convention)")
    p.add_argument("--peer-effort", type=float, required=True, help="every peer's effort w >= 0")
    p.add_argument("--peer-report", default="honest", help="every peer's report: honest, dishonest or convention")
    p.add_argument("--peer-convention-prob", type=float, default=None, metavar="Q",
                   help="every peer's convention probability q in [0, 1] (default 0, 1 with --peer-report convention)")
    p.add_argument("--method", default="exact", help="exact (quadrature) or mc (simulation)")
    p.add_argument("--samples", type=int, default=200_000, help="Monte Carlo trials (default 200000)")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    p.set_defaults(func=_payoff)
    return parser


def _cli_strategy(effort, report, q, flag):
    """A strategy from CLI flags; ``--report convention`` with ``--convention-prob`` below 1 is a conflict."""
    if q is not None:
        q = check_convention_prob(q, flag)
        if parse_report(report, allow_convention=True) == CONVENTION and q < 1.0:
            raise ValueError(f"{flag} must be 1 (or omitted) with report 'convention', got {q!r}")
    return Strategy(effort, report, 0.0 if q is None else q)


def _payoff(args) -> int:
    mech = make_mechanism(args.mechanism, args.z, args.y, args.coherence)
    own = _cli_strategy(args.effort, args.report, args.convention_prob, "--convention-prob")
    peer = _cli_strategy(args.peer_effort, args.peer_report, args.peer_convention_prob, "--peer-convention-prob")
    res = mech.expected_payment(own, peer, n_agents=args.agents, n_items=args.items, prior=args.prior,
                                method=args.method, samples=args.samples, seed=args.seed)
    out = res.to_dict()
    out.update(mechanism_params=mech.params(), effort=own.effort, report=own.report,
               convention_prob=own.convention_prob, peer_effort=peer.effort, peer_report=peer.report,
               peer_convention_prob=peer.convention_prob)
    if args.method == "mc":
        out["seed"] = args.seed
    if args.json:
        print(json.dumps(out))
    else:
        line = f"E[M_i] = {res.expected_payment:.10g}"
        if res.stderr is not None:
            line += f" +- {res.stderr:.3g} (Monte Carlo, {res.samples} trials, seed {args.seed})"
        else:
            line += " (exact)"
        print(f"{mech!r}, N={res.n_agents}, m={res.n_items}, prior={res.prior}, own={own}, peers={peer}: {line}")
    return 0


def run_cli(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parse, dispatch to ``args.func``; ``ValueError`` -> one line on stderr and exit status 2."""
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        sys.stderr.write(f"{parser.prog} {args.command}: error: {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
