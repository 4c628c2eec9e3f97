"""The engines behind ``tcpspec check --engine``, and how their verdicts are held against each other."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from checks.bmc import bmc, supported
from checks.induction import prove
from checks.properties import EXHAUSTED, HOLDS_TO_DEPTH, PROVED, UNKNOWN, VIOLATED, Property, Result
from checks.reachset import ReachError, prove_reach
from checks.report import Run
from checks.symbolic import Relation
from checks.symstate import Bounds
from spec.config import Config
from spec.rules import Rule

ENGINES = ("explicit", "bmc", "smt", "spin", "all")
#: What strengthens induction in the smt engine: the facts, the reachable states, or the facts first.
INVARIANTS = ("facts", "reach", "both")
DEFAULT_DEPTH = 10
DEFAULT_PROVE_SECONDS = 120.0


def run_bmc(
    config: Config,
    wanted: Sequence[Property],
    depth: int,
    slots: int | None = None,
    rules: tuple[Rule, ...] | None = None,
    symbolic_iss: bool = False,
    relation: Relation | None = None,
) -> Run:
    """Bounded model checking of the safety properties among ``wanted``, as a :class:`Run`.

    ``relation``, if given, is the one to unroll (its bounds, rules and ISS mode); else one is compiled.
    """
    bounds = relation.bounds if relation else Bounds.for_config(config, slots)
    rel = relation or Relation(config, bounds, rules=rules, symbolic_iss=symbolic_iss)
    done = bmc(config, supported(wanted), depth, relation=rel)
    iss = "ISS: any 32-bit value, " if rel.symbolic_iss else ""
    search = (
        f"bmc to depth {done.depth} of {depth}, {iss}{done.branches} branches per step, slots: {bounds.describe()}; "
        f"compiled in {done.compile_seconds:.2f} s, {done.seconds:.2f} s in all"
    )
    if done.overflow_at is not None:
        search += f" -- INCOMPLETE: the slots could overflow at depth {done.overflow_at} (raise --slots)"
    stats = {"states": None, "transitions": None, "depth": done.depth}
    return Run(config, done.machine, done.results, "bmc", done.seconds, done.complete, search, stats)


def run_smt(
    config: Config,
    wanted: Sequence[Property],
    depth: int,
    slots: int | None = None,
    rules: tuple[Rule, ...] | None = None,
    prove_seconds: float = DEFAULT_PROVE_SECONDS,
    symbolic_iss: bool = False,
    invariant: str = "both",
) -> Run:
    """Z3 both ways: bounded model checking to ``depth``, then induction for what BMC did not violate.

    A property is PROVED when induction proves it, VIOLATED when BMC finds a counterexample, and
    otherwise keeps BMC's bounded verdict, with the reason induction gave none.  With
    ``symbolic_iss`` both run on the relation where every ISS is any 32-bit value.  ``invariant`` (one
    of :data:`INVARIANTS`) says what strengthens the induction: the facts of :mod:`checks.invariants`
    (Houdini, up to ``prove_seconds``), the reachable states (:mod:`checks.reachset`), or the facts and
    then the reachable states for what the facts left unproved.
    """
    bounds = Bounds.for_config(config, slots)
    relation = Relation(config, bounds, rules=rules, symbolic_iss=symbolic_iss)
    bounded = run_bmc(config, wanted, depth, relation=relation)
    open_props = [r.prop for r in bounded.results if r.verdict != VIOLATED]
    proved: dict[Property, Result] = {}
    why: dict[Property, list[str]] = {p: [] for p in open_props}  # each attempt's reason for no proof
    notes: list[str] = []
    seconds = bounded.seconds
    if open_props and invariant != "reach":
        proof = prove(config, open_props, relation=relation, seconds=prove_seconds)
        notes.append(
            f"induction: {len(proof.kept)} inductive facts after {proof.queries} queries, {proof.seconds:.2f} s"
        )
        seconds += proof.seconds
        _gather(proof.results, "induction", proved, why)
    left = [p for p in open_props if p not in proved]
    # Every ISS is more than the explicit engine lists: with both, the facts alone try.
    if left and (invariant == "reach" or (invariant == "both" and not symbolic_iss)):
        start = time.perf_counter()
        reach, note = _prove_reach(relation, left, prove_seconds)
        notes.append(note)
        seconds += time.perf_counter() - start
        _gather(reach, "reachable states", proved, why)
    results = []
    for r in bounded.results:
        if r.prop in proved:
            results.append(proved[r.prop])
        elif why.get(r.prop):
            results.append(Result(r.prop, r.verdict, "; ".join([r.detail, *why[r.prop]]), r.counterexample))
        else:
            results.append(r)
    search = "; ".join([bounded.search, *notes])
    return Run(config, bounded.machine, results, "smt", seconds, bounded.complete, search, bounded.stats)


def _gather(
    results: list[Result], attempt: str, proved: dict[Property, Result], why: dict[Property, list[str]]
) -> None:
    """File each result of one attempt at a proof: PROVED, or the first line of its reason."""
    for r in results:
        if r.verdict == PROVED:
            proved[r.prop] = r
        else:
            why[r.prop].append(f"{attempt}: {r.detail.splitlines()[0] if r.detail else 'no proof'}")


def _prove_reach(rel: Relation, props: list[Property], seconds: float) -> tuple[list[Result], str]:
    """Induction with the reachable states as the invariant; the results and a note for the run's search line."""
    if rel.symbolic_iss:
        why = "NOT CHECKED with any ISS: the explicit engine lists the states of the configuration's ISS choices"
        return [Result(p, UNKNOWN, why) for p in props], "reachable states: " + why
    try:
        proof = prove_reach(rel, props, seconds=seconds)
    except ReachError as err:
        return [Result(p, UNKNOWN, f"NOT CHECKED: {err}") for p in props], f"reachable states: NOT CHECKED, {err}"
    verdict = "inductive" if proof.inductive else "NOT inductive"
    note = (
        f"reachable states: {proof.states:,} in {proof.parts} parts (diagrams of {proof.nodes:,} nodes), {verdict}, "
        f"{proof.queries} queries, {proof.seconds:.2f} s"
    )
    return proof.results, note


