"""The transition relation of one configuration as a z3 formula, compiled from the rules in ``spec/``.

Nothing of the protocol is written here.  The rule functions of ``spec/`` run
once more, on symbolic values (:class:`SymCtx`, :mod:`checks.terms`): each run
yields the rule's guard and its updates as formulas.  Around them this module
mirrors the *glue* of :mod:`spec.machine` -- which rules are candidates at
which step, entering a state, holding segments for in-order processing, the
channels, the clock -- on the bounded slots of :mod:`checks.symstate`.  The
agreement tests hold the two against each other, state by state.

Symbolic execution of an event follows every path through the processing steps
(which rule applies at each step, from each RFC state); paths that make the
same state changes are merged, their values joined with ``If``.  What is left
is a list of :class:`Branch` es: one kind of event at one side (or the
network, or the clock) with one sequence of state changes.  A branch's
condition is a formula over the current state and three *choice* variables
(which branch ``ev``, which channel slot ``idx``, which ISS ``iss``); its
target is the next state as terms over the same.  :meth:`Relation.formula`
joins them: ``ev`` selects the branch, and every variable of the next state is
an ``If`` chain over the branches that change it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from checks.conformance import describe_edge
from checks.symstate import (
    OUTCOMES,
    SCALARS,
    SMALL_BITS,
    STATE_BITS,
    Bounds,
    Held,
    Slots,
    SymEnded,
    SymEndpoint,
    SymSegment,
    SymWorld,
    choose,
    model_value,
    same_segment,
    segment_before,
    variables,
)
from checks.terms import SEQ_BITS, Term, cond, fit, ite
from spec.config import Call, Config
from spec.machine import EVENT_OF_KIND, HELD_STEPS, STEPS, Change, Machine, World
from spec.rules import Event, Rule
from spec.segment import UNIT, Segment
from spec.seqnum import seq_add, seq_le
from spec.states import ACK, ALL_STATES, CLOSED, LISTEN, PSH, SYN_SENT, TIME_WAIT, URG, Outcome, TcpState
from spec.tcb import TIMER_OFF, Endpoint

TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


class _TimedOnTerms:
    """The configuration as the rules see it on terms: ``time_wait_ticks`` is a term (perhaps a parameter)."""

    def __init__(self, cfg: Config, time_wait: Term) -> None:
        self._cfg = cfg
        self.time_wait_ticks = time_wait

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cfg, name)


class SymCtx:
    """The rule vocabulary (:class:`spec.rules.Ctx`) on terms: guards and sends are collected."""

    def __init__(
        self,
        tcb: SymEndpoint,
        seg: SymSegment | None,
        cfg: Config,
        urgent: frozenset[int],
        iss: Term,
        time_wait: Term,
    ) -> None:
        self.tcb: Any = tcb  # a SymEndpoint (Any: the Ctx protocol types its fields loosely)
        self.seg: Any = seg  # a SymSegment, or None for events without a segment
        self.cfg: Any = _TimedOnTerms(cfg, time_wait)  # the rules read TIME-WAIT's duration from it
        self.urgent = urgent
        self.iss = iss
        self.out: list[SymSegment] = []
        self.ack_pending = False
        self.iss_used = False
        self.guard: list[z3.BoolRef] = []
        self.overflow: list[Term] = []

    def require(self, *conditions: Any) -> None:
        self.guard.extend(cond(c) for c in conditions)

    def send(self, *, seq: Any, flags: Any, ack: Any = 0, data: Any = 0) -> None:
        self.out.append(SymSegment(seq, ack, flags, data, self.tcb.inc, 0))

    def send_ack(self) -> None:
        self.ack_pending = True

    def unit_size(self, unit: Any) -> Any:
        return UNIT  # the encodings take every unit to be one octet (Config: one_octet_units)

    def unit_starting_at(self, offset: Any) -> Any:
        return offset  # unit n begins n octets after ISS when every unit is one octet

    def choose_iss(self) -> Any:
        self.iss_used = True
        return self.iss

    def deliver(self) -> None:
        assert self.seg is not None
        self.tcb.delivered, full = self.tcb.delivered.append((self.seg.inc, self.seg.data))
        self.overflow.append(full)

    def hold(self) -> None:
        assert self.seg is not None
        self.tcb.held, full = self.tcb.held.add(self.seg.replace(age=0))
        self.overflow.append(full)

    def data_flags(self, unit: Any) -> Any:
        urgent: Any = False
        for u in sorted(self.urgent):
            urgent = urgent | (unit == u)
        return ACK | PSH | fit(ite(urgent, URG, 0), SMALL_BITS)

    def ite(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return ite(condition, then, otherwise)


def _blank_endpoint(pc: Term, inc: Term, history: Slots, held: Held, delivered: Slots) -> SymEndpoint:
    """The endpoint with a deleted TCB: only the user's progress and the ghost history survive."""
    scalars = {
        "state": Term(z3.BitVecVal(int(CLOSED), STATE_BITS)),
        "pc": pc,
        "inc": inc,
        "passive": Term(FALSE),
        "iss": fit(0, SEQ_BITS),
        "irs": fit(0, SEQ_BITS),
        "snd_una": fit(0, SEQ_BITS),
        "snd_nxt": fit(0, SEQ_BITS),
        "rcv_nxt": fit(0, SEQ_BITS),
        "queued": fit(0, SMALL_BITS),
        "sent": fit(0, SMALL_BITS),
        "close_queued": Term(FALSE),
        "retries": fit(0, SMALL_BITS),
        "timer": fit(TIMER_OFF, SMALL_BITS),
        "peer_inc": fit(0, SMALL_BITS),
    }
    return SymEndpoint(scalars, held, delivered, history)


