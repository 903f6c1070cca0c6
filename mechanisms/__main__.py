"""``python -m mechanisms payoff ...`` (console script ``mechanisms``): expected payment of one agent,
exact or Monte Carlo.

Bad input prints one line on stderr and exits with status 2; a flag that the chosen mechanism or method
cannot use is refused; ``--help`` shows the defaults of the code (``docs/vocabulary.md``).
"""
from __future__ import annotations

import argparse

from agents._cli import Parser as _Parser
from agents._cli import check_sizes, dumps, finite_float, finite_or_error, given, prog_name, refuse
from agents._cli import run as _run
from agents._validation import check_effort

from . import make_mechanism


def add_game_arguments(p: argparse.ArgumentParser) -> None:
    """Game arguments shared with ``python -m equilibria``."""
    p.add_argument("--mechanism", default="apa", help="ppa, bsst, apa, dg13 or ca")
    p.add_argument("--agents", type=int, default=3, help="number of agents N >= 3")
    p.add_argument("--items", type=int, default=3, help="number of items m")
    p.add_argument("--z", type=finite_float, default=1.0, help="payment scale z > 0")
    p.add_argument("--y", type=finite_float, default=0.5, help="BSST partial payment, 0 < y < z (--mechanism bsst)")
    p.add_argument("--prior", default="normal", help="normal or uniform")
    p.add_argument("--coherence", default="3cycle", help="APA coherence rule: 3cycle or scc (--mechanism apa)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def make_cli_mechanism(args):
    """The mechanism of the game flags; ``--y`` / ``--coherence`` only where the mechanism has them."""
    name = str(args.mechanism).strip().lower()
    if args.z > 1e250:      # payments are z times up to ~N m^2 terms: they must stay finite
        raise ValueError(f"--z must be at most 1e250 (payments are z times the number of payment terms), "
                         f"got {args.z:g}")
    if name != "bsst":
        refuse(args, ["y"], "to --mechanism bsst only")
    if name != "apa":
        refuse(args, ["coherence"], "to --mechanism apa only")
    return make_mechanism(args.mechanism, args.z, args.y, args.coherence)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=prog_name("mechanisms", "mechanisms"), description="Payment rules for pairwise feedback.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("payoff", help="expected payment of agent i against symmetric peers")
    add_game_arguments(p)
    p.add_argument("--effort", type=finite_float, required=True, help="agent i's effort w >= 0")
    p.add_argument("--report", default="honest",
                   help="agent i's report: honest, dishonest or convention (always the index order: q = 1)")
    p.add_argument("--convention-prob", type=finite_float, default=None, metavar="Q",
                   help="agent i's convention probability q in [0, 1] (per pair; default 0, 1 with --report convention)")
    p.add_argument("--peer-effort", type=finite_float, required=True, help="every peer's effort w >= 0")
    p.add_argument("--peer-report", default="honest", help="every peer's report: honest, dishonest or convention")
    p.add_argument("--peer-convention-prob", type=finite_float, default=None, metavar="Q",
                   help="every peer's convention probability q in [0, 1] (default 0, 1 with --peer-report convention)")
    p.add_argument("--method", default="exact", help="exact (quadrature) or mc (simulation)")
    p.add_argument("--samples", type=int, default=200_000, help="Monte Carlo trials (--method mc)")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed, a non-negative integer (--method mc)")
    p.set_defaults(func=_payoff)
    return parser


def _version():
    from . import __version__

    return f"%(prog)s {__version__}"


def _cli_strategy(effort, report, q, flag):
    """A strategy from CLI flags; ``--report convention`` with ``--convention-prob`` below 1 is a conflict."""
    from agents import CONVENTION, Strategy, check_convention_prob, parse_report   # numpy: not for --help

    peer = flag.startswith("--peer")
    check_effort("--peer-effort" if peer else "--effort", effort)
    parse_report(report, "--peer-report" if peer else "--report", allow_convention=True)
    if q is not None:
        q = check_convention_prob(q, flag)
        if parse_report(report, allow_convention=True) == CONVENTION and q < 1.0:
            raise ValueError(f"{flag} must be 1 (or omitted) with report 'convention', got {q!r}")
    return Strategy(effort, report, q)          # q None: 0, or 1 with report convention


def _payoff(args) -> int:
    method = str(args.method).strip().lower()
    if method != "mc":
        refuse(args, ["samples", "seed"], "to --method mc only")
    elif args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    check_sizes(args, mc_samples=args.samples if method == "mc" else None)
    mech = make_cli_mechanism(args)
    own = _cli_strategy(args.effort, args.report, args.convention_prob, "--convention-prob")
    peer = _cli_strategy(args.peer_effort, args.peer_report, args.peer_convention_prob, "--peer-convention-prob")
    res = mech.expected_payment(own, peer, n_agents=args.agents, n_items=args.items, prior=args.prior,
                                method=args.method, samples=args.samples, seed=args.seed)
    finite_or_error(res.expected_payment, "the expected payment", "lower --z")
    out = res.to_dict()
    out.update(mechanism_params=mech.params(), effort=own.effort, report=own.report,
               convention_prob=own.convention_prob, peer_effort=peer.effort, peer_report=peer.report,
               peer_convention_prob=peer.convention_prob)
    if args.method == "mc":
        out["seed"] = args.seed
    if args.json:
        print(dumps(out))
    else:
        line = f"E[M_i] = {res.expected_payment:.10g}"
        if res.stderr is not None:
            line += f" +- {res.stderr:.3g} (Monte Carlo, {res.samples} trials, seed {args.seed})"
        else:
            line += " (exact)"
        print(f"{mech!r}, N={res.n_agents}, m={res.n_items}, prior={res.prior}, own={own}, peers={peer}: {line}")
    return 0


def run_cli(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parse, dispatch to ``args.func``; bad input -> one line on stderr and exit status 2 (agents._cli.run)."""
    return _run(parser, argv)


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
