"""Learned lemmas (checks/lemmas.py, checks/learning.py): cubes, their matching, their formulas, their files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import z3

from checks import lemmas
from checks.bmc import supported
from checks.cli import main
from checks.evaluate import compile_formulas
from checks.explicit import explore
from checks.induction import counterexample_to_induction
from checks.invariants import STRENGTHENING, instances
from checks.leaves import leaf_names, leaf_values
from checks.lemmas import (
    Cube,
    Group,
    Literal,
    ReachIndex,
    generalize,
    parse_cube,
    state_cube,
)
from checks.properties import PROPERTIES
from checks.symbolic import Relation
from checks.symstate import OUTCOMES, Bounds, SymWorld
from spec.machine import World
from spec.presets import preset
from spec.states import ACK, FIN, SYN, Outcome, TcpState


@pytest.fixture(scope="module")
def handshake() -> tuple[Relation, list[World], ReachIndex]:
    config = preset("handshake")
    rel = Relation(config, Bounds.for_config(config))
    worlds = list(explore(config).states)
    rows = [leaf_values(w, rel.bounds) for w in worlds]
    return rel, worlds, ReachIndex(leaf_names(rel), rows)


def _holds(rel: Relation, formula: z3.BoolRef, world: World) -> bool:
    leaves = [t.e for t in rel.cur.world.leaves()]
    (value,) = compile_formulas([formula], leaves)(leaf_values(world, rel.bounds))
    return bool(value)


def test_a_cube_reads_back_from_its_text() -> None:
    cube = Cube(
        (
            Literal("A.state", frozenset({int(TcpState.TIME_WAIT)})),
            Literal("B.state", frozenset({int(TcpState.LISTEN), int(TcpState.CLOSED)}), negated=True),
            Literal("A.pc", frozenset({0, 1, 2, 3, 7})),
            Literal("B.history[0].outcome", frozenset({OUTCOMES.index(Outcome.RESET)})),
            Literal("A.held[0].present", frozenset({1})),
        ),
        (
            Group("B>A", (Literal("flags", frozenset({SYN | ACK, FIN | ACK})), Literal("age", frozenset({2})))),
            Group("B>A", (Literal("flags", frozenset({0})), Literal("seq", frozenset({300}), negated=True))),
            Group("A.held", (Literal("seq", frozenset({1, 2})),)),
        ),
    )
    text = cube.text()
    assert "A.state=TIME_WAIT" in text and "B.state not in {CLOSED,LISTEN}" in text and "A.pc in {0..3,7}" in text
    assert "flags in {ACK|FIN,SYN|ACK}" in text and "seq!=300" in text and "A.held has [seq in {1..2}]" in text
    assert parse_cube(text) == cube


def test_every_reachable_state_matches_its_own_cube(handshake: tuple[Relation, list[World], ReachIndex]) -> None:
    rel, worlds, reach = handshake
    names = leaf_names(rel)
    for r, w in enumerate(worlds):
        assert reach.matches(state_cube(names, leaf_values(w, rel.bounds))) >> r & 1


def test_a_state_cube_counts_the_segments_in_flight(handshake: tuple[Relation, list[World], ReachIndex]) -> None:
    """A state with fewer segments in flight than a reachable one is not matched by the reachable one's row."""
    rel, worlds, reach = handshake
    known = set(worlds)
    names = leaf_names(rel)
    emptied = [w._replace(ab=()) for w in worlds if w.ab]
    assert emptied
    for w in emptied:
        assert bool(reach.matches(state_cube(names, leaf_values(w, rel.bounds)))) == (w in known)


def test_generalize_blocks_an_unreachable_state_and_no_reachable_one(
    handshake: tuple[Relation, list[World], ReachIndex],
) -> None:
    """A in TIME-WAIT with both scripts at their start: no run gets there; the lemma says why, in one or two fields."""
    rel, worlds, reach = handshake
    start = worlds[0]
    odd = start._replace(a=start.a._replace(state=TcpState.TIME_WAIT))
    cube = generalize(state_cube(leaf_names(rel), leaf_values(odd, rel.bounds)), reach)
    assert not reach.matches(cube)
    assert len(cube.literals) + len(cube.groups) <= 2, cube.text()
    tmpl = dict(zip(leaf_names(rel), (t.e for t in rel.cur.world.leaves()), strict=True))
    lemma = z3.Not(cube.formula(tmpl, rel.bounds.channel))
    assert not _holds(rel, lemma, odd)
    assert all(_holds(rel, lemma, w) for w in worlds)