def _empty_held(held: Held) -> Held:
    return Held(held.items, [False] * len(held.items))


def _empty_delivered(slots: Slots) -> Slots:
    return Slots(slots.items, 0)


def end_incarnation(t: SymEndpoint, outcome: Outcome) -> tuple[SymEndpoint, Term]:
    """The TCB deleted: how it ended goes into the ghost history (and whether that overflowed)."""
    ended = SymEnded(t.inc, t.peer_inc, OUTCOMES.index(outcome), t.state, t.sent, t.delivered)
    history, full = t.history.append(ended)
    fresh = _blank_endpoint(t.pc, t.inc, history, _empty_held(t.held), _empty_delivered(t.delivered))
    return fresh, full


def enter(x: SymCtx, state: TcpState, outcome: Outcome | None) -> None:
    """:func:`spec.machine.enter` on terms."""
    t = x.tcb
    if state is CLOSED:
        assert outcome is not None
        fresh, full = end_incarnation(t, outcome)
        x.overflow.append(full)
        x.tcb = t = fresh
        x.ack_pending = False
    elif state is LISTEN:
        for name, width in (("iss", SEQ_BITS), ("irs", SEQ_BITS), ("snd_una", SEQ_BITS), ("snd_nxt", SEQ_BITS)):
            setattr(t, name, fit(0, width))
        t.rcv_nxt = fit(0, SEQ_BITS)
        t.sent = fit(0, SMALL_BITS)
        t.retries = fit(0, SMALL_BITS)
        t.held = _empty_held(t.held)
        t.peer_inc = fit(0, SMALL_BITS)
        t.timer = fit(TIMER_OFF, SMALL_BITS)
        t.passive = Term(TRUE)
        x.ack_pending = False
    elif state is TIME_WAIT:
        t.timer = x.cfg.time_wait_ticks
        t.retries = fit(0, SMALL_BITS)
    t.state = Term(z3.BitVecVal(int(state), STATE_BITS))


@dataclass
class Path:
    """The paths through an endpoint's processing of one event that made the same state changes.

    Paths that change the RFC state alike are merged into one (symbolic execution's state
    merging): ``cond`` is their disjunction and every value an ``If`` over which one was taken.
    """

    cond: z3.BoolRef
    ep: SymEndpoint
    state: TcpState
    out: list[tuple[z3.BoolRef, SymSegment]]  # (sent if, segment)
    ack_pending: z3.BoolRef = FALSE
    iss_used: z3.BoolRef = FALSE
    overflow: z3.BoolRef = FALSE
    rules: tuple[Rule, ...] = ()
    changes: tuple[Change, ...] = ()

    @property
    def key(self) -> tuple[TcpState, tuple[Change, ...], bool]:
        return (self.state, self.changes, bool(self.rules))

    def extend(self, c: z3.BoolRef) -> Path:
        return Path(
            z3.And(self.cond, c),
            self.ep,
            self.state,
            self.out,
            self.ack_pending,
            self.iss_used,
            self.overflow,
            self.rules,
            self.changes,
        )


def _pick(c: z3.BoolRef, x: Any, y: Any) -> Any:
    """``If(c, x, y)`` for terms, z3 expressions or records; ``x`` itself when the two are one expression."""
    if isinstance(x, Term) and isinstance(y, Term):
        return x if x.e.eq(y.e) else ite(Term(c), x, y)
    if isinstance(x, z3.ExprRef):
        return x if x.eq(y) else z3.If(c, x, y)
    return choose(Term(c), x, y)


def merge_endpoints(c: z3.BoolRef, x: SymEndpoint, y: SymEndpoint) -> SymEndpoint:
    """The endpoint that is ``x`` where ``c`` holds and ``y`` elsewhere."""
    out = x.copy()
    for name, _ in SCALARS:
        setattr(out, name, _pick(c, getattr(x, name), getattr(y, name)))
    if x.held is not y.held:
        out.held = Held(
            [_pick(c, s, t) for s, t in zip(x.held.items, y.held.items, strict=True)],
            [_pick(c, p, q) for p, q in zip(x.held.present, y.held.present, strict=True)],
        )
    if x.delivered is not y.delivered:
        out.delivered = choose(Term(c), x.delivered, y.delivered)
    if x.history is not y.history:
        out.history = choose(Term(c), x.history, y.history)
    return out


def merge(p: Path, q: Path) -> Path:
    """One path for two with the same state changes (``p`` where its condition holds, else ``q``)."""
    c = p.cond
    if len(p.out) == len(q.out):
        out = [(_pick(c, w, v), _pick(c, s, t)) for (w, s), (v, t) in zip(p.out, q.out, strict=True)]
    else:
        out = [(z3.And(c, w), s) for w, s in p.out] + [(z3.And(z3.Not(c), v), t) for v, t in q.out]
    return Path(
        z3.Or(p.cond, q.cond),
        merge_endpoints(c, p.ep, q.ep),
        p.state,
        out,
        _pick(c, p.ack_pending, q.ack_pending),
        _pick(c, p.iss_used, q.iss_used),
        _pick(c, p.overflow, q.overflow),
        p.rules + tuple(r for r in q.rules if r not in p.rules),
        p.changes,
    )


def by_changes(p: Path) -> Any:
    """Merge across start states: only the state changes (and whether a rule applied) tell paths apart."""
    return (p.changes, bool(p.rules))


