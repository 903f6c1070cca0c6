"""Command line for the Crowd-SFT half: ``python -m crowd_sft {run,reproduce,shapley}``.

Each sub-command lives in its own module that exposes ``add_parser(subparsers)``
(which registers the sub-command and sets ``func``). Bad input prints one line on
stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

_SUBCOMMAND_MODULES = ("crowd_sft.cli_run", "crowd_sft.cli_shapley")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit 2 (argparse prints usage too)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m crowd_sft", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # sub-command not built yet
            if exc.name != name:
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        sys.stderr.write(f"python -m crowd_sft {args.command}: error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
