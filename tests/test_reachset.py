"""Proofs whose invariant is the set of reachable states: the diagram is the set, and the proof catches what it lacks.

The diagram must hold exactly the explicit engine's states -- with the slots z3 may fill differently
(blank slots, the order of held segments, segments in flight on a reordering network) as wildcards --
and a proof must fail, with a step out of the set, when the set misses what the relation reaches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import z3

import checks.reachset
from checks.bmc import supported
from checks.cli import main
from checks.explicit import Exploration, explore
from checks.properties import NO_DEADLOCK, PROPERTIES, PROVED, UNKNOWN, VIOLATED, check
from checks.reachset import Diagram, ReachError, diagram, prove_reach
from checks.symbolic import Relation
from checks.symstate import Bounds, SymWorld
from spec.config import Config, load_config
from spec.machine import World
from spec.presets import preset
from spec.rulebook import all_rules
from spec.variants import Variant, variants

CONFIGS = Path(__file__).parent.parent / "checks" / "configs"


def _holds(d: Diagram, rel: Relation, world: World, **junk: int) -> bool:
    """Whether ``world`` (with ``junk`` written into leaves by name) is in the diagram's set."""
    leaves = rel.cur.world.leaves()
    values = SymWorld.of(world, rel.bounds).leaves()
    pairs = [(t.e, v.e) for t, v in zip(leaves, values, strict=True)]
    for name, value in junk.items():
        at = d.names.index(name)
        pairs[at] = (pairs[at][0], z3.BitVecVal(value, pairs[at][0].size()))
    return bool(z3.is_true(z3.simplify(z3.substitute(d.formula([t.e for t in leaves]), *pairs))))


@pytest.fixture(scope="module")
def reorder() -> tuple[Config, Relation, Exploration]:
    config = load_config(CONFIGS / "reorder-capacity-2.toml")
    rel = Relation(config)
    return config, rel, explore(config)


def test_the_diagram_holds_every_reachable_state_and_no_other() -> None:
    config = preset("lifecycle")
    rel = Relation(config)
    worlds = list(explore(config).states)
    d = diagram(worlds, rel)
    assert d.states == len(worlds)
    assert all(_holds(d, rel, w) for w in worlds)
    # Not reachable: each reachable state with one counter changed to a value no reachable state has.
    most = max(w.a.sent for w in worlds)
    strangers = {w._replace(a=w.a._replace(sent=most + 1)) for w in worlds[::7]}
    assert strangers and not any(_holds(d, rel, w) for w in strangers)


def test_a_blank_slot_may_hold_anything() -> None:
    """z3 leaves what it likes in a slot past a channel's length: that is still the same state."""
    config = preset("lifecycle")
    rel = Relation(config)
    worlds = list(explore(config).states)
    d = diagram(worlds, rel)
    short = next(w for w in worlds if len(w.ab) < rel.bounds.channel)
    slot = len(short.ab)
    assert _holds(d, rel, short, **{f"A>B[{slot}].seq": 12345, f"A>B[{slot}].flags": 7})
    # ... but not in a slot in use.
    busy = next(w for w in worlds if w.ab and not any(x.seq == 12345 for x in w.ab))
    assert not _holds(d, rel, busy, **{"A>B[0].seq": 12345})


def test_held_segments_and_reordered_segments_may_sit_in_any_slot(
    reorder: tuple[Config, Relation, Exploration],
) -> None:
    _, rel, ex = reorder
    worlds = list(ex.states)
    d = diagram(worlds, rel)
    assert d.rows > d.states  # the placements were added
    held = next(w for w in worlds if len(w.a.held) + len(w.b.held) == 1)
    side = "a" if held.a.held else "b"
    seg = getattr(held, side).held[0]
    # The one held segment in slot 1, slot 0 blank: z3's relation may put it there.
    moved = {f"{side.upper()}.held[1].{f}": getattr(seg, f) for f in ("seq", "ack", "flags", "data", "inc", "age")}
    leaves = rel.cur.world.leaves()
    pairs = list(zip((t.e for t in leaves), (v.e for v in SymWorld.of(held, rel.bounds).leaves()), strict=True))
    for name, value in moved.items():
        at = d.names.index(name)
        pairs[at] = (pairs[at][0], z3.BitVecVal(value, pairs[at][0].size()))
    for flag, value in ((f"{side.upper()}.held[0].present", False), (f"{side.upper()}.held[1].present", True)):
        at = d.names.index(flag)
        pairs[at] = (pairs[at][0], z3.BoolVal(value))
    assert z3.is_true(z3.simplify(z3.substitute(d.formula([t.e for t in leaves]), *pairs)))
    two = next(w for w in worlds if len(w.ab) == 2 and w.ab[0] != w.ab[1])
    swapped = two._replace(ab=(two.ab[1], two.ab[0]))  # not sorted: no World the explicit engine keeps
    assert swapped not in ex.states and _holds(d, rel, swapped)