def _length(result: Result) -> int:
    assert result.counterexample is not None
    return len(result.counterexample.path)


def _bound(result: Result) -> int | None:
    """The depth up to which a non-violated verdict covers every path (None: all of them)."""
    if result.verdict in (EXHAUSTED, PROVED):
        return None
    if result.verdict.startswith(HOLDS_TO_DEPTH):
        return int(re.match(r"\d+", result.detail).group(0))  # type: ignore[union-attr]
    return -1  # UNKNOWN and the like cover nothing


def disagreements(first: Run, second: Run) -> list[str]:
    """Where two runs of the same configuration contradict each other, property by property.

    Both violated: the shortest counterexamples must be equally long (not for liveness: a lasso is
    the first one an engine's search meets, SPIN's nested depth-first search or the explicit engine's
    components, and neither is the shortest of all).  One violated at length n:
    the other must not claim the property for every path of length n (EXHAUSTED, or HOLDS TO
    DEPTH k with k >= n).
    """
    out = []
    counts = (first.stats.get("states"), second.stats.get("states"))
    if first.complete and second.complete and None not in counts and counts[0] != counts[1]:
        out.append(f"{first.engine} counts {counts[0]:,} reachable states, {second.engine} {counts[1]:,}")
    theirs = {r.prop: r for r in second.results}
    for mine in first.results:
        other = theirs.get(mine.prop)
        if other is None:
            continue
        name = mine.prop.name
        if mine.verdict == VIOLATED and other.verdict == VIOLATED:
            if mine.prop.kind != "liveness" and _length(mine) != _length(other):
                steps = f"{_length(mine)} steps, {second.engine} in {_length(other)}"
                out.append(f"{name}: {first.engine} found a violation in {steps}")
            continue
        for a, b in ((mine, other), (other, mine)):
            if a.verdict != VIOLATED or b.verdict == VIOLATED:
                continue
            bound = _bound(b)
            engine_a = first.engine if a is mine else second.engine
            engine_b = second.engine if a is mine else first.engine
            if bound is None or bound >= _length(a):
                out.append(
                    f"{name}: {engine_a} found a violation in {_length(a)} steps, {engine_b} says {b.verdict_text}"
                )
    return out
