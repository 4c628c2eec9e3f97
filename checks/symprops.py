"""The safety properties of :mod:`checks.properties` as z3 formulas over a symbolic state.

Each function here says, on :class:`checks.symstate.SymWorld` terms, what the
matching ``check_*`` function or observer of :mod:`checks.properties` says on a
concrete world; the tests evaluate both on every reachable state of the presets
and require the same answer.  A *violation* formula is over the template frame
of a :class:`checks.symbolic.Relation` (its current state and choices).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import z3

from checks.properties import (
    DETERMINISM,
    GRACEFUL_CLOSE,
    HANDSHAKE_SYNC,
    NO_DEADLOCK,
    NO_OLD_DUPLICATES,
    ONE_CONNECTION_PER_OPEN,
    RFC_CONFORMANCE,
    STREAM_INTEGRITY,
    Property,
)
from checks.symbolic import Branch, Relation, iss_parameter
from checks.symstate import OUTCOMES, SMALL_BITS, Slots, SymEndpoint, SymWorld, same_slots
from checks.terms import SEQ_BITS, Term
from spec.config import Config
from spec.states import (
    CLOSED,
    CLOSED_BY_USER,
    CLOSING,
    LAST_ACK,
    LISTEN,
    SYN_RECEIVED,
    SYN_SENT,
    SYNCHRONIZED,
    Outcome,
    TcpState,
)


def proper_final(w: SymWorld, config: Config) -> z3.BoolRef:
    """:func:`checks.properties.proper_final` holds: nothing in flight, each user done or waiting in LISTEN."""
    users = [
        z3.Or((ep.pc >= len(config.endpoint(side).script)).e, (ep.state == int(LISTEN)).e)
        for side, ep in ((0, w.a), (1, w.b))
    ]
    return z3.And((w.ab.length == 0).e, (w.ba.length == 0).e, *users)


def in_states(state: Term, states: Iterable[TcpState]) -> z3.BoolRef:
    return z3.Or(*[(state == int(s)).e for s in sorted(states, key=int)])


def handshake_sync(w: SymWorld) -> z3.BoolRef:
    """:func:`checks.properties.check_handshake_sync` holds."""
    both = z3.And(in_states(w.a.state, SYNCHRONIZED), in_states(w.b.state, SYNCHRONIZED))
    return z3.Implies(both, z3.And((w.a.irs == w.b.iss).e, (w.b.irs == w.a.iss).e))


def units_sent(peer: SymEndpoint, incarnation: Term) -> z3.BitVecRef:
    """:func:`checks.properties.units_sent`: what the first ended record of ``incarnation`` says, else the TCB."""
    value = z3.If((peer.inc == incarnation).e, peer.sent.e, z3.BitVecVal(0, SMALL_BITS))
    for i in range(peer.history.capacity - 1, -1, -1):
        e = peer.history.items[i]
        value = z3.If(z3.And(peer.history.used(i).e, (e.inc == incarnation).e), e.sent.e, value)
    return value


def _stream_ok(delivered: Slots, peer_inc: Term, peer: SymEndpoint) -> z3.BoolRef:
    parts = []
    for k, (inc, unit) in enumerate(delivered.items, 1):
        parts.append(z3.Implies(delivered.used(k - 1).e, z3.And((inc == peer_inc).e, (unit == k).e)))
    parts.append(z3.ULE(delivered.length.e, units_sent(peer, peer_inc)))
    return z3.And(*parts)


def stream_integrity(w: SymWorld) -> z3.BoolRef:
    """:func:`checks.properties.check_stream_integrity` holds."""
    parts = []
    for x, y in ((w.a, w.b), (w.b, w.a)):
        parts.append(_stream_ok(x.delivered, x.peer_inc, y))
        for i, e in enumerate(x.history.items):
            parts.append(z3.Implies(x.history.used(i).e, _stream_ok(e.delivered, e.peer_inc, y)))
    return z3.And(*parts)


def graceful_close(w: SymWorld) -> z3.BoolRef:
    """:func:`checks.properties.check_graceful_close` holds."""
    closed = OUTCOMES.index(Outcome.CLOSED)
    reset = OUTCOMES.index(Outcome.RESET)
    parts = []
    for x, y in ((w.a, w.b), (w.b, w.a)):
        for i, e in enumerate(x.history.items):
            normal = z3.And(x.history.used(i).e, (e.outcome == closed).e, (e.peer_inc != 0).e)
            parts.append(z3.Implies(normal, z3.UGE(e.delivered.length.e, units_sent(y, e.peer_inc))))
            for j, f in enumerate(y.history.items):
                peers = z3.And(y.history.used(j).e, (f.inc == e.peer_inc).e, (f.peer_inc == e.inc).e)
                reset_closer = z3.And((f.outcome == reset).e, in_states(f.state, (LAST_ACK, CLOSING)))
                parts.append(z3.Not(z3.And(normal, peers, reset_closer)))
    return z3.And(*parts)


def one_connection_per_open(w: SymWorld) -> z3.BoolRef:
    """:func:`checks.properties.check_one_connection_per_open` holds."""
    parts = []
    for x in (w.a, w.b):
        # (connected, peer's incarnation) of each incarnation: the ended ones, then the TCB's
        records = [
            (z3.And(x.history.used(i).e, in_states(e.state, SYNCHRONIZED), (e.peer_inc != 0).e), e.peer_inc)
            for i, e in enumerate(x.history.items)
        ]
        records.append((z3.And(in_states(x.state, SYNCHRONIZED), (x.peer_inc != 0).e), x.peer_inc))
        for i, (one, peer) in enumerate(records):
            for other, peer_too in records[i + 1 :]:
                parts.append(z3.Not(z3.And(one, other, (peer == peer_too).e)))
    return z3.And(*parts)


def _opening(ep: SymEndpoint) -> z3.BoolRef:
    return in_states(ep.state, (LISTEN, SYN_SENT, SYN_RECEIVED))


def _closing(ep: SymEndpoint) -> z3.BoolRef:
    return z3.Or(in_states(ep.state, CLOSED_BY_USER), z3.And(ep.close_queued.e, (ep.state != int(CLOSED)).e))


def establishes_premise(w: SymWorld) -> z3.BoolRef:
    """:func:`checks.properties.establishes_premise` holds."""
    both_listen = z3.And((w.a.state == int(LISTEN)).e, (w.b.state == int(LISTEN)).e)
    return z3.And(_opening(w.a), _opening(w.b), z3.Not(both_listen))


def establishes_goal(w: SymWorld) -> z3.BoolRef:
    """:func:`checks.properties.establishes_goal` holds."""
    both = z3.And(in_states(w.a.state, SYNCHRONIZED), in_states(w.b.state, SYNCHRONIZED))
    return z3.Or(both, (w.a.state == int(CLOSED)).e, (w.b.state == int(CLOSED)).e)


def closes_premise(w: SymWorld) -> z3.BoolRef:
    """:func:`checks.properties.closes_premise` holds."""
    return z3.And(_closing(w.a), _closing(w.b))


def closes_goal(w: SymWorld, inc_a: Term, inc_b: Term) -> z3.BoolRef:
    """:func:`checks.properties.closes_goal` holds, for the incarnations ``inc_a`` and ``inc_b``."""
    return z3.And(
        z3.Or((w.a.state == int(CLOSED)).e, (w.a.inc > inc_a).e),
        z3.Or((w.b.state == int(CLOSED)).e, (w.b.inc > inc_b).e),
    )


def changed_by_segment(before: SymEndpoint, after: SymEndpoint) -> z3.BoolRef:
    """:func:`checks.properties._accepted_from`: state, SND.UNA, RCV.NXT, delivered, held or incarnation changed."""
    same = z3.And(
        (before.state == after.state).e,
        (before.snd_una == after.snd_una).e,
        (before.rcv_nxt == after.rcv_nxt).e,
        same_slots(before.delivered, after.delivered),
        before.held.same(after.held),
        (before.inc == after.inc).e,
    )
    return z3.Not(same)


def old_duplicate_in(rel: Relation, b: Branch) -> z3.BoolRef | None:
    """When segment branch ``b`` lets an old duplicate change a synchronized TCB (None: not a segment branch)."""
    if b.kind != "segment" or b.seg is None:
        return None
    before = rel.cur.world.endpoint(b.actor)
    after = b.target.endpoint(b.actor)
    return z3.And(
        (before.peer_inc != 0).e,
        z3.ULT(b.seg.inc.e, before.peer_inc.e),
        (before.state != int(CLOSED)).e,
        changed_by_segment(before, after),
    )


def old_duplicate_accepted(rel: Relation) -> z3.BoolRef:
    """Some segment branch lets an old duplicate change a synchronized TCB (``OldDuplicateObserver``)."""
    parts = []
    for k, b in enumerate(rel.branches):
        bad = old_duplicate_in(rel, b)
        if bad is not None:
            parts.append(z3.And(rel.selects(k), b.cond, bad))
    return z3.Or(*parts) if parts else z3.BoolVal(False)


def nonconforming(rel: Relation) -> z3.BoolRef:
    """A branch whose state changes are not RFC 9293 edges is taken."""
    parts = [z3.And(rel.selects(k), b.cond) for k, b in enumerate(rel.branches) if not b.conforms]
    return z3.Or(*parts) if parts else z3.BoolVal(False)


def rules_problem(rel: Relation) -> z3.BoolRef:
    """Some event, for some choice of channel slot, meets ambiguous or incomplete rules."""
    if not rel.problems:
        return z3.BoolVal(False)
    anything = z3.Or(*[p.cond for p in rel.problems])
    idx = rel.cur.idx.e
    return z3.Or(
        *[z3.substitute(anything, (idx, z3.BitVecVal(j, SMALL_BITS))) for j in range(max(1, rel.bounds.channel))]
    )


def iss_candidates(rel: Relation) -> list[z3.BitVecRef]:
    """Every ISS a rule may select in this relation: the configured values of both endpoints, or, with a
    symbolic ISS, each incarnation's parameter.  A branch that selects one is enabled for some ISS exactly
    when it is enabled for one of these."""
    seen: dict[str, z3.BitVecRef] = {}
    for side in (0, 1):
        ep = rel.config.endpoint(side)
        for k in ep.incarnations:
            values = (
                [iss_parameter(side, k).e]
                if rel.symbolic_iss
                else [z3.BitVecVal(v, SEQ_BITS) for v in ep.iss_choices(k)]
            )
            for v in values:
                seen.setdefault(str(v), v)
    return [seen[key] for key in sorted(seen)]


def enabled(rel: Relation) -> z3.BoolRef:
    """Some event can happen in the current state: some branch's guard holds for some choice.

    The choices are finite, so the existential is a disjunction: the channel slot ``idx`` over the slots
    (a guard that takes a segment also asks ``idx`` < the channel's length), the ISS over
    :func:`iss_candidates`.  Only the choices a guard reads are enumerated.
    """
    idx, iss = rel.cur.idx.e, rel.cur.iss.e
    slots = [z3.BitVecVal(j, SMALL_BITS) for j in range(max(1, rel.bounds.channel))]
    choices = iss_candidates(rel)
    parts: list[z3.BoolRef] = []
    for b in rel.branches:
        reads = {str(v) for v in z3_variables(b.cond)}
        conds = [b.cond]
        if str(idx) in reads:
            conds = [z3.substitute(c, (idx, j)) for c in conds for j in slots]
        if str(iss) in reads:
            conds = [z3.substitute(c, (iss, v)) for c in conds for v in choices]
        parts.extend(conds)
    return z3.Or(*parts) if parts else z3.BoolVal(False)


def z3_variables(e: z3.ExprRef) -> list[z3.ExprRef]:
    """The uninterpreted constants ``e`` reads (each once)."""
    seen: set[int] = set()
    found: dict[int, z3.ExprRef] = {}
    todo = [e]
    while todo:
        x = todo.pop()
        if x.get_id() in seen:
            continue
        seen.add(x.get_id())
        if z3.is_const(x) and x.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            found[x.get_id()] = x
        else:
            todo.extend(x.children())
    return [found[k] for k in sorted(found)]


def deadlocked(rel: Relation) -> z3.BoolRef:
    """:func:`checks.properties._deadlock_result`'s violation: no event can happen, and the state is not a
    proper final one.  A state where the rules are ambiguous or incomplete is not expanded by the explicit
    engine, so it is no deadlock (rules-deterministic reports it)."""
    world = rel.cur.world
    return z3.And(z3.Not(enabled(rel)), z3.Not(proper_final(world, rel.config)), z3.Not(rules_problem(rel)))


def overflow(rel: Relation) -> z3.BoolRef:
    """The bounded slots would not hold the current state."""
    return rel.cur.world.overflow.e


#: State properties that induction checks against the inductive set rather than adding them to it: no-deadlock's
#: formula in the next state holds every guard of the relation, and as a candidate it would weigh on every query.
#: A state of the inductive set that violates it is reported as it is (a deadlocked state, no step).
IMPLIED: frozenset[Property] = frozenset({NO_DEADLOCK})

#: For each property the symbolic engines check: its violation, over a relation's template frame,
#: and whether that is a state (length d) or the transition leaving it (length d + 1).
Violation = Callable[[Relation], z3.BoolRef]
SYMBOLIC: dict[Property, tuple[Violation, str]] = {
    HANDSHAKE_SYNC: (lambda rel: z3.Not(handshake_sync(rel.cur.world)), "state"),
    STREAM_INTEGRITY: (lambda rel: z3.Not(stream_integrity(rel.cur.world)), "state"),
    GRACEFUL_CLOSE: (lambda rel: z3.Not(graceful_close(rel.cur.world)), "state"),
    ONE_CONNECTION_PER_OPEN: (lambda rel: z3.Not(one_connection_per_open(rel.cur.world)), "state"),
    NO_OLD_DUPLICATES: (old_duplicate_accepted, "transition"),
    RFC_CONFORMANCE: (nonconforming, "transition"),
    DETERMINISM: (rules_problem, "state"),
    NO_DEADLOCK: (deadlocked, "state"),
}
