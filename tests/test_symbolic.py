"""The Z3 transition relation against the explicit engine: same successors, same property verdicts.

The relation is compiled from the same rule functions as the explicit engine runs (checks/symbolic.py);
these tests hold the two semantics against each other state by state: every reachable state of the
small presets, and an evenly spread sample of the larger ones.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cache
from random import Random

import pytest
import z3
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checks.explicit import explore
from checks.properties import (
    check_graceful_close,
    check_handshake_sync,
    check_one_connection_per_open,
    check_stream_integrity,
    proper_final,
)
from checks.symbolic import Relation, SymCtx, symbolic_successors
from checks.symprops import (
    deadlocked,
    enabled,
    graceful_close,
    handshake_sync,
    one_connection_per_open,
    stream_integrity,
)
from checks.symprops import (
    proper_final as proper_final_formula,
)
from checks.symstate import Bounds, SymWorld
from checks.terms import SymbolicBranch
from spec.config import Config
from spec.machine import AmbiguousRules, IncompleteRules, Machine, World
from spec.presets import preset
from spec.rulebook import all_rules
from spec.rules import Ctx
from spec.segment import Segment
from spec.states import ACK, Outcome
from spec.tcb import Ended
from spec.variants import variant_named
from tests.conftest import checked
from tests.test_random_configs import configs

SMALL = ["handshake", "lifecycle", "simultaneous-open", "simultaneous-close", "half-open", "abort"]
LARGE = ["lossy", "chaos", "incarnations"]
SAMPLE = 40
#: Random configurations per run (more for a deeper search: TCPSPEC_RANDOM_EXAMPLES=80 took 2.5 min, all agreed).
RANDOM_EXAMPLES = int(os.environ.get("TCPSPEC_RANDOM_EXAMPLES", "12"))


def bounds_for(name: str) -> Bounds:
    """Slots enough for every reachable state of the preset (and one more segment per channel)."""
    ex, _ = checked(name)
    config = preset(name)
    widest = max(max(len(w.ab), len(w.ba)) for w in ex.states)
    base = Bounds.for_config(config, widest + 1)
    held = max(max(len(w.a.held), len(w.b.held)) for w in ex.states)
    return dataclasses.replace(base, held=max(base.held, held))


@cache
def relation(name: str) -> Relation:
    return Relation(preset(name), bounds_for(name))


def sample(name: str) -> list[World]:
    ex, _ = checked(name)
    if name in SMALL:
        return list(ex.states)
    stride = max(1, len(ex.states) // SAMPLE)
    return list(ex.states[::stride][:SAMPLE])


@pytest.mark.parametrize("name", SMALL + LARGE)
def test_z3_admits_exactly_the_explicit_successors(name: str) -> None:
    rel = relation(name)
    machine = Machine(rel.config)
    for world in sample(name):
        found, overflowed = symbolic_successors(rel, world)
        assert not overflowed, f"the bounds of the test are too small for {world}"
        assert found == {t.target for t in machine.successors(world)}, world


@pytest.mark.parametrize("name", SMALL + LARGE)
def test_encoding_round_trips(name: str) -> None:
    rel = relation(name)
    for world in sample(name):
        sym = SymWorld.of(world, rel.bounds)
        values = [z3.simplify(t.e) for t in sym.leaves()]
        decoded = sym.to_world(lambda t: _value(z3.simplify(t.e)), rel.config.reorder)
        assert decoded == world
        assert len(values) == len(rel.cur.leaves())


def _value(e: z3.ExprRef) -> object:
    return z3.is_true(e) if z3.is_bool(e) else e.as_long()


@pytest.mark.parametrize("name", SMALL + LARGE)
def test_symbolic_properties_agree_with_the_explicit_checks(name: str) -> None:
    rel = relation(name)
    config = rel.config
    pairs = [
        (handshake_sync, check_handshake_sync),
        (stream_integrity, check_stream_integrity),
        (graceful_close, check_graceful_close),
        (one_connection_per_open, check_one_connection_per_open),
    ]
    for world in sample(name):
        sym = SymWorld.of(world, rel.bounds)
        for symbolic, explicit in pairs:
            holds = z3.is_true(z3.simplify(symbolic(sym)))
            assert holds == (explicit(world, config) is None), (symbolic.__name__, world)
        final = z3.is_true(z3.simplify(proper_final_formula(sym, config)))
        assert final == proper_final(world, config), world


@pytest.mark.parametrize("name", SMALL + LARGE)
def test_some_event_is_enabled_exactly_where_the_explicit_engine_has_a_successor(name: str) -> None:
    """``enabled`` (every branch's guard, its slot and ISS choices enumerated) against ``Machine.successors``."""
    rel = relation(name)
    machine = Machine(rel.config)
    some, stuck = enabled(rel), deadlocked(rel)
    leaves = rel.cur.leaves()
    for world in sample(name):
        bound = list(zip(leaves, [t.e for t in SymWorld.of(world, rel.bounds).leaves()], strict=True))
        successors = machine.successors(world)
        assert z3.is_true(z3.simplify(z3.substitute(some, *bound))) == bool(successors), world
        dead = not successors and not proper_final(world, rel.config)
        assert z3.is_true(z3.simplify(z3.substitute(stuck, *bound))) == dead, world


def test_a_deadlock_is_one_for_both_engines() -> None:
    """The reachable dead ends of two catalogue variants (no retransmission, RST ignored) are deadlocks in z3 too;
    the proper final states beside them are not."""
    for variant_name, preset_name in (("rst-ignored", "handshake"), ("no-retransmission", "lossy")):
        variant = variant_named(variant_name)
        config = variant.config(preset(preset_name))
        rules = variant.rules(all_rules())
        machine = Machine(config, rules)
        ex = explore(config, [], machine=machine)
        ends = [w for sid, w in enumerate(ex.states) if ex.terminal(sid)]
        rel = Relation(config, Bounds.for_config(config, 8), rules=rules)
        stuck = deadlocked(rel)
        leaves = rel.cur.leaves()
        verdicts = set()
        for world in ends:
            bound = list(zip(leaves, [t.e for t in SymWorld.of(world, rel.bounds).leaves()], strict=True))
            dead = z3.is_true(z3.simplify(z3.substitute(stuck, *bound)))
            assert dead == (not proper_final(world, config)), world
            verdicts.add(dead)
        assert verdicts == {True, False}


def test_symbolic_properties_see_violations() -> None:
    """States that violate the properties (made by hand) are violations for both engines."""
    ex, _ = checked("lifecycle")
    rel = relation("lifecycle")
    config = rel.config
    roomy = dataclasses.replace(rel.bounds, delivered=4)
    est = next(w for w in ex.states if w.a.delivered and w.b.state.name == "ESTABLISHED")
    wrong_irs = est._replace(a=est.a._replace(irs=est.b.iss + 1))
    twice = est._replace(a=est.a._replace(delivered=est.a.delivered + est.a.delivered))
    # A connected twice with B's one incarnation: an earlier incarnation of A ended ESTABLISHED with it
    earlier = Ended(est.a.inc, est.a.peer_inc, Outcome.RESET, est.a.state, 0, ())
    again = est._replace(a=est.a._replace(inc=est.a.inc + 1, history=(earlier,)))
    for world, symbolic, explicit in [
        (wrong_irs, handshake_sync, check_handshake_sync),
        (twice, stream_integrity, check_stream_integrity),
        (again, one_connection_per_open, check_one_connection_per_open),
    ]:
        assert explicit(world, config) is not None
        assert z3.is_false(z3.simplify(symbolic(SymWorld.of(world, roomy))))
    assert z3.is_true(z3.simplify(one_connection_per_open(SymWorld.of(est, roomy))))  # one connection: fine
    busy = est._replace(ab=(est.ab or (Segment(1, 2, ACK),)))  # a segment in flight: not final
    assert not proper_final(busy, config)
    assert z3.is_false(z3.simplify(proper_final_formula(SymWorld.of(busy, roomy), config)))


def test_a_python_if_on_protocol_data_is_refused() -> None:
    """A rule that branches on a segment's bits with ``if`` cannot be compiled: it fails loudly."""
    rules = all_rules()
    listen_syn = next(r for r in rules if r.name == "listen-syn")

    def branching(x: Ctx) -> None:
        if x.seg.SYN:  # the mistake: a Python if on protocol data
            x.require(True)

    broken = tuple(dataclasses.replace(r, body=branching) if r is listen_syn else r for r in rules)
    with pytest.raises(SymbolicBranch, match="all_of"):
        Relation(preset("handshake"), rules=broken)


def test_the_symbolic_context_implements_the_rule_vocabulary() -> None:
    """Every method of the rule context the explicit engine offers, the symbolic one offers too."""
    wanted = {n for n in dir(Ctx) if not n.startswith("_")}
    assert wanted <= set(dir(SymCtx)) | {"tcb", "seg", "cfg"}


def test_overflow_is_reported_not_hidden() -> None:
    """With too few slots for what is in flight, the relation says so instead of dropping segments."""
    ex, _ = checked("lifecycle")
    config = preset("lifecycle")
    rel = Relation(config, Bounds.for_config(config, 1))
    machine = Machine(config)
    one = next(w for w in ex.states if len(w.ab) == 1 and any(len(t.target.ab) == 2 for t in machine.successors(w)))
    _, overflowed = symbolic_successors(rel, one)
    assert overflowed


@settings(max_examples=RANDOM_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.randoms(use_true_random=False))
def test_z3_agrees_in_random_configurations(config: Config, rnd: Random) -> None:
    """Random scripts, faults, timing and switches: on a sample of reachable states, same successors."""
    machine = Machine(config)
    ex = explore(config, [], max_states=300, machine=machine)
    states = [w for w in ex.states if not _stuck(machine, w)]
    assume(states)
    widest = max(max(len(w.ab), len(w.ba)) for w in ex.states)
    base = Bounds.for_config(config, widest + 2)
    held = max(max(len(w.a.held), len(w.b.held)) for w in ex.states)
    delivered = max(max(len(w.a.delivered), len(w.b.delivered)) for w in ex.states)
    history = max(max(len(w.a.history), len(w.b.history)) for w in ex.states)
    bounds = dataclasses.replace(
        base,
        held=max(base.held, held + 1),
        delivered=max(base.delivered, delivered + 1),
        history=max(base.history, history + 1),
    )
    rel = Relation(config, bounds)
    for world in rnd.sample(states, min(6, len(states))):
        found, overflowed = symbolic_successors(rel, world)
        want = {t.target for t in machine.successors(world)}
        if overflowed:  # a successor needs more slots than the bounds give: compare the ones that fit
            want = {w for w in want if _fits(w, bounds)}
        assert found == want, world


def _stuck(machine: Machine, world: World) -> bool:
    """The explicit engine raises on this state (ambiguous or incomplete rules): nothing to compare."""
    try:
        machine.successors(world)
    except (AmbiguousRules, IncompleteRules):
        return True
    return False


def _fits(world: World, bounds: Bounds) -> bool:
    try:
        SymWorld.of(world, bounds)
    except ValueError:
        return False
    return True
