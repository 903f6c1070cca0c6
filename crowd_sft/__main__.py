"""Command line for the Crowd-SFT half: ``python -m crowd_sft {run,reproduce,beyond,experiment1,shapley}``.

Each sub-command lives in its own module that exposes ``add_parser(subparsers)`` (which registers the
sub-command and sets ``func``). Conventions (``docs/vocabulary.md``): bad input prints exactly one
line on stderr naming the flag and exits with status 2 (no traceback); ``--help`` shows the defaults
of the code; a flag a sub-command cannot honour is an error; output paths and sizes are checked
before any work.
"""
from __future__ import annotations

import importlib

from agents._cli import Parser, prog_name, run

_SUBCOMMAND_MODULES = ("crowd_sft.cli_run", "crowd_sft.cli_shapley")


def build_parser() -> Parser:
    parser = Parser(prog=prog_name("crowd_sft", "crowd-sft"), description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
