"""The properties tcpspec checks: what each one says, which RFC text it rests on, how it is judged.

Kinds:
* ``invariant`` -- holds in every reachable state;
* ``action`` -- holds for every transition;
* ``determinism`` -- the rules give exactly one answer to every event (a check of the spec itself);
* ``deadlock`` -- every reachable state has a successor or is a proper final state;
* ``possibility`` -- from every reachable state a final state can be reached (AG EF final);
* ``liveness`` -- P leads to Q on every weakly fair run (checked on the graph's SCCs);
* ``coverage`` -- the configuration reaches what it is meant to reach, so nothing passes vacuously.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx

from checks.conformance import describe_edge
from checks.explicit import Exploration, Observer
from checks.liveness import leads_to
from spec.config import Config, Goal, parse_goal
from spec.machine import SIDE_NAMES, Label, Machine, Transition, World
from spec.rules import Rule
from spec.states import CLOSED, CLOSED_BY_USER, CLOSING, LAST_ACK, LISTEN, SYN_RECEIVED, SYN_SENT, SYNCHRONIZED, Outcome
from spec.tcb import DataId, Endpoint

# --- Verdicts and results -------------------------------------------------------------------------

PROVED = "PROVED"
EXHAUSTED = "EXHAUSTED"
VIOLATED = "VIOLATED"
HOLDS_TO_DEPTH = "HOLDS TO DEPTH"
UNKNOWN = "UNKNOWN"
#: Every state searched was safe, but the search may have missed some: SPIN's bitstate hashing
#: stores one bit pattern per state, so two states can share one (the hash factor estimates how often).
PARTIAL = "PARTIAL"
REACHED = "REACHED"


@dataclass(frozen=True)
class Property:
    """A property: a name, a one-sentence statement, a kind, and the RFC text it rests on."""

    name: str
    kind: str
    statement: str
    rfc: str


@dataclass
class Counterexample:
    """A path from the initial state (and, for liveness, a loop) that shows the violation."""

    path: list[tuple[int, Label]]  # (state reached, label)
    loop: list[tuple[int, Label]]
    extra: Label | None = None  # a last transition that could not be taken (a spec error)
    message: str = ""
    config: Config | None = None  # replay under this configuration (symbolic ISS: the values Z3 chose)


@dataclass
class Result:
    """The verdict on one property."""

    prop: Property
    verdict: str
    detail: str = ""
    counterexample: Counterexample | None = None

    @property
    def failed(self) -> bool:
        return self.verdict == VIOLATED

    @property
    def verdict_text(self) -> str:
        return f"{self.verdict} {self.detail}".strip()


# --- The properties -------------------------------------------------------------------------------

HANDSHAKE_SYNC = Property(
    "handshake-sync",
    "invariant",
    "When both endpoints are in synchronized states, each one's IRS is the other's ISS.",
    "RFC 9293 §3.4.1 (the peers must synchronize on each other's initial sequence numbers), §3.5",
)
STREAM_INTEGRITY = Property(
    "stream-integrity",
    "invariant",
    "What each endpoint delivers to its user is a prefix of what the peer incarnation it synchronized "
    "with sent: in order, without gaps, duplicates, or data of another incarnation.",
    "RFC 9293 §3.4 (duplicate detection and sequencing), §3.10.7.4 seventh step, §3.4.3",
)
GRACEFUL_CLOSE = Property(
    "graceful-close",
    "invariant",
    "An endpoint whose connection closed normally delivered everything its peer sent before its FIN, "
    "and the passive closer (LAST-ACK, or CLOSING) is not reset by a peer that closed normally, "
    "even when the last ACK was lost.",
    "RFC 9293 §3.6 (reliable delivery of all buffers SENT before CLOSE), §3.6.1 (TIME-WAIT, MUST-13)",
)
ONE_CONNECTION_PER_OPEN = Property(
    "one-connection-per-open",
    "invariant",
    "Each OPEN yields at most one connection: no two incarnations of an endpoint reach a synchronized "
    "state with the same incarnation of the peer, so an old duplicate SYN or SYN,ACK never opens a "
    "connection nobody asked for.",
    "RFC 9293 §3.5 (the three-way handshake prevents old duplicate connection initiations), Figure 8, §3.4.1",
)
NO_OLD_DUPLICATES = Property(
    "no-old-duplicates",
    "action",
    "A segment from an earlier incarnation of the peer never changes a TCB that has synchronized with "
    "a later one: old duplicates are discarded, not taken as data, FIN, ACK or RST.",
    "RFC 9293 §3.4.1 (incarnations), §3.4.3 (quiet time), §3.6.1 and §3.3.2 (TIME-WAIT)",
)
RFC_CONFORMANCE = Property(
    "rfc-conformance",
    "action",
    "Every change of an endpoint's state is an edge of RFC 9293 Figure 5, or a reset, abort, timeout "
    "or crash edge that the text describes.",
    "RFC 9293 Figure 5 and its Notes 1-3, §3.5.3, §3.10.5, §3.10.8",
)
DETERMINISM = Property(
    "rules-deterministic",
    "determinism",
    "At every step of every event at most one rule applies, and some rule handles every arriving segment.",
    "RFC 9293 §3.10 (event processing: one response to each event in each state)",
)
NO_DEADLOCK = Property(
    "no-deadlock",
    "deadlock",
    "Every reachable state has a successor, or is a proper final state: nothing in flight, and each "
    "user has finished its calls or waits in LISTEN for a connection.",
    "RFC 9293 §3.10 (every event has a response), §3.8.1 (retransmission until acknowledged)",
)
CAN_FINISH = Property(
    "can-finish",
    "possibility",
    "From every reachable state a proper final state can be reached.",
    "RFC 9293 §3.6 (every connection can be closed), §3.10.8 (timeouts)",
)
ESTABLISHES = Property(
    "establishes",
    "liveness",
    "Once both endpoints are opening (LISTEN, SYN-SENT or SYN-RECEIVED, not both LISTEN), every fair "
    "run brings both to a synchronized state, unless one of them gives up (CLOSED).",
    "RFC 9293 §3.5 (the three-way handshake), §3.8.1, §3.8.3",
)
CLOSES = Property(
    "closes",
    "liveness",
    "Once both users have called CLOSE, every fair run brings both endpoints to CLOSED.",
    "RFC 9293 §3.6 (closing a connection), §3.10.8 (TIME-WAIT timeout)",
)
COVERAGE = Property(
    "coverage",
    "coverage",
    "Every state and state change the configuration lists under `reach` is reached.",
    "the configuration's purpose (so that no property holds vacuously)",
)

PROPERTIES: tuple[Property, ...] = (
    HANDSHAKE_SYNC,
    STREAM_INTEGRITY,
    GRACEFUL_CLOSE,
    ONE_CONNECTION_PER_OPEN,
    NO_OLD_DUPLICATES,
    RFC_CONFORMANCE,
    DETERMINISM,
    NO_DEADLOCK,
    CAN_FINISH,
    ESTABLISHES,
    CLOSES,
    COVERAGE,
)


def property_named(name: str) -> Property:
    """The property called ``name``; ValueError names the choices."""
    for p in PROPERTIES:
        if p.name == name:
            return p
    names = ", ".join(p.name for p in PROPERTIES)
    raise ValueError(f"unknown property {name!r}; the properties are {names}")


# --- State predicates -----------------------------------------------------------------------------


def units_sent(peer: Endpoint, incarnation: int) -> int:
    """Units of data the peer segmentized in ``incarnation`` (finished or current)."""
    for ended in peer.history:
        if ended.inc == incarnation:
            return ended.sent
    return peer.sent if peer.inc == incarnation else 0


def check_handshake_sync(world: World, config: Config) -> str | None:
    a, b = world.a, world.b
    if a.state in SYNCHRONIZED and b.state in SYNCHRONIZED:
        if a.irs != b.iss:
            return f"A is {a.state} with IRS {a.irs}, but B is {b.state} with ISS {b.iss}"
        if b.irs != a.iss:
            return f"B is {b.state} with IRS {b.irs}, but A is {a.state} with ISS {a.iss}"
    return None


def _stream_problem(delivered: tuple[DataId, ...], peer_inc: int, peer: Endpoint, me: str, other: str) -> str | None:
    for k, (inc, unit) in enumerate(delivered, 1):
        if inc != peer_inc:
            return (
                f"{me} delivered unit {unit} of {other}'s incarnation {inc} to a connection with "
                f"{other}'s incarnation {peer_inc}"
            )
        if unit != k:
            what = "again" if unit < k else "out of order"
            return f"{me} delivered unit {unit} {what}: unit {k} was due"
    sent = units_sent(peer, peer_inc)
    if len(delivered) > sent:
        return f"{me} delivered {len(delivered)} units, but {other} sent only {sent}"
    return None


def check_stream_integrity(world: World, config: Config) -> str | None:
    for me, other in ((0, 1), (1, 0)):
        x, y = world.endpoint(me), world.endpoint(other)
        records = [(x.delivered, x.peer_inc)] + [(e.delivered, e.peer_inc) for e in x.history]
        for delivered, peer_inc in records:
            problem = _stream_problem(delivered, peer_inc, y, SIDE_NAMES[me], SIDE_NAMES[other])
            if problem:
                return problem
    return None


def check_one_connection_per_open(world: World, config: Config) -> str | None:
    for me, other in ((0, 1), (1, 0)):
        x = world.endpoint(me)
        # an incarnation that ended from a synchronized state had synchronized (it never leaves them)
        connected = [(e.inc, e.peer_inc) for e in x.history if e.state in SYNCHRONIZED and e.peer_inc]
        if x.state in SYNCHRONIZED and x.peer_inc:
            connected.append((x.inc, x.peer_inc))
        first: dict[int, int] = {}
        for inc, peer_inc in connected:
            if peer_inc in first:
                return (
                    f"{SIDE_NAMES[me]}'s incarnations {first[peer_inc]} and {inc} both connected with "
                    f"{SIDE_NAMES[other]}'s incarnation {peer_inc}, which opened one connection"
                )
            first[peer_inc] = inc
    return None


#: The states of an endpoint that has sent its FIN after receiving its peer's: it waits for the last ACK.
PASSIVE_CLOSE = frozenset({LAST_ACK, CLOSING})


def check_graceful_close(world: World, config: Config) -> str | None:
    for me, other in ((0, 1), (1, 0)):
        x, y = world.endpoint(me), world.endpoint(other)
        name_x, name_y = SIDE_NAMES[me], SIDE_NAMES[other]
        for e in x.history:
            if e.outcome is not Outcome.CLOSED or e.peer_inc == 0:
                continue
            sent = units_sent(y, e.peer_inc)
            if len(e.delivered) < sent:
                delivered = len(e.delivered)
                return f"{name_x} closed normally having delivered {delivered} of the {sent} units {name_y} sent"
            for f in y.history:
                peers = f.inc == e.peer_inc and f.peer_inc == e.inc
                if peers and f.outcome is Outcome.RESET and f.state in PASSIVE_CLOSE:
                    return f"{name_x} closed normally, but its peer {name_y} was reset in {f.state}"
    return None


def proper_final(world: World, config: Config) -> bool:
    """Nothing in flight, every user done or waiting in LISTEN."""
    if world.ab or world.ba:
        return False
    for side in (0, 1):
        ep = world.endpoint(side)
        if ep.pc < len(config.endpoint(side).script) and ep.state is not LISTEN:
            return False
    return True


# --- Observers for safety properties --------------------------------------------------------------


class InvariantObserver:
    """Records the first (shallowest) state that violates a state predicate."""

    def __init__(self, prop: Property, predicate: Callable[[World, Config], str | None], config: Config) -> None:
        self.prop, self.predicate, self.config = prop, predicate, config
        self.violation: tuple[int, str] | None = None

    def on_state(self, sid: int, world: World) -> None:
        if self.violation is None:
            problem = self.predicate(world, self.config)
            if problem:
                self.violation = (sid, problem)

    def on_transition(self, src: int, world: World, transition: Transition, dst: int) -> None:
        pass


class ConformanceObserver:
    """Holds every state change against RFC 9293's diagram and text."""

    def __init__(self) -> None:
        self.violation: tuple[int, Label, int, str] | None = None

    def on_state(self, sid: int, world: World) -> None:
        pass

    def on_transition(self, src: int, world: World, transition: Transition, dst: int) -> None:
        if self.violation is not None:
            return
        for side in (0, 1):
            who = SIDE_NAMES[side]
            mine = [c for c in transition.changes if c.side == side]
            before = world.endpoint(side).state
            for c in mine:
                if c.before is not before:
                    self.violation = (
                        src,
                        transition.label,
                        dst,
                        f"{who}'s rule {c.rule} starts from {c.before}, not {before}",
                    )
                    return
                if describe_edge(c.before, c.after, c.outcome) is None:
                    message = f"{who} moves {c.before} -> {c.after} ({c.rule}): RFC 9293 neither draws nor describes it"
                    self.violation = (src, transition.label, dst, message)
                    return
                before = c.after
            after = transition.target.endpoint(side).state
            if after is not before:
                self.violation = (
                    src,
                    transition.label,
                    dst,
                    f"{who} ends in {after}, not {before} as its rules declare",
                )
                return


