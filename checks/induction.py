"""Unbounded proofs by induction: the safety properties, strengthened by the invariants of :mod:`checks.invariants`.

A set of formulas ``Inv`` over one state proves the properties it contains when

* every initial state satisfies ``Inv`` (the base case), and
* every step of the relation from a state satisfying ``Inv`` reaches one that satisfies ``Inv``
  (the inductive step: ``Inv ∧ T ⇒ Inv'``),

for then every reachable state satisfies ``Inv`` -- at every depth, not just those a search
visited.  A property alone is rarely inductive: a state that satisfies it can still lead to one
that does not (a *counterexample to induction*, CTI, which is usually unreachable).  The
strengthening invariants rule such states out.

The search is Houdini's: start with every instance of every invariant and of every property, drop
those false in some initial state, then ask Z3 for a step from a state satisfying all that remain
to one that falsifies some; drop what it falsifies and ask again.  What is left when Z3 answers
"unsat" is the largest inductive subset of the candidates; a property is PROVED when all its
instances survive (for a property of transitions: when no step from a state of ``Inv`` violates
it), and otherwise UNKNOWN, with the CTI that removed it.  no-deadlock is checked against ``Inv``
instead of joining it (:data:`checks.symprops.IMPLIED`): PROVED when no state of ``Inv`` is a
deadlock, since every reachable state is one of them.

The bounded slots of :mod:`checks.symstate` are part of the claim: the instance "the slots hold the
state" must survive too, or nothing is proved (a state the slots cannot hold is not the model's).
States where the rules are ambiguous or incomplete have no successors (as in the explicit engine);
determinism is one of the properties, so a proof covers them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import z3

from checks.invariants import STRENGTHENING, Instance, Invariant, instances, property_instances
from checks.lemmas import lemma_path, set_aside
from checks.properties import PROVED, UNKNOWN, Property, Result
from checks.symbolic import Frame, Relation
from checks.symprops import IMPLIED, SYMBOLIC, rules_problem
from checks.symstate import Bounds, model_value
from spec.config import Config
from spec.machine import SIDE_NAMES, AmbiguousRules, IncompleteRules, Machine, World
from spec.rules import Rule

SLOTS_HOLD = "representable"


@dataclass
class Cti:
    """A counterexample to induction: a state satisfying the surviving candidates, a step, and what it broke."""

    before: World | None  # None: a field is outside its domain, no World has it (see ``event``)
    after: World | None  # None with a ``before``: no step, the state itself violates a property checked against the set
    event: str
    broken: list[str]

    def text(self) -> str:
        lines = ["counterexample to induction (a state that satisfies every candidate still standing):"]
        if self.before is not None and self.after is None:  # a property checked against the set, no step
            lines += ["  " + line for line in world_text(self.before)]
            lines.append(f"  {self.event}")
        elif self.before is None or self.after is None:
            lines.append(f"  {self.event}")
        else:
            lines += ["  " + line for line in world_text(self.before)]
            lines.append(f"  --[{self.event}]-->")
            lines += ["  " + line for line in world_text(self.after)]
        lines.append("  breaks: " + ", ".join(self.broken))
        return "\n".join(lines)


@dataclass
class InductionRun:
    """What the induction engine did for one configuration."""

    config: Config
    machine: Machine
    bounds: Bounds
    results: list[Result]
    seconds: float
    compile_seconds: float
    queries: int
    kept: list[str]  # the instances of the final inductive set
    dropped: dict[str, str] = field(default_factory=dict)  # instance -> why ("initially false" or a CTI's text)

    @property
    def complete(self) -> bool:
        return all(r.verdict == PROVED for r in self.results)


def prove(
    config: Config,
    wanted: Sequence[Property],
    *,
    invariants: Sequence[Invariant] = STRENGTHENING,
    bounds: Bounds | None = None,
    relation: Relation | None = None,
    rules: tuple[Rule, ...] | None = None,
    seconds: float | None = None,
) -> InductionRun:
    """Try to prove each wanted safety property of ``config`` by induction strengthened with ``invariants``.

    With ``seconds``, the search gives up when that time is spent: what is not proved by then is UNKNOWN.
    """
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds
    rel = relation or Relation(config, bounds, rules=rules)
    compiled = time.perf_counter() - start
    props = [p for p in wanted if p in SYMBOLIC]
    state_props = [p for p in props if SYMBOLIC[p][1] == "state" and p not in IMPLIED]
    cands: list[Instance] = instances(invariants, rel) + property_instances(state_props, rel)
    f0, f1 = rel.frame(0), rel.frame(1)
    dropped: dict[str, str] = {}
    # What learning found false in a reachable state is in no inductive set: not trying it only saves queries.
    if any(inv.name == "learned" for inv in invariants):
        aside = set_aside(config, rel.bounds)
        for c in cands:
            if c.name in aside:
                dropped[c.name] = f"set aside: false in a reachable state ({lemma_path(config)})"
        cands = [c for c in cands if c.name not in aside]
    queries = 0

    # Base case: drop what some initial state falsifies.
    init = z3.SolverFor("QF_BV")
    init.add(rel.initial(f0))
    for c in cands:
        queries += 1
        if init.check(z3.Not(rel.on_frame(c.formula, f0))) == z3.sat:
            dropped[c.name] = "false in the initial state"
    alive = [c for c in cands if c.name not in dropped]

    # Inductive step, Houdini: drop what a step from the survivors falsifies, until nothing is.  Each query
    # gets a solver of its own with the survivors as plain assertions: Z3 then simplifies with them before
    # it bit-blasts, which made the large queries (chaos, reorder-capacity-2) about twice as fast as one
    # incremental solver with a guard literal per candidate (BENCH.md, "Houdini: a solver per query").
    f1_formula = {c.name: rel.on_frame(c.formula, f1) for c in cands}
    step = [rel.step(f0, f1), z3.Not(rel.on_frame(rules_problem(rel), f0))]
    gave_up = False
    while alive:
        solver = z3.SolverFor("QF_BV")
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                gave_up = True
                break
            solver.set("timeout", max(1, int(left * 1000)))
        queries += 1
        solver.add(*step, *[rel.on_frame(c.formula, f0) for c in alive])
        solver.add(z3.Or(*[z3.Not(f1_formula[c.name]) for c in alive]))
        answer = solver.check()
        if answer == z3.unknown:
            if deadline is not None and time.perf_counter() >= deadline:
                gave_up = True
                break
            raise RuntimeError(f"z3 answered unknown: {solver.reason_unknown()}")
        if answer == z3.unsat:
            break
        model = solver.model()
        broken = [c.name for c in alive if z3.is_false(model.eval(f1_formula[c.name], model_completion=True))]
        cti = step_cti(rel, model, f0, f1, broken)
        for name in broken:
            dropped[name] = cti.text()
        alive = [c for c in alive if c.name not in dropped]

    if gave_up:
        why = f"induction gave up after {seconds:g} s, before the candidates were inductive"
        results = [Result(p, UNKNOWN, why) for p in props]
    else:
        results = _verdicts(rel, props, alive, dropped, f0, f1, step)
    return InductionRun(
        config,
        rel.machine,
        rel.bounds,
        results,
        time.perf_counter() - start,
        compiled,
        queries,
        [c.name for c in alive],
        dropped,
    )


def counterexample_to_induction(
    config: Config,
    wanted: Sequence[Property],
    invariants: Sequence[Invariant],
    *,
    relation: Relation | None = None,
    only: set[str] | None = None,
) -> Cti | None:
    """Whether ``invariants`` and the wanted state properties, all of them, are inductive as they stand.

    None if they are (and hold initially, and imply the wanted properties of :data:`IMPLIED`); else a CTI:
    a step from a state satisfying all of them to one that breaks some (or, for a formula false initially,
    the initial state and no step; for an implied property, a state of the set that violates it).  With
    ``only``, just the instances of those names (for example what :func:`prove` kept) take part.
    """
    rel = relation or Relation(config)
    props = [p for p in wanted if p in SYMBOLIC and SYMBOLIC[p][1] == "state" and p not in IMPLIED]
    cands = instances(invariants, rel) + property_instances(props, rel)
    if only is not None:
        cands = [c for c in cands if c.name in only]
    f0, f1 = rel.frame(0), rel.frame(1)
    init = z3.SolverFor("QF_BV")
    init.add(rel.initial(f0))
    false_at_start = [c.name for c in cands if init.check(z3.Not(rel.on_frame(c.formula, f0))) == z3.sat]
    if false_at_start:
        start = rel.machine.initial()
        return Cti(start, start, "(none: false in the initial state)", false_at_start)
    solver = z3.SolverFor("QF_BV")
    solver.add(rel.step(f0, f1), z3.Not(rel.on_frame(rules_problem(rel), f0)))
    solver.add(*[rel.on_frame(c.formula, f0) for c in cands])
    after = {c.name: rel.on_frame(c.formula, f1) for c in cands}
    if solver.check(z3.Or(*[z3.Not(a) for a in after.values()])) == z3.sat:
        model = solver.model()
        broken = [n for n, a in after.items() if z3.is_false(model.eval(a, model_completion=True))]
        return step_cti(rel, model, f0, f1, broken)
    # Inductive: the properties checked against the set must follow from it, state by state.
    for p in [p for p in wanted if p in IMPLIED]:
        alone = z3.SolverFor("QF_BV")
        alone.add(*[rel.on_frame(c.formula, f0) for c in cands], rel.on_frame(SYMBOLIC[p][0](rel), f0))
        if alone.check() == z3.sat:
            try:
                world: World | None = f0.world.to_world(model_value(alone.model()), rel.config.reorder)
            except (ValueError, IndexError):
                world = None
            return Cti(world, None, f"(no step: this state of the set violates {p.name})", [p.name])
    return None


def _verdicts(
    rel: Relation,
    props: list[Property],
    alive: list[Instance],
    dropped: dict[str, str],
    f0: Frame,
    f1: Frame,
    step: list[z3.BoolRef],
) -> list[Result]:
    names = {c.name for c in alive}
    results = []
    if SLOTS_HOLD not in names:
        why = dropped.get(SLOTS_HOLD, "")
        for p in props:
            results.append(
                Result(
                    p, UNKNOWN, "the slots may not hold every reachable state (or a field leaves its domain)\n" + why
                )
            )
        return results
    kept = len(alive)
    for p in props:
        if p in IMPLIED:
            # No state of the inductive set violates it (the set holds in every reachable state).
            alone = z3.SolverFor("QF_BV")
            alone.add(*[rel.on_frame(c.formula, f0) for c in alive], rel.on_frame(SYMBOLIC[p][0](rel), f0))
            if alone.check() == z3.unsat:
                results.append(Result(p, PROVED, f"by induction: no state of the {kept} inductive facts violates it"))
            else:
                state = _state(rel, alone.model(), f0)
                results.append(Result(p, UNKNOWN, "no proof: a state of the invariant violates it\n" + state))
            continue
        if SYMBOLIC[p][1] == "state":
            if p.name in dropped:
                results.append(Result(p, UNKNOWN, f"no proof: not inductive with the invariants\n{dropped[p.name]}"))
            else:
                results.append(Result(p, PROVED, f"by induction: {kept} inductive facts hold in every reachable state"))
            continue
        # A property of transitions: no step from a state of the invariant violates it.
        solver = z3.SolverFor("QF_BV")
        solver.add(*step, *[rel.on_frame(c.formula, f0) for c in alive], rel.on_frame(SYMBOLIC[p][0](rel), f0, f1))
        answer = solver.check()
        if answer == z3.unsat:
            results.append(Result(p, PROVED, f"by induction: no step from the {kept} inductive facts violates it"))
        else:
            model = solver.model()
            cti = step_cti(rel, model, f0, f1, [p.name])
            results.append(
                Result(p, UNKNOWN, "no proof: a step from a state of the invariant violates it\n" + cti.text())
            )
    return results


def _state(rel: Relation, model: z3.ModelRef, f: Frame) -> str:
    """A state of the inductive set that violates a property checked against it (no step: it is one state)."""
    try:
        world = f.world.to_world(model_value(model), rel.config.reorder)
    except (ValueError, IndexError) as err:
        return f"a state with a field outside its domain ({err})"
    lines = ["a state that satisfies every inductive fact:", *["  " + line for line in world_text(world)]]
    return "\n".join(lines)


def step_cti(rel: Relation, model: z3.ModelRef, f0: Frame, f1: Frame, broken: list[str]) -> Cti:
    value = model_value(model)
    reorder = rel.config.reorder
    try:
        before = f0.world.to_world(value, reorder)
        after = f1.world.to_world(value, reorder)
    except (ValueError, IndexError) as err:  # a field out of its domain: no World to print
        return Cti(None, None, f"a state with a field outside its domain ({err}), no World can show it", broken)
    branch = rel.branches[model.eval(f0.ev, model_completion=True).as_long()]
    event = f"{branch.kind} by {'AB-'[branch.actor]}"
    try:
        taken = [t for t in rel.machine.successors(before) if t.target == after]
    except (AmbiguousRules, IncompleteRules):
        taken = []
    if taken:
        label, changes = taken[0].label, taken[0].changes
        event = f"{label.kind} by {SIDE_NAMES[label.actor]}"
        if label.seg is not None:
            event += f" {label.seg}"
        if changes:
            event += " (" + ", ".join(c.rule for c in changes) + ")"
    return Cti(before, after, event, broken)


def world_text(w: World) -> list[str]:
    """A world, compactly: one line per endpoint, one per channel."""
    lines = []
    for name, ep in (("A", w.a), ("B", w.b)):
        lines.append(
            f"{name}: {ep.state.name} pc={ep.pc} inc={ep.inc} iss={ep.iss} irs={ep.irs} una={ep.snd_una} "
            f"nxt={ep.snd_nxt} rcv={ep.rcv_nxt} queued={ep.queued} sent={ep.sent} close_q={ep.close_queued} "
            f"retries={ep.retries} timer={ep.timer} peer_inc={ep.peer_inc} held={list(ep.held)} "
            f"delivered={list(ep.delivered)} history={list(ep.history)}"
        )
    lines.append(f"A>B: {list(w.ab)}")
    lines.append(f"B>A: {list(w.ba)}")
    lines.append(f"losses={w.losses} dups={w.dups} crashes={w.crashes}")
    return lines
