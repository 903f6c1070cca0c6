"""Shared command-line plumbing of ``python -m mechanisms`` and ``python -m equilibria``.

The conventions (``docs/vocabulary.md``):

* bad input prints exactly one line on stderr, ``PROG SUBCOMMAND: error: ...``, and exits with status 2,
  never a traceback; the message names the flag the user typed;
* ``--help`` shows every default from the parser itself (:class:`DefaultsFormatter`), so it cannot be stale;
* a flag that a subcommand cannot honour is an error: :func:`given` tells which flags were typed, so a
  command can refuse them (:func:`refuse`);
* numbers are finite (``inf``/``nan`` are refused at parse time) and a result is never printed as
  ``inf`` or ``nan`` (:func:`finite_or_error`, :func:`json_clean`);
* output paths are checked before any work (:func:`check_out_dir`, :func:`check_out_file`).

This module imports only the standard library, so ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import re
import sys

from ._validation import MAX_AGENTS, MAX_MC_REPORTS as MAX_MC_DRAWS   # the API's limits (messages state them)

MAX_ITEMS = 100_000

# API keyword -> CLI flag, for messages raised by the API (rule 3 of docs/vocabulary.md)
KEYWORD_FLAGS = {"n_agents": "--agents", "n_items": "--items", "w_max": "--w-max", "target_effort": "--target-effort",
                 "uei_margin": "--uei-margin", "n_jobs": "--jobs", "jobs": "--jobs",
                 "convention_prob": "--convention-prob"}


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` read from the parser, so ``--help`` cannot state a stale default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("%(default)" not in text and action.option_strings
                and action.default not in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


@functools.lru_cache(maxsize=None)
def _tracked(cls):
    """``cls`` whose instances record, in ``namespace.given_flags``, the option string the user typed."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = dict(getattr(namespace, "given_flags", None) or {})
        given[self.dest] = option_string
        namespace.given_flags = given
        cls.__call__(self, parser, namespace, values, option_string)

    return type(cls.__name__, (cls,), {"__call__": __call__, "_tracks_given": True})


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` with one-line errors (exit 2), defaults in ``--help`` and typed-flag tracking."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        # every option action (also those added through argument groups) records when it is typed
        for action in self._actions:
            if (action.option_strings and not getattr(action, "_tracks_given", False)
                    and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))):
                action.__class__ = _tracked(type(action))
        return super().parse_known_args(args, namespace)

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {_one_line(message)}\n")
        raise SystemExit(2)


def given(args, dest: str):
    """The option string the user typed for ``dest`` (e.g. ``'--z'``), or ``None`` if it took its default."""
    return (getattr(args, "given_flags", None) or {}).get(dest)


def refuse(args, dests, why: str) -> None:
    """``ValueError`` if any of ``dests`` was typed: the flag cannot be honoured (``why`` says when it can)."""
    typed = [given(args, d) for d in dests if given(args, d)]
    if typed:
        raise ValueError(f"{'/'.join(typed)} {'applies' if len(typed) == 1 else 'apply'} {why}")


def conflict(args, a: str, b: str) -> None:
    """``ValueError`` if both ``a`` and ``b`` were typed."""
    if given(args, a) and given(args, b):
        raise ValueError(f"{given(args, a)} and {given(args, b)} exclude each other")


def finite_float(text: str) -> float:
    """argparse ``type``: a finite number (``inf``, ``nan`` and overflowing literals are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def check_int_flag(flag: str, value: int, low: int, high: int, why: str = "") -> int:
    if not low <= value <= high:
        raise ValueError(f"{flag} must be an integer in [{low}, {high}]{why}, got {value}")
    return value


def check_sizes(args, *, mc_samples: int | None = None) -> None:
    """Refuse sizes the machine cannot do in reasonable time or memory, with the limit in the message."""
    if hasattr(args, "agents"):
        check_int_flag(given(args, "agents") or "--agents", args.agents, 3, MAX_AGENTS)
    if hasattr(args, "items"):
        check_int_flag(given(args, "items") or "--items", args.items, 2, MAX_ITEMS)
    if mc_samples is not None:
        draws = mc_samples * args.agents * (args.items * (args.items - 1) // 2)
        if draws > MAX_MC_DRAWS:
            raise ValueError(f"--samples {mc_samples} with --agents {args.agents} and --items {args.items} would "
                             f"simulate {draws:.3g} reports, more than the limit {MAX_MC_DRAWS:.0e} (minutes of "
                             "work); use fewer --samples")


def check_out_dir(flag: str, path: str) -> str:
    """An output directory: an existing writable directory, or a creatable one. Nothing is created here."""
    path = os.fspath(path)
    if not path:
        raise ValueError(f"{flag} must be a directory path, got ''")
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise ValueError(f"{flag} must be a directory, but {path!r} is a file")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"{flag} {path!r} is not writable")
        return path
    parent = _existing_ancestor(path)
    if not os.path.isdir(parent):
        raise ValueError(f"{flag} {path!r} cannot be created: {parent!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path!r} cannot be created: {parent!r} is not writable")
    return path


def check_out_file(flag: str, path: str, suffixes=None) -> str:
    """An output file: its directory exists and is writable, it is not a directory, its suffix is known."""
    path = os.fspath(path)
    if not path or os.path.isdir(path):
        raise ValueError(f"{flag} must be a file path, got the directory {path!r}")
    if suffixes is not None:
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext not in suffixes:
            raise ValueError(f"{flag} must end in one of {', '.join('.' + s for s in suffixes)}, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{flag} {path!r}: the directory {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"{flag} {path!r} is not writable")
    return path


def _existing_ancestor(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def finite_or_error(value, what: str, hint: str = "") -> float:
    """``value`` if finite, else ``ValueError``: a result is never printed as ``inf`` or ``nan``."""
    if not math.isfinite(value):
        raise ValueError(f"{what} is not finite ({value}): it overflows double precision"
                         + (f"; {hint}" if hint else ""))
    return value


def json_clean(o):
    """JSON-ready copy: non-finite floats become ``null`` (JSON has no inf/nan), numpy values plain Python."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: json_clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_clean(v) for v in o]
    if hasattr(o, "tolist"):          # numpy arrays and scalars
        return json_clean(o.tolist())
    return o


def dumps(obj) -> str:
    return json.dumps(json_clean(obj), allow_nan=False)


def _one_line(message) -> str:
    return "; ".join(s.strip() for s in str(message).splitlines() if s.strip())


def _flag_message(message: str, parser) -> str:
    """Rewrite an API message that starts with a keyword (``n_agents must ...``) to name its flag."""
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?= (?:must|should|needs|is required|is not|cannot)\b)", message)
    if m:
        flag = KEYWORD_FLAGS.get(m.group(1)) or "--" + m.group(1).replace("_", "-")
        if parser is None or any(flag in a.option_strings for a in parser._actions):
            return flag + message[m.end():]
    return message


def _subparser(parser, command):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command)
    return None


def run(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parse, dispatch to ``args.func``; bad input -> one line on stderr and exit status 2."""
    args = parser.parse_args(argv)
    command = getattr(args, "command", None)
    prefix = f"{parser.prog} {command}" if command else parser.prog
    sub = _subparser(parser, command) if command else None
    try:
        return int(args.func(args) or 0)
    except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError) as exc:
        sys.stderr.write(f"{prefix}: error: {_flag_message(_one_line(exc), sub)}\n")
    except MemoryError:
        sys.stderr.write(f"{prefix}: error: out of memory; use smaller sizes (--agents, --items, --samples)\n")
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):       # e.g. piped into `head`: not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        where = f" {exc.filename!r}" if exc.filename else ""
        sys.stderr.write(f"{prefix}: error: cannot use{where}: {exc.strerror or _one_line(exc)}\n")
    except KeyboardInterrupt:
        sys.stderr.write(f"{prefix}: interrupted\n")
        return 130
    return 2


def prog_name(module: str, script: str) -> str:
    """``script`` when run as the console script, else ``python -m module``."""
    base = os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "")
    return script if base in (script, script + ".exe") else f"python -m {module}"
