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

from checks.lemmas import learned
from checks.properties import Property
from checks.symbolic import Relation, iss_parameter
from checks.symprops import SYMBOLIC, in_states, units_sent
from checks.symstate import (
    OUTCOMES,
    SMALL_BITS,
    Slots,
    SymEnded,
    SymEndpoint,
    SymSegment,
    SymWorld,
    same_segment,
)
from checks.terms import SEQ_BITS, Term, ite
from spec.config import Call, Config, EndpointConfig
from spec.machine import World
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
from spec.timeouts import SENDING_STATES

TIMER_BITS = (1 << SMALL_BITS) - 1  # a stopped timer
#: The states in which a retransmission timer can run: something that occupies sequence space may be unacknowledged.
RETRANSMITTING = frozenset({SYN_SENT, SYN_RECEIVED}) | SENDING_STATES


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


def _opening_calls(ep: EndpointConfig) -> list[int]:
    """The script positions whose call can open actively: OPEN, and SEND before the incarnation's WAIT-OPEN.

    A SEND opens actively only in LISTEN (§3.10.2); after WAIT-OPEN the TCB is synchronized or gone
    (§3.9.1.8), and a TCB never goes back to LISTEN from there.
    """
    out, waited = [], False
    for k, call in enumerate(ep.script):
        if call in (Call.OPEN, Call.LISTEN):
            waited = False
        if call is Call.OPEN or (call in (Call.SEND, Call.SEND_URGENT) and not waited):
            out.append(k)
        waited = waited or call is Call.WAIT_OPEN
    return out


def _closes_before(ep: EndpointConfig, wait: Call) -> bool:
    """Some CLOSE in the script comes without a ``wait`` call since the last OPEN or LISTEN."""
    waited = False
    for call in ep.script:
        if call in (Call.OPEN, Call.LISTEN):
            waited = False
        if call is Call.CLOSE and not waited:
            return True
        waited = waited or call is wait
    return False


def _waits(ep: EndpointConfig, rel: Relation) -> list[tuple[int, frozenset[TcpState]]]:
    """The script positions of the calls that wait, each with the states in which its rule lets it return."""
    out = []
    for k, call in enumerate(ep.script):
        states = [r.states for r in rel.machine.rules if call in r.calls]
        if call in (Call.WAIT_OPEN, Call.WAIT_EOF, Call.WAIT_CLOSED) and states:
            out.append((k, frozenset().union(*states)))
    return out


def _between(pc: Term, k: int, ep: EndpointConfig) -> z3.BoolRef:
    """Call ``k`` has returned, and no OPEN or LISTEN after it has been called yet."""
    reopen = next((j for j in range(k + 1, len(ep.script)) if ep.script[j] in (Call.OPEN, Call.LISTEN)), len(ep.script))
    return z3.And(z3.UGT(pc.e, k), z3.ULE(pc.e, reopen))


def _opened_actively(ep: EndpointConfig, pc: Term) -> z3.BoolRef:
    """The user called OPEN, or SEND in LISTEN (which opens actively, §3.10.2), before call ``pc``."""
    return z3.Or(*[z3.UGT(pc.e, k) for k in _opening_calls(ep)], z3.BoolVal(False))


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
        longest = max(rel.config.rto or 0, rel.config.time_wait_ticks) if rel.config.timed else 0
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
        # A queued CLOSE waits for the data before it, in the state it was called in or the one the handshake
        # leads to; the FIN is formed on leaving CLOSE-WAIT, and before FIN-WAIT-2 or TIME-WAIT (§3.10.4).
        waits = (SYN_RECEIVED, TcpState.ESTABLISHED, TcpState.FIN_WAIT_1, TcpState.CLOSING, TcpState.CLOSE_WAIT)
        out.append((f"{name}.close-queued", z3.Implies(ep.close_queued.e, _is(ep.state, waits))))
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


def _in_order_once(config: Config) -> bool:
    """Segments arrive in order and are sent once: no reordering, duplication or retransmission."""
    return not config.reorder and not config.duplicate and config.retries is None


def _timed_fifo(config: Config) -> bool:
    """A timed FIFO network without a capacity (it may lose, duplicate and retransmit): segments keep their
    order, and MSL with the senders' budgets bound what is in flight."""
    return config.timed and not config.reorder and config.capacity is None


def _ended(e: SymEnded, outcome: Outcome) -> z3.BoolRef:
    return (e.outcome == OUTCOMES.index(outcome)).e