def test_segments_keep_their_order_on_a_fifo_network() -> None:
    config = preset("lifecycle")
    rel = Relation(config)
    worlds = list(explore(config).states)
    d = diagram(worlds, rel)
    two = next(w for w in worlds if len(w.ab) == 2 and w.ab[0] != w.ab[1])
    swapped = two._replace(ab=(two.ab[1], two.ab[0]))
    assert swapped not in set(worlds)
    assert _holds(d, rel, two) and not _holds(d, rel, swapped)


def test_the_bounded_handshake_is_proved_with_its_reachable_states() -> None:
    config = load_config(CONFIGS / "handshake-capacity-2.toml")
    proof = prove_reach(Relation(config), PROPERTIES)
    assert proof.inductive
    assert [r.prop for r in proof.results] == supported(PROPERTIES)  # the seven safety properties and no-deadlock
    assert all(r.verdict == PROVED for r in proof.results)
    assert proof.states == len(explore(config).states)


def test_no_deadlock_on_the_reordering_network_is_proved() -> None:
    """Houdini's facts leave it UNKNOWN here (the induction tests); the reachable states prove it."""
    config = load_config(CONFIGS / "reorder-capacity-2.toml")
    proof = prove_reach(Relation(config), [NO_DEADLOCK])
    assert [r.verdict for r in proof.results] == [PROVED]


def _variant_named(name: str) -> Variant:
    return next(v for v in variants() if v.name == name)


def test_a_reachable_violation_is_never_proved() -> None:
    """rst-ignored deadlocks in the handshake: the reachable states hold the deadlock, so no proof."""
    variant = _variant_named("rst-ignored")
    config = variant.config(preset("handshake"))
    rules = variant.rules(all_rules())
    rel = Relation(config, rules=rules)
    _, explicit = check(config, [NO_DEADLOCK], rules=rules)
    proof = prove_reach(rel, [NO_DEADLOCK])
    assert explicit[0].verdict == VIOLATED
    assert proof.inductive and proof.results[0].verdict == UNKNOWN
    assert "a reachable state violates it" in proof.results[0].detail


def test_states_the_explicit_engine_missed_leave_no_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    """The set must be closed under z3's relation: a set from other rules (fewer states) is not, and a CTI says so."""
    variant = _variant_named("no-time-wait")
    config = preset("lifecycle")
    rel = Relation(config, rules=variant.rules(all_rules()))
    correct = explore(config)  # the correct rules' states: the variant reaches others
    monkeypatch.setattr(checks.reachset, "explore", lambda *args, **kwargs: correct)
    proof = prove_reach(rel, [NO_DEADLOCK])
    assert not proof.inductive and proof.results[0].verdict == UNKNOWN
    assert "leaves the reachable states" in proof.results[0].detail
    assert "counterexample to induction" in proof.results[0].detail


def test_a_search_done_already_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    config = preset("lifecycle")
    done = explore(config)
    monkeypatch.setattr(checks.reachset, "explore", None)  # searching again would fail
    proof = prove_reach(Relation(config), [NO_DEADLOCK], exploration=done)
    assert proof.states == len(done.states) and proof.results[0].verdict == PROVED


def test_an_unfinished_search_is_no_invariant() -> None:
    config = preset("lifecycle")
    with pytest.raises(ReachError, match="did not list every reachable state"):
        prove_reach(Relation(config), [NO_DEADLOCK], max_states=10)


def test_too_few_slots_are_named() -> None:
    config = preset("lost-ack")
    with pytest.raises(ReachError, match="raise --slots"):
        prove_reach(Relation(config, Bounds.for_config(config, 1)), [NO_DEADLOCK])


def _reach_cli(*args: str) -> list[str]:
    """``tcpspec check --engine smt --invariant reach`` on the one-segment handshake, for no-deadlock."""
    config = str(CONFIGS / "handshake-capacity-1.toml")
    return ["check", "--engine", "smt", "--invariant", "reach", "-c", config, "-p", "no-deadlock", *args]


def test_cli_reach_proves_and_says_how(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_reach_cli("--depth", "3"))
    out = capsys.readouterr().out
    assert code == 0
    assert "PROVED by induction: the" in out and "reachable states" in out and "are inductive" in out


def test_cli_invariant_needs_the_smt_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--invariant", "reach", "-c", "handshake"]) == 2
    assert "--invariant" in capsys.readouterr().err


def test_any_iss_is_not_the_explicit_engines_to_list(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_reach_cli("--symbolic-iss", "--depth", "2"))
    out = capsys.readouterr().out
    assert code != 0 or "PROVED" not in out
    assert "NOT CHECKED with any ISS" in out
