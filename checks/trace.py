"""Counterexample traces that read like a packet capture with states.

A trace is replayed step by step through the machine from the initial state,
so that what it prints is what the rules do, not what the search remembered.
One line per step: the step number, the time in ticks, who acted, the event
(segments in tcpdump's notation, absolute sequence numbers), both endpoints'
states after it, and what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spec.machine import CHANNEL_NAMES, NET, SIDE_NAMES, Label, Machine, Transition, World
from spec.segment import Segment, describe
from spec.tcb import Endpoint


@dataclass
class TraceStep:
    """One step of a trace, with everything a reader or a renderer needs."""

    number: int
    time: int
    actor: str
    event: str
    received: str | None
    sent: list[str]
    rules: list[str]
    a: str
    b: str
    changes: list[str] = field(default_factory=list)
    loop: bool = False  # part of the repeating loop of a liveness counterexample

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "time": self.time,
            "actor": self.actor,
            "event": self.event,
            "received": self.received,
            "sent": self.sent,
            "rules": self.rules,
            "a": self.a,
            "b": self.b,
            "changes": self.changes,
            "loop": self.loop,
        }


def segment_text(seg: Segment, channel: int) -> str:
    """``A > B: Flags [P.], seq 0:1, ack 301, length 1 (unit 1)``."""
    text = f"{CHANNEL_NAMES[channel]}: {describe(seg)}"
    if seg.data:
        text += f" (unit {seg.data})" if seg.inc <= 1 else f" (unit {seg.data} of incarnation {seg.inc})"
    return text


def event_text(label: Label, transition: Transition | None, config_script: Sequence[Any], before: World) -> str:
    """What ``label`` does from ``before``, in words (``transition``, if taken, says which timers expired)."""
    kind = label.kind
    if kind == "call":
        ep = before.endpoint(label.actor)
        return f"user: {config_script[ep.pc]}"
    if kind == "segment":
        assert label.seg is not None
        return f"rcv {segment_text(label.seg, label.channel)}"
    if kind == "output":
        return "output queued data"
    if kind == "timeout":
        return "timeout"
    if kind == "crash":
        return "crash: the host loses its TCB"
    if kind == "lose":
        assert label.seg is not None
        return f"lose {segment_text(label.seg, label.channel)}"
    if kind == "duplicate":
        assert label.seg is not None
        return f"duplicate {segment_text(label.seg, label.channel)}"
    if kind == "tick":
        if transition is None:
            return "tick"
        expired = sorted({SIDE_NAMES[c.side] for c in transition.changes} | _timeout_sides(transition))
        return "tick" + (f": timer of {' and '.join(expired)} expires" if expired else "")
    return kind


def _timeout_sides(transition: Transition) -> set[str]:
    from spec.rules import Event

    return {"A/B"} if any(r.event is Event.TIMEOUT for r in transition.rules) and not transition.changes else set()


def _changes(side: int, old: Endpoint, new: Endpoint) -> list[str]:
    who = SIDE_NAMES[side]
    out = []
    if old.state is not new.state:
        out.append(f"{who} {old.state} -> {new.state}")
    if new.inc == old.inc and len(new.delivered) > len(old.delivered):
        for inc, unit in new.delivered[len(old.delivered) :]:
            out.append(f"{who} delivers unit {unit}" + (f" of incarnation {inc}" if inc > 1 else ""))
    if len(new.history) > len(old.history):
        ended = new.history[-1]
        out.append(f"{who}'s connection ends: {ended.outcome}")
    if new.held and new.held != old.held and len(new.held) > len(old.held):
        out.append(f"{who} holds a segment ahead of RCV.NXT {new.rcv_nxt}")
    if new.state is not old.state and new.iss != old.iss and new.iss:
        out.append(f"{who} ISS = {new.iss}")
    return out


def build_trace(
    machine: Machine, path: Sequence[tuple[int, Label]], loop: Sequence[tuple[int, Label]] = ()
) -> list[TraceStep]:
    """Replay ``path`` (then ``loop``) from the initial state into printable steps."""
    world = machine.initial()
    time = 0
    steps: list[TraceStep] = []
    config = machine.config
    for number, (label, in_loop) in enumerate([(lab, False) for _, lab in path] + [(lab, True) for _, lab in loop], 1):
        transition = machine.step(world, label)
        if label.kind == "tick":
            time += 1
        actor = SIDE_NAMES[label.actor]
        script = config.endpoint(label.actor).script if label.actor != NET else ()
        changes: list[str] = []
        for side in (0, 1):
            changes.extend(_changes(side, world.endpoint(side), transition.target.endpoint(side)))
        for seg in transition.dropped:
            changes.append(f"full channel drops {describe(seg)}")
        steps.append(
            TraceStep(
                number=number,
                time=time,
                actor=actor,
                event=event_text(label, transition, script, world),
                received=segment_text(label.seg, label.channel) if label.kind == "segment" and label.seg else None,
                sent=[segment_text(seg, channel) for channel, seg in transition.sent],
                rules=[r.name for r in transition.rules],
                a=str(transition.target.a.state),
                b=str(transition.target.b.state),
                changes=changes,
                loop=in_loop,
            )
        )
        world = transition.target
    return steps


def format_trace(steps: Sequence[TraceStep]) -> str:
    """The trace as text: one line per step -- states first, then the event and what changed."""
    if not steps:
        return "  (the initial state)\n"
    lines = [f"  {'step':>4} {'t':>2}  {'who':<7} {'A':<12} {'B':<12} event"]
    looped = False
    for s in steps:
        if s.loop and not looped:
            lines.append("  ---- from here the run repeats forever ----")
            looped = True
        text = s.event
        if s.sent:
            text += "  =>  " + "; ".join(s.sent)
        if s.changes:
            text += "  | " + "; ".join(s.changes)
        if s.rules:
            text += "  [" + ", ".join(s.rules) + "]"
        lines.append(f"  {s.number:>4} {s.time:>2}  {s.actor:<7} {s.a:<12} {s.b:<12} {text}")
    return "\n".join(lines) + "\n"
