"""Proofs by induction whose invariant is the set of reachable states, enumerated by the explicit engine.

For a configuration whose reachable states the explicit engine can list, that set ``R`` is the
strongest invariant there is.  Written as a formula over the state's leaves, Z3 checks it as any
other invariant of :mod:`checks.induction`:

* every initial state of the symbolic relation is in ``R`` (``Init ⇒ R``);
* every step of the relation from a state of ``R`` ends in ``R`` (``R ∧ T ⇒ R'``), asked part by part
  (:func:`prove_reach`; one query per branch of the relation was slower: each bit-blasts the diagram again);
* no state of ``R`` violates a state property, and no step from one violates a property of steps.

Then every property checked holds at every depth: PROVED.  The explicit engine only proposes ``R``;
the proof is Z3's, over the relation compiled from the same rules by :mod:`checks.symbolic`.  Had the
explicit engine missed a state or a step, the second check would find a step of the relation out of
``R`` and nothing would be proved (the verdict says which step).  Where the readable facts of
:mod:`checks.invariants` do not close -- the timed presets, whose timers, ages and retransmissions
need more facts than have been written -- this is how Z3 proves them; the facts say *why* a property
holds, this only *that* it does.

``R`` is a decision diagram over the leaves (:mod:`checks.leaves`) in their order: a node tests one
leaf against the values the states that reach it have there, and identical sub-diagrams are one
node (its formula is one shared z3 term).  A slot that is not in use is a wildcard, since z3 may
leave anything in it; so are the two symmetries of the encoding: a held segment may sit in any held
slot (held segments are a set), and on a network that reorders, the segments in flight may sit in
any order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import permutations

import z3

from checks.explicit import Exploration, explore
from checks.induction import step_cti
from checks.leaves import guards, leaf_names, leaf_values
from checks.properties import PROVED, UNKNOWN, Property, Result
from checks.symbolic import Relation
from checks.symprops import SYMBOLIC, rules_problem
from spec.machine import World

#: The most reachable states a proof lists (the diagram is built in memory, a row of numbers per state).
MAX_STATES = 1_000_000

Row = tuple[int | None, ...]  # a state's leaf values; None where the leaf means nothing (a wildcard)


class ReachError(Exception):
    """The reachable states cannot serve as the invariant (the search did not finish, or the slots are too few)."""


@dataclass(frozen=True)
class Diagram:
    """A set of states as a reduced decision diagram over the leaves (node 0 is "true")."""

    names: tuple[str, ...]
    nodes: tuple[tuple[int, tuple[tuple[int | None, int], ...]], ...]  # (leaf, ((value or wildcard, child), ...))
    root: int
    states: int  # the reachable states it was built from (before the symmetries)
    rows: int  # the rows it holds: states times their placements in the slots

    def formula(self, leaves: Sequence[z3.ExprRef]) -> z3.BoolRef:
        """Membership in the set, over ``leaves`` (a frame's leaves, in :func:`leaf_names` order)."""
        atoms: dict[tuple[int, int], z3.BoolRef] = {}

        def atom(i: int, v: int) -> z3.BoolRef:
            if (i, v) not in atoms:
                atoms[i, v] = _equals(leaves[i], v)
            return atoms[i, v]

        made: list[z3.BoolRef] = [z3.BoolVal(True)]
        for leaf, children in self.nodes[1:]:
            options = []
            for value, child in children:
                below = made[child]
                if value is None:
                    options.append(below)
                else:
                    options.append(atom(leaf, value) if child == 0 else z3.And(atom(leaf, value), below))
            made.append(options[0] if len(options) == 1 else z3.Or(*options))
        return made[self.root]


def values_of(world: World, rel: Relation) -> list[int]:
    """``world``'s leaf values; ReachError if it does not fit in ``rel``'s slots."""
    try:
        return leaf_values(world, rel.bounds)
    except ValueError as err:
        raise ReachError(f"a reachable state does not fit in the slots ({err}): raise --slots") from err


def diagram(worlds: Sequence[World], rel: Relation) -> Diagram:
    """The diagram of ``worlds`` over ``rel``'s leaves, with the encoding's symmetries (see the module)."""
    return diagram_of([values_of(w, rel) for w in worlds], rel)


def diagram_of(states: Sequence[Sequence[int]], rel: Relation) -> Diagram:
    """The diagram of the states whose leaf values are ``states``."""
    names = leaf_names(rel)
    index = {n: i for i, n in enumerate(names)}
    guarded = [[(index[g], k) for g, k in guards(n)] for n in names]
    blocks = _symmetric_blocks(names, rel)
    rows: set[Row] = set()
    for values in states:
        row: list[int | None] = list(values)
        for i, gs in enumerate(guarded):
            if any(values[g] == 0 if k < 0 else values[g] <= k for g, k in gs):
                row[i] = None
        for placed in _placements(tuple(row), blocks):
            rows.add(placed)
    unique: dict[tuple[int, tuple[tuple[int | None, int], ...]], int] = {}
    nodes: list[tuple[int, tuple[tuple[int | None, int], ...]]] = [(-1, ())]

    def build(part: list[Row], leaf: int) -> int:
        if leaf == len(names):
            return 0
        by: dict[int | None, list[Row]] = {}
        for r in part:
            by.setdefault(r[leaf], []).append(r)
        children = tuple(sorted(((v, build(sub, leaf + 1)) for v, sub in by.items()), key=_order))
        if len(children) == 1 and children[0][0] is None:
            return children[0][1]  # the leaf means nothing in any of these states: no test
        key = (leaf, children)
        if key not in unique:
            unique[key] = len(nodes)
            nodes.append(key)
        return unique[key]

    # In a fixed order, so that the nodes are numbered the same on every run.
    root = build(sorted(rows, key=lambda r: tuple(-1 if v is None else v for v in r)), 0)
    return Diagram(tuple(names), tuple(nodes), root, len(states), len(rows))


def _order(child: tuple[int | None, int]) -> tuple[int, int]:
    return (-1 if child[0] is None else child[0], child[1])


def _symmetric_blocks(names: Sequence[str], rel: Relation) -> list[tuple[bool, list[list[int]]]]:
    """The slots whose contents z3 may hold in any order: (a set's slots?, each slot's leaf indices), per box.

    A held segment may take any held slot, a blank one included; a segment in flight on a reordering
    network any of the slots in use.
    """
    boxes = [(True, f"{side}.held") for side in "AB"]
    if rel.config.reorder:
        boxes += [(False, "A>B"), (False, "B>A")]
    out = []
    for is_set, box in boxes:
        slots: list[list[int]] = []
        while any(n.startswith(f"{box}[{len(slots)}].") for n in names):
            slots.append([i for i, n in enumerate(names) if n.startswith(f"{box}[{len(slots)}].")])
        if len(slots) > 1:
            out.append((is_set, slots))
    return out


def _placements(row: Row, blocks: list[tuple[bool, list[list[int]]]]) -> list[Row]:
    """``row`` with each block's contents in every order the encoding allows."""
    rows = [row]
    for is_set, slots in blocks:
        out = []
        for r in rows:
            # The slots in use of a channel are its first ones: they hold values; a blank slot only wildcards.
            used = slots if is_set else [s for s in slots if r[s[0]] is not None]
            contents = [tuple(r[i] for i in slot) for slot in used]
            out += [_put(r, used, order) for order in sorted(set(permutations(contents)), key=repr)]
        rows = out
    return rows


def _put(row: Row, slots: list[list[int]], contents: tuple[tuple[int | None, ...], ...]) -> Row:
    out = list(row)
    for slot, values in zip(slots, contents, strict=True):
        for i, v in zip(slot, values, strict=True):
            out[i] = v
    return tuple(out)


SHOWN = "the explicit engine shows how"

#: The leaves that cut the reachable states into parts, one query each (see :func:`prove_reach`).
PART_KEY = ("A.state", "B.state")


@dataclass
class ReachProof:
    """What a proof over the reachable states did for one configuration."""

    results: list[Result]
    states: int
    parts: int
    nodes: int  # of the parts' diagrams, together
    queries: int
    seconds: float
    inductive: bool  # R holds initially and is closed under the relation


def prove_reach(
    rel: Relation,
    wanted: Sequence[Property],
    *,
    max_states: int = MAX_STATES,
    seconds: float | None = None,
    report: Callable[[str], None] | None = None,
    exploration: Exploration | None = None,
    assume: Sequence[z3.BoolRef] = (),
    leaves: Sequence[z3.ExprRef] | None = None,
) -> ReachProof:
    """Prove the wanted safety properties (no-deadlock too) of ``rel``'s configuration with R as the invariant.

    R is cut into parts by the values of :data:`PART_KEY`, and the step is checked part by part: from a
    state of part i, every step of the relation ends in one of the parts J(i) the explicit engine's edges
    from part i reach.  That is more than ``R ∧ T ⇒ R'`` asks (the union of the J(i) is within R), and it
    is quicker: one query over all of R took 630 s on incarnations, its parts by both states 110 s
    (BENCH.md).  A step from part i out of J(i) is a step the explicit engine did not take: no proof, and
    the CTI says which.
    The properties of steps are asked in the same queries (a step from part i that violates one).
    ``exploration``, if given, is the explicit engine's search of ``rel``'s configuration and rules, done.
    ``assume`` constrains the relation's parameters (symbolic timing) in every query.  ``leaves``, if given,
    are the terms over ``rel.cur`` that the explored states' leaf values are read against, in
    :func:`leaf_names` order (default: the leaves themselves); :func:`checks.derive_smt.prove_time_wait` maps a
    timer onto the explored one so.
    """
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds
    props = [p for p in wanted if p in SYMBOLIC]
    ex = exploration or explore(rel.config, max_states=max_states, machine=rel.machine)
    if ex.stop_reason or not ex.complete:
        why = ex.stop_reason or "the rules are ambiguous or incomplete in some reachable state"
        raise ReachError(f"the explicit search did not list every reachable state: {why}")
    worlds = list(ex.states)
    names = leaf_names(rel)
    at = [names.index(n) for n in PART_KEY]
    values = [values_of(w, rel) for w in worlds]
    keys = [tuple(v[i] for i in at) for v in values]
    members: dict[tuple[int, ...], list[list[int]]] = {}
    for v, k in zip(values, keys, strict=True):
        members.setdefault(k, []).append(v)
    reaches: dict[tuple[int, ...], set[tuple[int, ...]]] = {k: set() for k in members}
    for src, dst, _ in ex.edges():
        reaches[keys[src]].add(keys[dst])
    template = list(leaves) if leaves is not None else [t.e for t in rel.cur.world.leaves()]
    diagrams = {k: diagram_of(vs, rel) for k, vs in members.items()}
    part = {k: d.formula(template) for k, d in diagrams.items()}
    f0, f1 = rel.frame(0), rel.frame(1)
    r0 = z3.Or(*[rel.on_frame(f, f0) for f in part.values()])
    queries = 0
    say = report or (lambda _: None)
    nodes = sum(len(d.nodes) for d in diagrams.values())
    size = f"{len(worlds):,} reachable states ({len(members)} parts, diagrams of {nodes:,} nodes)"

    def ask(*formulas: z3.BoolRef) -> z3.ModelRef | None:
        """A model of ``formulas``; None if there is none.  Raises TimeoutError past the deadline."""
        nonlocal queries
        queries += 1
        solver = z3.SolverFor("QF_BV")
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError
            solver.set("timeout", max(1, int(left * 1000)))
        solver.add(*assume, *formulas)
        answer = solver.check()
        if answer == z3.unknown:
            if deadline is not None and time.perf_counter() >= deadline:
                raise TimeoutError
            raise RuntimeError(f"z3 answered unknown: {solver.reason_unknown()}")
        return None if answer == z3.unsat else solver.model()

    def finish(results: list[Result], inductive: bool) -> ReachProof:
        return ReachProof(results, len(worlds), len(members), nodes, queries, time.perf_counter() - start, inductive)

    def none(why: str) -> ReachProof:
        return finish([Result(p, UNKNOWN, why) for p in props], False)

    step = [rel.step(f0, f1), z3.Not(rel.on_frame(rules_problem(rel), f0))]
    by_step = {p: rel.on_frame(SYMBOLIC[p][0](rel), f0, f1) for p in props if SYMBOLIC[p][1] != "state"}
    broken: dict[Property, str] = {}
    try:
        if ask(rel.initial(f0), z3.Not(r0)) is not None:
            return none(f"no proof: an initial state of the relation is not among the {size}")
        for n, (k, ws) in enumerate(sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))):
            say(f"part {n + 1} of {len(members)}: {len(ws):,} states with {_key_text(k)}")
            pinned = [_equals(f0.leaves()[i], v) for i, v in zip(at, k, strict=True)]
            leaves = z3.Not(z3.Or(*[rel.on_frame(part[j], f1) for j in sorted(reaches[k])]))
            while True:
                bad = [leaves, *[v for p, v in by_step.items() if p not in broken]]
                model = ask(*step, *pinned, rel.on_frame(part[k], f0), z3.Or(*bad))
                if model is None:
                    break
                if z3.is_true(model.eval(leaves, model_completion=True)):
                    cti = step_cti(rel, model, f0, f1, ["reachable"])
                    return none("no proof: a step of the relation leaves the reachable states\n" + cti.text())
                for p, v in by_step.items():
                    if p not in broken and z3.is_true(model.eval(v, model_completion=True)):
                        broken[p] = f"no proof: a step from a reachable state violates it ({SHOWN})"
        results = []
        for p in props:
            violation, kind = SYMBOLIC[p]
            say(f"{p.name}: " + ("checked with the steps" if kind != "state" else "does a reachable state violate it?"))
            if kind == "state" and ask(r0, rel.on_frame(violation(rel), f0)) is not None:
                broken[p] = f"no proof: a reachable state violates it ({SHOWN})"
            if p in broken:
                results.append(Result(p, UNKNOWN, broken[p]))
                continue
            how = "no state of them violates it" if kind == "state" else "no step from them violates it"
            results.append(
                Result(p, PROVED, f"by induction: the {len(worlds):,} reachable states are inductive; {how}")
            )
    except TimeoutError:
        return none(f"no proof: the reachable states were not shown inductive in {seconds:g} s")
    return finish(results, True)


def _equals(x: z3.ExprRef, v: int) -> z3.BoolRef:
    return (x if v else z3.Not(x)) if z3.is_bool(x) else x == z3.BitVecVal(v, x.size())


def _key_text(key: tuple[int, ...]) -> str:
    return ", ".join(f"{n} = {v}" for n, v in zip(PART_KEY, key, strict=True))
