"""TIME-WAIT derived, not assumed: the shortest TIME-WAIT that keeps old duplicates out of a new incarnation.

RFC 9293 §3.6.1 makes the active closer linger in TIME-WAIT for 2*MSL (MUST-13); §3.3.2 gives the
reasons -- to be sure the peer received the ACK of its FIN, and "to avoid new connections being
impacted by delayed segments from previous connections" -- and §3.4.1 adds that TIME-WAIT limits
the rate of connection reuse.  This module does not take 2*MSL as given.  It checks the property
``no-old-duplicates`` on a two-incarnation configuration with TIME-WAIT set to 0, 1, 2, ... ticks,
exhaustively each time, and reports the first duration at which no old duplicate is ever
accepted -- with the shortest counterexample one tick below it, and that same schedule replayed
at the bound to show where it can no longer be followed.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import networkx as nx

from checks.explicit import Exploration
from checks.properties import (
    EXHAUSTED,
    NO_OLD_DUPLICATES,
    VIOLATED,
    Counterexample,
    Limits,
    Result,
    check,
)
from checks.trace import build_trace, event_text, format_trace
from spec.config import Config, ConfigError
from spec.machine import SIDE_NAMES, Label, Machine, World
from spec.segment import Segment, describe
from spec.states import TIME_WAIT

#: The longest TIME-WAIT tried by default, in MSL: twice what the RFC asks for.
DEFAULT_UP_TO = 4


@dataclass
class Attempt:
    """``no-old-duplicates`` checked with TIME-WAIT set to ``ticks``."""

    ticks: int
    config: Config
    result: Result
    states: int
    seconds: float
    complete: bool
    enters_time_wait: bool = True  # the counterexample (if any) passes through TIME-WAIT
    exploration: Exploration | None = None  # kept where the property held: the graph the bound is shown in

    @property
    def holds(self) -> bool:
        return self.result.verdict == EXHAUSTED

    @property
    def beyond_time_wait(self) -> bool:
        """Violated by a trace that never enters TIME-WAIT: no duration of TIME-WAIT can prevent it."""
        return self.result.verdict == VIOLATED and not self.enters_time_wait


@dataclass
class Replay:
    """The counterexample found below the bound, followed step by step at the bound."""

    config: Config
    receiver: int  # the endpoint that accepted the old duplicate below the bound
    followed: list[Label]  # the steps that could still be taken, in order
    blocked: Label | None  # the first step that could not; None if the whole schedule ran
    world: World  # the state reached when it stopped
    onward: list[Label] | None  # from there, the shortest way to the situation the violation needed (None: none)
    reached: World  # the state at the end of ``onward``

    def old_in_flight(self) -> list[Segment]:
        """Segments of an earlier incarnation than the receiver's peer, still on their way to it at the end."""
        ep = self.reached.endpoint(self.receiver)
        return [seg for seg in self.reached.channel(1 - self.receiver) if seg.inc < ep.peer_inc]


@dataclass
class Derivation:
    """What the sweep over TIME-WAIT durations found."""

    config: Config
    attempts: list[Attempt]

    @property
    def bound(self) -> Attempt | None:
        """The first duration at which the property held, every shorter one having been violated."""
        for a in self.attempts:
            if a.holds:
                return a
            if a.result.verdict != VIOLATED:
                return None  # a search that did not finish decides nothing
        return None

    @property
    def below(self) -> Attempt | None:
        """The longest duration that was violated, just below the bound (or the last one tried)."""
        violated = [a for a in self.attempts if a.result.verdict == VIOLATED]
        return violated[-1] if violated else None

    def in_msl(self, ticks: int) -> Fraction:
        assert self.config.msl is not None
        return Fraction(ticks, self.config.msl)


def with_time_wait(config: Config, ticks: int) -> Config:
    """``config`` with TIME-WAIT lasting ``ticks`` (named so that its traces say which)."""
    return dataclasses.replace(config, time_wait=ticks, name=f"{config.name} (TIME-WAIT {ticks})", reach=())


def _check_derivable(config: Config, up_to: int) -> None:
    if config.msl is None:
        raise ConfigError(
            f"{config.name} is untimed: TIME-WAIT is measured in MSL, so the configuration needs [timing] msl"
        )
    if max(len(config.a.incarnations), len(config.b.incarnations)) < 2:
        raise ConfigError(
            f"{config.name} has one incarnation per endpoint, so no old duplicate can meet a new one: "
            "give a script a second OPEN or LISTEN (the preset `incarnations` has two)"
        )
    if not 1 <= up_to <= 16:
        raise ConfigError(f"try TIME-WAIT up to between 1 and 16 MSL, not {up_to}")