def _accepted_from(before: Endpoint, after: Endpoint) -> bool:
    """The TCB took something from the segment: its state, sequence variables or data changed."""
    return (before.state, before.snd_una, before.rcv_nxt, before.delivered, before.held, before.inc) != (
        after.state,
        after.snd_una,
        after.rcv_nxt,
        after.delivered,
        after.held,
        after.inc,
    )


class OldDuplicateObserver:
    """Catches a segment of an earlier peer incarnation changing a TCB synchronized with a later one."""

    def __init__(self) -> None:
        self.violation: tuple[int, Label, int, str] | None = None

    def on_state(self, sid: int, world: World) -> None:
        pass

    def on_transition(self, src: int, world: World, transition: Transition, dst: int) -> None:
        label = transition.label
        if self.violation is not None or label.kind != "segment" or label.seg is None:
            return
        before = world.endpoint(label.actor)
        if before.peer_inc == 0 or label.seg.inc >= before.peer_inc or before.state is CLOSED:
            return
        after = transition.target.endpoint(label.actor)
        if _accepted_from(before, after):
            who, peer = SIDE_NAMES[label.actor], SIDE_NAMES[1 - label.actor]
            message = (
                f"{who}, synchronized with {peer}'s incarnation {before.peer_inc}, accepted a segment of "
                f"{peer}'s incarnation {label.seg.inc}"
            )
            self.violation = (src, label, dst, message)


