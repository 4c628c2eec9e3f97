"""Timing and order invariants for the timed presets (MSL, retransmission timers, TIME-WAIT = 2*MSL).

``lost-ack`` runs on unbounded FIFO channels that lose a segment, with retransmission: neither the
network's capacity nor ``fifo-channels``' "each segment sent once" bounds what is in flight, and the
explicit engine finds up to six segments on one channel.  ``in-flight-budget`` bounds them (an arriving
segment draws at most one answer, and each endpoint sends its SYN, units and FIN at most 1 + retries
times), ``segment-ages`` and ``time-wait-outlasts`` say how long segments live against the timers, and
``sender-order`` what FIFO order keeps of each sender's history.

Not yet a proof: with these families Houdini on lost-ack (eight slots per channel) still finds
counterexamples to induction, each query taking 20-130 s; the lemmas learned for it (checks/learned/,
tests/test_lemmas.py) block more of them, not yet all (README, "Learned lemmas").  These tests
check what a candidate must do before Houdini can keep it: every instance holds in the reachable
states; and that each order fact rules out the unreachable states it was written against.
"""

from __future__ import annotations

import pytest
import z3

from checks.explicit import explore
from checks.induction import world_text
from checks.invariants import STRENGTHENING, instances
from checks.symbolic import Relation
from checks.symstate import Bounds, SymWorld
from spec.config import Config
from spec.machine import World
from spec.presets import preset
from spec.segment import Segment
from spec.states import ACK, FIN, RST, SYN, Outcome, TcpState
from tests.test_induction import TIMED

#: Every 25th reachable state: states of every depth, in a CI's time (all of them take minutes).
STRIDE = 25


@pytest.fixture(scope="module")
def lost_ack() -> tuple[Config, Relation, list[World]]:
    config = preset("lost-ack")
    relation = Relation(config, Bounds.for_config(config, channel=8))
    return config, relation, list(explore(config).states)


def _values(relation: Relation, world: World, names: set[str]) -> dict[str, bool]:
    """The truth of each named instance in ``world``."""
    solver = z3.Solver()
    leaves = [t.e for t in relation.cur.world.leaves()]
    values = [t.e for t in SymWorld.of(world, relation.bounds).leaves()]
    solver.add(*[v == x for v, x in zip(leaves, values, strict=True)])
    assert solver.check() == z3.sat
    model = solver.model()
    return {
        c.name: z3.is_true(model.eval(c.formula, model_completion=True))
        for c in instances(STRENGTHENING, relation)
        if c.name in names
    }


def test_the_budget_bounds_what_is_in_flight(lost_ack: tuple[Config, Relation, list[World]]) -> None:
    """The initial budget is 8: eight slots per channel hold every state it allows; the reachable ones need 6."""
    _, relation, states = lost_ack
    (budget,) = [i for i in instances(STRENGTHENING, relation) if i.name == "in-flight-budget"]
    assert budget.formula.arg(1).as_long() == 8
    assert max(max(len(w.ab), len(w.ba)) for w in states) == 6


@pytest.mark.parametrize("family", TIMED)
def test_each_timing_fact_holds_in_the_reachable_states(
    lost_ack: tuple[Config, Relation, list[World]], family: str
) -> None:
    _, relation, states = lost_ack
    (inv,) = [f for f in STRENGTHENING if f.name == family]
    assert inv.reason and len(inv.reason.splitlines()) == 1
    cands = instances([inv], relation)
    assert cands, f"{family} builds nothing on lost-ack"
    leaves = [t.e for t in relation.cur.world.leaves()]
    solver = z3.Solver()
    for world in states[::STRIDE]:
        values = [t.e for t in SymWorld.of(world, relation.bounds).leaves()]
        solver.push()
        solver.add(*[v == x for v, x in zip(leaves, values, strict=True)])
        assert solver.check() == z3.sat
        model = solver.model()
        for c in cands:
            holds = z3.is_true(model.eval(c.formula, model_completion=True))
            assert holds, f"{c.name} is false in a reachable state:\n" + "\n".join(world_text(world))
        solver.pop()


def _established(states: list[World]) -> World:
    """The first reachable state where A has sent its FIN and both channels are empty."""
    return next(w for w in states if w.a.snd_nxt == 1 and w.a.state.name == "FIN_WAIT_1" and not w.ab and not w.ba)


def test_sender_order_rules_out_a_syn_behind_data(lost_ack: tuple[Config, Relation, list[World]]) -> None:
    """A's FIN, then A's bare SYN behind it on the same channel: no TCB sends a SYN once synchronized
    (the counterexample to induction that ended fifo-channels' adjacent form of this fact on lost-ack)."""
    _, relation, states = lost_ack
    world = _established(states)
    fin = Segment(seq=0, ack=301, flags=FIN | ACK, inc=1)
    syn = Segment(seq=world.a.iss, ack=0, flags=SYN, inc=1)
    bad = world._replace(ab=(fin, syn))
    assert _values(relation, bad, {"sender-order[A>[0]<[1].syn-first]"}) == {"sender-order[A>[0]<[1].syn-first]": False}
    good = world._replace(ab=(fin, fin))
    assert _values(relation, good, {"sender-order[A>[0]<[1].syn-first]"}) == {"sender-order[A>[0]<[1].syn-first]": True}