def derive_time_wait(
    config: Config,
    up_to: int = DEFAULT_UP_TO,
    limits: Limits | None = None,
    progress: Callable[[Attempt], None] | None = None,
) -> Derivation:
    """Check ``no-old-duplicates`` with TIME-WAIT = 0, 1, ... ticks, up to ``up_to`` MSL, stopping at the first
    duration where it holds in every reachable state (or where a search stops short)."""
    _check_derivable(config, up_to)
    assert config.msl is not None
    attempts: list[Attempt] = []
    for ticks in range(up_to * config.msl + 1):
        trial = with_time_wait(config, ticks)
        ex, results = check(trial, [NO_OLD_DUPLICATES], limits)
        attempt = _attempt(ticks, trial, ex, results[0])
        attempts.append(attempt)
        if progress is not None:
            progress(attempt)
        if attempt.result.verdict != VIOLATED or attempt.beyond_time_wait:
            break
    return Derivation(config, attempts)


def _attempt(ticks: int, config: Config, ex: Exploration, result: Result) -> Attempt:
    cx = result.counterexample
    enters = cx is None or _enters_time_wait(Machine(config), cx)
    kept = ex if result.verdict == EXHAUSTED else None
    return Attempt(ticks, config, result, len(ex.states), ex.seconds, ex.complete, enters, kept)


def _enters_time_wait(machine: Machine, counterexample: Counterexample) -> bool:
    """Whether an endpoint is in TIME-WAIT somewhere along the trace (the only place its duration matters)."""
    world = machine.initial()
    for _, label in counterexample.path:
        world = machine.step(world, label).target
        if TIME_WAIT in (world.a.state, world.b.state):
            return True
    return False


def replay_at(bound: Attempt, below: Attempt) -> Replay:
    """Follow the steps of the counterexample found ``below`` the bound, under the ``bound``'s configuration,
    while each is enabled; then take the shortest way on, in the bound's explored graph, to the situation
    of its last step: the receiver in the same incarnation, synchronized with the same newer incarnation
    of its peer."""
    counterexample = below.result.counterexample
    assert counterexample is not None and bound.exploration is not None
    ex = bound.exploration
    machine = ex.machine
    world = machine.initial()
    followed: list[Label] = []
    blocked: Label | None = None
    for _, label in counterexample.path:
        try:
            world = machine.step(world, label).target
        except KeyError:
            blocked = label
            break
        followed.append(label)
    receiver = counterexample.path[-1][1].actor
    target = _before_last_step(Machine(below.config), counterexample).endpoint(receiver)

    def again(w: World) -> bool:
        ep = w.endpoint(receiver)
        return ep.inc == target.inc and ep.peer_inc == target.peer_inc and ep.state is target.state

    graph = ex.digraph()
    start = ex.index_of(world)
    assert start is not None, "the replayed world is one the exploration reached"
    distance = nx.single_source_shortest_path_length(graph, start)
    goals = sorted((d, sid) for sid, d in distance.items() if again(ex.states[sid]))
    if not goals:
        return Replay(bound.config, receiver, followed, blocked, world, None, world)
    path = nx.shortest_path(graph, start, goals[0][1])
    onward = [ex.labels[graph[u][v]["labels"][0]] for u, v in itertools.pairwise(path)]
    return Replay(bound.config, receiver, followed, blocked, world, onward, ex.states[path[-1]])


def _before_last_step(machine: Machine, counterexample: Counterexample) -> World:
    world = machine.initial()
    for _, label in counterexample.path[:-1]:
        world = machine.step(world, label).target
    return world


def ticks_text(n: int) -> str:
    """``"1 tick"``, ``"2 ticks"``."""
    return f"{n} tick" + ("" if n == 1 else "s")


def _msl(d: Derivation, ticks: int) -> str:
    m = d.in_msl(ticks)
    return f"{m} MSL" if m.denominator == 1 else f"{float(m):g} MSL"


def attempt_line(d: Derivation, a: Attempt) -> str:
    """One line per duration tried: its verdict, the trace length or the states, the time."""
    head = f"  TIME-WAIT {ticks_text(a.ticks):<8} = {_msl(d, a.ticks):<8}"
    cx = a.result.counterexample
    if a.result.verdict == VIOLATED and cx is not None:
        verdict = f"VIOLATED: an old duplicate is accepted after {len(cx.path)} steps"
        if not a.enters_time_wait:
            verdict += ", without entering TIME-WAIT"
    elif a.holds:
        verdict = "EXHAUSTED: no old duplicate is ever accepted"
    else:
        verdict = f"{a.result.verdict}: {a.result.detail}"
    return f"{head}  {verdict}  ({a.states:,} states, {a.seconds:.1f} s)"