class CoverageObserver:
    """Notes the first state or transition that reaches each goal of the configuration."""

    def __init__(self, config: Config) -> None:
        self.goals: list[Goal] = [parse_goal(g) for g in config.reach]
        self.found: dict[str, tuple[int, Label | None]] = {}

    def on_state(self, sid: int, world: World) -> None:
        for g in self.goals:
            if g.before is None and g.after is not None and g.text not in self.found:
                sides = (0, 1) if g.side is None else (g.side,)
                if any(world.endpoint(s).state is g.after for s in sides):
                    self.found[g.text] = (sid, None)

    def on_transition(self, src: int, world: World, transition: Transition, dst: int) -> None:
        label = transition.label
        for g in self.goals:
            if g.old_duplicate and g.text not in self.found and label.kind == "segment" and label.seg is not None:
                receiver, sender = world.endpoint(label.actor), world.endpoint(1 - label.actor)
                if (g.side is None or g.side == label.actor) and label.seg.inc < sender.inc and receiver.inc >= 2:
                    self.found[g.text] = (dst, label)
            if g.rule is not None and g.text not in self.found:
                actor_ok = g.side is None or g.side == transition.label.actor
                if actor_ok and any(r.name == g.rule for r in transition.rules):
                    self.found[g.text] = (dst, transition.label)
        if not transition.changes:
            return
        pending = [g for g in self.goals if g.before is not None and g.text not in self.found]
        for c in transition.changes:
            for g in pending:
                if (g.side is None or g.side == c.side) and g.before is c.before and g.after is c.after:
                    self.found.setdefault(g.text, (dst, transition.label))


