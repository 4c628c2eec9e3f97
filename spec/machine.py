"""The reference semantics: how rules, users, network and clock make one transition system.

This module runs the rules on concrete values.  It defines

* :class:`World`, a global state: both endpoints, one channel each way, and
  what is left of the fault budgets;
* :class:`Machine`, which yields the successors of a world, one
  :class:`Transition` per event: a user call, a segment arrival, TCP output, a
  timeout, a crash, a loss, a duplication, or a tick of the clock.

Segment arrival follows the RFC's steps (see :mod:`spec.arrivals`): at each step
at most one rule may apply.  When two apply, the rules are ambiguous and
:class:`AmbiguousRules` is raised -- the engines report it as a violation of
the rules' determinism, with the trace that led there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from spec.config import Call, Config, EndpointConfig
from spec.rulebook import all_rules
from spec.rules import Event, Rule
from spec.segment import Segment
from spec.seqnum import MASK, seq_add
from spec.states import (
    ACK,
    CLOSED,
    LISTEN,
    PSH,
    SYN_SENT,
    TIME_WAIT,
    URG,
    Outcome,
    TcpState,
)
from spec.tcb import PERSISTENT_FIELDS, TIMER_OFF, Ended, Endpoint

A, B, NET = 0, 1, 2
SIDE_NAMES = ("A", "B", "network")
CHANNEL_NAMES = ("A > B", "B > A")


class World(NamedTuple):
    """A global state of the model."""

    a: Endpoint
    b: Endpoint
    ab: tuple[Segment, ...]  # in flight from A to B (FIFO order, or sorted when the network reorders)
    ba: tuple[Segment, ...]  # in flight from B to A
    losses: int = 0  # losses the network may still inflict (unused when loss is unbounded)
    dups: int = 0  # duplications left
    crashes: int = 0  # crashes left

    def endpoint(self, side: int) -> Endpoint:
        return self.a if side == A else self.b

    def channel(self, index: int) -> tuple[Segment, ...]:
        """Channel 0 is A > B, channel 1 is B > A."""
        return self.ab if index == 0 else self.ba


class Label(NamedTuple):
    """What happened in a transition: enough to replay it from its source state."""

    actor: int  # A, B or NET
    kind: str  # call, segment, output, timeout, crash, lose, duplicate, tick
    channel: int = -1  # the channel of a segment event: 0 = A > B, 1 = B > A
    seg: Segment | None = None  # the segment received, lost or duplicated
    choice: int = 0  # index of the ISS selected, when a rule selected one


class Change(NamedTuple):
    """One endpoint's change of state during a transition, and the rule that made it."""

    side: int
    before: TcpState
    after: TcpState
    rule: str
    outcome: Outcome | None = None  # when ``after`` is CLOSED: how the incarnation ended


class Transition(NamedTuple):
    """One edge of the state graph."""

    label: Label
    target: World
    rules: tuple[Rule, ...] = ()  # the rules applied, in order
    sent: tuple[tuple[int, Segment], ...] = ()  # (channel, segment) put on the network
    dropped: tuple[Segment, ...] = ()  # segments lost on a full channel (tail drop)
    changes: tuple[Change, ...] = ()  # state changes, rule by rule


class Reaction(NamedTuple):
    """An endpoint's response to one event (see :meth:`Machine.react`)."""

    endpoint: Endpoint
    sent: tuple[Segment, ...]
    rules: tuple[str, ...]
    changes: tuple[Change, ...]


class Disabled(Exception):
    """Raised by ``require`` when a rule's guard fails."""


class AmbiguousRules(Exception):
    """More than one rule applies at one step: the rules are not deterministic there."""

    def __init__(self, world: World, label: Label, rules: list[Rule]) -> None:
        names = ", ".join(r.name for r in rules)
        super().__init__(f"{SIDE_NAMES[label.actor]}: rules {names} all apply to the same {label.kind} event")
        self.world = world
        self.label = label
        self.rules = rules


