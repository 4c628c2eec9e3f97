"""Bounded model checking with Z3: the relation of :mod:`checks.symbolic` unrolled depth by depth.

For depth d = 0, 1, ..., K the solver holds the initial state and d steps of
the relation, and is asked -- among the paths whose states fit the bounded
slots -- whether any property still open is violated at depth d (then which
ones).  The first depth that answers yes gives a shortest counterexample -- the same length as
breadth-first search finds.  The model is decoded into concrete worlds and
*replayed on the explicit engine* (:class:`spec.machine.Machine`), which both
labels the steps for printing and checks that the two engines agree: a
counterexample the explicit engine cannot replay is reported as an engine
error, never as a verdict.

A property without a violation up to K HOLDS TO DEPTH K -- a bounded result,
never a proof.  At the end one more question asks whether some path overflows
the slots; if one does at depth d, the verdicts claim no more than depth d - 1
and say why (a violation already found on a fitting path stays a real one).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import z3

from checks.properties import (
    GRACEFUL_CLOSE,
    HANDSHAKE_SYNC,
    HOLDS_TO_DEPTH,
    NO_DEADLOCK,
    ONE_CONNECTION_PER_OPEN,
    STREAM_INTEGRITY,
    VIOLATED,
    ConformanceObserver,
    Counterexample,
    OldDuplicateObserver,
    Property,
    Result,
    check_graceful_close,
    check_handshake_sync,
    check_one_connection_per_open,
    check_stream_integrity,
    proper_final,
    stuck_text,
)
from checks.symbolic import Frame, Relation
from checks.symprops import SYMBOLIC, overflow, rules_problem
from checks.symstate import Bounds, model_value
from spec.config import Config
from spec.machine import AmbiguousRules, IncompleteRules, Label, Machine, Transition, World
from spec.rules import Rule
from spec.states import CLOSED, LISTEN


class EngineDisagreement(RuntimeError):
    """The symbolic engine found a path the explicit engine does not take: a bug in one of them."""


@dataclass
class BmcRun:
    """What bounded model checking did for one configuration."""

    config: Config
    machine: Machine
    bounds: Bounds
    depth: int  # the deepest depth fully checked
    max_depth: int  # the depth asked for
    results: list[Result]
    seconds: float
    compile_seconds: float
    branches: int
    overflow_at: int | None = None  # the depth at which the slots could overflow, if any

    @property
    def complete(self) -> bool:
        """BMC never completes a proof; this says whether it reached the depth asked for."""
        return self.overflow_at is None and self.depth == self.max_depth


STATE_CHECKS: dict[Property, Callable[[World, Config], str | None]] = {
    HANDSHAKE_SYNC: check_handshake_sync,
    STREAM_INTEGRITY: check_stream_integrity,
    GRACEFUL_CLOSE: check_graceful_close,
    ONE_CONNECTION_PER_OPEN: check_one_connection_per_open,
}


def supported(props: Sequence[Property]) -> list[Property]:
    """The properties that the symbolic engines check (the safety ones)."""
    return [p for p in props if p in SYMBOLIC]


def bmc(
    config: Config,
    wanted: Sequence[Property],
    depth: int,
    *,
    rules: tuple[Rule, ...] | None = None,
    bounds: Bounds | None = None,
    relation: Relation | None = None,
    symbolic_iss: bool = False,
) -> BmcRun:
    """Check each wanted safety property of ``config`` up to ``depth`` steps.

    With ``symbolic_iss`` each incarnation's ISS is any 32-bit value, not one of the configuration's.
    """
    start = time.perf_counter()
    rel = relation or Relation(config, bounds, rules=rules, symbolic_iss=symbolic_iss)
    compiled = rel.compile_seconds
    if relation is not None:
        start -= compiled  # compiled by the caller for this run: its time counts here
    props = supported(wanted)
    violation = {p: SYMBOLIC[p][0](rel) for p in props}
    where = {p: SYMBOLIC[p][1] for p in props}
    too_big = overflow(rel)
    stuck = rules_problem(rel)
    frames: list[Frame] = [rel.frame(0)]
    # The incremental bit-blasting solver for QF_BV, driven by assumption literals rather than
    # push/pop (which would send z3 to its slower general-purpose core): measured 10-50x faster.
    solver = z3.SolverFor("QF_BV")
    solver.add(rel.initial(frames[0]))
    results: dict[Property, Result] = {}
    overflow_at: int | None = None
    reached = -1
    # Paths are searched among those whose state fits the slots (so every trace found is real);
    # whether some path overflows is asked once at the end, without this assumption.
    fits = z3.Bool("slots-fit")
    for d in range(depth + 1):
        f = frames[d]
        nxt = rel.frame(d + 1)
        step = rel.step(f, nxt)
        solver.add(z3.Implies(fits, z3.Not(rel.on_frame(too_big, f))))
        open_props = [p for p in props if p not in results]
        anything = z3.Or(*[_at_depth(rel, violation[p], where[p], f, step) for p in open_props])
        if _check(solver, f"any@{d}", anything, fits):
            for p in open_props:
                if _check(solver, f"{p.name}@{d}", _at_depth(rel, violation[p], where[p], f, step), fits):
                    n = d + 1 if where[p] == "transition" else d
                    model = solver.model()
                    worlds = [g.world.to_world(model_value(model), config.reorder) for g in [*frames, nxt][: n + 1]]
                    results[p] = counterexample_of(rel.machine, p, worlds, where[p] == "transition", rel.symbolic_iss)
        reached = d
        if len(results) == len(props) or d == depth:
            break
        # The explicit engine does not expand a state where the rules are ambiguous or incomplete.
        solver.add(z3.Not(rel.on_frame(stuck, f)))
        solver.add(step)
        frames.append(nxt)
    if _check(solver, "overflow", z3.Or(*[rel.on_frame(too_big, g) for g in frames[: reached + 1]])):
        overflow_at = next(
            d for d in range(reached + 1) if _check(solver, f"overflow@{d}", rel.on_frame(too_big, frames[d]))
        )
        reached = min(reached, overflow_at - 1)
    out = []
    for p in props:
        if p in results:
            out.append(results[p])
        else:
            note = f"{reached}" + (
                f" (the slots could overflow at depth {overflow_at})" if overflow_at is not None else ""
            )
            out.append(Result(p, HOLDS_TO_DEPTH, note))
    return BmcRun(
        config,
        rel.machine,
        rel.bounds,
        reached,
        depth,
        out,
        time.perf_counter() - start,
        compiled,
        len(rel.branches),
        overflow_at,
    )


def _at_depth(rel: Relation, violation: z3.BoolRef, where: str, f: Frame, step: z3.BoolRef) -> z3.BoolRef:
    """The violation at frame ``f``; for a transition property, on the step leaving it."""
    at = rel.on_frame(violation, f)
    return z3.And(at, step) if where == "transition" else at


def _check(solver: z3.Solver, name: str, condition: z3.BoolRef, *assuming: z3.BoolRef) -> bool:
    """Whether ``condition`` can hold with what the solver has, asked under a fresh assumption."""
    guard = z3.Bool(f"query:{name}")
    solver.add(z3.Implies(guard, condition))
    answer = solver.check(guard, *assuming)
    if answer == z3.unknown:
        raise RuntimeError(f"z3 answered unknown: {solver.reason_unknown()}")
    return bool(answer == z3.sat)


def replay(machine: Machine, worlds: Sequence[World]) -> list[Transition]:
    """The explicit engine's transitions along ``worlds``; EngineDisagreement if one is missing."""
    out = []
    for i, (w, v) in enumerate(pairwise(worlds)):
        found = [t for t in machine.successors(w) if t.target == v]
        if not found:
            raise EngineDisagreement(f"step {i + 1}: the explicit engine has no transition from {w} to {v}")
        out.append(found[0])
    return out