def test_a_reachable_state_cannot_be_learned(handshake: tuple[Relation, list[World], ReachIndex]) -> None:
    rel, worlds, reach = handshake
    with pytest.raises(ValueError, match="reachable"):
        generalize(state_cube(leaf_names(rel), leaf_values(worlds[-1], rel.bounds)), reach)


def test_the_formula_of_a_cube_matches_the_states_the_index_matches(
    handshake: tuple[Relation, list[World], ReachIndex],
) -> None:
    """The bitsets and the z3 formula are two readings of one cube: they agree state by state."""
    rel, worlds, reach = handshake
    tmpl = dict(zip(leaf_names(rel), (t.e for t in rel.cur.world.leaves()), strict=True))
    cubes = [
        Cube((Literal("A.state", frozenset({int(TcpState.ESTABLISHED)})),)),
        Cube((), (Group("A>B", (Literal("flags", frozenset({SYN})),)),)),
        Cube((), (Group("B>A", (Literal("flags", frozenset({SYN | ACK})),)), Group("B>A", ()))),
        Cube(
            (Literal("B.state", frozenset({int(TcpState.LISTEN)}), negated=True),),
            (Group("A>B", (Literal("age", frozenset({0}), negated=True),)),),
        ),
    ]
    leaves = [t.e for t in rel.cur.world.leaves()]
    evaluate = compile_formulas([c.formula(tmpl, rel.bounds.channel) for c in cubes], leaves)
    for r, w in enumerate(worlds):
        values = evaluate(leaf_values(w, rel.bounds))
        for cube, value in zip(cubes, values, strict=True):
            assert bool(value) == bool(reach.matches(cube) >> r & 1), (cube.text(), r)
    assert any(reach.matches(c) for c in cubes)


def test_the_evaluator_agrees_with_z3(handshake: tuple[Relation, list[World], ReachIndex]) -> None:
    rel, worlds, _ = handshake
    cands = instances(STRENGTHENING, rel)
    leaves = [t.e for t in rel.cur.world.leaves()]
    evaluate = compile_formulas([c.formula for c in cands], leaves)
    for w in worlds[::5]:
        values = evaluate(leaf_values(w, rel.bounds))
        solver = z3.Solver()
        solver.add(*[x == v for x, v in zip(leaves, leaf_values(w, rel.bounds), strict=True) if z3.is_bv(x)])
        solver.add(*[x == bool(v) for x, v in zip(leaves, leaf_values(w, rel.bounds), strict=True) if z3.is_bool(x)])
        assert solver.check() == z3.sat
        model = solver.model()
        for c, value in zip(cands, values, strict=True):
            assert bool(value) == z3.is_true(model.eval(c.formula, model_completion=True)), c.name


def test_lemmas_load_only_for_the_configuration_and_slots_they_were_learned_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lemmas, "LEMMA_DIR", tmp_path)
    config = preset("handshake")
    bounds = Bounds.for_config(config)
    cube = Cube((Literal("A.state", frozenset({int(TcpState.TIME_WAIT)})),))
    lemmas.save(config, bounds, [cube], "a test")
    assert lemmas.load(config, bounds) == [cube]
    assert lemmas.load(config, Bounds.for_config(config, 7)) == []
    other = dataclasses.replace(config, window=config.window + 1)
    assert lemmas.load(other, bounds) == []
    rel = Relation(config, bounds)
    (name, formula), *_ = lemmas.learned(rel.cur.world, rel)
    assert name == "1" and z3.is_not(formula)


def test_learn_on_the_handshake_needs_no_lemma(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lemmas, "LEMMA_DIR", tmp_path)
    assert main(["learn", "-c", "handshake", "--slots", "4", "--seconds", "120"]) == 0
    out = capsys.readouterr().out
    assert "INDUCTIVE" in out and "0 lemmas" in out
    assert (tmp_path / "handshake.txt").read_text().count("\nnot (") == 0