def merged(paths: list[Path], key: Callable[[Path], Any] = lambda p: p.key) -> list[Path]:
    """The paths merged by ``key`` (by default: same state, same changes), in order of first appearance."""
    groups: dict[Any, Path] = {}
    for p in paths:
        k = key(p)
        groups[k] = merge(groups[k], p) if k in groups else p
    return list(groups.values())


@dataclass
class Problem:
    """A condition under which the rules are ambiguous or incomplete (a rules-deterministic violation)."""

    cond: z3.BoolRef
    message: str
    side: int = -1  # the endpoint whose event it is (its condition implies that endpoint's RFC state)
    state: TcpState | None = None


@dataclass
class ChannelOp:
    """What a branch does to one channel, in this order: remove a slot, age every segment, send."""

    remove: Term | None = None  # the slot taken out (received or lost)
    age: bool = False  # a tick: every segment in flight ages by one
    sends: tuple[tuple[z3.BoolRef, SymSegment], ...] = ()  # (sent if, segment), appended in order
    wait: bool = False  # a wait: every segment in flight ages by the frame's ``idx`` ticks


NO_OPS = (ChannelOp(), ChannelOp())


@dataclass
class Branch:
    """One kind of event with one sequence of state changes: a disjunct of the relation.

    ``target`` gives the next state's endpoints and fault budgets; its channels and overflow flag are
    left as they were: ``ops`` (what happens to each channel) and ``overflow`` (the endpoints' slots
    overflowing) say what becomes of them, in a form :meth:`Relation.formula` shares among branches.
    """

    kind: str  # call, segment, output, timeout, crash, lose, duplicate, tick
    actor: int  # 0 = A, 1 = B, 2 = network
    channel: int
    cond: z3.BoolRef
    target: SymWorld
    rules: tuple[Rule, ...] = ()
    changes: tuple[Change, ...] = ()
    seg: SymSegment | None = None  # the segment received (kind "segment")
    ops: tuple[ChannelOp, ChannelOp] = NO_OPS
    overflow: z3.BoolRef = FALSE  # the endpoints' slots (held, delivered, history) overflow
    start: TcpState | None = None  # the RFC state of the actor, when the branch is only enabled in one

    @property
    def conforms(self) -> bool:
        """Every state change is an RFC 9293 edge (the static half of rfc-conformance)."""
        return all(describe_edge(c.before, c.after, c.outcome) is not None for c in self.changes)