def chosen_iss(config: Config, worlds: Sequence[World]) -> Config:
    """``config`` with, for each incarnation of each endpoint, the one ISS it selects along ``worlds``."""
    sides = []
    for side in (0, 1):
        picked: dict[int, int] = {}
        for w in worlds:
            ep = w.endpoint(side)
            if ep.state not in (CLOSED, LISTEN):
                picked.setdefault(ep.inc, ep.iss)
        ep_config = config.endpoint(side)
        top = max([len(ep_config.iss), *picked])
        table = tuple((picked[k],) if k in picked else ep_config.iss_choices(k) for k in range(1, top + 1))
        sides.append(dataclasses.replace(ep_config, iss=table))
    return dataclasses.replace(config, a=sides[0], b=sides[1])


def counterexample_of(
    machine: Machine, prop: Property, worlds: list[World], transition: bool, symbolic: bool
) -> Result:
    """A replayed counterexample, with the explicit engine's own message for the violation.

    With symbolic ISS the replay runs under the ISS values Z3 chose, recorded with the trace.
    """
    replay_config = chosen_iss(machine.config, worlds) if symbolic else None
    if replay_config is not None:
        machine = Machine(replay_config, machine.rules)
    steps = replay(machine, worlds)
    path: list[tuple[int, Label]] = [(i + 1, t.label) for i, t in enumerate(steps)]
    last = worlds[-1]
    message: str | None = None
    if prop in STATE_CHECKS:
        message = STATE_CHECKS[prop](last, machine.config)
    elif prop is NO_DEADLOCK:
        try:
            stuck = not machine.successors(last) and not proper_final(last, machine.config)
        except (AmbiguousRules, IncompleteRules):
            stuck = False
        message = stuck_text(last, machine.config) if stuck else None
    elif transition:
        observer: ConformanceObserver | OldDuplicateObserver
        observer = ConformanceObserver() if prop.name == "rfc-conformance" else OldDuplicateObserver()
        observer.on_transition(len(worlds) - 2, worlds[-2], steps[-1], len(worlds) - 1)
        message = observer.violation[3] if observer.violation else None
    else:
        try:
            machine.successors(last)
        except (AmbiguousRules, IncompleteRules) as err:
            message = str(err)
    if message is None:
        raise EngineDisagreement(f"{prop.name}: the explicit engine finds no violation at the end of the BMC trace")
    return Result(prop, VIOLATED, "", Counterexample(path, [], message=message, config=replay_config))
