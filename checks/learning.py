"""``tcpspec learn``: learn the lemmas a preset's proof by induction needs, and store them.

The explicit engine gives the reachable states; the candidates (every invariant family and the state
properties) false in one of them are set aside, as Houdini would drop them; then :func:`checks.lemmas.learn`
blocks each counterexample to induction with a lemma until the rest is inductive, or the time is up.
The lemmas are written to ``checks/learned/<preset>.txt`` as they come, so that a run cut short resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from checks.evaluate import compile_formulas
from checks.explicit import explore
from checks.invariants import STRENGTHENING, instances, property_instances
from checks.leaves import leaf_values
from checks.lemmas import Cube, LearnRun, learn, lemma_path, load, save
from checks.properties import PROPERTIES
from checks.symbolic import Relation
from checks.symprops import IMPLIED, SYMBOLIC
from checks.symstate import Bounds
from spec.config import Config

#: The most reachable states learning indexes (a bit each per field value: the index grows with them).
MAX_STATES = 1_000_000


class LearnError(Exception):
    """Learning cannot start: the reachable states are not all known."""


@dataclass
class Learned:
    run: LearnRun
    path: Path
    states: int
    candidates: int
    false_in_reach: list[str]  # candidates set aside: false in a reachable state


def learn_lemmas(
    config: Config,
    slots: int,
    *,
    seconds: float | None = None,
    fresh: bool = False,
    report: Callable[[str], None] | None = None,
) -> Learned:
    """Learn (more) lemmas for ``config`` with ``slots`` per channel; resume from the stored ones unless ``fresh``."""
    bounds = Bounds.for_config(config, slots)
    ex = explore(config, max_states=MAX_STATES)
    if not ex.complete or ex.stop_reason:
        why = ex.stop_reason or "the rules are ambiguous or incomplete in some state"
        raise LearnError(f"learning needs every reachable state, and the explicit search did not finish: {why}")
    worlds = list(ex.states)
    if max(max(len(w.ab), len(w.ba)) for w in worlds) > bounds.channel:
        raise LearnError(f"a reachable state has more than {bounds.channel} segments on a channel: raise --slots")
    rel = Relation(config, bounds)
    props = [p for p in PROPERTIES if p in SYMBOLIC and SYMBOLIC[p][1] == "state" and p not in IMPLIED]
    families = [f for f in STRENGTHENING if f.name != "learned"]
    cands = instances(families, rel) + property_instances(props, rel)
    leaves = [t.e for t in rel.cur.world.leaves()]
    evaluate = compile_formulas([c.formula for c in cands], leaves)
    false: set[str] = set()
    rows = [leaf_values(w, bounds) for w in worlds]
    for row in rows:
        for c, ok in zip(cands, evaluate(row), strict=True):
            if not ok:
                false.add(c.name)
    kept = [(c.name, c.formula) for c in cands if c.name not in false]
    # The properties checked against the set (no-deadlock): excluded, when no reachable state violates them.
    implied = [(p.name, SYMBOLIC[p][0](rel)) for p in PROPERTIES if p in IMPLIED]
    violated = compile_formulas([bad for _, bad in implied], leaves)
    excluded = [pair for k, pair in enumerate(implied) if not any(violated(row)[k] for row in rows)]
    path = lemma_path(config)
    if not fresh and path.exists() and not load(config, bounds) and "\nnot (" in path.read_text():
        raise LearnError(f"{path} holds lemmas learned for another configuration or other slots; --fresh replaces them")
    known: list[Cube] = [] if fresh else load(config, bounds)
    note = f"{len(worlds)} reachable states; {len(kept)} candidates of the families and properties hold in them"

    def store(cubes: list[Cube]) -> None:
        save(config, bounds, cubes, note, false)

    run = learn(
        rel,
        rows,
        kept,
        reachable=frozenset(worlds),
        excluded=excluded,
        known=known,
        seconds=seconds,
        report=report,
        store=store,
    )
    path = save(config, bounds, run.cubes, note, false | set(run.dropped), inductive=run.inductive)
    return Learned(run, path, len(worlds), len(cands), sorted(false))