# --- Checking ----------------------------------------------------------------------------------


@dataclass
class Limits:
    """When to stop exploring."""

    max_states: int | None = None
    max_seconds: float | None = None


def _opening(ep: Endpoint) -> bool:
    return ep.state in (LISTEN, SYN_SENT, SYN_RECEIVED)


def _closing(ep: Endpoint) -> bool:
    return ep.state in CLOSED_BY_USER or (ep.close_queued and ep.state is not CLOSED)


def check(
    config: Config,
    wanted: list[Property] | None = None,
    limits: Limits | None = None,
    progress: Callable[[Exploration, bool], None] | None = None,
    rules: tuple[Rule, ...] | None = None,
) -> tuple[Exploration, list[Result]]:
    """Explore ``config`` and judge each wanted property (all by default).

    ``rules`` replaces the spec's rules: the tests check deliberately broken copies.
    """
    from checks.explicit import explore

    wanted = list(wanted or PROPERTIES)
    if not config.reach:
        wanted = [p for p in wanted if p is not COVERAGE]
    limits = limits or Limits()
    invariants = {
        HANDSHAKE_SYNC: InvariantObserver(HANDSHAKE_SYNC, check_handshake_sync, config),
        STREAM_INTEGRITY: InvariantObserver(STREAM_INTEGRITY, check_stream_integrity, config),
        GRACEFUL_CLOSE: InvariantObserver(GRACEFUL_CLOSE, check_graceful_close, config),
        ONE_CONNECTION_PER_OPEN: InvariantObserver(ONE_CONNECTION_PER_OPEN, check_one_connection_per_open, config),
    }
    conformance = ConformanceObserver()
    old_duplicates = OldDuplicateObserver()
    coverage = CoverageObserver(config)
    observers: list[Observer] = [invariants[p] for p in wanted if p in invariants]
    if RFC_CONFORMANCE in wanted:
        observers.append(conformance)
    if NO_OLD_DUPLICATES in wanted:
        observers.append(old_duplicates)
    if COVERAGE in wanted:
        observers.append(coverage)
    ex = explore(
        config,
        observers,
        max_states=limits.max_states,
        max_seconds=limits.max_seconds,
        progress=progress,
        machine=Machine(config, rules),
    )
    results = []
    graph_cache: list[nx.DiGraph] = []
    for prop in wanted:
        if prop in invariants:
            results.append(_invariant_result(ex, prop, invariants[prop]))
        elif prop is RFC_CONFORMANCE:
            results.append(_action_result(ex, prop, conformance))
        elif prop is NO_OLD_DUPLICATES:
            results.append(_action_result(ex, prop, old_duplicates))
        elif prop is DETERMINISM:
            results.append(_determinism_result(ex, prop))
        elif prop is NO_DEADLOCK:
            results.append(_deadlock_result(ex, prop, config))
        elif prop is CAN_FINISH:
            results.append(_can_finish_result(ex, prop, config, graph_cache))
        elif prop is ESTABLISHES:
            results.append(_establishes_result(ex, prop))
        elif prop is CLOSES:
            results.append(_closes_result(ex, prop))
        elif prop is COVERAGE:
            results.append(_coverage_result(ex, prop, coverage))
    return ex, results