def derivation_text(d: Derivation) -> str:
    """The sweep, the answer, the counterexample below the bound, and the same schedule at the bound."""
    msl = d.config.msl
    assert msl is not None
    lines = [
        f"{d.config.name}: {d.config.description}",
        f"  MSL = {ticks_text(msl)}; {NO_OLD_DUPLICATES.name} checked in every reachable state (explicit engine) "
        "for each TIME-WAIT, from 0 up:",
    ]
    lines += [attempt_line(d, a) for a in d.attempts]
    bound, below = d.bound, d.below
    if bound is None:
        last = d.attempts[-1]
        cx = last.result.counterexample
        if last.beyond_time_wait and cx is not None:
            lines += [
                "no answer: the shortest counterexample never enters TIME-WAIT, so no duration of TIME-WAIT can "
                "prevent it -- the configuration lets old duplicates in some other way:",
                f"  {cx.message}",
                format_trace(build_trace(Machine(last.config), cx.path)).rstrip("\n"),
            ]
        elif last.result.verdict == VIOLATED:
            lines.append(f"no TIME-WAIT up to {_msl(d, last.ticks)} keeps old duplicates out")
        else:
            lines.append("no answer: a search stopped before it was complete")
        return "\n".join(lines) + "\n"
    lines.append(
        f"smallest TIME-WAIT that keeps old duplicates out: {ticks_text(bound.ticks)} = {_msl(d, bound.ticks)} "
        "(RFC 9293 §3.6.1, MUST-13, asks for 2*MSL)"
    )
    if below is None or below.result.counterexample is None:
        return "\n".join(lines) + "\n"
    cx = below.result.counterexample
    machine = Machine(below.config)
    lines += [
        "",
        f"Just below the bound, TIME-WAIT = {ticks_text(below.ticks)}: {NO_OLD_DUPLICATES.statement} -- VIOLATED",
    ]
    if cx.message:
        lines.append(f"  {cx.message}")
    lines.append(f"  shortest trace ({len(cx.path)} steps):")
    lines.append(format_trace(build_trace(machine, cx.path)).rstrip("\n"))
    replay = replay_at(bound, below)
    lines += ["", f"At the bound, TIME-WAIT = {ticks_text(bound.ticks)}, the same schedule:"]
    lines += _replay_lines(replay, len(cx.path))
    return "\n".join(lines) + "\n"


def _replay_lines(replay: Replay, length: int) -> list[str]:
    config = replay.config
    taken = len(replay.followed)
    if replay.blocked is None:
        return [f"  all {length} steps can be taken, and the last no longer accepts an old duplicate"]
    who = replay.blocked.actor
    script = config.endpoint(who).script if who in (0, 1) else ()
    intended = event_text(replay.blocked, None, script, replay.world)
    lines = [
        f"  steps 1-{taken} can be taken as above; step {taken + 1} ({SIDE_NAMES[who]}: {intended}) cannot: "
        f"A is in {replay.world.a.state}, B in {replay.world.b.state}"
    ]
    if replay.onward is None:
        lines.append("  and no way on reaches the situation the violation needed")
        return lines
    side = replay.receiver
    ep = replay.reached.endpoint(side)
    me, peer = SIDE_NAMES[side], SIDE_NAMES[1 - side]
    lines.append(
        f"  the shortest way on, to {me} in {ep.state} with {peer}'s incarnation {ep.peer_inc} "
        f"({len(replay.onward)} steps):"
    )
    path = [(0, label) for label in replay.followed + replay.onward]
    steps = build_trace(Machine(config), path)[taken:]
    lines.append(format_trace(steps).split("\n", 1)[1].rstrip("\n") if steps else "  (none)")
    old = replay.old_in_flight()
    if old:
        lines.append(f"  still on their way to {me}: " + "; ".join(describe(seg) for seg in old))
    else:
        lines.append(f"  by then no segment of an earlier incarnation of {peer} is left on its way to {me}")
    return lines


def derivation_json(d: Derivation) -> dict[str, Any]:
    """The derivation as one JSON document: every attempt, the answer, both traces."""
    msl = d.config.msl
    assert msl is not None
    bound, below = d.bound, d.below
    doc: dict[str, Any] = {
        "config": d.config.name,
        "property": NO_OLD_DUPLICATES.name,
        "engine": "explicit",
        "msl_ticks": msl,
        "attempts": [
            {
                "time_wait_ticks": a.ticks,
                "time_wait_msl": str(d.in_msl(a.ticks)),
                "verdict": a.result.verdict,
                "states": a.states,
                "seconds": round(a.seconds, 3),
                "trace_length": len(a.result.counterexample.path) if a.result.counterexample else None,
                "enters_time_wait": a.enters_time_wait if a.result.counterexample else None,
            }
            for a in d.attempts
        ],
        "answer": None,
    }
    if bound is None:
        return doc
    doc["answer"] = {"time_wait_ticks": bound.ticks, "time_wait_msl": str(d.in_msl(bound.ticks))}
    if below is not None and below.result.counterexample is not None:
        cx = below.result.counterexample
        doc["below"] = {
            "time_wait_ticks": below.ticks,
            "message": cx.message,
            "trace": [s.to_json() for s in build_trace(Machine(below.config), cx.path)],
        }
        replay = replay_at(bound, below)
        path = [(0, label) for label in replay.followed + (replay.onward or [])]
        doc["at_bound"] = {
            "time_wait_ticks": bound.ticks,
            "steps_followed": len(replay.followed),
            "blocked": None if replay.blocked is None else len(replay.followed) + 1,
            "trace": [s.to_json() for s in build_trace(Machine(bound.config), path)],
            "old_segments_left": None if replay.onward is None else [describe(s) for s in replay.old_in_flight()],
        }
    return doc