class Compiler:
    """Compiles the rules of a :class:`Machine` into branches over a symbolic current state."""

    def __init__(
        self,
        machine: Machine,
        bounds: Bounds,
        symbolic_iss: bool = False,
        per_state: bool = False,
        symbolic_timing: bool = False,
    ) -> None:
        if not (machine.config.a.one_octet_units and machine.config.b.one_octet_units):
            raise ValueError(f"{machine.config.name}: the Z3 encodings take every unit of data to be one octet")
        if machine.config.rto_any:
            raise ValueError(f"{machine.config.name}: the Z3 encodings need a retransmission timeout in ticks")
        self.machine = machine
        self.config = machine.config
        self.bounds = bounds
        self.symbolic_iss = symbolic_iss
        self.per_state = per_state  # one branch per RFC state the actor starts in (see _merged)
        self.problems: list[Problem] = []
        self.iss: Term = fit(0, SEQ_BITS)  # the ISS a rule selects (set by compile, or by symbolic_react)
        self.idx: Term = fit(0, SMALL_BITS)  # the channel slot an event takes
        # MSL and TIME-WAIT's duration: the configuration's numbers, or parameters (timing_parameters) with waits.
        self.symbolic_timing = symbolic_timing
        cfg = self.config
        if symbolic_timing:
            self.msl, self.time_wait = timing_parameters()
        else:
            self.msl = fit(cfg.msl or 0, SMALL_BITS)
            self.time_wait = fit(cfg.time_wait_ticks if cfg.timed else 0, SMALL_BITS)

    # --- one endpoint, one event ------------------------------------------------------------------

    def _steps(
        self, side: int, event: Event, call: Call | None, start: Path, seg: SymSegment | None, steps: tuple[int, ...]
    ) -> list[Path]:
        """Every path through ``steps`` (``_run_rules``' step loop), merged step by step."""
        done: list[Path] = []
        cfg = self.config
        urgent = self.machine.urgent[side]
        live = [start]
        for step in steps:
            following: list[Path] = []
            for p in live:
                runs = []
                for r in self.machine.candidates(event, call, p.state, step):
                    x = SymCtx(p.ep.copy(), seg, cfg, urgent, self.iss, self.time_wait)
                    r.body(x)
                    if r.to is not None:
                        enter(x, r.to, r.outcome)
                    guard = z3.simplify(z3.And(*x.guard)) if x.guard else TRUE
                    if not z3.is_false(guard):
                        runs.append((r, x, guard))
                for i in range(len(runs)):
                    for j in range(i + 1, len(runs)):
                        both = z3.And(p.cond, runs[i][2], runs[j][2])
                        names = f"{runs[i][0].name}, {runs[j][0].name}"
                        self.problems.append(Problem(both, f"rules {names} all apply to the same {event.value} event"))
                none = z3.simplify(z3.And(*[z3.Not(g) for _, _, g in runs])) if runs else TRUE
                if not z3.is_false(none):
                    following.append(p.extend(none))
                for r, x, guard in runs:
                    changes = p.changes
                    if r.to is not None and r.to is not p.state:
                        changes = (*changes, Change(side, p.state, r.to, r.name, r.outcome))
                    q = Path(
                        z3.And(p.cond, guard),
                        x.tcb,
                        r.to if r.to is not None else p.state,
                        p.out + [(TRUE, s) for s in x.out],
                        TRUE if x.ack_pending else (FALSE if r.to in (CLOSED, LISTEN) else p.ack_pending),
                        TRUE if x.iss_used else p.iss_used,
                        z3.Or(p.overflow, *[o.e for o in x.overflow]),
                        (*p.rules, r),
                        changes,
                    )
                    (done if r.ends else following).append(q)
            live = merged(following)
        return merged(done + live)

    def _held_next(self, p: Path) -> list[tuple[Path, SymSegment | None]]:
        """``_next_held``: take the held segment that RCV.NXT has reached, drop those wholly old.

        Of the held segments that begin at RCV.NXT the least (in :class:`Segment` order) is
        taken; it is selected by a term rather than a branch per slot.
        """
        t = p.ep
        held = t.held
        n = len(held.items)
        if p.state in (CLOSED, LISTEN) or n == 0:
            return [(p, None)]
        rcv = t.rcv_nxt
        begins = []
        old = []
        for s, here in zip(held.items, held.present, strict=True):
            starts = (s.seq == rcv) | (s.FIN & (seq_add(s.seq, s.text_len) == rcv))
            begins.append(cond(here & starts))
            old.append(cond(seq_le(seq_add(s.seq, s.len), rcv)))
        firsts = []
        for i in range(n):
            earlier = [z3.Implies(begins[j], segment_before(held.items[i], held.items[j])) for j in range(n) if j != i]
            firsts.append(z3.And(begins[i], *earlier))
        chosen = held.items[n - 1]
        for i in range(n - 2, -1, -1):
            chosen = choose(Term(firsts[i]), held.items[i], chosen)
        present = [here & Term(z3.Not(z3.Or(f, o))) for here, f, o in zip(held.present, firsts, old, strict=True)]
        ep = t.copy()
        ep.held = Held(held.items, present)
        out: list[tuple[Path, SymSegment | None]] = []
        found = z3.Or(*begins)
        for c, seg in ((z3.Not(found), None), (found, chosen)):
            q = p.extend(c)
            q.ep = ep
            out.append((q, seg))
        return out

    def react(
        self,
        side: int,
        event: Event,
        state: TcpState,
        ep: SymEndpoint,
        seg: SymSegment | None,
        call: Call | None,
        on: z3.BoolRef,
    ) -> list[Path]:
        """Every way endpoint ``side`` in RFC state ``state`` can answer one event (``_run_rules``).

        ``on`` is the condition under which the event happens; it starts every path's condition.
        """
        first_problem = len(self.problems)
        start_ep = ep.copy()
        start_ep.state = Term(z3.BitVecVal(int(state), STATE_BITS))
        paths = self._steps(side, event, call, Path(on, start_ep, state, []), seg, STEPS.get(event, (1,)))
        if event is Event.SEGMENT:
            for p in paths:
                if not p.rules:
                    self.problems.append(Problem(p.cond, f"no rule of RFC 9293 §3.10.7 handles a segment in {state}"))
            finished: list[Path] = []
            pending = [p for p in paths if p.rules]
            for _ in range(len(ep.held.items) + 1):
                after = []
                for p in pending:
                    for q, next_seg in self._held_next(p):
                        if next_seg is None:
                            finished.append(q)
                        else:
                            after.extend(self._steps(side, event, None, q, next_seg, HELD_STEPS))
                pending = merged(after)
            for p in pending:  # each round takes one held segment: more rounds than slots cannot happen
                self.problems.append(Problem(p.cond, "held segments processed more often than there are slots"))
            paths = merged(finished)
        result = []
        for p in paths:
            if not p.rules:
                continue
            out = list(p.out)
            if p.state not in (CLOSED, LISTEN, SYN_SENT):
                e = p.ep
                out.append((p.ack_pending, SymSegment(e.snd_nxt, e.rcv_nxt, ACK, 0, e.inc, 0)))
            c = p.cond
            if not z3.is_false(p.iss_used):
                c = z3.And(c, z3.Implies(p.iss_used, self._iss_allowed(side, ep, state)))
            if p.state is state:
                p.ep.state = ep.state  # unchanged: keep the variable, so the relation need not repeat it
            result.append(Path(c, p.ep, p.state, out, FALSE, p.iss_used, p.overflow, p.rules, p.changes))
        for problem in self.problems[first_problem:]:
            problem.side, problem.state = side, state
        return result

    def _iss_allowed(self, side: int, ep: SymEndpoint, state: TcpState) -> z3.BoolRef:
        """The chosen ISS is one of the configuration's values for the incarnation being opened.

        With ``symbolic_iss`` it is that incarnation's ISS parameter: any 32-bit value, fixed for
        the whole run (a TCB that selects again, back from LISTEN, selects the same one).
        """
        iss_table = self.config.endpoint(side).iss
        incarnation = ep.inc + 1 if state is CLOSED else ep.inc
        if self.symbolic_iss:
            return z3.Or(
                *[
                    z3.And((incarnation == k).e, (self.iss == iss_parameter(side, k)).e)
                    for k in self.config.endpoint(side).incarnations
                ]
            )
        options = []
        for k in range(1, len(iss_table) + 1):
            values = z3.Or(*[(self.iss == v).e for v in iss_table[k - 1]])
            if k == len(iss_table):
                options.append(z3.And(z3.UGE((incarnation).e, k) if k > 1 else TRUE, values))
            else:
                at = (incarnation == k).e if k > 1 else z3.ULE(incarnation.e, 1)
                options.append(z3.And(at, values))
        return z3.Or(*options)

    # --- the network --------------------------------------------------------------------------------

    # --- all branches -----------------------------------------------------------------------------

    def compile(self, cur: SymWorld, iss: Term, idx: Term) -> list[Branch]:
        """Every branch of the relation from ``cur``: per side and kind of event, one per state change."""
        self.iss = iss
        self.idx = idx
        self.problems = []
        branches: list[Branch] = []
        cfg = self.config
        states = sorted(ALL_STATES, key=int)
        for side in (0, 1):
            ep = cur.endpoint(side)
            script = cfg.endpoint(side).script
            calls: dict[TcpState, list[Path]] = {}
            for state in states:
                at = (ep.state == int(state)).e
                for k, call in enumerate(script):
                    on = z3.And(at, (ep.pc == k).e)
                    calls.setdefault(state, []).extend(self.react(side, Event.CALL, state, ep, None, call, on))
            for start, p in self._merged(calls):
                p.ep.pc = p.ep.pc + 1
                branches.append(self._branch("call", side, -1, cur, p, start=start))
            chan = cur.channel(1 - side)
            if cfg.reorder:
                seg = chan.at(idx)
                on = z3.ULT(idx.e, chan.length.e)
                slot = idx
            else:
                seg = chan.items[0] if chan.items else SymSegment(0, 0, 0, 0, 0, 0)
                on = z3.UGT(chan.length.e, 0)
                slot = Term(z3.BitVecVal(0, SMALL_BITS))
            arrivals: dict[TcpState, list[Path]] = {}
            for state in states:
                at = (ep.state == int(state)).e
                arrivals[state] = self.react(side, Event.SEGMENT, state, ep, seg, None, z3.And(at, on))
            for start, p in self._merged(arrivals):
                b = self._branch("segment", side, 1 - side, cur, p, slot, start=start)
                b.seg = seg
                branches.append(b)
            outputs: dict[TcpState, list[Path]] = {}
            for state in states:
                outputs[state] = self.react(side, Event.OUTPUT, state, ep, None, None, (ep.state == int(state)).e)
            for start, p in self._merged(outputs):
                branches.append(self._branch("output", side, -1, cur, p, start=start))
            if not cfg.timed:
                timeouts: dict[TcpState, list[Path]] = {}
                for state in states:
                    on = z3.And((ep.state == int(state)).e, (ep.timer == 0).e)
                    timeouts[state] = self.react(side, Event.TIMEOUT, state, ep, None, None, on)
                for start, p in self._merged(timeouts):
                    branches.append(self._branch("timeout", side, -1, cur, p, start=start))
            if cfg.crash:
                crashed, full = end_incarnation(ep, Outcome.CRASHED)
                target = cur.with_endpoint(side, crashed)
                target.crashes = target.crashes - 1
                on = z3.And(z3.UGT(cur.crashes.e, 0), (ep.state != int(CLOSED)).e)
                crash = Branch("crash", side, -1, on, target)
                crash.overflow = full.e
                branches.append(crash)
        for channel in (0, 1):
            branches.extend(self._network(cur, channel, idx))
        if cfg.timed:
            branches.extend(self._tick(cur))
            if self.symbolic_timing:
                branches.append(self._wait(cur, idx))
        return [b for b in branches if not z3.is_false(b.cond)]

    def _merged(self, by_state: dict[TcpState, list[Path]]) -> list[tuple[TcpState | None, Path]]:
        """The paths of one kind of event, merged by their state changes across RFC states -- or, with
        ``per_state``, within each RFC state the endpoint starts in (the branch is then only enabled there)."""
        if self.per_state:
            return [(state, p) for state, paths in by_state.items() for p in merged(paths, by_changes)]
        return [(None, p) for p in merged([p for paths in by_state.values() for p in paths], by_changes)]

    def _branch(
        self,
        kind: str,
        side: int,
        channel: int,
        world: SymWorld,
        p: Path,
        removed: Term | None = None,
        start: TcpState | None = None,
    ) -> Branch:
        target = world.with_endpoint(side, p.ep)
        ops = [ChannelOp(), ChannelOp()]
        if removed is not None:
            ops[channel] = ChannelOp(remove=removed)
        ops[side] = ChannelOp(ops[side].remove, False, tuple(p.out))
        b = Branch(kind, side, channel, z3.simplify(p.cond), target, p.rules, p.changes)
        b.ops, b.overflow, b.start = (ops[0], ops[1]), p.overflow, start
        return b

    def _network(self, cur: SymWorld, channel: int, idx: Term) -> list[Branch]:
        """The network loses or duplicates the segment in slot ``idx``."""
        cfg = self.config
        chan = cur.channel(channel)
        out: list[Branch] = []
        if not chan.items:
            return out
        chosen = chan.at(idx)
        inside = z3.ULT(idx.e, chan.length.e)
        if cfg.loss is None or cfg.loss > 0:
            # A FIFO channel loses the first of equal segments (``list.remove``): the order stays canonical.
            first = [
                z3.Implies(z3.ULT(z3.BitVecVal(j, SMALL_BITS), idx.e), z3.Not(same_segment(chan.items[j], chosen)))
                for j in range(chan.capacity)
            ]
            on = z3.And(inside, *(first if not cfg.reorder else []))
            target = cur.copy()
            if cfg.loss is not None:
                on = z3.And(on, z3.UGT(cur.losses.e, 0))
                target.losses = cur.losses - 1
            lose = Branch("lose", 2, channel, on, target)
            lose.ops = (ChannelOp(remove=idx), ChannelOp()) if channel == 0 else (ChannelOp(), ChannelOp(remove=idx))
            out.append(lose)
        if cfg.duplicate:
            target = cur.copy()
            target.dups = cur.dups - 1
            on = z3.And(inside, z3.UGT(cur.dups.e, 0))
            if cfg.capacity is not None:
                on = z3.And(on, z3.ULT(chan.length.e, cfg.capacity))
            dup = Branch("duplicate", 2, channel, on, target)
            copy = ChannelOp(sends=((TRUE, chosen),))
            dup.ops = (copy, ChannelOp()) if channel == 0 else (ChannelOp(), copy)
            out.append(dup)
        return out

    def _tick(self, cur: SymWorld) -> list[Branch]:
        """``Machine._tick``: segments age, timers count down, timers already at zero expire."""
        young = []
        for chan in (cur.ab, cur.ba):
            for i, s in enumerate(chan.items):
                young.append(z3.Implies(chan.used(i).e, z3.ULT(s.age.e, self.msl.e)))
        enabled = z3.simplify(z3.And(*young, _busy(cur)))
        aged = cur.copy()  # the channels age in the ops of the branches (Relation._channel)
        for side in (0, 1):
            ep = cur.endpoint(side).copy()
            running = (ep.timer != TIMER_OFF) & (ep.timer != 0)
            ep.timer = ite(running, ep.timer - 1, ep.timer)
            aged = aged.with_endpoint(side, ep)
        # Per side, the ways its timer goes: not expiring, or expiring and answered by a timeout rule.
        per_side: list[list[Path]] = []
        for side in (0, 1):
            ep = aged.endpoint(side)
            expires = (cur.endpoint(side).timer == 0).e
            ways = [Path(z3.Not(expires), ep, CLOSED, [])]
            for state in sorted(ALL_STATES, key=int):
                at = z3.And(expires, (cur.endpoint(side).state == int(state)).e)
                paths = self.react(side, Event.TIMEOUT, state, ep, None, None, at)
                if not paths:
                    message = f"no rule handles the expired timer in {state}"
                    self.problems.append(Problem(z3.And(enabled, at), message, side, state))
                ways += paths
            per_side.append(merged(ways, by_changes))
        out = []
        for pa in per_side[0]:
            for pb in per_side[1]:
                world = aged.with_endpoint(0, pa.ep).with_endpoint(1, pb.ep)
                condition = z3.simplify(z3.And(enabled, pa.cond, pb.cond))
                if not z3.is_false(condition):
                    tick = Branch("tick", 2, -1, condition, world, pa.rules + pb.rules, pa.changes + pb.changes)
                    tick.ops = (ChannelOp(None, True, tuple(pa.out)), ChannelOp(None, True, tuple(pb.out)))
                    tick.overflow = z3.Or(pa.overflow, pb.overflow)
                    out.append(tick)
        return out

    def _wait(self, cur: SymWorld, ticks: Term) -> Branch:
        """``ticks`` ticks in one step (any number, 0 included), in none of which a timer expires.

        It is ``Machine._tick`` taken ``ticks`` times where nothing but ageing and counting down happens:
        before the j-th of them every segment is younger than MSL (age + j - 1 < MSL) and every running
        timer is above zero (timer - (j - 1) > 0).  With MSL symbolic a run of ticks is then one step, so
        a schedule has the same number of steps for every MSL.  Only on relations with symbolic timing.
        """
        fits = []
        for chan in (cur.ab, cur.ba):
            for i, s in enumerate(chan.items):  # age + ticks <= MSL, written so that it cannot wrap around
                room = z3.And(z3.ULE(s.age.e, self.msl.e), z3.ULE(ticks.e, (self.msl - s.age).e))
                fits.append(z3.Implies(chan.used(i).e, room))
        target = cur.copy()
        for side in (0, 1):
            ep = cur.endpoint(side).copy()
            running = ep.timer != TIMER_OFF
            fits.append(z3.Implies(running.e, z3.UGE(ep.timer.e, ticks.e)))
            ep.timer = ite(running, ep.timer - ticks, ep.timer)
            target = target.with_endpoint(side, ep)
        wait = Branch("wait", 2, -1, z3.simplify(z3.And(*fits, _busy(cur))), target)
        wait.ops = (ChannelOp(wait=True), ChannelOp(wait=True))
        return wait