def _states_detail(ex: Exploration) -> str:
    return f"({len(ex.states):,} states)"


def _safe_verdict(ex: Exploration, prop: Property, depth: int) -> Result:
    if ex.complete:
        return Result(prop, EXHAUSTED, _states_detail(ex))
    return Result(prop, HOLDS_TO_DEPTH, str(max(depth, 0)))


def _invariant_result(ex: Exploration, prop: Property, ob: InvariantObserver) -> Result:
    if ob.violation is not None:
        sid, message = ob.violation
        return Result(prop, VIOLATED, "", Counterexample(ex.path_to(sid), [], message=message))
    return _safe_verdict(ex, prop, ex.explored_depth)


def _action_result(ex: Exploration, prop: Property, ob: ConformanceObserver | OldDuplicateObserver) -> Result:
    if ob.violation is not None:
        src, label, dst, message = ob.violation
        path = ex.path_to(src) + [(dst, label)]
        return Result(prop, VIOLATED, "", Counterexample(path, [], message=message))
    return _safe_verdict(ex, prop, ex.explored_depth)


def _determinism_result(ex: Exploration, prop: Property) -> Result:
    if ex.errors:
        err = min(ex.errors, key=lambda e: (ex.depth[e.sid], e.sid))
        return Result(prop, VIOLATED, "", Counterexample(ex.path_to(err.sid), [], err.label, err.message))
    return _safe_verdict(ex, prop, ex.explored_depth - 1)


def _deadlock_result(ex: Exploration, prop: Property, config: Config) -> Result:
    for sid, world in enumerate(ex.states):
        if ex.terminal(sid) and not proper_final(world, config):
            return Result(prop, VIOLATED, "", Counterexample(ex.path_to(sid), [], message=stuck_text(world, config)))
    return _safe_verdict(ex, prop, ex.explored_depth - 1)


def stuck_text(world: World, config: Config) -> str:
    """Why a state without successors is not a proper final state."""
    parts = []
    for side in (0, 1):
        ep = world.endpoint(side)
        script = config.endpoint(side).script
        if ep.pc < len(script) and ep.state is not LISTEN:
            parts.append(f"{SIDE_NAMES[side]}'s user waits in {script[ep.pc]} while {SIDE_NAMES[side]} is {ep.state}")
    if world.ab or world.ba:
        parts.append("segments are still in flight")
    return "no event can happen: " + "; ".join(parts)


