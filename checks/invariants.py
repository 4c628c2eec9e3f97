"""Strengthening invariants: facts about every reachable state that make the safety properties inductive.

Each :class:`Invariant` is a fact about TCP as :mod:`spec` models it, stated for any configuration,
with a one-line reason.  None is trusted: :mod:`checks.induction` proves that each instance holds
initially and is preserved by every step (together with the others), and drops any it cannot
prove.  A wrong invariant therefore costs a proof, never soundness.  The tests drop each family in
turn and show that a proof then fails, with the counterexample to induction that breaks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import z3

from checks.properties import Property
from checks.symbolic import Relation, iss_parameter
from checks.symprops import SYMBOLIC, in_states, units_sent
from checks.symstate import OUTCOMES, SMALL_BITS, Slots, SymEnded, SymEndpoint, SymWorld, same_segment
from checks.terms import SEQ_BITS, Term, ite
from spec.config import Call, Config, EndpointConfig
from spec.states import (
    ACK,
    CLOSED,
    CLOSED_BY_USER,
    FIN_RECEIVED,
    LISTEN,
    PSH,
    RST,
    SYN_RECEIVED,
    SYN_SENT,
    SYNCHRONIZED,
    URG,
    Outcome,
    TcpState,
)

TIMER_BITS = (1 << SMALL_BITS) - 1  # a stopped timer


@dataclass(frozen=True)
class Instance:
    """One formula over the template frame's current state, named for the CTIs and the tests."""

    name: str
    formula: z3.BoolRef


Build = Callable[[SymWorld, Relation], list[tuple[str, z3.BoolRef]]]


@dataclass(frozen=True)
class Invariant:
    """A family of instances (one per endpoint, slot...), and why it holds."""

    name: str
    reason: str
    build: Build


def _fits(slots: Slots) -> z3.BoolRef:
    return z3.ULE(slots.length.e, slots.capacity)


