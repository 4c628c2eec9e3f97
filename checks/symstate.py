"""The global state of :mod:`spec.machine` as z3 variables: bounded slots for everything that grows.

A :class:`spec.machine.World` holds tuples of any length (segments in flight,
held segments, delivered data, ended incarnations).  Here each becomes a fixed
number of *slots* (:class:`Bounds`): an ordered list with a length, or -- for
the held segments, a set -- slots with a presence bit.  When the model would
need one slot more than the bounds give, the world's ``overflow`` flag is set:
the engines treat a reachable overflow as "bounds too small" (UNKNOWN), never
as a pass, so the slots never silently cut the state space.

Every structure here has three faces that must agree (and are tested to):
``fresh`` (variables), ``of`` (constants for a concrete world), ``to_world``
(back to a concrete world, given values), and ``leaves`` (the flat list of
terms, in one fixed order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from checks.terms import SEQ_BITS, Term, fit, ite
from spec.config import Call, Config
from spec.machine import World
from spec.segment import UNIT, Segment
from spec.states import ACK, FIN, PSH, RST, SYN, URG, Outcome, TcpState
from spec.tcb import TIMER_OFF, Ended, Endpoint

STATE_BITS = 4
SMALL_BITS = 8  # counters, incarnations, flags, data units, ages, timers (TIMER_OFF is all ones)

#: A function that makes the leaf called ``name`` of ``width`` bits (None: a boolean).
Maker = Callable[[str, int | None], Term]
#: A function that evaluates a term to a Python int or bool.
Evaluate = Callable[[Term], Any]

OUTCOMES = tuple(Outcome)


@dataclass(frozen=True)
class Bounds:
    """How many slots each growing part of the state gets."""

    channel: int  # segments in flight per direction
    held: int  # segments held for in-order processing per endpoint
    delivered: int  # units delivered per incarnation
    history: int  # ended incarnations per endpoint

    @staticmethod
    def for_config(config: Config, channel: int | None = None) -> Bounds:
        """Slots for ``config``: the channel capacity (else ``channel``, default 4); the window for held
        segments (none if nothing can arrive ahead of RCV.NXT); one more than any user sends for
        delivered data; the incarnations the scripts can open, plus crashes, for the history."""
        slots = config.capacity if config.capacity is not None else (channel or 4)
        opens = max(
            sum(1 for c in ep.script if c in (Call.OPEN, Call.LISTEN)) + int(ep.listening)
            for ep in (config.a, config.b)
        )
        # One slot more than any user sends: a duplicate delivery -- a violation -- is then representable.
        delivered = max(config.a.sends, config.b.sends) + 1
        # A segment arrives ahead of RCV.NXT only if the network loses, reorders or duplicates, or an
        # earlier incarnation's segment arrives; otherwise no slot for held segments is needed (and if
        # one were, the overflow flag would say so).
        faults = config.loss != 0 or config.reorder or config.duplicate or config.crash or opens > 1
        held = max(1, config.window) if faults else 0
        return Bounds(channel=slots, held=held, delivered=delivered, history=max(1, opens + config.crash))

    def describe(self) -> str:
        return (
            f"{self.channel} segments per channel, {self.held} held, {self.delivered} delivered, "
            f"{self.history} ended incarnations per endpoint"
        )


def _const(value: int | bool, width: int | None) -> Term:
    if width is None:
        return Term(z3.BoolVal(bool(value)))
    return Term(z3.BitVecVal(value % (1 << width), width))


# --- Segments ---------------------------------------------------------------------------------------

SEG_FIELDS: tuple[tuple[str, int], ...] = (
    ("seq", SEQ_BITS),
    ("ack", SEQ_BITS),
    ("flags", SMALL_BITS),
    ("data", SMALL_BITS),
    ("inc", SMALL_BITS),
    ("age", SMALL_BITS),
)


class SymSegment:
    """A segment whose fields are terms; reads like :class:`spec.segment.Segment` to the rules."""

    __slots__ = ("ack", "age", "data", "flags", "inc", "seq")

    def __init__(self, seq: Any, ack: Any, flags: Any, data: Any, inc: Any, age: Any) -> None:
        self.seq = fit(seq, SEQ_BITS)
        self.ack = fit(ack, SEQ_BITS)
        self.flags = fit(flags, SMALL_BITS)
        self.data = fit(data, SMALL_BITS)
        self.inc = fit(inc, SMALL_BITS)
        self.age = fit(age, SMALL_BITS)

    @staticmethod
    def fresh(name: str, make: Maker) -> SymSegment:
        return SymSegment(*(make(f"{name}.{f}", w) for f, w in SEG_FIELDS))

    @staticmethod
    def of(seg: Segment) -> SymSegment:
        return SymSegment(*(_const(getattr(seg, f), w) for f, w in SEG_FIELDS))

    def to_segment(self, value: Evaluate) -> Segment:
        seg = Segment(*(value(getattr(self, f)) for f, _ in SEG_FIELDS))
        return seg._replace(size=UNIT if seg.data else 0)  # every unit is one octet in the encodings

    def leaves(self) -> list[Term]:
        return [self.seq, self.ack, self.flags, self.data, self.inc, self.age]

    def replace(self, **changes: Any) -> SymSegment:
        fields = {f: getattr(self, f) for f, _ in SEG_FIELDS}
        fields.update(changes)
        return SymSegment(**fields)

    def _bit(self, flag: int) -> Term:
        return (self.flags & flag) != 0

    @property
    def SYN(self) -> Term:  # noqa: N802 - the RFC's name of the control bit
        return self._bit(SYN)

    @property
    def ACK(self) -> Term:  # noqa: N802
        return self._bit(ACK)

    @property
    def FIN(self) -> Term:  # noqa: N802
        return self._bit(FIN)

    @property
    def RST(self) -> Term:  # noqa: N802
        return self._bit(RST)

    @property
    def PSH(self) -> Term:  # noqa: N802
        return self._bit(PSH)

    @property
    def URG(self) -> Term:  # noqa: N802
        return self._bit(URG)

    @property
    def has_text(self) -> Term:
        return self.data != 0

    @property
    def text_len(self) -> Term:
        return fit(ite(self.has_text, 1, 0), SEQ_BITS)

    @property
    def len(self) -> Term:
        """SEG.LEN, 32 bits: text, plus one each for SYN and FIN."""
        return self.text_len + fit(ite(self.SYN, 1, 0), SEQ_BITS) + fit(ite(self.FIN, 1, 0), SEQ_BITS)


def same_segment(s: SymSegment, t: SymSegment) -> z3.BoolRef:
    return z3.And(*[(x == y).e for x, y in zip(s.leaves(), t.leaves(), strict=True)])


def segment_before(s: SymSegment, t: SymSegment) -> z3.BoolRef:
    """``s < t`` in the order of :class:`Segment` tuples (field by field, unsigned)."""
    result: z3.BoolRef = z3.BoolVal(False)
    for x, y in reversed(list(zip(s.leaves(), t.leaves(), strict=True))):
        result = z3.Or(z3.ULT(x.e, y.e), z3.And(x.e == y.e, result))
    return result


# --- Ordered slots with a length --------------------------------------------------------------------


class Slots:
    """An ordered list of at most ``len(items)`` records: the first ``length`` slots are in use."""

    __slots__ = ("items", "length")

    def __init__(self, items: list[Any], length: Any) -> None:
        self.items = items
        self.length = fit(length, SMALL_BITS)

    @property
    def capacity(self) -> int:
        return len(self.items)

    def used(self, i: int) -> Term:
        return self.length > i

    def full(self) -> Term:
        return self.length == self.capacity

    def append(self, item: Any, when: Any = True) -> tuple[Slots, Term]:
        """The list with ``item`` added at the end (if ``when``), and whether it did not fit."""
        items = [choose(when & (self.length == i), item, old) for i, old in enumerate(self.items)]
        grows = when & (self.length < self.capacity)
        return Slots(items, ite(grows, self.length + 1, self.length)), when & self.full()

    def remove(self, index: Term) -> Slots:
        """The list without slot ``index`` (later slots move up one)."""
        items = []
        for i, old in enumerate(self.items):
            later = self.items[i + 1] if i + 1 < self.capacity else old
            items.append(choose(index <= i, later, old))
        return Slots(items, self.length - 1)

    def at(self, index: Term) -> Any:
        """The record in slot ``index`` (a term choosing among the slots)."""
        result = self.items[-1]
        for i in range(self.capacity - 2, -1, -1):
            result = choose(index == i, self.items[i], result)
        return result


def choose(condition: Any, then: Any, otherwise: Any) -> Any:
    """``ite`` lifted to records (segments, tuples of terms, ended incarnations, slots)."""
    if isinstance(condition, bool):
        return then if condition else otherwise
    if then is otherwise:
        return then
    if isinstance(then, Term) and isinstance(otherwise, Term) and then.e.eq(otherwise.e):
        return then
    if isinstance(then, SymSegment):
        return SymSegment(*(ite(condition, x, y) for x, y in zip(then.leaves(), otherwise.leaves(), strict=True)))
    if isinstance(then, tuple):
        return tuple(choose(condition, x, y) for x, y in zip(then, otherwise, strict=True))
    if isinstance(then, SymEnded):
        return SymEnded(*(choose(condition, x, y) for x, y in zip(then.parts(), otherwise.parts(), strict=True)))
    if isinstance(then, Slots):
        return Slots(
            [choose(condition, x, y) for x, y in zip(then.items, otherwise.items, strict=True)],
            ite(condition, then.length, otherwise.length),
        )
    return ite(condition, then, otherwise)


def _slot_leaves(item: Any) -> list[Term]:
    if isinstance(item, SymSegment):
        return item.leaves()
    if isinstance(item, tuple):
        return list(item)
    assert isinstance(item, SymEnded)
    return item.leaves()


def slots_leaves(slots: Slots) -> list[Term]:
    out = [slots.length]
    for item in slots.items:
        out.extend(_slot_leaves(item))
    return out


def same_slots(s: Slots, t: Slots) -> z3.BoolRef:
    """The two lists hold the same records (slots beyond the length are not compared)."""
    parts = [(s.length == t.length).e]
    for i, (x, y) in enumerate(zip(s.items, t.items, strict=True)):
        equal = z3.And(*[(p == q).e for p, q in zip(_slot_leaves(x), _slot_leaves(y), strict=True)])
        parts.append(z3.Implies(s.used(i).e, equal))
    return z3.And(*parts)


# --- Delivered data and ended incarnations -----------------------------------------------------------


def fresh_delivered(name: str, n: int, make: Maker) -> Slots:
    items = [(make(f"{name}[{i}].inc", SMALL_BITS), make(f"{name}[{i}].unit", SMALL_BITS)) for i in range(n)]
    return Slots(items, make(f"{name}.len", SMALL_BITS))


def delivered_of(delivered: tuple[tuple[int, int], ...], n: int) -> Slots:
    if len(delivered) > n:
        raise ValueError(f"{len(delivered)} delivered units do not fit in {n} slots")
    items = [(_const(inc, SMALL_BITS), _const(unit, SMALL_BITS)) for inc, unit in delivered]
    items += [(_const(0, SMALL_BITS), _const(0, SMALL_BITS))] * (n - len(delivered))
    return Slots(items, len(delivered))


def delivered_value(slots: Slots, value: Evaluate) -> tuple[tuple[int, int], ...]:
    return tuple((value(inc), value(unit)) for inc, unit in slots.items[: value(slots.length)])


class SymEnded:
    """Ghost record of an ended incarnation (:class:`spec.tcb.Ended`)."""

    __slots__ = ("delivered", "inc", "outcome", "peer_inc", "sent", "state")

    def __init__(self, inc: Any, peer_inc: Any, outcome: Any, state: Any, sent: Any, delivered: Slots) -> None:
        self.inc = fit(inc, SMALL_BITS)
        self.peer_inc = fit(peer_inc, SMALL_BITS)
        self.outcome = fit(outcome, STATE_BITS)
        self.state = fit(state, STATE_BITS)
        self.sent = fit(sent, SMALL_BITS)
        self.delivered = delivered

    def parts(self) -> tuple[Any, ...]:
        return (self.inc, self.peer_inc, self.outcome, self.state, self.sent, self.delivered)

    def leaves(self) -> list[Term]:
        return [self.inc, self.peer_inc, self.outcome, self.state, self.sent, *slots_leaves(self.delivered)]

    @staticmethod
    def fresh(name: str, bounds: Bounds, make: Maker) -> SymEnded:
        return SymEnded(
            make(f"{name}.inc", SMALL_BITS),
            make(f"{name}.peer_inc", SMALL_BITS),
            make(f"{name}.outcome", STATE_BITS),
            make(f"{name}.state", STATE_BITS),
            make(f"{name}.sent", SMALL_BITS),
            fresh_delivered(f"{name}.delivered", bounds.delivered, make),
        )

    @staticmethod
    def of(e: Ended, bounds: Bounds) -> SymEnded:
        return SymEnded(
            _const(e.inc, SMALL_BITS),
            _const(e.peer_inc, SMALL_BITS),
            _const(OUTCOMES.index(e.outcome), STATE_BITS),
            _const(int(e.state), STATE_BITS),
            _const(e.sent, SMALL_BITS),
            delivered_of(e.delivered, bounds.delivered),
        )

    def to_ended(self, value: Evaluate) -> Ended:
        return Ended(
            value(self.inc),
            value(self.peer_inc),
            OUTCOMES[value(self.outcome)],
            TcpState(value(self.state)),
            value(self.sent),
            delivered_value(self.delivered, value),
        )


# --- Held segments: a set -----------------------------------------------------------------------------


class Held:
    """Segments held for in-order processing: a set, one presence bit per slot."""

    __slots__ = ("items", "present")

    def __init__(self, items: list[SymSegment], present: list[Any]) -> None:
        self.items = items
        self.present = [Term(z3.BoolVal(p)) if isinstance(p, bool) else p for p in present]

    def leaves(self) -> list[Term]:
        out: list[Term] = []
        for seg, here in zip(self.items, self.present, strict=True):
            out.append(here)
            out.extend(seg.leaves())
        return out

    def add(self, seg: SymSegment) -> tuple[Held, Term]:
        """The set with ``seg`` added (into the first free slot), and whether it did not fit."""
        known = z3.Or(
            *[z3.And(p.e, same_segment(s, seg)) for s, p in zip(self.items, self.present, strict=True)],
            z3.BoolVal(False),
        )
        placed: Any = Term(known)
        items, present = [], []
        for s, p in zip(self.items, self.present, strict=True):
            here = ~placed & ~p
            items.append(choose(here, seg, s))
            present.append(p | here)
            placed = placed | here
        return Held(items, present), ~placed

    def same(self, other: Held) -> z3.BoolRef:
        parts = []
        for s, p, t, q in zip(self.items, self.present, other.items, other.present, strict=True):
            parts.append(p.e == q.e)
            parts.append(z3.Implies(p.e, same_segment(s, t)))
        return z3.And(*parts)


# --- Endpoints and worlds ---------------------------------------------------------------------------

SCALARS: tuple[tuple[str, int | None], ...] = (
    ("state", STATE_BITS),
    ("pc", SMALL_BITS),
    ("inc", SMALL_BITS),
    ("passive", None),
    ("iss", SEQ_BITS),
    ("irs", SEQ_BITS),
    ("snd_una", SEQ_BITS),
    ("snd_nxt", SEQ_BITS),
    ("rcv_nxt", SEQ_BITS),
    ("queued", SMALL_BITS),
    ("sent", SMALL_BITS),
    ("close_queued", None),
    ("retries", SMALL_BITS),
    ("timer", SMALL_BITS),
    ("peer_inc", SMALL_BITS),
)


_WIDTHS = dict(SCALARS)


class SymEndpoint:
    """An endpoint (:class:`spec.tcb.Endpoint`) whose fields are terms; rules read and write them."""

    state: Term
    pc: Term
    inc: Term
    passive: Term
    iss: Term
    irs: Term
    snd_una: Term
    snd_nxt: Term
    rcv_nxt: Term
    queued: Term
    sent: Term
    close_queued: Term
    retries: Term
    timer: Term
    peer_inc: Term
    held: Held
    delivered: Slots
    history: Slots

    def __init__(self, scalars: dict[str, Term], held: Held, delivered: Slots, history: Slots) -> None:
        for name, value in scalars.items():
            setattr(self, name, value)
        self.held = held
        self.delivered = delivered
        self.history = history

    def __setattr__(self, name: str, value: Any) -> None:
        width = _WIDTHS.get(name, 0)
        if width != 0 and not isinstance(value, Term):
            value = _const(value, width)
        elif width and isinstance(value, Term) and z3.is_bv(value.e):
            value = fit(value, width)
        object.__setattr__(self, name, value)

    def copy(self) -> SymEndpoint:
        twin = object.__new__(SymEndpoint)
        twin.__dict__.update(self.__dict__)
        return twin

    def leaves(self) -> list[Term]:
        out = [getattr(self, n) for n, _ in SCALARS]
        out += self.held.leaves() + slots_leaves(self.delivered) + slots_leaves(self.history)
        return out

    @staticmethod
    def fresh(name: str, bounds: Bounds, make: Maker) -> SymEndpoint:
        scalars = {n: make(f"{name}.{n}", w) for n, w in SCALARS}
        held = Held(
            [SymSegment.fresh(f"{name}.held[{i}]", make) for i in range(bounds.held)],
            [make(f"{name}.held[{i}].present", None) for i in range(bounds.held)],
        )
        delivered = fresh_delivered(f"{name}.delivered", bounds.delivered, make)
        history = Slots(
            [SymEnded.fresh(f"{name}.history[{i}]", bounds, make) for i in range(bounds.history)],
            make(f"{name}.history.len", SMALL_BITS),
        )
        return SymEndpoint(scalars, held, delivered, history)

    @staticmethod
    def of(ep: Endpoint, bounds: Bounds) -> SymEndpoint:
        scalars = {}
        for n, w in SCALARS:
            v = getattr(ep, n)
            scalars[n] = _const(int(v) if isinstance(v, TcpState) else v, w)
        if len(ep.held) > bounds.held:
            raise ValueError(f"{len(ep.held)} held segments do not fit in {bounds.held} slots")
        blank = Segment(0, 0, 0)
        held = Held(
            [SymSegment.of(s) for s in ep.held] + [SymSegment.of(blank)] * (bounds.held - len(ep.held)),
            [True] * len(ep.held) + [False] * (bounds.held - len(ep.held)),
        )
        if len(ep.history) > bounds.history:
            raise ValueError(f"{len(ep.history)} ended incarnations do not fit in {bounds.history} slots")
        blank_end = Ended(0, 0, OUTCOMES[0], TcpState.CLOSED, 0, ())
        history = Slots(
            [SymEnded.of(e, bounds) for e in ep.history]
            + [SymEnded.of(blank_end, bounds)] * (bounds.history - len(ep.history)),
            len(ep.history),
        )
        return SymEndpoint(scalars, held, delivered_of(ep.delivered, bounds.delivered), history)

    def to_endpoint(self, value: Evaluate) -> Endpoint:
        fields: dict[str, Any] = {}
        for n, _ in SCALARS:
            fields[n] = value(getattr(self, n))
        fields["state"] = TcpState(fields["state"])
        if fields["timer"] == (1 << SMALL_BITS) - 1:
            fields["timer"] = TIMER_OFF
        held = [s.to_segment(value) for s, p in zip(self.held.items, self.held.present, strict=True) if value(p)]
        fields["held"] = tuple(sorted(held))
        fields["delivered"] = delivered_value(self.delivered, value)
        fields["history"] = tuple(e.to_ended(value) for e in self.history.items[: value(self.history.length)])
        return Endpoint(**fields)


def fresh_channel(name: str, bounds: Bounds, make: Maker) -> Slots:
    return Slots(
        [SymSegment.fresh(f"{name}[{i}]", make) for i in range(bounds.channel)], make(f"{name}.len", SMALL_BITS)
    )


def channel_of(chan: tuple[Segment, ...], bounds: Bounds) -> Slots:
    if len(chan) > bounds.channel:
        raise ValueError(f"{len(chan)} segments in flight do not fit in {bounds.channel} slots")
    blank = Segment(0, 0, 0)
    return Slots([SymSegment.of(s) for s in chan] + [SymSegment.of(blank)] * (bounds.channel - len(chan)), len(chan))


class SymWorld:
    """A global state (:class:`spec.machine.World`) as terms, plus the overflow flag."""

    def __init__(
        self,
        a: SymEndpoint,
        b: SymEndpoint,
        ab: Slots,
        ba: Slots,
        losses: Term,
        dups: Term,
        crashes: Term,
        overflow: Term,
    ) -> None:
        self.a, self.b, self.ab, self.ba = a, b, ab, ba
        self.losses, self.dups, self.crashes, self.overflow = losses, dups, crashes, overflow

    def endpoint(self, side: int) -> SymEndpoint:
        return self.a if side == 0 else self.b

    def channel(self, index: int) -> Slots:
        return self.ab if index == 0 else self.ba

    def copy(self) -> SymWorld:
        return SymWorld(self.a, self.b, self.ab, self.ba, self.losses, self.dups, self.crashes, self.overflow)

    def with_endpoint(self, side: int, ep: SymEndpoint) -> SymWorld:
        w = self.copy()
        if side == 0:
            w.a = ep
        else:
            w.b = ep
        return w

    def leaves(self) -> list[Term]:
        return [
            *self.a.leaves(),
            *self.b.leaves(),
            *slots_leaves(self.ab),
            *slots_leaves(self.ba),
            fit(self.losses, SMALL_BITS),
            fit(self.dups, SMALL_BITS),
            fit(self.crashes, SMALL_BITS),
            self.overflow,
        ]

    @staticmethod
    def fresh(bounds: Bounds, make: Maker) -> SymWorld:
        return SymWorld(
            SymEndpoint.fresh("A", bounds, make),
            SymEndpoint.fresh("B", bounds, make),
            fresh_channel("A>B", bounds, make),
            fresh_channel("B>A", bounds, make),
            make("losses", SMALL_BITS),
            make("dups", SMALL_BITS),
            make("crashes", SMALL_BITS),
            make("overflow", None),
        )

    @staticmethod
    def of(world: World, bounds: Bounds) -> SymWorld:
        return SymWorld(
            SymEndpoint.of(world.a, bounds),
            SymEndpoint.of(world.b, bounds),
            channel_of(world.ab, bounds),
            channel_of(world.ba, bounds),
            _const(world.losses, SMALL_BITS),
            _const(world.dups, SMALL_BITS),
            _const(world.crashes, SMALL_BITS),
            _const(False, None),
        )

    def to_world(self, value: Evaluate, reorder: bool) -> World:
        def chan(slots: Slots) -> tuple[Segment, ...]:
            segs = [s.to_segment(value) for s in slots.items[: value(slots.length)]]
            return tuple(sorted(segs)) if reorder else tuple(segs)

        return World(
            self.a.to_endpoint(value),
            self.b.to_endpoint(value),
            chan(self.ab),
            chan(self.ba),
            value(self.losses),
            value(self.dups),
            value(self.crashes),
        )


def variables(bounds: Bounds, suffix: str) -> SymWorld:
    """A world of fresh z3 constants, named ``A.snd_nxt@3`` for ``suffix`` "@3"."""

    def make(name: str, width: int | None) -> Term:
        if width is None:
            return Term(z3.Bool(name + suffix))
        return Term(z3.BitVec(name + suffix, width))

    return SymWorld.fresh(bounds, make)


def model_value(model: z3.ModelRef) -> Evaluate:
    """Evaluate terms in ``model`` to Python ints and bools."""

    def value(t: Term) -> Any:
        v = model.eval(t.e, model_completion=True)
        return z3.is_true(v) if z3.is_bool(v) else v.as_long()

    return value