def _busy(w: SymWorld) -> z3.BoolRef:
    """Something is timed: a segment in flight or a timer running (``Machine.idle``, negated)."""
    return z3.Or(
        z3.UGT(w.ab.length.e, 0),
        z3.UGT(w.ba.length.e, 0),
        (w.a.timer != TIMER_OFF).e,
        (w.b.timer != TIMER_OFF).e,
    )


def timing_parameters() -> tuple[Term, Term]:
    """With symbolic timing: MSL and TIME-WAIT's duration in ticks, two 8-bit constants shared by every frame."""
    return Term(z3.BitVec("MSL", SMALL_BITS)), Term(z3.BitVec("TIME-WAIT", SMALL_BITS))


@dataclass
class Frame:
    """The variables of one time frame: the state, and the choices of the transition leaving it."""

    world: SymWorld
    ev: z3.BitVecRef
    idx: Term
    iss: Term

    def leaves(self) -> list[z3.ExprRef]:
        return [t.e for t in self.world.leaves()]


def frame(bounds: Bounds, k: int | str, ev_bits: int = 16) -> Frame:
    """Fresh variables for frame ``k``."""
    suffix = f"@{k}"
    return Frame(
        variables(bounds, suffix),
        z3.BitVec(f"ev{suffix}", ev_bits),
        Term(z3.BitVec(f"idx{suffix}", SMALL_BITS)),
        Term(z3.BitVec(f"iss{suffix}", SEQ_BITS)),
    )