def test_sender_order_rules_out_an_ack_that_shrinks(lost_ack: tuple[Config, Relation, list[World]]) -> None:
    """RCV.NXT never decreases: a segment behind another of the same incarnation acknowledges no less."""
    _, relation, states = lost_ack
    world = _established(states)
    later = Segment(seq=1, ack=301, flags=ACK, inc=1)
    earlier = Segment(seq=1, ack=300, flags=ACK, inc=1)
    name = "sender-order[A>[0]<[1].ack-grows"
    assert _values(relation, world._replace(ab=(later, earlier)), {name + "]"}) == {name + "]": False}
    assert _values(relation, world._replace(ab=(earlier, later)), {name + "]"}) == {name + "]": True}


def test_retransmissions_rule_out_a_third_copy_of_the_fin(lost_ack: tuple[Config, Relation, list[World]]) -> None:
    """One retransmission allowed: two copies of A's FIN may be in flight, a third never (R2, §3.8.3)."""
    _, relation, states = lost_ack
    world = _established(states)
    fin = Segment(seq=0, ack=301, flags=FIN | ACK, inc=1)
    name = "retransmissions[A[1].fin-copies]"
    assert _values(relation, world._replace(ab=(fin, fin)), {name}) == {name: True}
    assert _values(relation, world._replace(ab=(fin, fin, fin)), {name}) == {name: False}


def test_only_closed_answers_with_rst_ack(lost_ack: tuple[Config, Relation, list[World]]) -> None:
    """A RST,ACK answers a segment without ACK, which only CLOSED does (§3.10.7.1): not B's live TCB."""
    _, relation, states = lost_ack
    world = next(w for w in states if w.b.state.name == "ESTABLISHED" and not w.ba)
    answer = Segment(seq=0, ack=0, flags=RST | ACK, inc=world.b.inc)
    name = "ended-senders[B>[0].closed-answer]"
    assert _values(relation, world._replace(ba=(answer,)), {name}) == {name: False}


def test_on_lossy_a_late_fin_outlives_time_wait() -> None:
    """TIME-WAIT's 2*MSL does not outlast every segment of the connection when a FIN is resent late.

    On lossy, B's data is acknowledged first and its FIN later: the first ACK restarts B's retransmission
    timer for the FIN, which expires (RTO = 1 tick) while A's ACK of the FIN is still on its way (up to MSL = 2
    ticks), so B resends a FIN nobody lost, after A entered TIME-WAIT.  That copy can arrive after TIME-WAIT
    ended.  It does no harm: A's ACK reaches B first, and B closes normally (graceful-close is EXHAUSTED on
    lossy).  time-wait-outlasts' "nothing left after TIME-WAIT" is false there, so Houdini drops it.
    """
    config = preset("lossy")
    late = [
        w
        for w in explore(config).states
        if any(h.state.name == "TIME_WAIT" and h.outcome.name == "CLOSED" for h in w.a.history)
        and any(s.FIN and s.inc == 1 for s in w.ba)
    ]
    assert late
    world = min(late, key=lambda w: (len(w.ab) + len(w.ba), w))
    assert world.b.state.name in ("LAST_ACK", "CLOSED")
    relation = Relation(config, Bounds.for_config(config, channel=8))
    name = "time-wait-outlasts[A[0]<[0].nothing-left]"
    assert _values(relation, world, {name}) == {name: False}


def test_only_a_tcb_that_left_resets_its_peer(lost_ack: tuple[Config, Relation, list[World]]) -> None:
    """No ABORT in lost-ack: B's record "reset while synchronized with A" is impossible while A's TCB lives
    (a live TCB answers with ACKs), and possible once A is CLOSED (CLOSED answers with RST, §3.10.7.1)."""
    _, relation, states = lost_ack
    name = "ended-senders[A.reset-by-closed[0]]"

    def reset_b(world: World) -> World:
        record = world.b.history[-1]._replace(outcome=Outcome.RESET, state=TcpState.ESTABLISHED)
        return world._replace(b=world.b._replace(history=(record,)))

    ended = [w for w in states if w.b.history and w.b.history[-1].outcome.name == "CLOSED"]
    a_lives = next(w for w in ended if w.a.state.name == "TIME_WAIT")
    a_gone = next(w for w in ended if w.a.state.name == "CLOSED")
    assert _values(relation, reset_b(a_lives), {name}) == {name: False}
    assert _values(relation, reset_b(a_gone), {name}) == {name: True}