@pytest.mark.parametrize("argv", [["--slots", "0"], ["--seconds", "0"], ["-c", "no-such-preset"]])
def test_learn_refuses_bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["learn", "-c", "handshake", *argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("tcpspec: error:") and len(err.strip().splitlines()) == 1


STORED = sorted(p.stem for p in lemmas.LEMMA_DIR.glob("*.txt"))


def test_lemmas_are_stored_for_the_timed_presets() -> None:
    assert {"lost-ack", "incarnations"} <= set(STORED)


@pytest.mark.parametrize("name", STORED)
def test_stored_lemmas_hold_in_every_reachable_state(name: str) -> None:
    """No lemma of a stored file excludes a reachable state (cheap: the index matches a cube in a few ANDs)."""
    config = preset(name)
    bounds = Bounds.for_config(config, 8)
    cubes = lemmas.load(config, bounds)
    assert cubes, f"the lemmas of {name} were learned for another configuration or other slots"
    rel = Relation(config, bounds)
    rows = [leaf_values(w, bounds) for w in explore(config).states]
    reach = ReachIndex(leaf_names(rel), rows)
    assert [c.text() for c in cubes if reach.matches(c)] == []


@pytest.mark.parametrize(
    ("name", "slots", "stride"), [("handshake", None, 1), ("lost-ack", 8, 97), ("incarnations", 8, 997)]
)
def test_leaf_values_are_the_symbolic_worlds_values(name: str, slots: int | None, stride: int) -> None:
    """The plain-Python flattening of a world agrees with ``SymWorld.of`` leaf by leaf (blank slots included)."""
    config = preset(name)
    bounds = Bounds.for_config(config, slots)
    for world in list(explore(config).states)[::stride]:
        expected = []
        for t in SymWorld.of(world, bounds).leaves():
            v = z3.simplify(t.e)
            expected.append(int(z3.is_true(v)) if z3.is_bool(v) else v.as_long())
        assert leaf_values(world, bounds) == expected


INDUCTIVE = [n for n in STORED if lemmas.inductive(preset(n), Bounds.for_config(preset(n), 8))]


@pytest.mark.parametrize("name", INDUCTIVE)
def test_with_its_lemmas_the_preset_is_inductive_and_free_of_deadlocks(name: str) -> None:
    """Where learning ended inductive, Z3 agrees: no CTI, no deadlock in the set (a query of a minute or two)."""
    config = preset(name)
    bounds = Bounds.for_config(config, 8)
    relation = Relation(config, bounds)
    aside = lemmas.set_aside(config, bounds)
    names = {c.name for c in instances(STRENGTHENING, relation)} - aside
    names |= {p.name for p in supported(PROPERTIES)} - aside
    assert (
        counterexample_to_induction(config, supported(PROPERTIES), STRENGTHENING, relation=relation, only=names) is None
    )


def test_a_held_segment_is_matched_in_any_slot() -> None:
    """The rules keep held segments as a set: z3 may place one in either slot, the explicit engine sorts them."""
    config = preset("lost-ack")
    rel = Relation(config, Bounds.for_config(config, 8))
    names = leaf_names(rel)
    tmpl = dict(zip(names, (t.e for t in rel.cur.world.leaves()), strict=True))
    cube = Cube((), (Group("A.held", (Literal("seq", frozenset({7})),)),))
    formula = cube.formula(tmpl, 8)
    for slot in (0, 1):
        solver = z3.Solver()
        other = 1 - slot
        solver.add(tmpl[f"A.held[{slot}].present"], tmpl[f"A.held[{slot}].seq"] == 7)
        solver.add(z3.Not(tmpl[f"A.held[{other}].present"]))
        assert solver.check(z3.Not(formula)) == z3.unsat


def test_learn_keeps_the_lemmas_of_another_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file learned with other slots (or for another configuration of that name) is replaced only with --fresh."""
    monkeypatch.setattr(lemmas, "LEMMA_DIR", tmp_path)
    config = preset("handshake")
    cube = Cube((Literal("A.state", frozenset({int(TcpState.TIME_WAIT)})),))
    lemmas.save(config, Bounds.for_config(config, 4), [cube], "a test")
    before = (tmp_path / "handshake.txt").read_text()
    assert main(["learn", "-c", "handshake", "--slots", "2", "--seconds", "60"]) == 2
    assert "--fresh replaces them" in capsys.readouterr().err
    assert (tmp_path / "handshake.txt").read_text() == before
    assert main(["learn", "-c", "handshake", "--slots", "2", "--seconds", "60", "--fresh"]) == 0
    assert lemmas.load(config, Bounds.for_config(config, 2)) == []