def iss_parameter(side: int, incarnation: int) -> Term:
    """With a symbolic ISS: the ISS of that incarnation of that endpoint, one 32-bit constant shared by every frame."""
    return Term(z3.BitVec(f"ISS.{'AB'[side]}{incarnation}", SEQ_BITS))


class Relation:
    """The transition relation of one configuration, over template frames ``cur`` and ``nxt``."""

    def __init__(
        self,
        config: Config,
        bounds: Bounds | None = None,
        *,
        rules: tuple[Rule, ...] | None = None,
        symbolic_iss: bool = False,
        per_state: bool = False,
        symbolic_timing: bool = False,
    ) -> None:
        """``per_state``: one branch per RFC state of the actor (more branches, each with a smaller guard).

        ``symbolic_timing``: MSL and TIME-WAIT are parameters (``msl``, ``time_wait``), and a ``wait`` branch
        passes any number of ticks in one step (``Compiler._wait``).
        """
        start = time.perf_counter()
        self.config = config
        self.machine = Machine(config, rules)
        self.bounds = bounds or Bounds.for_config(config)
        self.symbolic_iss = symbolic_iss  # each incarnation's ISS is any 32-bit value (iss_parameter)
        template = frame(self.bounds, "cur")
        compiler = Compiler(self.machine, self.bounds, symbolic_iss, per_state, symbolic_timing)
        self.msl, self.time_wait = compiler.msl, compiler.time_wait
        self.branches = compiler.compile(template.world, template.iss, template.idx)
        self.problems = compiler.problems
        self.ev_bits = max(1, (len(self.branches) - 1).bit_length())
        self.cur = Frame(template.world, z3.BitVec("ev@cur", self.ev_bits), template.idx, template.iss)
        self.nxt = self.frame("nxt")
        self._formula: z3.BoolRef | None = None
        self.compile_seconds = time.perf_counter() - start  # compiling the rules into branches

    def frame(self, k: int | str) -> Frame:
        """Fresh variables for frame ``k`` of this relation."""
        return frame(self.bounds, k, self.ev_bits)

    def selects(self, k: int) -> z3.BoolRef:
        """Branch ``k`` is the one taken from the template frame."""
        return self.cur.ev == k

    def formula(self) -> z3.BoolRef:
        """T(cur, choices, nxt).

        Endpoint variables: an ``If`` chain over the branches that change them.  Channels: one shared
        update (remove a slot, age, append up to the most any branch sends) whose inputs are chosen by
        ``ev`` -- far smaller than a chain of whole channels, one per branch.
        """
        if self._formula is None:
            cur_world = self.cur.world
            cur_leaves = self.cur.leaves()
            nxt_leaves = self.nxt.leaves()
            chains = list(cur_leaves)
            endpoint_leaves = len(cur_world.a.leaves()) + len(cur_world.b.leaves())
            for k in range(len(self.branches) - 1, -1, -1):
                target = self.branches[k].target
                sel = self.selects(k)
                mine = [t.e for t in target.a.leaves() + target.b.leaves()]
                mine += [t.e for t in target.leaves()[-4:-1]]  # losses, dups, crashes
                positions = [*range(endpoint_leaves), *range(len(cur_leaves) - 4, len(cur_leaves) - 1)]
                for i, e in zip(positions, mine, strict=True):
                    if not e.eq(cur_leaves[i]):
                        chains[i] = z3.If(sel, e, chains[i])
            channels, overflow = [], self._endpoint_overflow()
            for c in (0, 1):
                chan, full = self._channel(c)
                channels.append(chan)
                overflow = z3.Or(overflow, full)
            nxt_world = SymWorld(
                cur_world.a,
                cur_world.b,
                channels[0],
                channels[1],
                cur_world.losses,
                cur_world.dups,
                cur_world.crashes,
                Term(overflow),
            )
            shared = [t.e for t in nxt_world.leaves()]
            for i in range(endpoint_leaves, len(cur_leaves) - 4):
                chains[i] = shared[i]
            chains[-1] = shared[-1]
            enabled = z3.Or(*[z3.And(self.selects(k), b.cond) for k, b in enumerate(self.branches)])
            if len(self.branches) < 1 << self.ev_bits:
                enabled = z3.And(z3.ULT(self.cur.ev, len(self.branches)), enabled)
            updates = [n == c for n, c in zip(nxt_leaves, chains, strict=True)]
            self._formula = z3.And(enabled, *updates)
        return self._formula

    def _endpoint_overflow(self) -> z3.BoolRef:
        result: z3.BoolRef = self.cur.world.overflow.e
        chain: z3.BoolRef = FALSE
        for k in range(len(self.branches) - 1, -1, -1):
            b = self.branches[k]
            if not z3.is_false(b.overflow):
                chain = z3.If(self.selects(k), b.overflow, chain)
        return z3.Or(result, chain)

    def _channel(self, c: int) -> tuple[Slots, z3.BoolRef]:
        """Channel ``c`` after the selected branch's remove, age and sends; and whether it overflowed."""
        chan = self.cur.world.channel(c)
        ops = [(k, b.ops[c]) for k, b in enumerate(self.branches)]
        removing = [(k, op.remove) for k, op in ops if op.remove is not None]
        if removing:
            index: Any = Term(z3.BitVecVal(0, SMALL_BITS))
            for k, slot in reversed(removing):
                assert slot is not None
                index = ite(Term(self.selects(k)), slot, index)
            takes = Term(z3.Or(*[self.selects(k) for k, _ in removing]))
            chan = choose(takes, chan.remove(index), chan)
        aging = [k for k, op in ops if op.age or op.wait]
        if aging:
            ages = Term(z3.Or(*[self.selects(k) for k in aging]))
            by: Any = Term(z3.BitVecVal(1, SMALL_BITS))
            for k, op in ops:
                if op.wait:
                    by = ite(Term(self.selects(k)), self.cur.idx, by)
            chan = Slots([s.replace(age=ite(ages, s.age + by, s.age)) for s in chan.items], chan.length)
        overflow: z3.BoolRef = FALSE
        most = max((len(op.sends) for _, op in ops), default=0)
        for j in range(most):
            sending = [(k, op.sends[j]) for k, op in ops if len(op.sends) > j]
            when: z3.BoolRef = FALSE
            seg = sending[-1][1][1]
            for k, (w, s) in reversed(sending):
                when = z3.If(self.selects(k), w, when)
                seg = choose(Term(self.selects(k)), s, seg)
            if self.config.capacity is not None:
                chan, _ = chan.append(seg, Term(when) & ~chan.full())
            else:
                chan, full = chan.append(seg, Term(when))
                overflow = z3.Or(overflow, full.e)
        return chan, overflow

    def initial(self, f: Frame) -> z3.BoolRef:
        """The frame holds the machine's initial state."""
        return equals(f.world, SymWorld.of(self.machine.initial(), self.bounds))

    def substitution(self, f: Frame, g: Frame) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        """Maps the template frames (cur, nxt) to frames ``f`` and ``g``."""
        pairs = list(zip(self.cur.leaves(), f.leaves(), strict=True)) + list(
            zip(self.nxt.leaves(), g.leaves(), strict=True)
        )
        pairs += [(self.cur.ev, f.ev), (self.cur.idx.e, f.idx.e), (self.cur.iss.e, f.iss.e)]
        return pairs

    def step(self, f: Frame, g: Frame) -> z3.BoolRef:
        """T(f, g)."""
        return z3.substitute(self.formula(), *self.substitution(f, g))

    def on_frame(self, formula: z3.ExprRef, f: Frame, g: Frame | None = None) -> z3.ExprRef:
        """A formula over the template frames, moved to ``f`` (and ``g``)."""
        return z3.substitute(formula, *self.substitution(f, g or f))


