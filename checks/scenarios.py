"""The canonical scenarios of TCP connection management, found by search, not written by hand.

A scenario is a configuration, a few milestones that must happen in its run,
in order (a state change, a rule applied, a segment lost, a crash), and a
final condition.  :func:`find_run` searches breadth first over the
configuration's states together with the number of milestones passed so far,
so the run it returns is a shortest run of the model that passes every
milestone and ends in the final condition: the rules produce every step of it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from spec.config import Call, Config, EndpointConfig
from spec.machine import Label, Machine, Transition, World
from spec.presets import WRAP, preset
from spec.states import ACK, CLOSED, ESTABLISHED, TIME_WAIT, Outcome, TcpState

Step = Callable[[World, Transition], bool]
Final = Callable[[World], bool]

OPEN, LISTEN, CLOSE = Call.OPEN, Call.LISTEN, Call.CLOSE
WAIT_OPEN, WAIT_EOF = Call.WAIT_OPEN, Call.WAIT_EOF

#: The most states a scenario search may visit before it gives up.
SEARCH_LIMIT = 2_000_000


@dataclass(frozen=True)
class Milestone:
    """Something the run must do at some step: described in words, tested on each transition."""

    text: str
    test: Step


@dataclass(frozen=True)
class Scenario:
    """A named run to draw: configuration, milestones in order, and where it ends."""

    name: str
    title: str
    shows: str  # one sentence: what the run shows, with the RFC's section or figure
    config: Config
    milestones: tuple[Milestone, ...]
    final: Final
    final_text: str


class NoRun(Exception):
    """The search found no run through every milestone: there is none (``complete``), or it gave up at a limit."""

    def __init__(self, message: str, complete: bool) -> None:
        super().__init__(message)
        self.complete = complete


def changes(side: int, before: TcpState, after: TcpState) -> Milestone:
    """Endpoint ``side`` moves from ``before`` to ``after`` (as one rule's change)."""
    who = "AB"[side]

    def test(world: World, t: Transition) -> bool:
        return any(c.side == side and c.before is before and c.after is after for c in t.changes)

    return Milestone(f"{who}: {before} -> {after}", test)


def applies(rule: str) -> Milestone:
    """The rule called ``rule`` applies."""

    def test(world: World, t: Transition) -> bool:
        return any(r.name == rule for r in t.rules)

    return Milestone(f"rule {rule} applies", test)


def loses_ack_in(side: int, state: TcpState) -> Milestone:
    """The network loses a pure ACK that ``side`` sent while it is in ``state``."""
    who = "AB"[side]

    def test(world: World, t: Transition) -> bool:
        label = t.label
        return (
            label.kind == "lose"
            and label.channel == side
            and label.seg is not None
            and label.seg.flags == ACK
            and world.endpoint(side).state is state
        )

    return Milestone(f"the network loses {who}'s ACK sent in {state}", test)


def crashes(side: int, state: TcpState) -> Milestone:
    """Endpoint ``side`` crashes in ``state`` and loses its TCB."""

    def test(world: World, t: Transition) -> bool:
        return t.label.kind == "crash" and t.label.actor == side and world.endpoint(side).state is state

    return Milestone(f"{'AB'[side]} crashes in {state}", test)


def both_in(state: TcpState) -> Final:
    """Both endpoints in ``state`` and nothing left in flight."""

    def final(world: World) -> bool:
        return world.a.state is state and world.b.state is state and not world.ab and not world.ba

    return final


def closed_normally(world: World) -> bool:
    """Both endpoints CLOSED, each incarnation ended normally, nothing in flight."""
    if world.ab or world.ba:
        return False
    return all(
        ep.state is CLOSED and ep.history and ep.history[-1].outcome is Outcome.CLOSED for ep in (world.a, world.b)
    )


def _ep(script: tuple[Call, ...], iss: int, listening: bool = False) -> EndpointConfig:
    return EndpointConfig(script=script, iss=((iss,),), listening=listening)


def scenarios() -> tuple[Scenario, ...]:
    """Every canonical scenario, in the order a course would teach them."""
    a, b = 0, 1
    client = _ep((OPEN, WAIT_OPEN, CLOSE), WRAP)
    return (
        Scenario(
            "three-way-handshake",
            "Three-way handshake",
            "A opens actively, B listens: SYN, SYN-ACK, ACK (RFC 9293 §3.5, Figure 6)",
            Config(
                "three-way-handshake",
                "SYN, SYN-ACK, ACK",
                a=_ep((OPEN, WAIT_OPEN), WRAP),
                b=_ep((WAIT_OPEN,), 300, True),
            ),
            (),
            both_in(ESTABLISHED),
            "both ESTABLISHED",
        ),
        Scenario(
            "four-way-teardown",
            "Four-way teardown",
            "A closes first: FIN, ACK, FIN, ACK; B waits in CLOSE-WAIT, A alone in TIME-WAIT (RFC 9293 §3.6, "
            "Figure 12)",
            Config("four-way-teardown", "A closes first", a=client, b=_ep((WAIT_OPEN, WAIT_EOF, CLOSE), 300, True)),
            (changes(b, TcpState.LAST_ACK, CLOSED), changes(a, TIME_WAIT, CLOSED)),
            closed_normally,
            "both CLOSED normally",
        ),
        Scenario(
            "simultaneous-open",
            "Simultaneous open",
            "both sides OPEN actively: the SYNs cross; each answers from SYN-RECEIVED with a SYN,ACK, which the "
            "other finds below RCV.NXT and answers with the ACK that completes the open (RFC 9293 Figure 7, §3.10.7.4)",
            Config(
                "simultaneous-open", "both open actively", a=_ep((OPEN, WAIT_OPEN), WRAP), b=_ep((OPEN, WAIT_OPEN), 300)
            ),
            (
                changes(a, TcpState.SYN_SENT, TcpState.SYN_RECEIVED),
                changes(b, TcpState.SYN_SENT, TcpState.SYN_RECEIVED),
            ),
            both_in(ESTABLISHED),
            "both ESTABLISHED",
        ),
        Scenario(
            "simultaneous-close",
            "Simultaneous close",
            "both users CLOSE at once: the FINs cross, both pass CLOSING and TIME-WAIT (RFC 9293 Figure 13)",
            Config("simultaneous-close", "both close at once", a=client, b=_ep((WAIT_OPEN, CLOSE), 300, True)),
            (changes(a, TcpState.FIN_WAIT_1, TcpState.CLOSING), changes(b, TcpState.FIN_WAIT_1, TcpState.CLOSING)),
            closed_normally,
            "both CLOSED normally",
        ),
        Scenario(
            "lost-final-ack",
            "Lost final ACK, answered from TIME-WAIT",
            "A's last ACK is lost; B retransmits its FIN, and A, still in TIME-WAIT, acknowledges it again so "
            "that B closes normally (RFC 9293 §3.6.1)",
            preset("lost-ack"),
            (loses_ack_in(a, TIME_WAIT), applies("time-wait-fin-again")),
            closed_normally,
            "both CLOSED normally",
        ),
        Scenario(
            "half-open-reset",
            "Half-open connection reset",
            "B crashes and loses its TCB; A's next data reaches a B with no connection, which answers RST, and "
            "A's connection is reset (RFC 9293 §3.5.1, Figure 10)",
            preset("half-open"),
            (crashes(b, ESTABLISHED), changes(a, ESTABLISHED, CLOSED)),
            lambda w: w.a.state is CLOSED and not w.ab and not w.ba,
            "A CLOSED, nothing in flight",
        ),
    )


def scenario_named(name: str) -> Scenario:
    """The scenario called ``name`` (ValueError naming the scenarios otherwise)."""
    for s in scenarios():
        if s.name == name:
            return s
    names = ", ".join(s.name for s in scenarios())
    raise ValueError(f"unknown scenario {name!r}; the scenarios are {names}")


def find_run(
    scenario: Scenario, machine: Machine | None = None, limit: int = SEARCH_LIMIT, max_seconds: float | None = None
) -> list[Label]:
    """A shortest run of ``scenario``'s configuration through every milestone to its final condition.

    Raises :class:`NoRun` when there is none, or when ``limit`` states or ``max_seconds`` were not enough.
    """
    machine = machine or Machine(scenario.config)
    every = len(scenario.milestones)
    start = (machine.initial(), 0)
    parent: dict[tuple[World, int], tuple[tuple[World, int], Label] | None] = {start: None}
    queue = deque([start])
    began = time.perf_counter()
    stopped = ""
    while queue:
        node = queue.popleft()
        world, reached = node
        if reached == every and scenario.final(world):
            return _labels(parent, node)
        if len(parent) > limit:
            stopped = f"the search stopped at the limit of {limit:,} states"
            break
        if max_seconds is not None and time.perf_counter() - began > max_seconds:
            stopped = f"the search stopped at the time limit of {max_seconds:g} s"
            break
        for t in machine.successors(world):
            now = reached + 1 if reached < every and scenario.milestones[reached].test(world, t) else reached
            nxt = (t.target, now)
            if nxt not in parent:
                parent[nxt] = (node, t.label)
                queue.append(nxt)
    wanted = "; then ".join(m.text for m in scenario.milestones) or "no milestones"
    raise NoRun(
        f"scenario {scenario.name}: no run of {scenario.config.name} passes {wanted} and ends with "
        f"{scenario.final_text}; " + (stopped or f"all {len(parent):,} states searched"),
        complete=not stopped,
    )


def _labels(
    parent: dict[tuple[World, int], tuple[tuple[World, int], Label] | None], node: tuple[World, int]
) -> list[Label]:
    path: list[Label] = []
    link = parent[node]
    while link is not None:
        node, label = link
        path.append(label)
        link = parent[node]
    path.reverse()
    return path
