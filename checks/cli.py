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
import time
from collections.abc import Sequence
from pathlib import Path

from checks import diagrams, promela
from checks.bmc import EngineDisagreement, supported
from checks.capture import CaptureError, read_capture, read_connections
from checks.catalogue import (
    LANGUAGES,
    Explained,
    NotViolated,
    case_named,
    cases_of,
    explain,
    generic_case,
    run_case,
)
from checks.claims import check_claim, claims, verdicts_text
from checks.derive import DEFAULT_UP_TO, Attempt, derivation_json, derivation_text, derive_time_wait
from checks.derive_smt import (
    DEFAULT_MSL,
    Retiming,
    derivation_smt_json,
    derivation_smt_text,
    derive_time_wait_smt,
    parse_msl_range,
)
from checks.engines import (
    DEFAULT_DEPTH,
    DEFAULT_PROVE_SECONDS,
    ENGINES,
    INVARIANTS,
    disagreements,
    run_bmc,
    run_smt,
)
from checks.explain import case_chart, explained_json, explained_text, variant_text, variants_text
from checks.explicit import Exploration, explore
from checks.learning import LearnError, learn_lemmas
from checks.promela_liveness import generate_liveness
from checks.properties import (
    HOLDS_TO_DEPTH,
    PROPERTIES,
    UNKNOWN,
    VIOLATED,
    Limits,
    Property,
    Result,
    check,
    property_named,
)
from checks.reachgraph import DRAWN_LIMIT, graph_graphml, graph_json, quotient_dot, reachable_dot, violating_states
from checks.record import CaptureUnavailable, kernel, record, recording_named, recordings
from checks.render import svg_from_dot
from checks.replay import (
    ACCEPTED,
    MAX_NODES,
    REJECTED,
    Replay,
    capture_network,
    replay,
    replay_json,
    replay_text,
)
from checks.replay import UNKNOWN as STOPPED
from checks.report import Run, junit_xml, runs_json, summary, violations_text, write_atomically
from checks.scenarios import SEARCH_LIMIT, NoRun, find_run, scenario_named, scenarios
from checks.sequence import (
    Chart,
    chart_dot,
    chart_from_counterexample,
    chart_from_path,
    chart_json,
    chart_mermaid,
    chart_svg,
    chart_text,
)
from checks.spin import BITSTATE_BITS, SPIN_CHECKS, SPIN_SLOTS, STORES, Search, SpinUnavailable, run_spin
from checks.symbolic import Relation
from checks.symstate import Bounds
from spec.config import Config, ConfigError, load_config
from spec.machine import Machine
from spec.presets import large_presets, preset, presets
from spec.rulebook import all_rules
from spec.variants import Variant, variant_named

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3
TRACE_FORMATS = ("text", "json", "dot", "svg", "mermaid")
GRAPH_FORMATS = ("dot", "svg", "json", "graphml")


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
        "safety properties to --depth; smt: bmc, then proofs by induction (PROVED); spin: SPIN searches every "
        "state of the generated Promela model (`tcpspec export promela`); all: explicit, smt and spin, failing if "
        "they disagree (default: explicit)",
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
        help="bmc, smt, spin: segments per channel in the symbolic state when the configuration sets no capacity "
        f"(default: 4; spin: {SPIN_SLOTS}, doubled while they overflow)",
    )
    chk.add_argument(
        "--store",
        choices=list(STORES),
        help="spin: how pan stores the states it has seen: exact (default), collapse (-DCOLLAPSE), or bitstate "
        f"(-DBITSTATE, 2**{BITSTATE_BITS} bits: a partial search, whose safe verdicts are PARTIAL)",
    )
    chk.add_argument(
        "--pan-opt",
        choices=["0", "1", "2"],
        help="spin: gcc's optimization level for pan: 0 (default) compiles fastest; 1 runs about 3x faster, "
        "which pays from a million states",
    )
    chk.add_argument(
        "--prove-seconds",
        type=float,
        metavar="S",
        help=f"smt: give induction up to S seconds per configuration (default: {DEFAULT_PROVE_SECONDS:g})",
    )
    chk.add_argument(
        "--invariant",
        choices=list(INVARIANTS),
        help="smt: what strengthens induction: facts, the invariants of checks/invariants.py (Houdini); reach, the "
        "reachable states the explicit engine lists, as a decision diagram Z3 checks inductive; both (default): "
        "facts, then reach for what they leave unproved",
    )
    chk.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    chk.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML to FILE")
    chk.add_argument("--max-states", type=int, metavar="N", help="explicit: stop after N states (verdicts then say so)")
    chk.add_argument("--max-seconds", type=float, metavar="S", help="explicit: stop after S seconds")
    chk.add_argument("--progress", action="store_true", help="show progress on stderr even when not a terminal")
    chk.add_argument(
        "--variant", metavar="NAME", help="check a broken variant of the rules instead (see `tcpspec explain`)"
    )
    der = sub.add_parser(
        "derive",
        help="derive a protocol constant from the spec instead of assuming it",
        description="time-wait: check no-old-duplicates with TIME-WAIT = 0, 1, 2, ... ticks until it holds in every "
        "reachable state; print the smallest such TIME-WAIT in MSL, the shortest counterexample just below it, and "
        "the same schedule at the bound. With --engine smt, Z3 then retimes that counterexample for every MSL of a "
        "range at once and finds the longest TIME-WAIT at which each MSL still lets an old duplicate in.",
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
    der.add_argument(
        "--engine",
        choices=["explicit", "smt"],
        default="explicit",
        help="explicit: the sweep at the configuration's MSL; smt: also its counterexample retimed by Z3 for every "
        "MSL of --msl at once, MSL and TIME-WAIT symbolic (default: explicit)",
    )
    der.add_argument(
        "--msl",
        default=f"{DEFAULT_MSL.start}..{DEFAULT_MSL.stop - 1}",
        metavar="LOW..HIGH",
        help=f"smt: the MSL values, in ticks (default: {DEFAULT_MSL.start}..{DEFAULT_MSL.stop - 1})",
    )
    der.add_argument(
        "--prove",
        action="store_true",
        help="smt: also prove the bound at the configuration's MSL by Z3, by induction over its reachable states "
        "(minutes)",
    )
    trc = sub.add_parser(
        "trace",
        help="draw a run: a canonical scenario, or the shortest counterexample to a property",
        description="Draw a canonical scenario (see `tcpspec list`), or the shortest counterexample to a property of "
        "a configuration (--config, and --property or the first property violated). Exit codes: 0 a run was drawn, "
        "1 nothing to draw (the property holds), 2 bad input, 3 the search stopped at a limit.",
    )
    trc.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a canonical scenario, e.g. three-way-handshake")
    trc.add_argument("--config", "-c", metavar="NAME|FILE", help="draw a counterexample found in this configuration")
    trc.add_argument(
        "--variant",
        metavar="NAME",
        help="explain a broken variant (or one case of it, e.g. no-time-wait/old-duplicate): its shortest "
        "counterexample where it fails, or with --config in that configuration",
    )
    trc.add_argument("--lang", default="en", choices=LANGUAGES, help="the language of explanations (default: en)")
    trc.add_argument("--property", "-p", metavar="NAME", help="the property whose counterexample to draw")
    trc.add_argument("--format", "-f", default="text", choices=TRACE_FORMATS, help="what to write (default: text)")
    trc.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    trc.add_argument("--max-states", type=int, metavar="N", help="stop the search after N states")
    trc.add_argument("--max-seconds", type=float, metavar="S", help="stop the search after S seconds")
    grp = sub.add_parser(
        "graph",
        help="draw or export a configuration's reachable state graph",
        description="dot and svg draw the graph (initial state filled, final states doubled, violations red), or "
        "with --quotient its quotient by the pair of endpoint states; json and graphml export the whole graph "
        "with networkx's writers.",
    )
    grp.add_argument("--config", "-c", required=True, metavar="NAME|FILE", help="a preset name or a TOML file")
    grp.add_argument("--format", "-f", default="dot", choices=GRAPH_FORMATS, help="what to write (default: dot)")
    grp.add_argument("--quotient", action="store_true", help="draw the quotient by endpoint states (large graphs)")
    grp.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    grp.add_argument("--max-states", type=int, metavar="N", help="refuse configurations with more than N states")
    dia = sub.add_parser(
        "diagrams",
        help="regenerate diagrams/ from the spec, or check that it is up to date",
        description="Write every diagram (state machine, sequence charts, reachable graphs, README) under --out; "
        "with --check, write nothing and exit 1 if a committed file differs from what the spec gives now.",
    )
    dia.add_argument("--out", default="diagrams", metavar="DIR", help="the directory (default: diagrams)")
    dia.add_argument("--check", action="store_true", help="only check that DIR is up to date")
    exp = sub.add_parser(
        "explain",
        help="list the broken variants, or describe one",
        description="Without NAME: the variants, one per line with the name first. With NAME: what the variant "
        "changes and where it fails (`tcpspec trace --variant NAME` shows and explains its counterexample).",
    )
    exp.add_argument("name", nargs="?", metavar="NAME", help="a variant")
    exp.add_argument("--lang", default="en", choices=LANGUAGES, help="the language (default: en)")
    clm = sub.add_parser(
        "claims",
        help="check what textbooks say about the handshakes (and the blog post's misconceptions)",
        description="Each claim is explored in its configurations: states that must be reachable, states that "
        "must occur nowhere, properties that must hold. Exit codes: 0 every claim holds, 1 one fails, 3 a limit "
        "stopped a search.",
    )
    clm.add_argument("--lang", default="en", choices=LANGUAGES, help="the language of the claims (default: en)")
    clm.add_argument("--max-states", type=int, metavar="N", help="stop each search after N states")
    clm.add_argument("--max-seconds", type=float, metavar="S", help="stop each search after S seconds")
    rec = sub.add_parser(
        "record",
        help="record this machine's kernel TCP on loopback (needs root, ip, iptables, tcpdump)",
        description="Run a scenario with real sockets in a network namespace of its own, with tcpdump capturing, "
        "and write the capture as pcap (and, with --text, in the text format too). Without SCENARIO: list them.",
    )
    rec.add_argument("scenario", nargs="?", metavar="SCENARIO", help="what to record (see `tcpspec record`)")
    rec.add_argument("--out", "-o", metavar="FILE", help="the pcap file to write")
    rec.add_argument("--text", metavar="FILE", help="also write the capture in the text format")
    rpl = sub.add_parser(
        "replay",
        help="check a captured connection against the spec (pcap, pcapng or the text trace format)",
        description="Search for a run of the spec that sends exactly the capture's segments, in order; user calls, "
        "timers and the network's losses and reorderings are searched for. Exit codes: 0 ACCEPTED, 1 REJECTED, "
        "2 bad input, 3 the search stopped at --max-nodes. With --all, every connection of the file is replayed, "
        "one line each and a summary: 1 if any is REJECTED, else 3 if any search stopped, else 0.",
    )
    rpl.add_argument(
        "trace",
        metavar="TRACE",
        help="a .pcap, .pcapng or text capture of one TCP connection (or several: --port, --all)",
    )
    rpl.add_argument(
        "--config",
        "-c",
        metavar="NAME|FILE",
        help="the network, faults, timing and TCP options to assume (its scripts are not used; default: a network "
        "that may lose, delay and reorder any segment)",
    )
    rpl.add_argument("--variant", metavar="NAME", help="replay against a broken variant (see `tcpspec explain`)")
    rpl.add_argument("--port", type=int, metavar="N", help="the connection with this port, when a pcap holds several")
    rpl.add_argument(
        "--all",
        action="store_true",
        help="replay every TCP connection of the file, in the order of their first segments, with the same options",
    )
    rpl.add_argument(
        "--at",
        choices=("A", "B"),
        help="the capture was taken at this host, not on the wire: the other side's segments are seen as they "
        "arrive there (default: every segment is seen as it is sent)",
    )
    rpl.add_argument("--json", action="store_true", help="print the result as JSON")
    rpl.add_argument(
        "--old-duplicates",
        type=int,
        default=0,
        metavar="N",
        help="up to N segments may be old duplicates of an earlier incarnation, in the network before the capture",
    )
    rpl.add_argument(
        "--max-nodes", type=int, metavar="N", help=f"stop the search after N nodes (default {MAX_NODES:,})"
    )
    rpl.add_argument(
        "--progress",
        action="store_true",
        help="show the segments matched on stderr even when not a terminal (with --all: of each connection in turn)",
    )
    xpt = sub.add_parser(
        "export",
        help="write a configuration as a model for another tool (promela: SPIN's language)",
        description="promela: the configuration's transition relation, compiled from the rules of spec/, as one "
        "Promela process whose guarded commands are the relation's branches (their C in c_code blocks), with the "
        "safety properties as assertions. `spin -a FILE; gcc -DNOREDUCE -o pan pan.c; ./pan -E` checks it. "
        "With --liveness: the liveness model, the same commands with a monitor for establishes and closes under "
        "weak fairness, checked by `./pan -a` (its head says how to pick the property).",
    )
    xpt.add_argument("format", choices=["promela"], help="the model's language")
    xpt.add_argument("--config", "-c", required=True, metavar="NAME|FILE", help="a preset name or a TOML file")
    xpt.add_argument("--variant", metavar="NAME", help="export a broken variant of the rules instead")
    xpt.add_argument(
        "--slots",
        type=int,
        metavar="N",
        help=f"segments per channel if the configuration sets no capacity ({SPIN_SLOTS})",
    )
    xpt.add_argument(
        "--liveness", action="store_true", help="the liveness model (establishes, closes) instead of the safety model"
    )
    xpt.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    lrn = sub.add_parser(
        "learn",
        help="learn the lemmas a proof by induction needs (smt), guided by the reachable states",
        description="Explore the configuration, keep the invariant candidates that hold in every reachable state, then "
        "ask Z3 for counterexamples to induction: each starts in a state no run reaches, which is generalized to a "
        "cube of field values that no reachable state has; its negation becomes a lemma. Stops when the candidates and "
        "lemmas are inductive together (then `check --engine smt --slots N` proves with them) or the time is up. "
        "Lemmas are written to checks/learned/NAME.txt as they come; a new run resumes from them.",
    )
    lrn.add_argument("--config", "-c", required=True, metavar="NAME|FILE", help="a preset name or a TOML file")
    lrn.add_argument("--slots", type=int, default=8, metavar="N", help="segments per channel (default: 8)")
    lrn.add_argument("--seconds", type=float, default=600, metavar="S", help="stop after S seconds (default: 600)")
    lrn.add_argument("--fresh", action="store_true", help="start from no lemmas instead of the stored ones")
    lst = sub.add_parser("list", help="list the presets, the properties, then the scenarios")
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
    configs = (*presets(), *large_presets())
    width = max(len(c.name) for c in configs)
    for c in configs:
        print(f"{c.name:<{width}}  {c.description}")
        if args.verbose:
            print(f"{'':<{width}}  bounds: {c.bounds()}")
    print()
    pwidth = max(len(p.name) for p in PROPERTIES)
    for p in PROPERTIES:
        print(f"{p.name:<{pwidth}}  {p.kind:<11}  {p.statement}")
    print()
    swidth = max(len(sc.name) for sc in scenarios())
    for sc in scenarios():
        print(f"{sc.name:<{swidth}}  scenario     {sc.shows}")
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
    if args.engine == "smt":
        return _derive_smt(args, config, limits, show)
    if args.prove:
        raise UsageError("--prove proves with Z3: use it with --engine smt")

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


def _derive_smt(args: argparse.Namespace, config: Config, limits: Limits | None, show: bool) -> int:
    msls = parse_msl_range(args.msl)

    def progress(row: Retiming) -> None:
        if show:
            print(f"  MSL {row.msl}: TIME-WAIT {row.time_wait}", file=sys.stderr, flush=True)

    derivation = derive_time_wait_smt(config, msls, limits, args.up_to, progress, prove=args.prove)
    if args.json:
        sys.stdout.write(json.dumps(derivation_smt_json(derivation), indent=2) + "\n")
    else:
        sys.stdout.write(derivation_smt_text(derivation))
    if derivation.rows and all(r.time_wait is not None for r in derivation.rows):
        return EXIT_OK
    if derivation.explicit.attempts[-1].result.verdict == VIOLATED:
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
    if args.invariant is not None and args.engine not in ("smt", "all"):
        raise UsageError("--invariant strengthens induction: use it with --engine smt or all")
    if args.prove_seconds is not None and not 0 < args.prove_seconds <= 86400:
        raise UsageError(f"--prove-seconds must be positive (at most 86400), not {args.prove_seconds}")
    if args.engine in ("bmc", "smt", "spin") and (args.max_states is not None or args.max_seconds is not None):
        raise UsageError(
            "--max-states and --max-seconds limit the explicit engine (bmc is bounded by --depth; spin searches "
            "every state)"
        )
    if args.engine not in ("spin", "all") and (args.store is not None or args.pan_opt is not None):
        raise UsageError("--store and --pan-opt are for --engine spin or all")
    if args.engine == "spin" and (args.depth is not None or args.symbolic_iss):
        raise UsageError("--depth and --symbolic-iss are for --engine bmc or smt: spin searches every state")
    if args.engine == "all" and args.symbolic_iss:
        raise UsageError("--symbolic-iss checks more than the explicit engine can: use it with --engine bmc or smt")
    checkable = list(SPIN_CHECKS) if args.engine == "spin" else supported(list(PROPERTIES))
    unsupported = [p for p in wanted or () if p not in checkable]
    if args.engine in ("bmc", "smt", "spin") and unsupported:
        where = [f"{p.name} ({'explicit or spin' if p in SPIN_CHECKS else 'explicit'})" for p in unsupported]
        raise UsageError(
            f"--engine {args.engine} checks {', '.join(p.name for p in checkable)}; not "
            f"{', '.join(where)}: use that engine, or --engine all"
        )
    if args.engine in ("bmc", "smt", "spin", "all"):
        for c in configs:
            _symbolic_config(c, f"--engine {args.engine}")
    show_progress = args.progress or (sys.stderr.isatty() and not args.json)
    rules = None
    if args.variant:
        variant = _variant(args.variant)
        configs = [variant.config(c) for c in configs]
        rules = variant.rules(all_rules())
    search = Search(args.store or "exact", f"-O{args.pan_opt or 0}")
    runs: list[Run] = []
    disagree: list[str] = []
    for config in configs:
        mine: list[Run] = []
        if args.engine in ("explicit", "all"):
            ex, results = check(config, wanted, limits, _progress_printer(show_progress), rules=rules)
            mine.append(Run.explicit(ex, results))
        if args.engine == "bmc":
            mine.append(
                run_bmc(config, wanted or list(PROPERTIES), depth, args.slots, rules, symbolic_iss=args.symbolic_iss)
            )
        if args.engine in ("smt", "all"):
            budget = DEFAULT_PROVE_SECONDS if args.prove_seconds is None else args.prove_seconds
            mine.append(
                run_smt(
                    config,
                    wanted or list(PROPERTIES),
                    depth,
                    args.slots,
                    rules,
                    prove_seconds=budget,
                    symbolic_iss=args.symbolic_iss,
                    invariant=args.invariant or "both",
                )
            )
        if args.engine in ("spin", "all"):
            try:
                mine.append(run_spin(config, wanted or list(PROPERTIES), rules, args.slots, search))
            except SpinUnavailable as err:
                raise UsageError(str(err)) from None
        for other in mine[1:] if args.engine == "all" else ():
            disagree += [f"{config.name}: {d}" for d in disagreements(mine[0], other)]
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


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            write_atomically(output, text)
        except OSError as err:
            raise UsageError(f"cannot write {output}: {err.strerror}") from None


def _chart_output(chart: Chart, fmt: str) -> str:
    if fmt == "text":
        return (chart.title + "\n" if chart.title else "") + chart_text(chart)
    if fmt == "json":
        return json.dumps(chart_json(chart), indent=2) + "\n"
    if fmt == "dot":
        return chart_dot(chart)
    if fmt == "svg":
        return chart_svg(chart)
    return chart_mermaid(chart)


def cmd_trace(args: argparse.Namespace) -> int:
    limits = _limits(args)
    if args.variant is not None:
        return _trace_variant(args, limits)
    if args.lang != "en":
        raise UsageError("--lang is the language of a variant's explanation: use it with --variant")
    if args.scenario is not None:
        if args.config or args.property:
            raise UsageError("give a SCENARIO, or --config (and --property) for a counterexample, not both")
        try:
            sc = scenario_named(args.scenario)
        except ValueError as err:
            raise UsageError(str(err)) from None
        machine = Machine(sc.config)
        try:
            path = find_run(sc, machine, limits.max_states or SEARCH_LIMIT, limits.max_seconds)
        except NoRun as err:
            print(f"tcpspec: nothing to draw: {err}", file=sys.stderr)
            return EXIT_VIOLATED if err.complete else EXIT_INCOMPLETE
        chart = chart_from_path(machine, path, title=f"{sc.title}: {sc.shows}")
        _emit(_chart_output(chart, args.format), args.output)
        return EXIT_OK
    if not args.config:
        raise UsageError("give a SCENARIO (see tcpspec list), or --config NAME to draw a counterexample")
    config = resolve_config(args.config)
    wanted: list[Property] | None = None
    if args.property:
        try:
            wanted = [property_named(args.property)]
        except ValueError as err:
            raise UsageError(str(err)) from None
    ex, results = check(config, wanted, limits)
    failed = [r for r in results if r.failed and r.counterexample is not None]
    if not failed:
        verdicts = "; ".join(f"{r.prop.name} {r.verdict_text}" for r in results)
        print(f"tcpspec: nothing to draw: no counterexample in {config.name} ({verdicts})", file=sys.stderr)
        return EXIT_VIOLATED if ex.complete else EXIT_INCOMPLETE
    result = failed[0]
    assert result.counterexample is not None
    title = f"{config.name}: {result.prop.name} VIOLATED" + (
        f" -- {result.counterexample.message}" if result.counterexample.message else ""
    )
    chart = chart_from_counterexample(ex.machine, result.counterexample, title)
    _emit(_chart_output(chart, args.format), args.output)
    return EXIT_OK


def _variant(name: str) -> Variant:
    """The variant called ``name``, or the variant of the case called ``name``."""
    try:
        return case_named(name).variant if "/" in name else variant_named(name)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _trace_variant(args: argparse.Namespace, limits: Limits) -> int:
    """``tcpspec trace --variant NAME``: each case of the variant, or the variant in ``--config``."""
    if args.scenario is not None:
        raise UsageError("give a SCENARIO or --variant, not both")
    variant = _variant(args.variant)
    if args.config:
        one, complete = _variant_in(variant, resolve_config(args.config), args.property, limits)
        if one is None:
            return EXIT_VIOLATED if complete else EXIT_INCOMPLETE
        explained = [one]
    else:
        if args.property:
            raise UsageError("a variant's cases name their own property: give --property with --config")
        chosen = [case_named(args.variant)] if "/" in args.variant else cases_of(variant.name)
        try:
            explained = [run_case(c, limits) for c in chosen]
        except NotViolated as err:
            print(f"tcpspec: nothing to draw: {err}", file=sys.stderr)
            return EXIT_INCOMPLETE if err.result.verdict in (HOLDS_TO_DEPTH, UNKNOWN) else EXIT_VIOLATED
    found = explained
    if args.format == "text":
        _emit("\n".join(explained_text(e, args.lang) for e in found), args.output)
    elif args.format == "json":
        docs = [explained_json(e, args.lang) for e in found]
        _emit(
            json.dumps(docs[0] if len(docs) == 1 else {"cases": docs}, indent=2, ensure_ascii=False) + "\n", args.output
        )
    else:
        if len(found) > 1:
            names = ", ".join(e.case.name for e in found)
            raise UsageError(f"{variant.name} fails in {len(found)} cases ({names}): give one to --variant for a chart")
        _emit(_chart_output(case_chart(found[0], args.lang), args.format), args.output)
    return EXIT_OK


def _variant_in(variant: Variant, config: Config, prop: str | None, limits: Limits) -> tuple[Explained | None, bool]:
    """The variant's first (or ``prop``'s) counterexample in ``config``, explained (None if it has none),
    and whether the search was complete."""
    try:
        wanted = [property_named(prop)] if prop else None
    except ValueError as err:
        raise UsageError(str(err)) from None
    ex, results = check(variant.config(config), wanted, limits, rules=variant.rules(all_rules()))
    failed = [r for r in results if r.failed and r.counterexample is not None]
    if not failed:
        verdicts = "; ".join(f"{r.prop.name} {r.verdict_text}" for r in results)
        found = (
            "violates nothing" if ex.complete else f"showed no violation before the search stopped ({ex.stop_reason})"
        )
        print(f"tcpspec: nothing to draw: {variant.name} {found} in {config.name} ({verdicts})", file=sys.stderr)
        return None, ex.complete
    result = failed[0]
    case = generic_case(variant, config, result.prop)
    _, correct = check(config, [result.prop], limits)
    return explain(case, result, correct[0]), True


def cmd_claims(args: argparse.Namespace) -> int:
    verdicts = [check_claim(c, _limits(args)) for c in claims()]
    sys.stdout.write(verdicts_text(verdicts, args.lang))
    if all(v.holds for v in verdicts):
        return EXIT_OK
    return EXIT_INCOMPLETE if any(v.incomplete for v in verdicts) else EXIT_VIOLATED


def cmd_record(args: argparse.Namespace) -> int:
    if args.scenario is None:
        width = max(len(r.name) for r in recordings())
        for r in recordings():
            print(f"{r.name:<{width}}  {r.shows}")
        return EXIT_OK
    try:
        recording_named(args.scenario)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if not args.out:
        raise UsageError("say where to write the capture: --out FILE.pcap")
    try:
        attempts = record(args.scenario, Path(args.out))
    except CaptureUnavailable as err:
        raise UsageError(f"cannot record here: {err}") from None
    except RuntimeError as err:
        print(f"tcpspec: recording failed, nothing written: {err}", file=sys.stderr)
        return EXIT_VIOLATED
    capture = read_capture(Path(args.out))
    if args.text:
        capture.comments = [f"recorded by `tcpspec record {args.scenario}` on {kernel()}"]
        _emit(capture.text(), args.text)
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    print(f"{args.out}: {len(capture.segments)} segments of {args.scenario}{tries}, {kernel()}")
    return EXIT_OK


class _ReplayProgress:
    """Segments matched and the rate, on one line of stderr, at most twice a second."""

    def __init__(self, label: str = "replay") -> None:
        self.label = label
        self.start = time.perf_counter()
        self.shown = self.start
        self.width = 0  # of the line last shown; 0 while none is

    def __call__(self, matched: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.shown < 0.5:
            return
        self.shown = now
        line = f"  {self.label}: {matched:,} of {total:,} segments, {matched / (now - self.start):,.0f} segments/s"
        print(f"\r{line:<{self.width}}", end="", file=sys.stderr, flush=True)
        self.width = len(line)

    def end(self, erase: bool = False) -> None:
        """End the line if one was shown: keep it (a newline), or ``erase`` it so that stdout can go on there."""
        if self.width:
            sys.stderr.write(f"\r{'':<{self.width}}\r" if erase else "\n")
            sys.stderr.flush()
        self.width = 0


def cmd_replay(args: argparse.Namespace) -> int:
    if args.all and args.port is not None:
        raise UsageError("--all and --port exclude each other: --all replays every connection, --port picks one")
    if args.max_nodes is not None and args.max_nodes < 1:
        raise UsageError(f"--max-nodes must be at least 1, not {args.max_nodes}")
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port must be a TCP port (1 to 65535), not {args.port}")
    if not 0 <= args.old_duplicates <= 16:
        raise UsageError(f"--old-duplicates must be between 0 and 16, not {args.old_duplicates}")
    show = args.progress or (sys.stderr.isatty() and not args.json)
    if args.all:
        return _replay_all(args, show)
    capture = read_capture(Path(args.trace), args.port)
    base = resolve_config(args.config) if args.config else capture_network()
    variant = _variant(args.variant) if args.variant else None
    progress = _ReplayProgress() if show else None
    result = replay(capture, base, variant, args.max_nodes or MAX_NODES, args.old_duplicates, progress, args.at)
    if progress:
        progress.end()
    if args.json:
        sys.stdout.write(json.dumps(replay_json(result), indent=2) + "\n")
    else:
        sys.stdout.write(replay_text(result))
    return _replay_exit([result])


def _replay_exit(results: list[Replay]) -> int:
    """1 if any replay is REJECTED, else 3 if any search stopped, else 0."""
    verdicts = {r.verdict for r in results}
    return EXIT_VIOLATED if REJECTED in verdicts else EXIT_OK if verdicts <= {ACCEPTED} else EXIT_INCOMPLETE


def _replay_line(r: Replay, pair_width: int, count_width: int) -> str:
    """One connection of ``replay --all``: its addresses, verdict, segments and seconds, and where it parts."""
    obs = r.capture.segments
    line = f"  {r.capture.pair:<{pair_width}}  {r.verdict:<8}  {len(obs):>{count_width}} segments  {r.seconds:.2f} s"
    if r.verdict == REJECTED:
        k = r.rejected_at or 0
        line += f"  at segment {k + 1}: {obs[k].text()}" if k < len(obs) else "  after the last segment"
        if r.reason:
            line += f" ({r.reason})"
    elif r.verdict != ACCEPTED:
        line += f"  the search stopped: {r.reason}"
    return line


def _replay_all(args: argparse.Namespace, show: bool) -> int:
    """``replay --all``: each connection of the file in turn, a line each as it is done, then a summary."""
    start = time.perf_counter()
    captures = read_connections(Path(args.trace))
    base = resolve_config(args.config) if args.config else capture_network()
    variant = _variant(args.variant) if args.variant else None
    pair_width = max(len(c.pair) for c in captures)
    count_width = max(len(str(len(c.segments))) for c in captures)
    results: list[Replay] = []
    for number, capture in enumerate(captures, 1):
        progress = _ReplayProgress(f"connection {number} of {len(captures)}") if show else None
        result = replay(capture, base, variant, args.max_nodes or MAX_NODES, args.old_duplicates, progress, args.at)
        if progress:
            progress.end(erase=True)
        results.append(result)
        if not args.json:
            print(_replay_line(result, pair_width, count_width), flush=True)
    counts = {v: sum(r.verdict == v for r in results) for v in (ACCEPTED, REJECTED, STOPPED)}
    segments = sum(len(c.segments) for c in captures)
    seconds = time.perf_counter() - start
    if args.json:
        totals = {"connections": len(results), **counts, "segments": segments, "seconds": round(seconds, 3)}
        connections = [{"connection": r.capture.pair, **replay_json(r)} for r in results]
        out = {"capture": args.trace, "connections": connections, "summary": totals}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        verdicts = ", ".join(f"{n} {v}" for v, n in counts.items())
        plural = "" if len(results) == 1 else "s"
        print(f"{len(results)} connection{plural}: {verdicts} ({segments:,} segments, {seconds:.2f} s)")
    return _replay_exit(results)


def cmd_explain(args: argparse.Namespace) -> int:
    if args.name is None:
        sys.stdout.write(variants_text(args.lang))
    else:
        sys.stdout.write(variant_text(_variant(args.name), args.lang))
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    if args.quotient and args.format in ("json", "graphml"):
        raise UsageError("--quotient draws (dot, svg); json and graphml export the whole graph")
    if args.max_states is not None and args.max_states < 1:
        raise UsageError(f"--max-states must be at least 1, not {args.max_states}")
    if args.format in ("json", "graphml") or args.quotient:
        ex = explore(config, max_states=args.max_states)
        results: list[Result] = []
    else:  # every state drawn: explore no further than the largest graph dot lays out readably
        cap = DRAWN_LIMIT + 1 if args.max_states is None else min(args.max_states, DRAWN_LIMIT + 1)
        ex, results = check(config, None, Limits(max_states=cap))
        if len(ex.states) > DRAWN_LIMIT:
            raise UsageError(
                f"{config.name} has more than {DRAWN_LIMIT:,} reachable states, too many to draw one by one: "
                "add --quotient to draw them grouped by endpoint states, or export them with --format json|graphml"
            )
    if not ex.complete:
        print(f"tcpspec: {config.name}: {ex.stop_reason}; nothing written", file=sys.stderr)
        return EXIT_INCOMPLETE
    if args.format == "json":
        text = graph_json(ex)
    elif args.format == "graphml":
        text = graph_graphml(ex)
    else:
        dot = quotient_dot(ex) if args.quotient else reachable_dot(ex, violating_states(results))
        text = dot if args.format == "dot" else svg_from_dot(dot)
    _emit(text, args.output)
    return EXIT_OK


def _symbolic_config(config: Config, what: str) -> None:
    """Refuse what the relation of checks.symbolic cannot encode (exit 2, saying what to use instead)."""
    if not (config.a.one_octet_units and config.b.one_octet_units):
        raise UsageError(
            f"{config.name} gives units of several octets; {what} encodes one-octet units only: use --engine explicit"
        )
    if config.rto_any:
        raise UsageError(
            f'{config.name} has rto = "any"; {what} needs the retransmission timeout in ticks: use --engine explicit'
        )


def cmd_export(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    _symbolic_config(config, "the Promela export")
    if args.slots is not None and not 1 <= args.slots <= 64:
        raise UsageError(f"--slots must be between 1 and 64, not {args.slots}")
    rules = None
    if args.variant:
        variant = _variant(args.variant)
        config = variant.config(config)
        rules = variant.rules(all_rules())
    bounds = Bounds.for_config(config, args.slots or SPIN_SLOTS)
    relation = Relation(config, bounds, rules=rules, per_state=True)
    model = generate_liveness(config, rules, relation) if args.liveness else promela.generate(config, rules, relation)
    _emit(model.text, args.output)
    return EXIT_OK


def cmd_diagrams(args: argparse.Namespace) -> int:
    out = Path(args.out)
    show = sys.stderr.isatty()

    def progress(text: str) -> None:
        if show:
            print(f"  {text}", file=sys.stderr, flush=True)

    items = diagrams.artifacts(progress)
    if args.check:
        problems = diagrams.stale(out, items)
        if problems:
            print(f"{out}/ is out of date ({len(problems)} files); run `make diagrams` and commit the result:")
            for p in problems:
                print(f"  {p}")
            return EXIT_VIOLATED
        print(f"{out}/ is up to date: {len(items)} files")
        return EXIT_OK
    changed = diagrams.write(out, items, progress)
    print(f"{out}/: {len(items)} files, {len(changed)} changed")
    return EXIT_OK


def cmd_learn(args: argparse.Namespace) -> int:
    if not 1 <= args.slots <= 64:
        raise UsageError(f"--slots must be between 1 and 64, not {args.slots}")
    if not args.seconds > 0:
        raise UsageError(f"--seconds must be positive, not {args.seconds:g}")
    config = resolve_config(args.config)

    def report(line: str) -> None:
        print(f"  {line}", flush=True)

    done = learn_lemmas(config, args.slots, seconds=args.seconds, fresh=args.fresh, report=report)
    run = done.run
    where = done.path.relative_to(done.path.parents[2])  # checks/learned/NAME.txt
    print(
        f"{config.name}: {done.states:,} reachable states; {done.candidates - len(done.false_in_reach)} of "
        f"{done.candidates} candidates hold in all of them; {len(run.cubes)} lemmas in {where} "
        f"({run.rounds} {'query' if run.rounds == 1 else 'queries'}, {run.seconds:.0f} s)"
    )
    if run.inductive:
        print(
            f"INDUCTIVE: candidates and lemmas together; prove with `tcpspec check -c {args.config} --engine smt "
            f"--slots {args.slots}`"
        )
        return EXIT_OK
    print("NOT YET INDUCTIVE: the time ran out; run again to go on from the stored lemmas")
    return EXIT_INCOMPLETE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "derive":
            return cmd_derive(args)
        if args.command == "trace":
            return cmd_trace(args)
        if args.command == "explain":
            return cmd_explain(args)
        if args.command == "claims":
            return cmd_claims(args)
        if args.command == "record":
            return cmd_record(args)
        if args.command == "replay":
            return cmd_replay(args)
        if args.command == "graph":
            return cmd_graph(args)
        if args.command == "diagrams":
            return cmd_diagrams(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "learn":
            return cmd_learn(args)
        return cmd_check(args)
    except (UsageError, ConfigError, CaptureError, LearnError) as err:
        print(f"tcpspec: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except EngineDisagreement as err:  # a symbolic engine's trace that the explicit engine cannot follow
        print(f"ENGINES DISAGREE: {err}", file=sys.stderr)
        return EXIT_VIOLATED
    except BrokenPipeError:
        return EXIT_OK


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