def equals(w: SymWorld, v: SymWorld) -> z3.BoolRef:
    return z3.And(*[(x.e == y.e) for x, y in zip(w.leaves(), v.leaves(), strict=True)])


def symbolic_successors(rel: Relation, world: World) -> tuple[set[World], bool]:
    """The next states that the relation admits from ``world``, decoded; and whether one overflowed.

    Every assignment of the next frame that Z3 finds is blocked in turn until none is left.
    """
    start = SymWorld.of(world, rel.bounds)
    bound = [(c, s.e) for c, s in zip(rel.cur.leaves(), start.leaves(), strict=True)]
    solver = z3.SolverFor("QF_BV")
    solver.add(z3.simplify(z3.substitute(rel.formula(), *bound)))
    found: set[World] = set()
    overflowed = False
    nxt = rel.nxt.leaves()
    value_of = rel.nxt.world
    while solver.check() == z3.sat:
        model = solver.model()
        value = model_value(model)
        if value(value_of.overflow):
            overflowed = True
        else:
            found.add(value_of.to_world(value, rel.config.reorder))
        solver.add(z3.Or(*[leaf != model.eval(leaf, model_completion=True) for leaf in nxt]))
    return found, overflowed


def symbolic_react(
    machine: Machine,
    side: int,
    ep: Endpoint,
    kind: str,
    seg: Segment | None = None,
    call: Call | None = None,
    choice: int = 0,
) -> tuple[Endpoint, tuple[Segment, ...], tuple[Change, ...]] | None:
    """:meth:`Machine.react` computed from the symbolic paths of the rules, for cross-checking.

    The endpoint and the event are constants, so every path condition simplifies to true or false;
    exactly one path may hold.  Returns the endpoint after the event, the segments sent, and the
    state changes -- or None when no rule is enabled.
    """
    event = EVENT_OF_KIND[kind]
    config = machine.config
    room = Bounds(
        channel=1,
        held=max(1, len(ep.held), config.window),
        delivered=len(ep.delivered) + 2,
        history=len(ep.history) + 1,
    )
    compiler = Compiler(machine, room)
    incarnation = ep.inc + 1 if ep.state is CLOSED else ep.inc
    choices = config.endpoint(side).iss_choices(max(incarnation, 1))
    compiler.iss = fit(choices[choice] if choice < len(choices) else 0, SEQ_BITS)
    compiler.idx = fit(0, SMALL_BITS)
    start = SymEndpoint.of(ep, room)
    sym_seg = SymSegment.of(seg) if seg is not None else None
    paths = compiler.react(side, event, ep.state, start, sym_seg, call, TRUE)
    taken = [p for p in paths if z3.is_true(z3.simplify(p.cond))]
    undecided = [p for p in paths if not z3.is_true(z3.simplify(p.cond)) and not z3.is_false(z3.simplify(p.cond))]
    if undecided:
        raise AssertionError(f"{len(undecided)} path conditions do not simplify on constants")
    if len(taken) > 1:
        raise AssertionError(f"{len(taken)} paths hold at once")
    if not taken:
        return None
    p = taken[0]

    def value(t: Term) -> Any:
        e = z3.simplify(t.e)
        return z3.is_true(e) if z3.is_bool(e) else e.as_long()

    after = p.ep.to_endpoint(value)
    if event is Event.CALL:
        after = after._replace(pc=after.pc + 1)
    sent = tuple(s.to_segment(value) for when, s in p.out if z3.is_true(z3.simplify(when)))
    return after, sent, p.changes