def _can_finish_result(ex: Exploration, prop: Property, config: Config, cache: list[nx.DiGraph]) -> Result:
    if not ex.complete:
        return Result(prop, UNKNOWN, "(the search was incomplete)")
    graph = ex.digraph(labels=False)
    finals = [sid for sid, w in enumerate(ex.states) if ex.terminal(sid) and proper_final(w, config)]
    sink = -1
    graph.add_edges_from((f, sink) for f in finals)
    good = nx.ancestors(graph, sink) if finals else set()
    for sid in range(len(ex.states)):
        if sid not in good:
            return Result(
                prop,
                VIOLATED,
                "",
                Counterexample(ex.path_to(sid), [], message="from here no proper final state can be reached"),
            )
    return Result(prop, EXHAUSTED, _states_detail(ex))


def _liveness_result(
    ex: Exploration, prop: Property, groups: dict[object, tuple[list[int], Callable[[int], bool]]]
) -> Result:
    if not ex.complete:
        return Result(prop, UNKNOWN, "(the search was incomplete)")
    premises = 0
    for key in sorted(groups, key=repr):
        premise, goal = groups[key]
        premises += len(premise)
        lasso = leads_to(ex, premise, goal)
        if lasso is not None:
            message = "the run stops here" if not lasso.loop else "the run can repeat the loop forever, fairly"
            return Result(prop, VIOLATED, "", Counterexample(lasso.prefix, lasso.loop, message=message))
    detail = _states_detail(ex) if premises else "(premise never holds)"
    return Result(prop, EXHAUSTED, detail)


def establishes_premise(w: World) -> bool:
    """The premise of establishes: both endpoints opening (LISTEN, SYN-SENT, SYN-RECEIVED), not both LISTEN."""
    return _opening(w.a) and _opening(w.b) and not (w.a.state is LISTEN and w.b.state is LISTEN)


def establishes_goal(w: World) -> bool:
    """The goal of establishes: both endpoints synchronized, or one of them CLOSED (it gave up)."""
    both_synced = w.a.state in SYNCHRONIZED and w.b.state in SYNCHRONIZED
    return both_synced or w.a.state is CLOSED or w.b.state is CLOSED


def closes_premise(w: World) -> bool:
    """The premise of closes: both users have called CLOSE (and neither endpoint is CLOSED yet)."""
    return _closing(w.a) and _closing(w.b)


def closes_goal(w: World, inc_a: int, inc_b: int) -> bool:
    """The goal of closes for the incarnations ``inc_a`` and ``inc_b``: each CLOSED, or a later incarnation."""
    return (w.a.state is CLOSED or w.a.inc > inc_a) and (w.b.state is CLOSED or w.b.inc > inc_b)


def _establishes_result(ex: Exploration, prop: Property) -> Result:
    states = ex.states
    premise = [sid for sid, w in enumerate(states) if establishes_premise(w)]
    return _liveness_result(ex, prop, {"all": (premise, lambda sid: establishes_goal(states[sid]))})


def _closes_result(ex: Exploration, prop: Property) -> Result:
    states = ex.states
    groups: dict[object, tuple[list[int], Callable[[int], bool]]] = {}
    for sid, w in enumerate(states):
        if closes_premise(w):
            key = (w.a.inc, w.b.inc)
            if key not in groups:

                def goal(s: int, ia: int = w.a.inc, ib: int = w.b.inc) -> bool:
                    return closes_goal(states[s], ia, ib)

                groups[key] = ([], goal)
            groups[key][0].append(sid)
    return _liveness_result(ex, prop, groups)


def _coverage_result(ex: Exploration, prop: Property, ob: CoverageObserver) -> Result:
    total = len(ob.goals)
    missing = [g.text for g in ob.goals if g.text not in ob.found]
    if not missing:
        return Result(prop, REACHED, f"{total}/{total} goals")
    if ex.complete:
        return Result(
            prop,
            VIOLATED,
            f"{total - len(missing)}/{total} goals",
            Counterexample([], [], message="never reached: " + ", ".join(missing)),
        )
    return Result(prop, UNKNOWN, f"{total - len(missing)}/{total} goals so far")