class IncompleteRules(Exception):
    """No rule handles an arriving segment, or an expired timer."""

    def __init__(self, world: World, label: Label) -> None:
        who = SIDE_NAMES[label.actor]
        state = world.endpoint(label.actor).state
        if label.kind == "segment":
            what = f"no rule of RFC 9293 §3.10.7 handles {label.seg} in {state}"
        else:
            what = f"no rule handles the expired timer in {state}"
        super().__init__(f"{who}: {what}")
        self.world = world
        self.label = label


class _Work:
    """A mutable copy of an :class:`Endpoint` that rules read and write."""

    __slots__ = Endpoint._fields

    def __init__(self, ep: Endpoint) -> None:
        (
            self.state,
            self.pc,
            self.inc,
            self.passive,
            self.iss,
            self.irs,
            self.snd_una,
            self.snd_nxt,
            self.rcv_nxt,
            self.queued,
            self.sent,
            self.close_queued,
            self.retries,
            self.timer,
            self.held,
            self.peer_inc,
            self.delivered,
            self.history,
        ) = ep

    def freeze(self) -> Endpoint:
        return Endpoint(
            self.state,
            self.pc,
            self.inc,
            self.passive,
            self.iss,
            self.irs,
            self.snd_una,
            self.snd_nxt,
            self.rcv_nxt,
            self.queued,
            self.sent,
            self.close_queued,
            self.retries,
            self.timer,
            self.held,
            self.peer_inc,
            self.delivered,
            self.history,
        )


assert tuple(Endpoint._fields) == _Work.__slots__, "keep _Work in step with Endpoint's fields"


