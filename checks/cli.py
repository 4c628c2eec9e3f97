"""The ``tcpspec`` command.

Exit codes: 0 every property holds (explicit: in every reachable state; bmc: on
every path up to the depth asked for; smt: proved, or else on every path up to
the depth), 1 a property is violated (its trace is printed) or two engines
disagree, 2 bad input (unknown configuration or property, malformed file,
impossible bound), 3 a limit stopped the search before it was complete.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from checks.derive import DEFAULT_UP_TO, Attempt, derivation_json, derivation_text, derive_time_wait
from checks.engines import DEFAULT_DEPTH, DEFAULT_PROVE_SECONDS, ENGINES, disagreements, run_bmc, run_smt
from checks.explicit import Exploration
from checks.properties import PROPERTIES, VIOLATED, Limits, Property, check, property_named
from checks.report import Run, junit_xml, runs_json, summary, violations_text, write_atomically
from spec.config import Config, ConfigError, load_config
from spec.presets import preset, presets

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input from the user: printed as ``tcpspec: error: ...``, exit code 2."""


def resolve_config(name: str) -> Config:
    """A preset name, or a path to a TOML file."""
    if name.endswith(".toml") or "/" in name or Path(name).is_file():
        return load_config(name)
    return preset(name)


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="tcpspec",
        description="A model-checked specification of TCP connection management (RFC 9293).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chk = sub.add_parser("check", help="explore a configuration and check the properties")
    chk.add_argument(
        "--config",
        "-c",
        action="append",
        metavar="NAME|FILE",
        help="a preset name or a TOML file (repeatable; default: every preset)",
    )
    chk.add_argument(
        "--property", "-p", action="append", metavar="NAME", help="check only this property (repeatable; default: all)"
    )
    chk.add_argument(
        "--engine",
        default="explicit",
        choices=list(ENGINES),
        help="explicit: breadth-first search of every state; bmc: bounded model checking with Z3 of the "
        "safety properties to --depth; smt: bmc, then proofs by induction (PROVED); all: explicit and smt, "
        "failing if they disagree (default: explicit)",
    )
    chk.add_argument(
        "--depth", type=int, metavar="K", help=f"bmc: check paths of up to K steps (default: {DEFAULT_DEPTH})"
    )
    chk.add_argument(
        "--symbolic-iss",
        action="store_true",
        help="bmc, smt: each incarnation's ISS is any 32-bit value instead of the configuration's choices",
    )
    chk.add_argument(
        "--slots",
        type=int,
        metavar="N",
        help="bmc, smt: segments per channel in the symbolic state when the configuration sets no capacity "
        "(default: 4)",
    )
    chk.add_argument(
        "--prove-seconds",
        type=float,
        metavar="S",
        help=f"smt: give induction up to S seconds per configuration (default: {DEFAULT_PROVE_SECONDS:g})",
    )
    chk.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    chk.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML to FILE")
    chk.add_argument("--max-states", type=int, metavar="N", help="explicit: stop after N states (verdicts then say so)")
    chk.add_argument("--max-seconds", type=float, metavar="S", help="explicit: stop after S seconds")
    chk.add_argument("--progress", action="store_true", help="show progress on stderr even when not a terminal")
    der = sub.add_parser(
        "derive",
        help="derive a protocol constant from the spec instead of assuming it",
        description="time-wait: check no-old-duplicates with TIME-WAIT = 0, 1, 2, ... ticks until it holds in every "
        "reachable state; print the smallest such TIME-WAIT in MSL, the shortest counterexample just below it, and "
        "the same schedule at the bound.",
    )
    der.add_argument("constant", choices=["time-wait"], help="what to derive")
    der.add_argument(
        "--config",
        "-c",
        default="incarnations",
        metavar="NAME|FILE",
        help="a timed configuration with two incarnations (default: incarnations)",
    )
    der.add_argument(
        "--up-to",
        type=int,
        default=DEFAULT_UP_TO,
        metavar="N",
        help=f"try TIME-WAIT up to N MSL (default: {DEFAULT_UP_TO})",
    )
    der.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    der.add_argument("--max-states", type=int, metavar="N", help="stop each search after N states")
    der.add_argument("--max-seconds", type=float, metavar="S", help="stop each search after S seconds")
    lst = sub.add_parser("list", help="list the presets, then the properties")
    lst.add_argument("--verbose", "-v", action="store_true", help="also print each preset's bounds")
    return parser