def representable(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    parts = [z3.Not(w.overflow.e), _fits(w.ab), _fits(w.ba)]
    for ep in (w.a, w.b):
        parts += [_fits(ep.delivered), _fits(ep.history), z3.ULT(ep.state.e, len(TcpState))]
        parts += [_fits(e.delivered) for e in ep.history.items]
        for e in ep.history.items:
            parts += [z3.ULT(e.state.e, len(TcpState)), z3.ULT(e.outcome.e, len(OUTCOMES))]
    return [("", z3.And(*parts))]


#: (name, endpoint, peer, the channel it sends on, its configuration, the peer's configuration)
Side = tuple[str, SymEndpoint, SymEndpoint, Slots, EndpointConfig, EndpointConfig]


def _sides(w: SymWorld, config: Config) -> list[Side]:
    """(name, endpoint, peer, the channel it sends on, its configuration, the peer's)."""
    return [("A", w.a, w.b, w.ab, config.a, config.b), ("B", w.b, w.a, w.ba, config.b, config.a)]


def _index(name: str) -> int:
    """0 for A, 1 for B."""
    return "AB".index(name)


def _is(state: Term, states: Iterable[TcpState]) -> z3.BoolRef:
    return in_states(state, states)


def _iss_values(rel: Relation, side: int, incarnation: int) -> list[z3.BitVecRef]:
    """The ISS values incarnation ``incarnation`` of endpoint ``side`` may select (RFC 9293 §3.4.1).

    The configuration's choices; with a symbolic ISS, the incarnation's 32-bit parameter.
    """
    if rel.symbolic_iss:
        return [iss_parameter(side, incarnation).e]
    return [z3.BitVecVal(c, SEQ_BITS) for c in rel.config.endpoint(side).iss_choices(incarnation)]


def _anchored(
    rel: Relation, side: int, inc: Term, seq: Term, low: z3.BitVecRef | int, high: z3.BitVecRef | int
) -> z3.BoolRef:
    """``seq`` lies at ISS + low .. ISS + high for an ISS that incarnation ``inc`` may select."""
    lo = low if isinstance(low, z3.BitVecRef) else z3.BitVecVal(low, SEQ_BITS)
    hi = high if isinstance(high, z3.BitVecRef) else z3.BitVecVal(high, SEQ_BITS)
    cases = []
    for k in rel.config.endpoint(side).incarnations:
        choices = [z3.And(z3.UGE(seq.e - c, lo), z3.ULE(seq.e - c, hi)) for c in _iss_values(rel, side, k)]
        cases.append(z3.And((inc == k).e, z3.Or(*choices)))
    return z3.Or(*cases) if cases else z3.BoolVal(False)


def _configured_iss(rel: Relation, side: int, inc: Term, value: Term) -> z3.BoolRef:
    """``value`` is an ISS that incarnation ``inc`` of this endpoint may select (RFC 9293 §3.4.1)."""
    return _anchored(rel, side, inc, value, 0, 0)


def _all_choices(rel: Relation, side: int) -> list[z3.BitVecRef]:
    seen: dict[str, z3.BitVecRef] = {}
    for k in rel.config.endpoint(side).incarnations:
        for v in _iss_values(rel, side, k):
            seen.setdefault(str(v), v)
    return [seen[key] for key in sorted(seen)]


def _any_configured_iss(rel: Relation, side: int, value: Term) -> z3.BoolRef:
    """``value`` is an ISS that some incarnation of this endpoint may select."""
    return z3.Or(*[value.e == c for c in _all_choices(rel, side)], z3.BoolVal(False))


def _any_anchored(rel: Relation, side: int, seq: Term, low: int, high: z3.BitVecRef) -> z3.BoolRef:
    """``seq`` lies at ISS + low .. ISS + high for an ISS that some incarnation may select."""
    return z3.Or(
        *[z3.And(z3.UGE(seq.e - c, low), z3.ULE(seq.e - c, high)) for c in _all_choices(rel, side)],
        z3.BoolVal(False),
    )


def _data_flags(unit: Term, urgent: frozenset[int]) -> Term:
    """The flags a segment carrying ``unit`` has: ACK, PSH, and URG if its user sent it urgent."""
    flags = Term(z3.BitVecVal(ACK | PSH, SMALL_BITS))
    for u in sorted(urgent):
        flags = ite(unit == u, ACK | PSH | URG, flags)
    return flags


def _count(condition: z3.BoolRef, bits: int = SEQ_BITS) -> z3.BitVecRef:
    """1 if ``condition``, else 0."""
    return z3.If(condition, z3.BitVecVal(1, bits), z3.BitVecVal(0, bits))


def _seq(count: Term) -> z3.BitVecRef:
    return z3.ZeroExt(SEQ_BITS - SMALL_BITS, count.e)


def _fin_sent(ep: SymEndpoint) -> z3.BoolRef:
    return z3.And(_is(ep.state, CLOSED_BY_USER), z3.Not(ep.close_queued.e))


def _has_iss(ep: SymEndpoint) -> z3.BoolRef:
    return z3.Not(_is(ep.state, (CLOSED, LISTEN)))


def _has_irs(ep: SymEndpoint) -> z3.BoolRef:
    return _is(ep.state, SYNCHRONIZED | {SYN_RECEIVED})


def _calls_before(ep: EndpointConfig, pc: Term, calls: tuple[Call, ...]) -> z3.BitVecRef:
    """How many of the script's first ``pc`` calls are among ``calls``."""
    total = z3.BitVecVal(0, SMALL_BITS)
    for k, call in enumerate(ep.script):
        if call in calls:
            total = total + _count(z3.UGT(pc.e, k), SMALL_BITS)
    return total


def _opened_actively(ep: EndpointConfig, pc: Term) -> z3.BoolRef:
    """The user called OPEN, or SEND (which opens a LISTEN actively, §3.10.2), before call ``pc``."""
    return _calls_before(ep, pc, (Call.OPEN, Call.SEND, Call.SEND_URGENT)) != 0


def _inside(low: Term | z3.BitVecRef, x: Term | z3.BitVecRef, high: Term | z3.BitVecRef) -> z3.BoolRef:
    """low =< x =< high in sequence space (RFC 9293 §3.4): measured from ``low``, modulo 2**32."""
    lo, xx, hi = (v.e if isinstance(v, Term) else v for v in (low, x, high))
    return z3.ULE(xx - lo, hi - lo)


# --- The families ------------------------------------------------------------------------------------


def counters(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, peer, _, cfg, _ in _sides(w, rel.config):
        sends = _calls_before(cfg, ep.pc, (Call.SEND, Call.SEND_URGENT))
        opens = _calls_before(cfg, ep.pc, (Call.OPEN, Call.LISTEN)) + int(cfg.listening)
        out.append((f"{name}.pc", z3.ULE(ep.pc.e, len(cfg.script))))
        wide = z3.ZeroExt(1, ep.sent.e) + z3.ZeroExt(1, ep.queued.e)
        out.append((f"{name}.sent", z3.ULE(wide, z3.ZeroExt(1, sends))))
        out.append((f"{name}.inc", z3.ULE(ep.inc.e, opens)))
        out.append((f"{name}.retries", z3.ULE(ep.retries.e, rel.config.retries or 0)))
        longest = max(rel.config.rto, rel.config.time_wait_ticks) if rel.config.timed else 0
        out.append((f"{name}.timer", z3.Or((ep.timer == TIMER_BITS).e, z3.ULE(ep.timer.e, longest))))
        out.append((f"{name}.peer_inc", z3.ULE(ep.peer_inc.e, peer.inc.e)))
    return out


def held_segments(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, *_ in _sides(w, rel.config):
        for i, (seg, here) in enumerate(zip(ep.held.items, ep.held.present, strict=True)):
            ahead = z3.And(_has_irs(ep), seg.seq.e != ep.rcv_nxt.e, z3.Or(seg.has_text.e, seg.FIN.e))
            ahead = z3.And(ahead, z3.Not(seg.RST.e), z3.Not(seg.SYN.e), (seg.age == 0).e)
            out.append((f"{name}[{i}]", z3.Implies(here.e, ahead)))
            for j in range(i):
                twin = z3.And(ep.held.present[j].e, same_segment(ep.held.items[j], seg))
                out.append((f"{name}[{j}]!=[{i}]", z3.Implies(here.e, z3.Not(twin))))
    return out


def user_calls(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, peer, _, cfg, peer_cfg in _sides(w, rel.config):
        closes = _calls_before(cfg, ep.pc, (Call.CLOSE,))
        opens = _calls_before(cfg, ep.pc, (Call.OPEN,))
        sends = _calls_before(cfg, ep.pc, (Call.SEND, Call.SEND_URGENT))
        closing = z3.Or(_is(ep.state, CLOSED_BY_USER), ep.close_queued.e)
        out.append((f"{name}.close", z3.Implies(closing, closes != 0)))
        out.append((f"{name}.open", z3.Implies(_is(ep.state, (SYN_SENT,)), (opens + sends) != 0)))
        # An active opener reaches SYN-RECEIVED only on a bare SYN: a simultaneous open (§3.5, Figure 7).
        crossed = z3.And(_is(ep.state, (SYN_RECEIVED,)), z3.Not(ep.passive.e))
        out.append((f"{name}.simultaneous", z3.Implies(crossed, _opened_actively(peer_cfg, peer.pc))))
        peer_closes = _calls_before(peer_cfg, peer.pc, (Call.CLOSE,))
        out.append((f"{name}.peer-fin", z3.Implies(_is(ep.state, FIN_RECEIVED), peer_closes != 0)))
    return out


def blank_tcb(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, *_ in _sides(w, rel.config):
        fields = ("iss", "irs", "snd_una", "snd_nxt", "rcv_nxt", "sent", "retries", "peer_inc")
        blank = [(getattr(ep, f) == 0).e for f in fields] + [(ep.timer == TIMER_BITS).e]
        blank += [z3.Not(p.e) for p in ep.held.present] + [(ep.delivered.length == 0).e]
        out.append((name, z3.Implies(_is(ep.state, (CLOSED, LISTEN)), z3.And(*blank))))
        user = z3.And((ep.queued == 0).e, z3.Not(ep.close_queued.e))
        out.append((f"{name}.CLOSED", z3.Implies(_is(ep.state, (CLOSED,)), user)))
    return out


def opening_tcb(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, *_ in _sides(w, rel.config):
        nothing_yet = z3.And(
            ep.snd_una.e == ep.iss.e,
            ep.snd_nxt.e == ep.iss.e + 1,
            (ep.sent == 0).e,
            (ep.delivered.length == 0).e,
            *[z3.Not(p.e) for p in ep.held.present],
        )
        sent_syn = z3.And(nothing_yet, (ep.irs == 0).e, (ep.rcv_nxt == 0).e, (ep.peer_inc == 0).e)
        out.append((f"{name}.SYN-SENT", z3.Implies(_is(ep.state, (SYN_SENT,)), sent_syn)))
        got_syn = z3.And(nothing_yet, (ep.peer_inc != 0).e)
        out.append((f"{name}.SYN-RECEIVED", z3.Implies(_is(ep.state, (SYN_RECEIVED,)), got_syn)))
        out.append((f"{name}.una", z3.Implies(_has_iss(ep), _inside(ep.iss, ep.snd_una, ep.snd_nxt))))
        out.append((f"{name}.fin-last", z3.Implies(_fin_sent(ep), (ep.queued == 0).e)))
    return out


def iss_configured(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, *_ in _sides(w, rel.config):
        out.append((name, z3.Implies(_has_iss(ep), _configured_iss(rel, _index(name), ep.inc, ep.iss))))
    return out


def snd_nxt_counts(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, *_ in _sides(w, rel.config):
        total = ep.iss.e + 1 + _seq(ep.sent) + _count(_fin_sent(ep))
        out.append((name, z3.Implies(_has_iss(ep), ep.snd_nxt.e == total)))
    return out


def rcv_nxt_counts(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, *_ in _sides(w, rel.config):
        total = ep.irs.e + 1 + _seq(ep.delivered.length) + _count(_is(ep.state, FIN_RECEIVED))
        out.append((name, z3.Implies(_has_irs(ep), ep.rcv_nxt.e == total)))
    return out


def _synced_with(ep: SymEndpoint, peer: SymEndpoint) -> z3.BoolRef:
    """``ep`` accepted the SYN of ``peer``'s current incarnation, which still has its TCB."""
    return z3.And(_has_irs(ep), _has_iss(peer), (ep.peer_inc == peer.inc).e)


def received_was_sent(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, peer, *_ in _sides(w, rel.config):
        synced = _synced_with(ep, peer)
        out.append((f"{name}.peer", z3.Implies(_has_irs(ep), (ep.peer_inc != 0).e)))
        out.append((f"{name}.irs", z3.Implies(synced, ep.irs.e == peer.iss.e)))
        out.append((f"{name}.rcv", z3.Implies(synced, _inside(peer.iss.e + 1, ep.rcv_nxt, peer.snd_nxt))))
    return out


def irs_is_peer_iss(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, *_ in _sides(w, rel.config):
        out.append((name, z3.Implies(_has_irs(ep), _configured_iss(rel, 1 - _index(name), ep.peer_inc, ep.irs))))
    return out


def _ended_as_a_rule_ends(e: SymEnded, rel: Relation) -> z3.BoolRef:
    """The (state, outcome) of an ended incarnation is one a rule (or a crash) produces."""
    pairs = {(s, r.outcome) for r in rel.machine.rules if r.outcome is not None for s in r.states}
    if rel.config.crash:
        pairs |= {(s, Outcome.CRASHED) for s in TcpState if s is not CLOSED}
    return z3.Or(
        *[z3.And((e.state == int(s)).e, (e.outcome == OUTCOMES.index(o)).e) for s, o in sorted(pairs)],
        z3.BoolVal(False),
    )


def incarnations(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, peer, _, cfg, _ in _sides(w, rel.config):
        alive = z3.Not(_is(ep.state, (CLOSED,)))
        out.append(
            (
                f"{name}.count",
                ep.inc.e == ep.history.length.e + _count(alive, SMALL_BITS),
            )
        )
        listens = _calls_before(cfg, ep.pc, (Call.LISTEN,)) + int(cfg.listening)
        out.append((f"{name}.passive", z3.Implies(z3.And(alive, ep.passive.e), listens != 0)))
        out.append((f"{name}.listen", z3.Implies(_is(ep.state, (LISTEN,)), ep.passive.e)))
        for i, e in enumerate(ep.history.items):
            used = ep.history.used(i).e
            out.append(
                (
                    f"{name}.history[{i}]",
                    z3.Implies(
                        used,
                        z3.And(
                            (e.inc == i + 1).e,
                            z3.ULE(e.peer_inc.e, peer.inc.e),
                            z3.ULE(e.sent.e, _calls_before(cfg, ep.pc, (Call.SEND, Call.SEND_URGENT))),
                            z3.Implies(
                                z3.Or(_is(e.state, CLOSED_BY_USER), (e.outcome == OUTCOMES.index(Outcome.CLOSED)).e),
                                _calls_before(cfg, ep.pc, (Call.CLOSE,)) != 0,
                            ),
                            _ended_as_a_rule_ends(e, rel),
                            z3.Implies(
                                (e.outcome == OUTCOMES.index(Outcome.ABORTED)).e,
                                _calls_before(cfg, ep.pc, (Call.ABORT,)) != 0,
                            ),
                        ),
                    ),
                )
            )
    return out


def segments_in_flight(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, peer, chan, cfg, peer_cfg in _sides(w, rel.config):
        # The segments ``ep`` sent that still exist: in flight, or held by the peer for in-order processing.
        mine_somewhere = [(f"{name}>[{i}]", chan.used(i).e, seg) for i, seg in enumerate(chan.items)]
        mine_somewhere += [
            (f"{name}>held[{i}]", here.e, seg)
            for i, (seg, here) in enumerate(zip(peer.held.items, peer.held.present, strict=True))
        ]
        urgent = rel.machine.urgent[_index(name)]
        me, them = _index(name), 1 - _index(name)
        for tag, used, seg in mine_somewhere:
            sent = z3.ZeroExt(SEQ_BITS - SMALL_BITS, units_sent(ep, seg.inc))
            rst, syn, fin, text = seg.RST.e, seg.SYN.e, seg.FIN.e, seg.has_text.e
            out.append(
                (f"{tag}.inc", z3.Implies(used, z3.And(z3.Or((seg.inc != 0).e, rst), z3.ULE(seg.inc.e, ep.inc.e))))
            )
            out.append(
                (
                    f"{tag}.flags",
                    z3.Implies(
                        used,
                        z3.And(
                            (seg.flags & 0xC0 == 0).e,
                            z3.Implies(rst, z3.And(z3.Not(syn), z3.Not(fin), z3.Not(text))),
                            z3.Implies(syn, z3.And(z3.Not(fin), z3.Not(text))),
                            z3.Implies(fin, z3.Not(text)),
                            z3.Implies(z3.Or(seg.PSH.e, seg.URG.e), text),
                            z3.Implies(text, (seg.flags == _data_flags(seg.data, urgent)).e),
                            z3.Implies(z3.Not(z3.Or(syn, rst)), seg.ACK.e),
                        ),
                    ),
                )
            )
            out.append((f"{tag}.syn", z3.Implies(z3.And(used, syn), _anchored(rel, me, seg.inc, seg.seq, 0, 0))))
            # A RST sent before the sender's first OPEN answers a SYN without ACK (the only segment an
            # endpoint that never opened can receive): SEQ 0, ACK = its SEQ + 1 (§3.10.7.1).
            never_opened = z3.And(used, (seg.inc == 0).e)
            answer = z3.And(
                (seg.flags == RST | ACK).e,
                (seg.seq == 0).e,
                _opened_actively(peer_cfg, peer.pc),
                _any_configured_iss(rel, them, Term(seg.ack.e - 1)),
            )
            out.append((f"{tag}.closed-rst", z3.Implies(never_opened, answer)))
            # A SYN without ACK opens actively: its user called OPEN, or SEND in LISTEN (§3.10.1, §3.10.2).
            bare_syn = z3.And(used, syn, z3.Not(seg.ACK.e))
            out.append((f"{tag}.bare-syn", z3.Implies(bare_syn, _opened_actively(cfg, ep.pc))))
            # An ACK acknowledges something the peer sent: the peer has opened at least once.
            out.append((f"{tag}.peer-opened", z3.Implies(z3.And(used, seg.ACK.e), (peer.inc != 0).e)))
            out.append(
                (
                    f"{tag}.data",
                    z3.Implies(
                        z3.And(used, text),
                        z3.And(
                            z3.ULE(seg.data.e, units_sent(ep, seg.inc)),
                            _anchored(rel, me, seg.inc, seg.seq, _seq(seg.data), _seq(seg.data)),
                        ),
                    ),
                )
            )
            closes = _calls_before(cfg, ep.pc, (Call.CLOSE,))
            fin_ok = z3.And(_anchored(rel, me, seg.inc, seg.seq, sent + 1, sent + 1), closes != 0)
            out.append((f"{tag}.fin", z3.Implies(z3.And(used, fin), fin_ok)))
            acking = z3.And(used, (seg.inc == ep.inc).e, _has_iss(ep), seg.ACK.e, z3.Not(rst))
            acked = z3.And(_has_irs(ep), _inside(ep.irs.e + 1, seg.ack, ep.rcv_nxt))
            out.append((f"{tag}.ack", z3.Implies(acking, acked)))
            # A TCB back in LISTEN (reset in SYN-RECEIVED) acknowledged only the SYN it received.
            listening = z3.And(used, seg.ACK.e, z3.Not(rst), (seg.inc == ep.inc).e, _is(ep.state, (LISTEN,)))
            out.append((f"{tag}.listen", z3.Implies(listening, _any_configured_iss(rel, them, Term(seg.ack.e - 1)))))
            acks = z3.And(used, seg.ACK.e, z3.Not(rst))
            peer_units = z3.BitVecVal(peer_cfg.sends + 2, SEQ_BITS)
            out.append((f"{tag}.ack-anchored", z3.Implies(acks, _any_anchored(rel, them, seg.ack, 1, peer_units))))
            syn_ack = z3.And(used, syn, seg.ACK.e)
            out.append((f"{tag}.syn-ack", z3.Implies(syn_ack, _any_configured_iss(rel, them, Term(seg.ack.e - 1)))))
            mine = z3.And(used, (seg.inc == ep.inc).e, _has_iss(ep))
            out.append((f"{tag}.fin-sent", z3.Implies(z3.And(mine, fin), _fin_sent(ep))))
            offset = seg.seq.e - ep.iss.e
            out.append(
                (
                    f"{tag}.current",
                    z3.Implies(
                        z3.And(mine, z3.Not(rst)),
                        z3.And(
                            z3.Implies(syn, offset == 0),
                            z3.Implies(text, offset == _seq(seg.data)),
                            z3.Implies(fin, offset == sent + 1),
                            z3.Implies(
                                z3.Not(z3.Or(syn, fin, text)), z3.And(z3.UGE(offset, 1), z3.ULE(offset, sent + 2))
                            ),
                        ),
                    ),
                )
            )
            bare = z3.And(used, z3.Not(z3.Or(rst, syn, fin, text)))
            out.append((f"{tag}.ack-only", z3.Implies(bare, _anchored(rel, me, seg.inc, seg.seq, 1, sent + 2))))
    return out


#: The invariant whose loss voids every proof (its name is :data:`checks.induction.SLOTS_HOLD`).
SLOTS = Invariant(
    "representable",
    "the symbolic state is a World: every list fits its slots (the bounds cut nothing off), every enum is in range",
    representable,
)

STRENGTHENING: tuple[Invariant, ...] = (
    SLOTS,
    Invariant("counters", "counters count calls the script made: PC, units, incarnations, retries", counters),
    Invariant("incarnations", "each TCB is one incarnation, created by the script's OPEN or LISTEN", incarnations),
    Invariant(
        "segments-in-flight",
        "a segment in flight is one its sender sent: SYN at ISS, unit n at ISS + n, FIN after the data (§3.4)",
        segments_in_flight,
    ),
    Invariant(
        "held-segments",
        "only a synchronizing TCB holds segments, and only those beyond RCV.NXT (§3.10.7.4, first check)",
        held_segments,
    ),
    Invariant(
        "user-calls", "a TCB closes only after its user's CLOSE, opens actively only after OPEN or SEND", user_calls
    ),
    Invariant("blank-tcb", "CLOSED and LISTEN hold no sequence state: a new TCB starts blank (§3.10.1)", blank_tcb),
    Invariant(
        "opening-tcb",
        "SYN-SENT and SYN-RECEIVED have sent their SYN and nothing else; SND.UNA lies in ISS..SND.NXT (§3.4)",
        opening_tcb,
    ),
    Invariant("iss-configured", "a TCB's ISS is one its incarnation may select (§3.4.1)", iss_configured),
    Invariant(
        "snd-nxt-counts",
        "SND.NXT = ISS + 1 (SYN) + units segmentized + 1 if the FIN was sent: every octet is sent once (§3.4)",
        snd_nxt_counts,
    ),
    Invariant(
        "rcv-nxt-counts",
        "RCV.NXT = IRS + 1 (SYN) + units delivered + 1 if the FIN arrived: in-order delivery (§3.10.7.4)",
        rcv_nxt_counts,
    ),
    Invariant(
        "received-was-sent",
        "a TCB received only what the peer incarnation it synchronized with sent: RCV.NXT =< its SND.NXT",
        received_was_sent,
    ),
    Invariant("irs-is-peer-iss", "IRS is an ISS the synchronized peer incarnation may select", irs_is_peer_iss),
)


def instances(invariants: Sequence[Invariant], rel: Relation) -> list[Instance]:
    """Every instance of ``invariants`` over the relation's current state."""
    out = []
    for inv in invariants:
        for suffix, formula in inv.build(rel.cur.world, rel):
            out.append(Instance(inv.name + (f"[{suffix}]" if suffix else ""), formula))
    return out


def property_instances(props: Sequence[Property], rel: Relation) -> list[Instance]:
    """The state properties themselves, as candidates."""
    return [Instance(p.name, z3.Not(SYMBOLIC[p][0](rel))) for p in props]