class ConcreteCtx:
    """The rule vocabulary (:class:`spec.rules.Ctx`) on plain integers."""

    __slots__ = (
        "ack_pending",
        "cfg",
        "ghosts",
        "iss_choices",
        "iss_index",
        "iss_used",
        "out",
        "own",
        "seg",
        "tcb",
        "urgent_units",
    )

    def __init__(
        self,
        tcb: Any,
        seg: Any,
        cfg: Config,
        own: EndpointConfig,
        urgent_units: frozenset[int],
        iss_choices: tuple[int, ...],
        iss_index: int,
        out: list[Segment],
        ack_pending: bool,
        iss_used: bool,
        ghosts: bool = True,
    ) -> None:
        self.tcb = tcb
        self.seg = seg
        self.cfg = cfg
        self.own = own  # this endpoint's configuration
        self.urgent_units = urgent_units
        self.iss_choices = iss_choices
        self.iss_index = iss_index
        self.out = out
        self.ack_pending = ack_pending
        self.iss_used = iss_used
        self.ghosts = ghosts  # record what each user receives

    def require(self, *conditions: Any) -> None:
        for condition in conditions:
            if not condition:
                raise Disabled

    def send(self, *, seq: Any, flags: int, ack: Any = 0, data: Any = 0) -> None:
        size = self.own.unit_size(self.tcb.inc, data) if data else 0
        self.out.append(Segment(seq & MASK, ack & MASK, flags, data, self.tcb.inc, 0, size))

    def unit_size(self, unit: Any) -> Any:
        return self.own.unit_size(self.tcb.inc, unit)

    def unit_starting_at(self, offset: Any) -> Any:
        return self.own.unit_starting_at(self.tcb.inc, offset)

    def send_ack(self) -> None:
        self.ack_pending = True

    def choose_iss(self) -> Any:
        self.iss_used = True
        return self.iss_choices[self.iss_index]

    def deliver(self) -> None:
        if self.ghosts:
            self.tcb.delivered = self.tcb.delivered + ((self.seg.inc, self.seg.data),)

    def hold(self) -> None:
        held = set(self.tcb.held)
        held.add(self.seg._replace(age=0))
        self.tcb.held = tuple(sorted(held))

    def data_flags(self, unit: Any) -> Any:
        return ACK | PSH | (URG if unit in self.urgent_units else 0)

    def ite(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return then if condition else otherwise


def enter(x: ConcreteCtx, state: TcpState, outcome: Outcome | None) -> None:
    """What entering ``state`` does besides the rule's own actions.

    CLOSED deletes the TCB (the ghost history records how the incarnation ended);
    LISTEN (from SYN-RECEIVED) forgets the half-open connection but keeps the
    user's queued calls; TIME-WAIT starts the time-wait timer, turning off the
    other timers (RFC 9293 §3.10.7.4, eighth step).
    """
    t = x.tcb
    if state is CLOSED:
        assert outcome is not None
        t.history = t.history + (Ended(t.inc, t.peer_inc, outcome, t.state, t.sent, t.delivered),)
        keep = {name: getattr(t, name) for name in PERSISTENT_FIELDS}
        fresh = Endpoint()._replace(**keep)
        for name, value in zip(Endpoint._fields, fresh, strict=True):
            setattr(t, name, value)
        x.ack_pending = False
    elif state is LISTEN:
        fresh = Endpoint()
        for name in ("iss", "irs", "snd_una", "snd_nxt", "rcv_nxt", "sent", "retries", "held", "peer_inc"):
            setattr(t, name, getattr(fresh, name))
        t.timer = TIMER_OFF
        t.passive = True
        x.ack_pending = False
    elif state is TIME_WAIT:
        t.timer = x.cfg.time_wait_ticks if x.cfg.timed else 0
        t.retries = 0
    t.state = state


class _Outcome(NamedTuple):
    endpoint: Endpoint
    sent: tuple[Segment, ...]
    rules: tuple[Rule, ...]
    iss_used: bool
    changes: tuple[Change, ...]


STEPS = {Event.SEGMENT: (1, 2, 3, 4, 5, 6, 7, 8)}
#: The event behind each kind of endpoint transition label.
EVENT_OF_KIND = {"call": Event.CALL, "segment": Event.SEGMENT, "output": Event.OUTPUT, "timeout": Event.TIMEOUT}
MEMO_LIMIT = 500_000  # entries of the per-endpoint event cache before it is emptied
_MISSING = object()
HELD_STEPS = (7, 8)  # held text and FIN are processed from the seventh step on


class Machine:
    """The transition system of one configuration."""

    def __init__(
        self,
        config: Config,
        rules: tuple[Rule, ...] | None = None,
        memo_limit: int = MEMO_LIMIT,
        ghosts: bool = True,
    ) -> None:
        """The machine of ``config``; ``rules`` replaces the spec's rules (tests use broken copies).

        ``memo_limit`` bounds the cache of events run (a search that never comes back to a state wants a small one);
        ``ghosts=False`` leaves the ghost ``delivered`` empty (replay: it grows with the capture, no verdict reads it).
        """
        self.config = config
        self._memo_limit = memo_limit
        self._ghosts = ghosts
        self.rules = tuple(r for r in (all_rules() if rules is None else rules) if r.applies(config))
        self._scripts = (config.a.script, config.b.script)
        #: per side, the data units its user sent as urgent
        self.urgent = (config.a.urgent_units, config.b.urgent_units)
        index: dict[tuple[Any, ...], list[Rule]] = {}
        for r in self.rules:
            for state in r.states:
                if r.event is Event.CALL:
                    for call in r.calls:
                        index.setdefault((Event.CALL, call, state, 1), []).append(r)
                else:
                    index.setdefault((r.event, None, state, r.step), []).append(r)
        self._index = {key: tuple(rules) for key, rules in index.items()}
        self._memo: dict[tuple[Any, ...], _Outcome | None] = {}
        self._call_label = (Label(A, "call"), Label(B, "call"))
        self._output_label = (Label(A, "output"), Label(B, "output"))
        self._timeout_label = (Label(A, "timeout"), Label(B, "timeout"))

    # --- the initial state ---------------------------------------------------------------------

    def initial(self) -> World:
        """Both endpoints CLOSED -- or LISTEN for one configured as already listening -- and nothing in flight."""
        c = self.config

        def start(ep: EndpointConfig) -> Endpoint:
            return Endpoint(state=LISTEN, inc=1, passive=True) if ep.listening else Endpoint()

        return World(start(c.a), start(c.b), (), (), c.loss or 0, c.duplicate, c.crash)

    # --- running rules ----------------------------------------------------------------------------

    def candidates(self, event: Event, call: Call | None, state: TcpState, step: int) -> tuple[Rule, ...]:
        """The rules that may answer ``event`` (``call``) in ``state`` at ``step`` of its processing."""
        if call is Call.SEND_URGENT:
            call = Call.SEND
        return self._index.get((event, call, state, step), ())

    def iss_choices(self, side: int, ep: Endpoint) -> tuple[int, ...]:
        """The ISS values a rule may select now: those of the incarnation being opened."""
        incarnation = ep.inc + 1 if ep.state is CLOSED else ep.inc
        return self.config.endpoint(side).iss_choices(max(incarnation, 1))

    def _run(
        self, world: World, label: Label, event: Event, ep: Endpoint, seg: Segment | None, call: Call | None
    ) -> _Outcome | None:
        """Run one event at one endpoint; the result depends only on the endpoint and the event.

        So it is memoized: the same endpoint state meets the same segment in many
        global states.  Errors (ambiguous or incomplete rules) are never cached.
        The label's kind stands for the event, and the endpoint's program counter
        for the call (its script's next), so the key holds no Enum: they hash slowly.
        After a call, the endpoint's program counter has moved on.
        """
        key = (label.actor, label.kind, ep, seg, label.choice)
        cached = self._memo.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        result = self._run_rules(world, label, event, ep, seg, call)
        if result is not None and event is Event.CALL:  # the user goes on to its next call
            result = result._replace(endpoint=result.endpoint._replace(pc=result.endpoint.pc + 1))
        if len(self._memo) >= self._memo_limit:
            self._memo.clear()
        self._memo[key] = result
        return result

    def _run_rules(
        self, world: World, label: Label, event: Event, ep: Endpoint, seg: Segment | None, call: Call | None
    ) -> _Outcome | None:
        side = label.actor
        config = self.config
        choices = self.iss_choices(side, ep)
        snapshot: tuple[Endpoint, tuple[Segment, ...], bool, bool] = (ep, (), False, False)
        applied: list[Rule] = []
        changes: list[Change] = []
        steps: tuple[int, ...] = STEPS.get(event, (1,))
        segments: list[Segment | None] = [seg]
        while segments:
            current = segments.pop(0)
            for step in steps:
                ep_now = snapshot[0]
                winners = []
                for r in self.candidates(event, call, ep_now.state, step):
                    x = ConcreteCtx(
                        _Work(ep_now),
                        current,
                        config,
                        config.endpoint(side),
                        self.urgent[side],
                        choices,
                        label.choice,
                        list(snapshot[1]),
                        snapshot[2],
                        snapshot[3],
                        self._ghosts,
                    )
                    try:
                        r.body(x)
                    except Disabled:
                        continue
                    if r.to is not None:
                        enter(x, r.to, r.outcome)
                    winners.append((r, x))
                if len(winners) > 1:
                    raise AmbiguousRules(world, label, [r for r, _ in winners])
                if not winners:
                    continue
                r, x = winners[0]
                applied.append(r)
                if r.to is not None and r.to is not ep_now.state:
                    changes.append(Change(side, ep_now.state, r.to, r.name, r.outcome))
                snapshot = (x.tcb.freeze(), tuple(x.out), x.ack_pending, x.iss_used)
                if r.ends:
                    break
            if event is Event.SEGMENT:
                if not applied:
                    raise IncompleteRules(world, label)
                ep_now, held_next = _next_held(snapshot[0])
                snapshot = (ep_now, snapshot[1], snapshot[2], snapshot[3])
                if held_next is not None:
                    segments.append(held_next)
                    steps = HELD_STEPS
        if not applied:
            return None
        ep_final, out, ack_pending, iss_used = snapshot
        out = tuple(out)
        if ack_pending and ep_final.state not in (CLOSED, LISTEN, SYN_SENT):
            out = out + (Segment(ep_final.snd_nxt, ep_final.rcv_nxt, ACK, 0, ep_final.inc),)
        return _Outcome(ep_final, out, tuple(applied), iss_used, tuple(changes))

    def _endpoint_event(
        self, out: list[Transition], world: World, label: Label, event: Event, seg: Segment | None, call: Call | None
    ) -> None:
        """Append to ``out`` the transitions of one event at one endpoint: one per ISS it may select."""
        side = label.actor
        ep = world.endpoint(side)
        result = self._run(world, label, event, ep, seg, call)
        if result is None:
            return
        if event is Event.SEGMENT:  # the segment leaves the network
            chan = list(world.channel(label.channel))
            chan.remove(seg)  # type: ignore[arg-type]
            world = _with_channel(world, label.channel, tuple(chan))
        results = [(label, result)]
        if result.iss_used:
            for choice in range(1, len(self.iss_choices(side, ep))):
                other = label._replace(choice=choice)
                again = self._run(world, other, event, ep, seg, call)
                assert again is not None
                results.append((other, again))
        for lab, res in results:
            target = _with_endpoint(world, side, res.endpoint)
            if res.sent:
                target, dropped = self._put(target, side, res.sent)  # A sends on channel 0 (A > B)
                sent = tuple([(side, s) for s in res.sent])
                out.append(Transition(lab, target, res.rules, sent, dropped, res.changes))
            else:
                out.append(Transition(lab, target, res.rules, (), (), res.changes))

    def react(
        self,
        side: int,
        ep: Endpoint,
        kind: str,
        seg: Segment | None = None,
        call: Call | None = None,
        choice: int = 0,
    ) -> Reaction | None:
        """What endpoint ``side`` in state ``ep`` does on one event, or None if no rule is enabled.

        ``kind`` is "call" (with ``call``), "segment" (with ``seg``), "output" or "timeout";
        ``choice`` picks the ISS when a rule selects one.  This is the unit the rule-by-rule
        tests and trace replay use; it raises AmbiguousRules or IncompleteRules like exploration.
        """
        event = EVENT_OF_KIND[kind]
        label = Label(side, kind, 1 - side if kind == "segment" else -1, seg, choice)
        world = _with_endpoint(self.initial(), side, ep)
        result = self._run_rules(world, label, event, ep, seg, call)
        if result is None:
            return None
        new_ep = result.endpoint._replace(pc=result.endpoint.pc + 1) if event is Event.CALL else result.endpoint
        return Reaction(new_ep, result.sent, tuple(r.name for r in result.rules), result.changes)

    # --- the network ------------------------------------------------------------------------------

    def _put(self, world: World, channel: int, segs: tuple[Segment, ...]) -> tuple[World, tuple[Segment, ...]]:
        """Send ``segs`` on ``channel`` (0 = A > B); a full channel drops what does not fit."""
        if not segs:
            return world, ()
        chan = list(world.channel(channel))
        dropped = []
        capacity = self.config.capacity
        for s in segs:
            if capacity is not None and len(chan) >= capacity:
                dropped.append(s)
            else:
                chan.append(s)
        if self.config.reorder:
            chan.sort()
        return _with_channel(world, channel, tuple(chan)), tuple(dropped)

    def _deliverable(self, chan: tuple[Segment, ...]) -> list[Segment]:
        if not chan:
            return []
        if not self.config.reorder:
            return [chan[0]]
        return sorted(set(chan))

    # --- successors -------------------------------------------------------------------------------

    def successors(self, world: World) -> list[Transition]:
        """Every transition enabled in ``world``, in a fixed order."""
        out = self.endpoint_successors(world, A) + self.endpoint_successors(world, B)
        config = self.config
        for channel in (0, 1):
            chan = world.channel(channel)
            distinct = sorted(set(chan))
            if config.loss is None or world.losses > 0:
                for seg in distinct:
                    rest = list(chan)
                    rest.remove(seg)
                    target = _with_channel(world, channel, tuple(rest))
                    if config.loss is not None:
                        target = target._replace(losses=world.losses - 1)
                    out.append(Transition(Label(NET, "lose", channel, seg), target))
            if world.dups > 0 and (config.capacity is None or len(chan) < config.capacity):
                for seg in distinct:
                    grown = list(chan) + [seg]
                    if config.reorder:
                        grown.sort()
                    target = _with_channel(world, channel, tuple(grown))._replace(dups=world.dups - 1)
                    out.append(Transition(Label(NET, "duplicate", channel, seg), target))
        if config.timed and self._tick_enabled(world):
            out.append(self._tick(world))
        return out

    def endpoint_successors(
        self, world: World, side: int, arriving: Callable[[Segment], bool] | None = None
    ) -> list[Transition]:
        """The events at endpoint ``side``: its user's next call, each arrival (only of the segments
        ``arriving`` admits, when given), its output, its timer's expiry, its crash."""
        out: list[Transition] = []
        ep = world.endpoint(side)
        script = self._scripts[side]
        if ep.pc < len(script):
            call = script[ep.pc]
            self._endpoint_event(out, world, self._call_label[side], Event.CALL, None, call)
        incoming = 1 - side
        for seg in self._deliverable(world.channel(incoming)):
            if arriving is None or arriving(seg):
                label = Label(side, "segment", incoming, seg)
                self._endpoint_event(out, world, label, Event.SEGMENT, seg, None)
        self._endpoint_event(out, world, self._output_label[side], Event.OUTPUT, None, None)
        if ep.timer == 0 and not (self.config.timed and self._expires_on_tick(ep)):  # else it expires on a tick
            self._endpoint_event(out, world, self._timeout_label[side], Event.TIMEOUT, None, None)
        if world.crashes > 0 and ep.state is not CLOSED:
            crashed = _crash(ep)
            target = _with_endpoint(world, side, crashed)._replace(crashes=world.crashes - 1)
            change = Change(side, ep.state, CLOSED, "crash", Outcome.CRASHED)
            out.append(Transition(Label(side, "crash"), target, changes=(change,)))
        return out

    def arrival(self, world: World, channel: int, seg: Segment) -> list[Transition]:
        """The transitions of ``seg``'s arrival from ``channel`` (0 = A > B): one per ISS its receiver may select.

        Replay uses it to deliver a segment from the middle of a FIFO channel once the
        network has lost the segments ahead of it.
        """
        out: list[Transition] = []
        side = 1 - channel
        self._endpoint_event(out, world, Label(side, "segment", channel, seg), Event.SEGMENT, seg, None)
        return out

    def _tick_enabled(self, world: World) -> bool:
        """Time passes while something is timed, but no segment may outlive MSL in flight.

        Every segment is delivered within MSL ticks of being sent unless the network
        loses it (which counts against the loss budget): a segment whose age has
        reached MSL must be delivered or lost before the clock ticks again.
        """
        msl = self.config.msl
        assert msl is not None
        if any(s.age >= msl for s in world.ab) or any(s.age >= msl for s in world.ba):
            return False
        return not self.idle(world)

    def idle(self, world: World) -> bool:
        """Nothing is timed: no segment in flight, no timer counting down -- a tick would change nothing."""
        return not (world.ab or world.ba) and not any(
            ep.timer > 0 or (ep.timer == 0 and self._expires_on_tick(ep)) for ep in (world.a, world.b)
        )

    def _expires_on_tick(self, ep: Endpoint) -> bool:
        """An expired timer runs out at the tick -- unless it is a retransmission timer of any duration (rto None)."""
        return not self.config.rto_any or ep.state is TIME_WAIT

    def _tick(self, world: World) -> Transition:
        """One tick of the clock, the boundary between two intervals of time.

        In order: segments age (none is older than MSL: see ``_tick_enabled``);
        running timers count down; timers that had already reached zero expire now, and their
        timeout rules run (as BSD's periodic timer routine processes expired
        timers).  A timer set to n ticks thus expires at the first tick after n
        ticks have passed: TIME-WAIT set to 2*MSL outlasts every segment that
        could still arrive, and no shorter setting does.
        """
        label = Label(NET, "tick")
        expiring = [
            side for side in (A, B) if world.endpoint(side).timer == 0 and self._expires_on_tick(world.endpoint(side))
        ]

        def age(chan: tuple[Segment, ...]) -> tuple[Segment, ...]:
            return tuple(Segment(s.seq, s.ack, s.flags, s.data, s.inc, s.age + 1, s.size) for s in chan)

        def count(ep: Endpoint) -> Endpoint:
            return ep._replace(timer=ep.timer - 1) if ep.timer > 0 else ep

        target = world._replace(a=count(world.a), b=count(world.b), ab=age(world.ab), ba=age(world.ba))
        rules: list[Rule] = []
        sent: list[tuple[int, Segment]] = []
        dropped: list[Segment] = []
        changes: list[Change] = []
        for side in expiring:
            ep = target.endpoint(side)
            result = self._run(target, label._replace(actor=side), Event.TIMEOUT, ep, None, None)
            if result is None:
                raise IncompleteRules(world, label._replace(actor=side, kind="timeout"))
            target = _with_endpoint(target, side, result.endpoint)
            target, lost = self._put(target, side, result.sent)
            rules.extend(result.rules)
            sent.extend((side, seg) for seg in result.sent)
            dropped.extend(lost)
            changes.extend(result.changes)
        return Transition(label, target, tuple(rules), tuple(sent), tuple(dropped), tuple(changes))

    # --- replay -----------------------------------------------------------------------------------

    def step(self, world: World, label: Label) -> Transition:
        """The transition ``label`` from ``world`` (raises KeyError if it is not enabled)."""
        for t in self.successors(world):
            if t.label == label:
                return t
        raise KeyError(f"{label} is not enabled")


# These two build the World directly: they run for nearly every transition, and _replace is slower.
def _with_endpoint(world: World, side: int, ep: Endpoint) -> World:
    a, b, ab, ba, losses, dups, crashes = world
    if side == A:
        return World(ep, b, ab, ba, losses, dups, crashes)
    return World(a, ep, ab, ba, losses, dups, crashes)


def _with_channel(world: World, channel: int, chan: tuple[Segment, ...]) -> World:
    a, b, ab, ba, losses, dups, crashes = world
    if channel == 0:
        return World(a, b, chan, ba, losses, dups, crashes)
    return World(a, b, ab, chan, losses, dups, crashes)


def _next_held(ep: Endpoint) -> tuple[Endpoint, Segment | None]:
    """Take the held segment that RCV.NXT has reached, dropping held segments now wholly old."""
    if not ep.held:
        return ep, None
    keep = []
    found = None
    for h in ep.held:
        end = seq_add(h.seq, h.len)
        begins_here = h.seq == ep.rcv_nxt or (h.FIN and seq_add(h.seq, h.text_len) == ep.rcv_nxt)
        if found is None and begins_here:
            found = h
        elif _wholly_old(end, ep.rcv_nxt):
            continue
        else:
            keep.append(h)
    return ep._replace(held=tuple(keep)), found


def _wholly_old(end: int, rcv_nxt: int) -> bool:
    """A held segment ending at or before RCV.NXT has nothing new left."""
    diff = (rcv_nxt - end) & MASK
    return diff < (1 << 31)


def _crash(ep: Endpoint) -> Endpoint:
    """The host loses its TCB (RFC 9293 §3.5.1): nothing is sent, the user is told nothing."""
    history = ep.history + (Ended(ep.inc, ep.peer_inc, Outcome.CRASHED, ep.state, ep.sent, ep.delivered),)
    return Endpoint(pc=ep.pc, inc=ep.inc, history=history)