def progress(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """Facts of a connection's life, from the user's calls to the last ACK.

    Built for networks that keep order and send each segment once (with or without a capacity), where the
    proofs of the lifecycle and of no-deadlock need (and check) them, and for timed FIFO networks, whose
    proofs are being written (some facts are built only there).  Elsewhere the proofs do without them,
    and as candidates they made each of Houdini's queries slow: on reorder-capacity-2, 50-70 s a query with
    them, 186 queries in 120 s without.
    """
    if not (_in_order_once(rel.config) or _timed_fifo(rel.config)):
        return []
    out = []
    for name, ep, peer, chan, cfg, peer_cfg in _sides(w, rel.config):
        # A WAIT returned only in the states its rule accepts, and the TCB has not left them since (until
        # the next OPEN or LISTEN): WAIT-OPEN leaves it synchronized or closed, WAIT-EOF past the peer's FIN.
        for k, call in enumerate(cfg.script):
            if call is Call.CLOSE:
                # After CLOSE the TCB closes: its FIN is queued or sent, or it is gone (§3.10.4).
                closing = z3.Or(_is(ep.state, CLOSED_BY_USER | {CLOSED}), ep.close_queued.e)
                out.append((f"{name}.closed[{k}]", z3.Implies(_between(ep.pc, k, cfg), closing)))
        for k, after in _waits(cfg, rel):
            out.append((f"{name}.waited[{k}]", z3.Implies(_between(ep.pc, k, cfg), _is(ep.state, after))))
        if not _closes_before(peer_cfg, Call.WAIT_EOF):
            # ...so this endpoint closes actively: the peer's FIN comes only after it received ours, and acknowledges
            # it, so we go from FIN-WAIT to TIME-WAIT, never to CLOSE-WAIT, LAST-ACK or CLOSING.
            second = (TcpState.CLOSE_WAIT, TcpState.LAST_ACK, TcpState.CLOSING)
            out.append((f"{name}.active-close", z3.Not(_is(ep.state, second))))
            for j, e in enumerate(ep.history.items):
                out.append(
                    (f"{name}.active-close[{j}]", z3.Implies(ep.history.used(j).e, z3.Not(_is(e.state, second))))
                )
        if not _closes_before(cfg, Call.WAIT_EOF):
            # Its user closes only after the peer's FIN (WAIT-EOF): a passive close, CLOSE-WAIT to LAST-ACK.
            first = (TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2, TcpState.CLOSING, TcpState.TIME_WAIT)
            out.append((f"{name}.passive-close", z3.Not(_is(ep.state, first))))
            for j, e in enumerate(ep.history.items):
                out.append(
                    (f"{name}.passive-close[{j}]", z3.Implies(ep.history.used(j).e, z3.Not(_is(e.state, first))))
                )
            # Its FIN, sent from CLOSE-WAIT (or again from LAST-ACK), acknowledges the peer's FIN.
            for i, s in enumerate(chan.items):
                fin = z3.And(chan.used(i).e, s.FIN.e, _has_iss(peer), (s.inc == peer.peer_inc).e, _has_irs(peer))
                out.append((f"{name}>[{i}].fin-acks-fin", z3.Implies(fin, s.ack.e == peer.snd_nxt.e)))
                if _timed_fifo(rel.config):
                    # ...and so does everything sent after our FIN: RCV.NXT was final before it.
                    past = z3.And(
                        chan.used(i).e,
                        s.ACK.e,
                        z3.Not(s.RST.e),
                        (s.inc == ep.inc).e,
                        _fin_sent(ep),
                        s.seq.e == ep.snd_nxt.e,
                    )
                    out.append((f"{name}>[{i}].after-fin", z3.Implies(past, s.ack.e == ep.rcv_nxt.e)))
            if _timed_fifo(rel.config):  # (on an in-order network the facts above carry the proofs without these)
                # ...so the peer's FIN goes first (fin-acks-fin says ours acknowledges it): the peer is never in
                # CLOSE-WAIT, LAST-ACK or CLOSING with any incarnation of ours (§3.10.7.4).
                passive = (TcpState.CLOSE_WAIT, TcpState.LAST_ACK, TcpState.CLOSING)
                met = (peer.peer_inc != 0).e
                out.append((f"{name}.peer-closes-first", z3.Implies(met, z3.Not(_is(peer.state, passive)))))
                for j, e in enumerate(peer.history.items):
                    ended = z3.And(peer.history.used(j).e, (e.peer_inc != 0).e)
                    out.append((f"{name}.peer-closed-first[{j}]", z3.Implies(ended, z3.Not(_is(e.state, passive)))))
        if not _closes_before(peer_cfg, Call.WAIT_EOF) and _timed_fifo(rel.config):
            # The peer closes passively, its FIN after ours: whatever acknowledges its FIN comes after our FIN.
            for i, seg in enumerate(chan.items):
                acks_fin = z3.And(
                    chan.used(i).e,
                    seg.ACK.e,
                    z3.Not(seg.RST.e),
                    (seg.inc == ep.inc).e,
                    _is(ep.state, FIN_RECEIVED),
                    seg.ack.e == ep.rcv_nxt.e,
                )
                after = z3.And(_fin_sent(ep), seg.seq.e == ep.snd_nxt.e)
                out.append((f"{name}>[{i}].after-own-fin", z3.Implies(acks_fin, after)))
                # Seen from the peer (which outlives us in LAST-ACK): its FIN came after it received ours, so
                # what acknowledges its FIN lies at its RCV.NXT, past our FIN.
                seen = z3.And(
                    chan.used(i).e,
                    seg.ACK.e,
                    z3.Not(seg.RST.e),
                    _has_irs(peer),
                    (seg.inc == peer.peer_inc).e,
                    _fin_sent(peer),
                    seg.ack.e == peer.snd_nxt.e,
                )
                out.append((f"{name}>[{i}].after-own-fin-seen", z3.Implies(seen, seg.seq.e == peer.rcv_nxt.e)))
        if _timed_fifo(rel.config):
            # A TCB not from a passive OPEN came from an active one: OPEN, or SEND in LISTEN (§3.10.1-2).
            active = z3.And(z3.Not(_is(ep.state, (CLOSED,))), z3.Not(ep.passive.e))
            out.append((f"{name}.active", z3.Implies(active, _opened_actively(cfg, ep.pc))))
        # The first OPEN or LISTEN finds the endpoint CLOSED and creates its first TCB (§3.10.1).
        opened = _calls_before(cfg, ep.pc, (Call.OPEN, Call.LISTEN)) + int(cfg.listening)
        out.append((f"{name}.first", (ep.inc != 0).e == (opened != 0)))
        # A TCB is synchronized only once its SYN was acknowledged (§3.10.7.3, §3.10.7.4 fifth).
        acked = _inside(ep.iss.e + 1, ep.snd_una, ep.snd_nxt)
        out.append((f"{name}.syn-acked", z3.Implies(_is(ep.state, SYNCHRONIZED), acked)))
        # FIN-WAIT-2 and TIME-WAIT: the FIN, and so everything before it, was acknowledged (§3.10.7.4);
        # in FIN-WAIT-1, CLOSING and LAST-ACK a FIN once sent is not, for its ACK moves the TCB on.
        done = _is(ep.state, (TcpState.FIN_WAIT_2, TcpState.TIME_WAIT))
        out.append((f"{name}.all-acked", z3.Implies(done, ep.snd_una.e == ep.snd_nxt.e)))
        waiting = z3.And(_is(ep.state, (TcpState.FIN_WAIT_1, TcpState.CLOSING, TcpState.LAST_ACK)), _fin_sent(ep))
        out.append((f"{name}.fin-unacked", z3.Implies(waiting, ep.snd_una.e != ep.snd_nxt.e)))
        out += _fin_received(name, ep, peer)
        out += _synchronized(name, ep, peer, stays=_in_order_once(rel.config))
        out += _ended_incarnations(name, ep, peer, cfg, peer_cfg, rel)
        out += _segments_sent(name, ep, peer, chan, cfg, peer_cfg, rel)
    return out


def _fin_received(name: str, ep: SymEndpoint, peer: SymEndpoint) -> list[tuple[str, z3.BoolRef]]:
    """A FIN received was sent, and was the last sequence number its sender used (§3.10.4)."""
    out = []
    same = z3.And((ep.peer_inc == peer.inc).e, _has_iss(peer))
    got_fin = _is(ep.state, FIN_RECEIVED)
    out.append((f"{name}.fin-was-sent", z3.Implies(z3.And(got_fin, same), _fin_sent(peer))))
    out.append((f"{name}.fin-all", z3.Implies(z3.And(got_fin, _synced_with(ep, peer)), ep.rcv_nxt.e == peer.snd_nxt.e)))
    for j, e in enumerate(ep.history.items):
        ended = z3.And(ep.history.used(j).e, _is(e.state, FIN_RECEIVED), (e.peer_inc == peer.inc).e, _has_iss(peer))
        out.append((f"{name}.fin-was-sent[{j}]", z3.Implies(ended, _fin_sent(peer))))
    for k, e in enumerate(peer.history.items):
        # A peer incarnation that closed normally in LAST-ACK or TIME-WAIT had its FIN acknowledged: we got it.
        acked = z3.And(
            peer.history.used(k).e,
            _ended(e, Outcome.CLOSED),
            _is(e.state, (TcpState.LAST_ACK, TcpState.TIME_WAIT)),
            _has_irs(ep),
            (ep.peer_inc == k + 1).e,
        )
        out.append((f"{name}.fin-acked-by[{k}]", z3.Implies(acked, got_fin)))
        # ...and its FIN, sent from CLOSE-WAIT, acknowledged ours: we are in TIME-WAIT.
        passive = z3.And(acked, (e.state == int(TcpState.LAST_ACK)).e)
        out.append((f"{name}.fin-acked-by[{k}].time-wait", z3.Implies(passive, _is(ep.state, (TcpState.TIME_WAIT,)))))
        gone = z3.And(got_fin, peer.history.used(k).e, (ep.peer_inc == k + 1).e)
        out.append((f"{name}.fin-was-sent-by[{k}]", z3.Implies(gone, _is(e.state, CLOSED_BY_USER))))
        out.append((f"{name}.fin-all[{k}]", z3.Implies(gone, ep.delivered.length.e == e.sent.e)))
    return out


def _synchronized(name: str, ep: SymEndpoint, peer: SymEndpoint, stays: bool) -> list[tuple[str, z3.BoolRef]]:
    """Synchronized means the peer acknowledged our SYN: the peer's incarnation was past its own SYN.

    ``stays``: a passive peer, once it answered, never returns to LISTEN in the same incarnation (no loss,
    no retransmission: nothing resets it or makes it give up).
    """
    out = []
    answered = SYNCHRONIZED | {SYN_RECEIVED}
    acked = z3.And(_is(ep.state, SYNCHRONIZED), (ep.peer_inc == peer.inc).e, _has_iss(peer))
    out.append((f"{name}.acked", z3.Implies(acked, _is(peer.state, answered))))
    for j, e in enumerate(peer.history.items):
        gone = z3.And(_is(ep.state, SYNCHRONIZED), (ep.peer_inc == j + 1).e, peer.history.used(j).e)
        out.append((f"{name}.acked-by[{j}]", z3.Implies(gone, _is(e.state, answered))))
    for i, mine in enumerate(ep.history.items):
        was = z3.And(ep.history.used(i).e, _is(mine.state, SYNCHRONIZED))
        if stays:
            live = z3.And(was, (mine.peer_inc == peer.inc).e)
            out.append((f"{name}[{i}].acked", z3.Implies(live, _is(peer.state, answered | {CLOSED}))))
        for j, e in enumerate(peer.history.items):
            gone = z3.And(was, (mine.peer_inc == j + 1).e, peer.history.used(j).e)
            out.append((f"{name}[{i}].acked-by[{j}]", z3.Implies(gone, _is(e.state, answered))))
    return out


def _ended_incarnations(
    name: str, ep: SymEndpoint, peer: SymEndpoint, cfg: EndpointConfig, peer_cfg: EndpointConfig, rel: Relation
) -> list[tuple[str, z3.BoolRef]]:
    """An ended incarnation's last state agrees with the script that ran it and with what it sent."""
    out = []
    listens = _calls_before(cfg, ep.pc, (Call.LISTEN,)) + int(cfg.listening)
    for j, e in enumerate(ep.history.items):
        facts = [
            z3.Implies((e.state == int(SYN_SENT)).e, _opened_actively(cfg, ep.pc)),
            # Data goes out only once synchronized (§3.10.2: SEND queues before).
            z3.Implies(z3.Not(_is(e.state, SYNCHRONIZED)), (e.sent == 0).e),
            # CLOSE before the TCB synchronized needs a CLOSE the user calls without waiting for the open.
            z3.Implies(
                z3.And(_is(e.state, (LISTEN, SYN_SENT)), _ended(e, Outcome.CLOSED)),
                z3.BoolVal(_closes_before(cfg, Call.WAIT_OPEN)),
            ),
            z3.Implies(_is(e.state, SYNCHRONIZED | {SYN_RECEIVED}), (e.peer_inc != 0).e),
            z3.Implies((e.state == int(LISTEN)).e, listens != 0),
            # Refused or timed out in SYN-RECEIVED: an active open (a passive one goes back to LISTEN).
            z3.Implies(
                z3.And(
                    (e.state == int(SYN_RECEIVED)).e, z3.Or(_ended(e, Outcome.REFUSED), _ended(e, Outcome.TIMED_OUT))
                ),
                _opened_actively(cfg, ep.pc),
            ),
            # SYN-RECEIVED without a LISTEN: the peer's SYN crossed ours (§3.5, Figure 7).
            z3.Implies(z3.And((e.state == int(SYN_RECEIVED)).e, listens == 0), _opened_actively(peer_cfg, peer.pc)),
        ]
        out.append((f"{name}.ended[{j}]", z3.Implies(ep.history.used(j).e, z3.And(*facts))))
    return out


def _segments_sent(
    name: str,
    ep: SymEndpoint,
    peer: SymEndpoint,
    chan: Slots,
    cfg: EndpointConfig,
    peer_cfg: EndpointConfig,
    rel: Relation,
) -> list[tuple[str, z3.BoolRef]]:
    """What the rules that send segments imply about the ones in flight (§3.10.7)."""
    out = []
    me, them = _index(name), 1 - _index(name)
    listens = _calls_before(cfg, ep.pc, (Call.LISTEN,)) + int(cfg.listening)
    my_units = z3.BitVecVal(cfg.sends + 2, SEQ_BITS)
    for i, seg in enumerate(chan.items):
        tag = f"{name}>[{i}]"
        used, rst = chan.used(i).e, seg.RST.e
        # A TCB that ended in SYN-SENT never acknowledged anything: it sent SYNs, and RSTs without ACK.
        for j, e in enumerate(ep.history.items):
            unsynced = z3.And(used, ep.history.used(j).e, (seg.inc == j + 1).e, (e.state == int(SYN_SENT)).e)
            out.append((f"{tag}.ended-in-syn-sent[{j}]", z3.Implies(unsynced, z3.Not(seg.ACK.e))))
        # A SYN,ACK from an endpoint that never listened answers a SYN of a simultaneous open (§3.5).
        syn_ack = z3.And(used, seg.SYN.e, seg.ACK.e)
        crossed = z3.Implies(listens == 0, _opened_actively(peer_cfg, peer.pc))
        out.append((f"{tag}.syn-ack-crossed", z3.Implies(syn_ack, crossed)))
        # A RST carries SND.NXT, or the ACK of the segment it answers (an ACK of this endpoint's
        # sequence numbers), or SEQ 0 with an ACK when that segment had none (§3.10.7.1).
        rst_seq = z3.Or(_any_anchored(rel, me, seg.seq, 0, my_units), z3.And((seg.seq == 0).e, seg.ACK.e))
        out.append((f"{tag}.rst", z3.Implies(z3.And(used, rst), rst_seq)))
        # A TCB sends RST and stays only in SYN-SENT or SYN-RECEIVED (a bad ACK, §3.10.7.3-4); anywhere
        # else a RST ends the incarnation (ABORT, or a SYN in the window without RFC 5961).
        live = z3.And(used, rst, (seg.inc == ep.inc).e, _has_iss(ep))
        out.append((f"{tag}.rst-live", z3.Implies(live, _is(ep.state, (SYN_SENT, SYN_RECEIVED)))))
        # RST,ACK comes only from CLOSED, answering a segment without ACK: the peer's bare SYN.
        rst_ack = z3.And(
            (seg.seq == 0).e, _any_configured_iss(rel, them, Term(seg.ack.e - 1)), _opened_actively(peer_cfg, peer.pc)
        )
        out.append((f"{tag}.rst-ack", z3.Implies(z3.And(used, rst, seg.ACK.e), rst_ack)))
        # A segment without ACK carries zero in its acknowledgment field.
        out.append((f"{tag}.ack-zero", z3.Implies(z3.And(used, z3.Not(seg.ACK.e)), (seg.ack == 0).e)))
    return out


def fifo_channels(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """What bounds the segments in flight when the network does not: order, and each segment sent once.

    With reordering, duplication or retransmission these facts are false, so they are built only for networks
    that keep order and send each segment once (on a timed FIFO network, only "not overtaken", which rests on
    order alone).  With a capacity the network bounds what is in flight itself,
    and a segment dropped at a full channel makes some of them false; Houdini drops those (on the bounded
    handshake none is: the facts carry its proof of no-deadlock).
    """
    if _in_order_once(rel.config):
        return _fifo_facts(w, rel)
    if _timed_fifo(rel.config):
        return [(n, f) for n, f in _fifo_facts(w, rel) if n.endswith(".not-overtaken")]
    return []


def _fifo_facts(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, peer, chan, cfg, peer_cfg in _sides(w, rel.config):
        mine = z3.BitVecVal(cfg.sends + 2, SEQ_BITS)  # SYN, the units, FIN
        theirs = z3.BitVecVal(peer_cfg.sends + 2, SEQ_BITS)
        items = chan.items
        for i in range(len(items) - 1):
            s, t = items[i], items[i + 1]
            later = chan.used(i + 1).e
            # An endpoint's incarnations follow one another: FIFO keeps their segments in that order, and
            # one that never opened sends at most the one RST that answers the peer's SYN.
            out.append(
                (f"{name}>[{i}]<=[{i + 1}].inc", z3.Implies(later, z3.And(z3.ULE(s.inc.e, t.inc.e), (t.inc != 0).e)))
            )
            pair = z3.And(later, (s.inc == t.inc).e)
            seq_step = (t.seq + t.len).e - (s.seq + s.len).e
            ack_step = t.ack.e - s.ack.e
            acks = z3.Implies(s.ACK.e, z3.And(t.ACK.e, z3.ULE(ack_step, theirs)))
            moved = z3.Or(seq_step != 0, z3.And(s.ACK.e, ack_step != 0), z3.And(z3.Not(s.ACK.e), t.ACK.e))
            out.append((f"{name}>[{i}]<[{i + 1}]", z3.Implies(pair, z3.And(z3.ULE(seq_step, mine), acks, moved))))
            # An incarnation's SYN is the first segment it sends (a SYN,ACK may follow its SYN: §3.5 Figure 7).
            out.append((f"{name}>[{i}]<[{i + 1}].syn-first", z3.Implies(z3.And(pair, t.SYN.e), s.SYN.e)))
            if rel.config.loss == 0:
                # Nothing lost in between: each segment begins where the one before it ended.
                plain = z3.And(pair, z3.Not(s.RST.e), z3.Not(t.RST.e))
                out.append((f"{name}>[{i}]<[{i + 1}].next", z3.Implies(plain, t.seq.e == (s.seq + s.len).e)))
        if rel.config.loss == 0 and items:
            # Nothing lost: the first segment in flight is the next one the peer expects, and a bare ACK
            # there acknowledges something the peer has not yet seen acknowledged.
            s = items[0]
            peer_synced = z3.And(chan.used(0).e, (s.inc != 0).e, _has_irs(peer), (peer.peer_inc == s.inc).e)
            bare = z3.Not(z3.Or(s.SYN.e, s.FIN.e, s.has_text.e, s.RST.e))
            first = z3.And(
                s.seq.e == peer.rcv_nxt.e,
                z3.Implies(s.ACK.e, _inside(peer.snd_una, s.ack, peer.snd_nxt)),
                z3.Implies(bare, s.ack.e != peer.snd_una.e),
            )
            out.append((f"{name}>[0].first", z3.Implies(z3.And(peer_synced, z3.Not(s.RST.e)), first)))
            # ...and with nothing in flight, the peer has received everything sent.
            synced = z3.And((chan.length == 0).e, _has_iss(ep), _has_irs(peer), (peer.peer_inc == ep.inc).e)
            out.append((f"{name}>empty", z3.Implies(synced, peer.rcv_nxt.e == ep.snd_nxt.e)))
        # Reset in SYN-SENT: the RST acknowledged our SYN, so it came from a CLOSED peer that had taken
        # the SYN, sent once (§3.10.7.1, §3.10.7.3): no peer incarnation synchronized with ours, and the
        # SYN is no longer in flight.
        for j, e in enumerate(ep.history.items):
            refused = z3.And(
                ep.history.used(j).e, (e.state == int(SYN_SENT)).e, (e.outcome == OUTCOMES.index(Outcome.RESET)).e
            )
            met = [z3.And(_has_irs(peer), (peer.peer_inc == j + 1).e)]
            met += [z3.And(peer.history.used(k).e, (f.peer_inc == j + 1).e) for k, f in enumerate(peer.history.items)]
            met += [z3.And(chan.used(i).e, (s.inc == j + 1).e, s.SYN.e) for i, s in enumerate(items)]
            out.append((f"{name}[{j}].refused", z3.Implies(refused, z3.Not(z3.Or(*met)))))
        for i, s in enumerate(items):
            # Not yet received, so not yet acknowledged: what it carries lies at or beyond SND.UNA.
            carries = z3.And(chan.used(i).e, (s.inc == ep.inc).e, _has_iss(ep), z3.Or(s.SYN.e, s.FIN.e, s.has_text.e))
            out.append((f"{name}>[{i}].unacked", z3.Implies(carries, _inside(ep.snd_una, s.seq, ep.snd_nxt))))
            # An incarnation that closed in LAST-ACK or TIME-WAIT saw all it sent acknowledged: none of it is left.
            for j, e in enumerate(ep.history.items):
                done = z3.And(
                    ep.history.used(j).e,
                    _is(e.state, (TcpState.LAST_ACK, TcpState.TIME_WAIT)),
                    (e.outcome == OUTCOMES.index(Outcome.CLOSED)).e,
                )
                ended = z3.And(chan.used(i).e, (s.inc == j + 1).e, z3.Or(s.SYN.e, s.FIN.e, s.has_text.e))
                out.append((f"{name}>[{i}].acked[{j}]", z3.Not(z3.And(done, ended))))
            # In order: the receiver meets a newer incarnation of ours only after every older segment.
            behind = z3.And(
                z3.ULE(peer.peer_inc.e, s.inc.e),
                *[
                    z3.Implies(peer.history.used(j).e, z3.ULE(e.peer_inc.e, s.inc.e))
                    for j, e in enumerate(peer.history.items)
                ],
            )
            out.append((f"{name}>[{i}].not-overtaken", z3.Implies(chan.used(i).e, behind)))
            # Sent once and not yet arrived: nobody has acknowledged this SYN, so its sender has not
            # reached a synchronized state, and the peer has not synchronized with its incarnation.
            syn = z3.And(chan.used(i).e, s.SYN.e, z3.Not(s.ACK.e), (s.inc == ep.inc).e)
            unanswered = z3.And(
                z3.Or(_is(ep.state, (SYN_SENT, SYN_RECEIVED)), z3.Not(_has_iss(ep))),
                z3.Not(z3.And(_has_irs(peer), (peer.peer_inc == s.inc).e)),
            )
            out.append((f"{name}>[{i}].syn-unanswered", z3.Implies(syn, unanswered)))
            for j, e in enumerate(peer.history.items):
                synced = z3.And(
                    peer.history.used(j).e, (e.peer_inc == s.inc).e, _is(e.state, SYNCHRONIZED | {SYN_RECEIVED})
                )
                out.append((f"{name}>[{i}].syn-unanswered[{j}]", z3.Implies(syn, z3.Not(synced))))
            # Likewise data in flight has not been delivered by the incarnation it was sent to.
            text = z3.And(chan.used(i).e, s.has_text.e)
            kept = [
                z3.Implies(
                    z3.And(_has_irs(peer), (peer.peer_inc == s.inc).e), z3.ULT(peer.delivered.length.e, s.data.e)
                )
            ]
            kept += [
                z3.Implies(
                    z3.And(peer.history.used(j).e, (e.peer_inc == s.inc).e), z3.ULT(e.delivered.length.e, s.data.e)
                )
                for j, e in enumerate(peer.history.items)
            ]
            out.append((f"{name}>[{i}].text-unanswered", z3.Implies(text, z3.And(*kept))))
            # Likewise a FIN in flight has not been received by the incarnation it was sent to.
            fin = z3.And(chan.used(i).e, s.FIN.e)
            got = [z3.And(_has_irs(peer), (peer.peer_inc == s.inc).e, _is(peer.state, FIN_RECEIVED))]
            got += [
                z3.And(peer.history.used(j).e, (e.peer_inc == s.inc).e, _is(e.state, FIN_RECEIVED))
                for j, e in enumerate(peer.history.items)
            ]
            out.append((f"{name}>[{i}].fin-unanswered", z3.Implies(fin, z3.Not(z3.Or(*got)))))
            last = z3.And((chan.length == i + 1).e, (s.inc == ep.inc).e, _has_iss(ep))
            same = z3.And((s.seq + s.len).e == ep.snd_nxt.e, z3.Implies(s.ACK.e, s.ack.e == ep.rcv_nxt.e))
            out.append((f"{name}>[{i}].last", z3.Implies(last, same)))
            # ...and the last one an incarnation sent before it left TIME-WAIT acknowledges the peer's FIN.
            for j, e in enumerate(ep.history.items):
                waited = z3.And(
                    ep.history.used(j).e,
                    (e.state == int(TcpState.TIME_WAIT)).e,
                    (chan.length == i + 1).e,
                    (s.inc == j + 1).e,
                    _has_iss(peer),
                    (peer.inc == e.peer_inc).e,
                )
                out.append((f"{name}>[{i}].last[{j}]", z3.Implies(waited, s.ack.e == peer.snd_nxt.e)))
    return out


def lone_resets(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """Who sends a RST when each endpoint has one incarnation and the network keeps order and sends each segment once.

    Every ACK that arrives is then acceptable, so no TCB answers one with a RST and lives on (§3.10.7.3-4): only
    CLOSED (answering a SYN) or ABORT sends RST.  A network with a capacity may drop a segment that does not fit,
    which changes none of this, so these facts are built for capacities too.  (They hold in every reachable state
    of reorder-capacity-2 as well; with them and progress, answers-owed and quiescence, Houdini ends there in
    16 min, and no-deadlock is still not proved: README.)
    """
    if _in_order_once(rel.config):
        return _lone_facts(w, rel)
    if _timed_fifo(rel.config) and not rel.config.duplicate:
        # Loss and retransmission change none of the first two: a SYN or FIN sent again carries the ACK of then.
        return [(n, f) for n, f in _lone_facts(w, rel) if n.endswith((".no-live-rst", ".acks-sent"))]
    return []


def _lone_facts(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    out = []
    for name, ep, peer, chan, cfg, peer_cfg in _sides(w, rel.config):
        peer_chan = w.ba if chan is w.ab else w.ab
        items = chan.items
        if len(cfg.incarnations) == 1 and len(peer_cfg.incarnations) == 1 and not rel.config.crash:
            # One incarnation each, in order, each segment once: every ACK that arrives is acceptable, so
            # no TCB answers one with a RST and lives on (§3.10.7.3-4); only CLOSED or ABORT sends RST.
            for i, s in enumerate(items):
                live = z3.And(chan.used(i).e, s.RST.e, (s.inc == ep.inc).e, _has_iss(ep))
                out.append((f"{name}>[{i}].no-live-rst", z3.Not(live)))
                # ...a RST from the peer before it ever opened answers our SYN, which it took: no
                # incarnation of the peer has that SYN.
                refusal = z3.BoolVal(False)
                if i < len(peer_chan.items):
                    r = peer_chan.items[i]
                    refusal = z3.And(peer_chan.used(i).e, r.RST.e, (r.inc == 0).e)
                taken = z3.Or(
                    z3.And(_has_irs(peer), (peer.peer_inc == ep.inc).e),
                    *[
                        z3.And(peer.history.used(k).e, (f.peer_inc == ep.inc).e)
                        for k, f in enumerate(peer.history.items)
                    ],
                    *[z3.And(chan.used(k).e, f.SYN.e, (f.inc == ep.inc).e) for k, f in enumerate(items)],
                )
                out.append((f"{name}<[{i}].refusal", z3.Implies(z3.And(refusal, _has_iss(ep)), z3.Not(taken))))
                # ...every ACK acknowledges what the peer's (only) incarnation has sent...
                acking = z3.And(chan.used(i).e, s.ACK.e, z3.Not(s.RST.e), _has_iss(peer))
                sent_by_peer = _inside(peer.iss.e + 1, s.ack, peer.snd_nxt)
                out.append((f"{name}>[{i}].acks-sent", z3.Implies(acking, sent_by_peer)))
                if i == 0:
                    # ...and nothing resets a passive peer to LISTEN once it answered our SYN.
                    synced = z3.And(_is(ep.state, SYNCHRONIZED), (ep.peer_inc == peer.inc).e)
                    out.append((f"{name}.peer-not-listening", z3.Implies(synced, z3.Not(_is(peer.state, (LISTEN,))))))
                if not any(c is Call.ABORT for c in (*cfg.script, *peer_cfg.script)):
                    # ...and without ABORT nobody is left to send one but a TCB not yet listening, which
                    # answers the peer's SYN (a RST,ACK of incarnation 0), and nobody is reset.
                    early = z3.And(chan.used(i).e, s.RST.e)
                    out.append((f"{name}>[{i}].only-early-rst", z3.Implies(early, (s.inc == 0).e)))
                    ended_reset = [
                        z3.And(
                            ep.history.used(j).e,
                            (e.outcome == OUTCOMES.index(Outcome.RESET)).e,
                            _is(e.state, SYNCHRONIZED),
                        )
                        for j, e in enumerate(ep.history.items)
                    ]
                    if i == 0:
                        out.append((f"{name}.never-reset", z3.Not(z3.Or(*ended_reset, z3.BoolVal(False)))))
                # ...and after a normal close nothing of the peer's is left to answer: its last segment,
                # the ACK of our FIN (or our ACK of its FIN), was the one that closed us.
                closed_ok = [
                    z3.And(
                        ep.history.used(j).e,
                        (e.outcome == OUTCOMES.index(Outcome.CLOSED)).e,
                        _is(e.state, (TcpState.TIME_WAIT, TcpState.LAST_ACK)),
                    )
                    for j, e in enumerate(ep.history.items)
                ]
                toward = peer_chan.used(i).e if i < len(peer_chan.items) else z3.BoolVal(False)
                out.append(
                    (f"{name}<[{i}].after-close", z3.Implies(z3.Or(*closed_ok, z3.BoolVal(False)), z3.Not(toward)))
                )
                # ...and a listening TCB has sent nothing yet: nothing ever sends it back to LISTEN.
                listening = z3.And(chan.used(i).e, _is(ep.state, (LISTEN,)))
                out.append((f"{name}>[{i}].listen-silent", z3.Implies(listening, (s.inc != ep.inc).e)))
                if i + 1 < len(items):
                    # ...so a RST comes from CLOSED, which sends nothing else after it.
                    t = items[i + 1]
                    after = z3.And(chan.used(i + 1).e, s.RST.e, (s.inc == t.inc).e)
                    out.append((f"{name}>[{i}].rst-last", z3.Implies(after, t.RST.e)))
    return out


def quiescence(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """What holds when the network is quiet: nothing in flight, no timer running.

    Every segment that occupies sequence space is answered by an acknowledgment, and while it is not, the
    segment, its answer or a running timer (§3.8.1) is still somewhere; so a quiet connection owes nothing.
    """
    if rel.config.reorder and rel.config.retries is None:
        return []  # on a reordering network that never retransmits not yet shown inductive (README)
    out = []
    quiet = z3.And((w.ab.length == 0).e, (w.ba.length == 0).e, (w.a.timer == TIMER_BITS).e, (w.b.timer == TIMER_BITS).e)
    resting = (CLOSED, LISTEN, TcpState.ESTABLISHED, TcpState.FIN_WAIT_2, TcpState.CLOSE_WAIT)
    for name, ep, peer, *_ in _sides(w, rel.config):
        # A timer runs for retransmission (if the configuration retransmits at all) or in TIME-WAIT.
        timed_states = {TcpState.TIME_WAIT} | (RETRANSMITTING if rel.config.retries is not None else set())
        out.append((f"{name}.timer", z3.Implies((ep.timer != TIMER_BITS).e, _is(ep.state, timed_states))))
        out.append((f"{name}.time-wait", z3.Implies(_is(ep.state, (TcpState.TIME_WAIT,)), (ep.timer != TIMER_BITS).e)))
        if rel.config.retries is not None:
            # The retransmission timer runs while anything sent is unacknowledged (RFC 6298 §5.1-5.3, §3.8.1).
            owed = z3.And(_is(ep.state, RETRANSMITTING), ep.snd_una.e != ep.snd_nxt.e)
            out.append((f"{name}.retransmitting", z3.Implies(owed, (ep.timer != TIMER_BITS).e)))
        # No state that waits for an acknowledgment of its SYN or FIN, and no TIME-WAIT (its timer runs).
        # (A TCB that still has queued data or a queued CLOSE has output to send: it is not resting yet.)
        pending = z3.Or((ep.queued != 0).e, ep.close_queued.e)
        out.append((f"{name}.rests", z3.Implies(z3.And(quiet, z3.Not(pending)), _is(ep.state, resting))))
        lossless = rel.config.loss == 0 and rel.config.capacity is None  # a full channel drops what does not fit
        if lossless or rel.config.retries is not None:
            acked = z3.Implies(z3.And(quiet, _is(ep.state, SYNCHRONIZED)), ep.snd_una.e == ep.snd_nxt.e)
            out.append((f"{name}.all-acked", acked))
        if lossless:
            heard = z3.And(quiet, _has_iss(ep), _has_irs(peer), (peer.peer_inc == ep.inc).e)
            out.append((f"{name}.all-received", z3.Implies(heard, peer.rcv_nxt.e == ep.snd_nxt.e)))
    return out


def _in_channel(chan: Slots, per_slot: list[z3.BoolRef]) -> z3.BoolRef:
    """Some segment in flight on ``chan`` satisfies its slot's formula in ``per_slot``."""
    return z3.Or(*[z3.And(chan.used(i).e, f) for i, f in enumerate(per_slot)], z3.BoolVal(False))


def answers_owed(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """A segment that asks for an answer is, until the answer arrives, on its way, or answered on the way back.

    Without a retransmission timer nothing is sent again (§3.8.1), so the connection moves on only if each SYN,
    SYN,ACK and the sequence space sent after them is still in flight, or its answer is (§3.5, Figures 6 and 7;
    §3.10.7.4).  With a timer it runs instead (``quiescence``).  On a reordering network they hold in every
    reachable state of reorder-capacity-2; with them (and progress, lone-resets, quiescence) Houdini ends there
    in 16 min, and no-deadlock is still not proved (README).
    """
    if rel.config.reorder or rel.config.retries is not None:
        return []
    out = []
    for name, ep, peer, chan, _, _ in _sides(w, rel.config):
        peer_chan = w.ba if chan is w.ab else w.ab
        idle = (ep.timer == TIMER_BITS).e
        # SYN-SENT: our SYN is on its way, or the peer took it, or its answer (or the peer's own SYN) is.
        syn_on_way = _in_channel(chan, [z3.And(s.SYN.e, (s.inc == ep.inc).e) for s in chan.items])
        taken = z3.And(_has_irs(peer), (peer.peer_inc == ep.inc).e)
        acks_syn = [z3.Or(z3.And(s.ACK.e, s.ack.e == ep.iss.e + 1), s.SYN.e) for s in peer_chan.items]
        sent = z3.And(_is(ep.state, (SYN_SENT,)), idle)
        out.append((f"{name}.syn", z3.Implies(sent, z3.Or(syn_on_way, taken, _in_channel(peer_chan, acks_syn)))))
        # SYN-RECEIVED with the peer still in SYN-SENT: our SYN,ACK (or our SYN) is on its way.
        waiting = z3.And(
            _is(ep.state, (SYN_RECEIVED,)), idle, _is(peer.state, (SYN_SENT,)), (ep.peer_inc == peer.inc).e
        )
        out.append((f"{name}.syn-ack", z3.Implies(waiting, syn_on_way)))
        if rel.config.loss == 0 and rel.config.capacity is None:
            # Nothing is lost: sequence space sent and not yet acknowledged is on its way, or its ACK is, while
            # the peer incarnation it went to lives or closed normally (one that aborted, crashed or was reset
            # answers nothing).
            closed_normally = [
                z3.And(peer.history.used(j).e, (e.peer_inc == ep.inc).e, _ended(e, Outcome.CLOSED))
                for j, e in enumerate(peer.history.items)
            ]
            peer_there = z3.Or(z3.And(_has_irs(peer), (peer.peer_inc == ep.inc).e), *closed_normally)
            unacked = z3.And(_is(ep.state, SYNCHRONIZED), idle, ep.snd_una.e != ep.snd_nxt.e, peer_there)
            carried = [
                z3.And(
                    (s.inc == ep.inc).e, z3.Or(s.SYN.e, s.FIN.e, s.has_text.e), _inside(ep.snd_una, s.seq, ep.snd_nxt)
                )
                for s in chan.items
            ]
            acked = [
                z3.And(s.ACK.e, z3.Not(s.RST.e), ep.snd_una.e != s.ack.e, _inside(ep.snd_una, s.ack, ep.snd_nxt))
                for s in peer_chan.items
            ]
            owed = z3.Or(_in_channel(chan, carried), _in_channel(peer_chan, acked))
            out.append((f"{name}.unacked", z3.Implies(unacked, owed)))
    return out


def _octets(s: SymSegment) -> z3.BitVecRef:
    """SEG.LEN of a segment whose units are one octet: SYN, FIN and the unit each count one (§3.4)."""
    return _count(s.SYN.e) + _count(s.FIN.e) + _count(s.has_text.e)


def sender_order(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """A FIFO network delivers an incarnation's segments in the order it sent them, and that order shows.

    SND.NXT and RCV.NXT never decrease within a connection (§3.4, §3.10.7.4): a later segment acknowledges
    no less, and a bare ACK (sent at SND.NXT) lies beyond all sent before it; a SYN is sent only before
    anything else but RSTs.  Retransmission and loss keep this (they resend or drop, in order); on networks
    that send each segment once, fifo-channels says more, and a duplicate appended at the end breaks it.
    """
    config = rel.config
    if config.reorder or config.duplicate or _in_order_once(config):
        return []
    out = []
    for name, ep, _, chan, cfg, peer_cfg in _sides(w, config):
        mine, theirs = cfg.sends + 2, peer_cfg.sends + 2  # SYN, units, FIN
        for j, t in enumerate(chan.items):
            bare = _bare_ack(t)
            live = z3.And(chan.used(j).e, (t.inc == ep.inc).e, _has_iss(ep))
            out.append(
                (f"{name}>[{j}].bare-at-nxt", z3.Implies(z3.And(live, bare), _inside(ep.iss.e + 1, t.seq, ep.snd_nxt)))
            )
            for i in range(j):
                s = chan.items[i]
                out.append((f"{name}>[{i}]<[{j}].inc", z3.Implies(chan.used(j).e, z3.ULE(s.inc.e, t.inc.e))))
                same = z3.And(chan.used(j).e, (s.inc == t.inc).e)
                # (SYN-RECEIVED answers a duplicate SYN with a bare ACK at ISS + 1, then may resend its SYN,ACK.)
                answer = z3.And(t.ACK.e, _bare_ack(s), s.seq.e == t.seq.e + 1, s.ack.e == t.ack.e)
                early = z3.Or(s.SYN.e, s.RST.e, answer)
                out.append((f"{name}>[{i}]<[{j}].syn-first", z3.Implies(z3.And(same, t.SYN.e), early)))
                kept = z3.And(same, z3.Not(s.RST.e), z3.Not(t.RST.e))
                acks = z3.And(kept, s.ACK.e, t.ACK.e)
                out.append((f"{name}>[{i}]<[{j}].ack-grows", z3.Implies(acks, z3.ULE(t.ack.e - s.ack.e, theirs))))
                beyond = z3.ULE(t.seq.e - (s.seq.e + _octets(s)), mine)
                out.append((f"{name}>[{i}]<[{j}].bare-beyond", z3.Implies(z3.And(kept, bare), beyond)))
    return out


def retransmissions(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """An incarnation's FIN, or a unit of its data, is in flight (or held by the peer) at most 1 + RETRIES times.

    RETRANSMISSION TIMEOUT sends the segment at SND.UNA again and counts it (§3.10.8, R2 of §3.8.3); the count
    starts again only when SND.UNA moves past it, and nothing else sends data or a FIN twice.  A duplication
    adds one copy more.  Built for the timed presets, whose proofs it is written for (the untimed proofs do
    without it).
    """
    config = rel.config
    if config.retries is None or not config.timed:
        return []
    out = []
    spare = config.duplicate - z3.ZeroExt(SEQ_BITS - SMALL_BITS, w.dups.e) if config.duplicate else 0
    bound = 1 + config.retries + spare
    for name, ep, peer, chan, cfg, _ in _sides(w, config):
        places = [(chan.used(i).e, s) for i, s in enumerate(chan.items)]
        places += [(here.e, s) for s, here in zip(peer.held.items, peer.held.present, strict=True)]
        # The data or FIN at SND.UNA: at most 1 + the retransmissions of it counted so far.
        at_una = z3.BitVecVal(0, SEQ_BITS)
        for used, s in places:
            resent = z3.And(used, (s.inc == ep.inc).e, z3.Or(s.FIN.e, s.has_text.e), s.seq.e == ep.snd_una.e)
            at_una = at_una + _count(resent)
        owed = z3.And(_has_iss(ep), ep.snd_una.e != ep.snd_nxt.e)
        so_far = 1 + z3.ZeroExt(SEQ_BITS - SMALL_BITS, ep.retries.e) + spare
        out.append((f"{name}.at-una", z3.Implies(owed, z3.ULE(at_una, so_far))))
        for inc in cfg.incarnations:
            fins = sum(
                (_count(z3.And(used, s.FIN.e, (s.inc == inc).e)) for used, s in places), z3.BitVecVal(0, SEQ_BITS)
            )
            out.append((f"{name}[{inc}].fin-copies", z3.ULE(fins, bound)))
            for unit in range(1, cfg.sends + 1):
                text = [_count(z3.And(used, s.has_text.e, (s.data == unit).e, (s.inc == inc).e)) for used, s in places]
                copies = sum(text, z3.BitVecVal(0, SEQ_BITS))
                out.append((f"{name}[{inc}].unit-copies[{unit}]", z3.ULE(copies, bound)))
    return out


def ended_senders(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """What an ended incarnation left in flight it sent: its FIN only if its user closed, and it gave up in
    ESTABLISHED or CLOSE-WAIT only on data it sent (nothing else is unacknowledged there, §3.8.3); a RST,ACK
    (CLOSED's answer) is never from a live TCB, nor a RST at its ISS; and without ABORT a synchronized TCB was
    reset only by a peer that has left its incarnation or gone back to LISTEN (§3.10.7).

    Built for the timed presets, where segments outlive their sender (the untimed proofs do without it).
    """
    if not rel.config.timed:
        return []
    out = []
    for name, ep, peer, chan, *_ in _sides(w, rel.config):
        places = [(f"{name}>[{i}]", chan.used(i).e, s) for i, s in enumerate(chan.items)]
        places += [
            (f"{name}>held[{i}]", here.e, s)
            for i, (s, here) in enumerate(zip(peer.held.items, peer.held.present, strict=True))
        ]
        for tag, used, s in places:
            # Only CLOSED answers with RST,ACK (a segment without ACK, §3.10.7.1): not the live TCB of its incarnation.
            answer = z3.And(used, s.RST.e, s.ACK.e, (s.inc == ep.inc).e)
            out.append((f"{tag}.closed-answer", z3.Implies(answer, _is(ep.state, (CLOSED,)))))
            # A RST without ACK carries SEG.ACK of what it answers, or SND.NXT: past the live TCB's ISS.
            reset = z3.And(used, s.RST.e, z3.Not(s.ACK.e), (s.inc == ep.inc).e, _has_iss(ep))
            out.append((f"{tag}.rst-past-iss", z3.Implies(reset, s.seq.e != ep.iss.e)))
        if not any(c is Call.ABORT for c in (*rel.config.a.script, *rel.config.b.script)):
            # Without ABORT a synchronized TCB is reset only by a RST from CLOSED or LISTEN: the incarnation it
            # was synchronized with has ended, or gone back to LISTEN.
            for j, e in enumerate(peer.history.items):
                reset = z3.And(peer.history.used(j).e, _ended(e, Outcome.RESET), _is(e.state, SYNCHRONIZED))
                by_live = z3.And(reset, (e.peer_inc == ep.inc).e, _has_iss(ep))
                out.append((f"{name}.reset-by-closed[{j}]", z3.Not(by_live)))
        for j, e in enumerate(ep.history.items):
            ended = ep.history.used(j).e
            for tag, used, s in places:
                fin = z3.And(ended, used, s.FIN.e, (s.inc == j + 1).e)
                out.append((f"{tag}.fin-of[{j}]", z3.Implies(fin, _is(e.state, CLOSED_BY_USER))))
            gave_up = z3.And(
                ended, _ended(e, Outcome.TIMED_OUT), _is(e.state, (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT))
            )
            out.append((f"{name}[{j}].gave-up-on-data", z3.Implies(gave_up, (e.sent != 0).e)))
    return out


# --- Timing: MSL, retransmission timers, TIME-WAIT ---------------------------------------------------


def _wide(x: Term | z3.BitVecRef, bits: int = 16) -> z3.BitVecRef:
    """A small counter (age, timer) widened, so that sums of a few of them cannot wrap."""
    e = x.e if isinstance(x, Term) else x
    return z3.ZeroExt(bits - e.size(), e)


def _timer_on(ep: SymEndpoint) -> z3.BoolRef:
    return (ep.timer != TIMER_BITS).e


def segment_ages(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """How long segments live and timers run, on a timed network (MSL set; RFC 9293 §3.4.1, §3.8.1).

    The clock does not tick while a segment of age MSL is in flight (``Machine._tick_enabled``), and
    every segment enters the network with age 0; on a FIFO network the older segments are ahead.
    """
    config = rel.config
    if not config.timed:
        return []
    msl = config.msl or 0
    out = []
    for name, ep, _, chan, *_ in _sides(w, config):
        for i, s in enumerate(chan.items):
            out.append((f"{name}>[{i}].msl", z3.Implies(chan.used(i).e, z3.ULE(s.age.e, msl))))
            if not config.reorder and i + 1 < chan.capacity:
                later = chan.items[i + 1]
                out.append((f"{name}>[{i}].older", z3.Implies(chan.used(i + 1).e, z3.UGE(s.age.e, later.age.e))))
        # TIME-WAIT runs the 2*MSL timer; elsewhere a timer is the retransmission timer, set to RTO, and
        # runs exactly while something that occupies sequence space is unacknowledged (§3.10.8, RFC 6298).
        tw = _is(ep.state, (TcpState.TIME_WAIT,))
        out.append((f"{name}.time-wait-timer", z3.Implies(tw, z3.ULE(ep.timer.e, config.time_wait_ticks))))
        if config.rto is not None and config.retries is not None:
            others = z3.And(_has_iss(ep), z3.Not(tw))
            out.append((f"{name}.rto", z3.Implies(z3.And(others, _timer_on(ep)), z3.ULE(ep.timer.e, config.rto))))
            outstanding = ep.snd_una.e != ep.snd_nxt.e
            out.append((f"{name}.rto-runs", z3.Implies(others, _timer_on(ep) == outstanding)))
            out.append((f"{name}.retries-unacked", z3.Implies(z3.And(others, (ep.retries != 0).e), outstanding)))
    return out


def _bare_ack(s: SymSegment) -> z3.BoolRef:
    """An ACK and nothing else: no SYN, FIN, RST or data."""
    return z3.And(s.ACK.e, z3.Not(z3.Or(s.SYN.e, s.FIN.e, s.RST.e, s.has_text.e)))


def time_wait_outlasts(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """TIME-WAIT = 2*MSL outlasts every segment of the connection it closes (RFC 9293 §3.6.1, MUST-13).

    In TIME-WAIT with t ticks left: a segment of the peer in flight (age =< MSL) arrives before the timer
    expires (age + t >= MSL); the peer's pending retransmission too (t >= its timer + 1 + MSL); and the
    timer restarts when TIME-WAIT answers, so its own segments are at least as old as the time spent
    there (age + t >= 2*MSL).  So once TIME-WAIT is over, nothing of that connection is left -- unless the
    peer resends its FIN late (an ACK of its data restarts its timer while our ACK of the FIN is on its way):
    on lossy such a copy outlives TIME-WAIT, harmlessly, and these facts are false there
    (tests/test_induction_timed.py).
    """
    config = rel.config
    if not config.timed or config.rto is None:
        return []
    msl, tw_ticks, retries = config.msl or 0, config.time_wait_ticks, config.retries or 0
    out = []
    for name, ep, peer, chan, *_ in _sides(w, config):
        peer_chan = w.ba if chan is w.ab else w.ab
        tw = _is(ep.state, (TcpState.TIME_WAIT,))
        t = _wide(ep.timer)
        for i, s in enumerate(peer_chan.items):
            there = z3.And(tw, peer_chan.used(i).e)
            out.append((f"{name}<[{i}].before-tw-ends", z3.Implies(there, z3.UGE(_wide(s.age) + t, msl))))
        for i, s in enumerate(chan.items):
            # TIME-WAIT sends only ACKs of all it received; the rest of its segments predate it.
            latest = z3.And(_bare_ack(s), s.ack.e == ep.rcv_nxt.e)
            mine = z3.And(tw, chan.used(i).e, (s.inc == ep.inc).e, z3.Not(latest))
            out.append((f"{name}>[{i}].sent-before-tw", z3.Implies(mine, z3.UGE(_wide(s.age) + t, tw_ticks))))
        # The peer incarnation this TIME-WAIT closes may still retransmit (its FIN): that arrives in time.
        same = z3.And(tw, _has_iss(peer), (peer.inc == ep.peer_inc).e, z3.Not(_is(peer.state, (TcpState.TIME_WAIT,))))
        may_resend = z3.And(same, _timer_on(peer), z3.ULT(peer.retries.e, retries))
        out.append((f"{name}.peer-resends-in-time", z3.Implies(may_resend, z3.UGE(t, _wide(peer.timer) + 1 + msl))))
        # After TIME-WAIT: nothing of the connection is in flight, and the peer will not send again.
        for j, e in enumerate(ep.history.items):
            over = z3.And(ep.history.used(j).e, (e.state == int(TcpState.TIME_WAIT)).e, _ended(e, Outcome.CLOSED))
            for i, s in enumerate(peer_chan.items):
                theirs = z3.And(peer_chan.used(i).e, (s.inc == e.peer_inc).e)
                out.append((f"{name}[{j}]<[{i}].nothing-left", z3.Implies(over, z3.Not(theirs))))
            for i, s in enumerate(chan.items):
                mine = z3.And(chan.used(i).e, (s.inc == j + 1).e, z3.Not(s.RST.e), z3.Not(_bare_ack(s)))
                out.append((f"{name}[{j}]>[{i}].nothing-left", z3.Implies(over, z3.Not(mine))))
            alive = z3.And(
                over, _has_iss(peer), (peer.inc == e.peer_inc).e, z3.Not(_is(peer.state, (TcpState.TIME_WAIT,)))
            )
            silent = z3.Or(z3.Not(_timer_on(peer)), (peer.retries == retries).e)
            out.append((f"{name}[{j}].peer-silent", z3.Implies(alive, silent)))
    return out


def _budget_condition(config: Config) -> bool:
    """Nothing else bounds the segments in flight: no capacity, and not the in-order network of fifo-channels."""
    return config.capacity is None and not _in_order_once(config)


def _future_sends(cfg: EndpointConfig, ep: SymEndpoint, retries: int) -> z3.BitVecRef:
    """What ``ep`` may still send of its own accord, a SYN counting 1 + retries (see :func:`in_flight_budget`)."""
    total = z3.BitVecVal(0, SEQ_BITS)
    per_segment = 1 + retries
    opening = set(_opening_calls(cfg))
    for k, call in enumerate(cfg.script):
        cost = 0
        if k in opening:
            cost += per_segment * per_segment  # the SYN, each copy weighing 1 + retries
        if call in (Call.SEND, Call.SEND_URGENT, Call.CLOSE):
            cost += per_segment  # a unit or the FIN, and its retransmissions
        elif call is Call.ABORT:
            cost += 1  # the RST
        if cost:
            total = total + _count(z3.ULE(ep.pc.e, k)) * cost
    total = total + _seq(ep.queued) * per_segment + _count(ep.close_queued.e) * per_segment
    # Sent but unacknowledged: the segment at SND.UNA may go out retries - RETRIES more times, the others
    # (not yet retransmitted) retries times each.
    outstanding = ep.snd_nxt.e - ep.snd_una.e
    first = _count(_is(ep.state, (SYN_SENT,)), SEQ_BITS) * retries + 1
    left = z3.BitVecVal(retries, SEQ_BITS) - _seq(ep.retries)
    unacked = z3.If(outstanding == 0, z3.BitVecVal(0, SEQ_BITS), left * first + (outstanding - 1) * retries)
    return total + z3.If(_has_iss(ep), unacked, z3.BitVecVal(0, SEQ_BITS))


def in_flight_budget(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """Each segment in flight was sent of its sender's own accord or answers one that arrived.

    An arriving segment draws at most one answer (the ACK an event owes is sent once, at its end), so
    what is in flight, plus what each endpoint may still send of its own accord -- its SYN, units and FIN,
    each at most 1 + retries times (R2, §3.8.3), and an ABORT's RST -- never grows.  A bare SYN weighs
    1 + retries: a passive peer answers it with a SYN,ACK that it may retransmit retries times.  A
    duplication adds a copy: the duplications left count as a SYN's weight each.  The sum starts at the
    initial state's value: so few segments fit in flight.
    """
    if not _budget_condition(rel.config):
        return []
    config = rel.config
    limit = _budget_of(rel.machine.initial(), rel)
    out = [("", z3.ULE(_budget_term(w, rel), limit))]
    # The network's faults are budgets that only run down.
    out.append(("dups", z3.ULE(w.dups.e, config.duplicate)))
    if config.loss is not None:
        out.append(("losses", z3.ULE(w.losses.e, config.loss)))
    return out


def _budget_term(w: SymWorld, rel: Relation) -> z3.BitVecRef:
    """What is in flight, weighted, plus what both endpoints may still send of their own accord."""
    config = rel.config
    retries = config.retries or 0
    heavy = 1 + retries
    total = z3.BitVecVal(0, SEQ_BITS)
    for chan in (w.ab, w.ba):
        for i, s in enumerate(chan.items):
            weight = z3.If(z3.And(s.SYN.e, z3.Not(s.ACK.e)), z3.BitVecVal(heavy, SEQ_BITS), z3.BitVecVal(1, SEQ_BITS))
            total = total + z3.If(chan.used(i).e, weight, z3.BitVecVal(0, SEQ_BITS))
    for side, ep in ((0, w.a), (1, w.b)):
        total = total + _future_sends(config.endpoint(side), ep, retries)
    return total + _seq(w.dups) * heavy


def _budget_of(world: World, rel: Relation) -> int:
    """The budget's value in a concrete world (the initial state's is the bound)."""
    value = z3.simplify(_budget_term(SymWorld.of(world, rel.bounds), rel))
    assert z3.is_bv_value(value)
    return int(value.as_long())


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
    Invariant(
        "progress",
        "a connection only moves forward: WAITs return in the states they wait for, the FIN is sent last, "
        "synchronized means acknowledged (§3.10)",
        progress,
    ),
    Invariant(
        "fifo-channels",
        "sent once and kept in order, each segment in flight moves SEG.SEQ + SEG.LEN or SEG.ACK beyond the one "
        "before it, and the last carries the sender's SND.NXT and RCV.NXT: so few fit in flight (§3.4)",
        fifo_channels,
    ),
    Invariant(
        "lone-resets",
        "with one incarnation each, in order and sent once, every ACK is acceptable: only CLOSED or ABORT sends RST "
        "(§3.10.7)",
        lone_resets,
    ),
    Invariant(
        "answers-owed",
        "without a running retransmission timer, a SYN or SYN,ACK that asks for an answer is on its way, or its "
        "answer is (§3.5)",
        answers_owed,
    ),
    Invariant(
        "quiescence",
        "a quiet network (nothing in flight, no timer running) owes nothing: every endpoint rests, all it sent "
        "was received and acknowledged (§3.8.1)",
        quiescence,
    ),
    Invariant(
        "sender-order",
        "FIFO keeps each incarnation's segments in the order sent, and SND.NXT and RCV.NXT only grow: a later "
        "segment acknowledges no less, a bare ACK lies beyond all before it, a SYN comes first (§3.4)",
        sender_order,
    ),
    Invariant(
        "retransmissions",
        "a FIN or a unit of data is in flight at most 1 + RETRIES times: each timeout sends the one at SND.UNA "
        "once more and counts it (§3.8.3, §3.10.8)",
        retransmissions,
    ),
    Invariant(
        "ended-senders",
        "an ended incarnation's FIN in flight means its user closed, it gave up in ESTABLISHED or CLOSE-WAIT only "
        "on data it sent, and only a TCB that has left the connection resets it (§3.8.3, §3.10.7)",
        ended_senders,
    ),
    Invariant(
        "segment-ages",
        "a segment in flight is at most MSL old, older ones ahead on a FIFO network; a timer runs as long as "
        "RTO or 2*MSL, the retransmission timer while something is unacknowledged (§3.4.1, §3.8.1)",
        segment_ages,
    ),
    Invariant(
        "time-wait-outlasts",
        "TIME-WAIT's 2*MSL outlasts the peer's segments in flight and its last retransmission; its own are older "
        "than its time there: when it ends nothing of the connection is left (§3.6.1)",
        time_wait_outlasts,
    ),
    Invariant(
        "in-flight-budget",
        "a segment arriving draws at most one answer, and each endpoint sends a SYN, units and a FIN at most "
        "1 + retries times each: in flight plus what may still be sent never grows (§3.8.3, §3.10.7)",
        in_flight_budget,
    ),
    Invariant(
        "learned",
        "lemmas learned from counterexamples to induction for this preset: cubes no reachable state has "
        "(checks/learned/, written by `tcpspec learn`)",
        learned,
    ),
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