def _progress_printer(enabled: bool):  # type: ignore[no-untyped-def]
    def show(ex: Exploration, done: bool) -> None:
        if not enabled:
            return
        rate = len(ex.states) / ex.seconds if ex.seconds > 0 else 0
        end = "\n" if done else ""
        print(
            f"\r  {ex.config.name}: {len(ex.states):,} states, depth {ex.max_depth}, {rate:,.0f} states/s   ",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return show


def cmd_list(args: argparse.Namespace) -> int:
    configs = presets()
    width = max(len(c.name) for c in configs)
    for c in configs:
        print(f"{c.name:<{width}}  {c.description}")
        if args.verbose:
            print(f"{'':<{width}}  bounds: {c.bounds()}")
    print()
    pwidth = max(len(p.name) for p in PROPERTIES)
    for p in PROPERTIES:
        print(f"{p.name:<{pwidth}}  {p.kind:<11}  {p.statement}")
    return EXIT_OK


def _limits(args: argparse.Namespace) -> Limits:
    if args.max_states is not None and args.max_states < 1:
        raise UsageError(f"--max-states must be at least 1, not {args.max_states}")
    if args.max_seconds is not None and args.max_seconds <= 0:
        raise UsageError(f"--max-seconds must be positive, not {args.max_seconds}")
    return Limits(max_states=args.max_states, max_seconds=args.max_seconds)


def cmd_derive(args: argparse.Namespace) -> int:
    limits = _limits(args)
    config = resolve_config(args.config)
    show = sys.stderr.isatty() and not args.json

    def progress(attempt: Attempt) -> None:
        if show:
            print(f"  TIME-WAIT {attempt.ticks}: {attempt.result.verdict}", file=sys.stderr, flush=True)

    derivation = derive_time_wait(config, args.up_to, limits, progress)
    if args.json:
        sys.stdout.write(json.dumps(derivation_json(derivation), indent=2) + "\n")
    else:
        sys.stdout.write(derivation_text(derivation))
    if derivation.bound is not None:
        return EXIT_OK
    if derivation.attempts[-1].result.verdict == VIOLATED:
        return EXIT_VIOLATED
    return EXIT_INCOMPLETE


def cmd_check(args: argparse.Namespace) -> int:
    limits = _limits(args)
    configs = [resolve_config(name) for name in args.config] if args.config else list(presets())
    wanted: list[Property] | None = None
    if args.property:
        try:
            wanted = [property_named(n) for n in args.property]
        except ValueError as err:
            raise UsageError(str(err)) from None
    depth = DEFAULT_DEPTH if args.depth is None else args.depth
    if depth < 0 or depth > 1000:
        raise UsageError(f"--depth must be between 0 and 1000, not {depth}")
    if args.slots is not None and not 1 <= args.slots <= 64:
        raise UsageError(f"--slots must be between 1 and 64, not {args.slots}")
    if args.engine == "explicit" and (args.depth is not None or args.slots is not None or args.symbolic_iss):
        raise UsageError("--depth, --slots and --symbolic-iss are for --engine bmc, smt or all")
    if args.prove_seconds is not None and args.engine not in ("smt", "all"):
        raise UsageError("--prove-seconds limits induction: use it with --engine smt or all")
    if args.prove_seconds is not None and not 0 < args.prove_seconds <= 86400:
        raise UsageError(f"--prove-seconds must be positive (at most 86400), not {args.prove_seconds}")
    if args.engine in ("bmc", "smt") and (args.max_states is not None or args.max_seconds is not None):
        raise UsageError("--max-states and --max-seconds limit the explicit engine; bmc is bounded by --depth")
    if args.engine == "all" and args.symbolic_iss:
        raise UsageError("--symbolic-iss checks more than the explicit engine can: use it with --engine bmc or smt")
    show_progress = args.progress or (sys.stderr.isatty() and not args.json)
    runs: list[Run] = []
    disagree: list[str] = []
    for config in configs:
        mine: list[Run] = []
        if args.engine in ("explicit", "all"):
            ex, results = check(config, wanted, limits, _progress_printer(show_progress))
            mine.append(Run.explicit(ex, results))
        if args.engine == "bmc":
            mine.append(run_bmc(config, wanted or list(PROPERTIES), depth, args.slots, symbolic_iss=args.symbolic_iss))
        if args.engine in ("smt", "all"):
            budget = DEFAULT_PROVE_SECONDS if args.prove_seconds is None else args.prove_seconds
            mine.append(
                run_smt(
                    config,
                    wanted or list(PROPERTIES),
                    depth,
                    args.slots,
                    prove_seconds=budget,
                    symbolic_iss=args.symbolic_iss,
                )
            )
        if len(mine) == 2:
            disagree += [f"{config.name}: {d}" for d in disagreements(mine[0], mine[1])]
        for run in mine:
            if not args.json:
                print(summary(run), end="")
                print(violations_text(run), end="")
                print()
        runs += mine
    if disagree and not args.json:
        print("ENGINES DISAGREE:")
        for d in disagree:
            print(f"  {d}")
    if args.json:
        single = bool(args.config) and len(runs) == 1
        sys.stdout.write(runs_json(runs, single=single, disagreements=disagree if args.engine == "all" else None))
    if args.junit:
        write_atomically(args.junit, junit_xml(runs))
    if disagree or any(r.violated for r in runs):
        return EXIT_VIOLATED
    if any(r.incomplete for r in runs):
        return EXIT_INCOMPLETE
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "derive":
            return cmd_derive(args)
        return cmd_check(args)
    except (UsageError, ConfigError) as err:
        print(f"tcpspec: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
