"""TIME-WAIT derived by Z3, for every MSL of a range at once.

The explicit derivation (:mod:`checks.derive`) finds the shortest TIME-WAIT for one MSL, and the shortest
counterexample one tick below it.  Its search grows with MSL (every age and every timer is a number of
ticks), so here Z3 takes over, on the relation with MSL and TIME-WAIT as 8-bit parameters
(``Relation(symbolic_timing=True)``), where a ``wait`` step lets any number of ticks pass at once:

1. the explicit engine derives the bound at the configuration's own MSL, and its counterexample just below
   the bound is the *schedule*: its events in order, each run of ticks free to last any number of ticks;
2. one solver holds that schedule unrolled on the relation, and for each MSL of the range is asked
   (under the assumption ``MSL = m``) for the largest TIME-WAIT at which the schedule still ends with an
   old duplicate accepted -- a binary search over "some TIME-WAIT >= t admits it", so the answer is exact
   for TIME-WAIT up to 254 ticks, with no assumption that the answers are monotone;
3. every run Z3 finds is replayed on the explicit engine at that MSL and TIME-WAIT (a wait expands into
   its ticks), which must take every step and see the same old duplicate: the two engines agree, or it is
   an engine error, never a verdict.  At the configuration's own MSL, Z3's answer must equal the explicit
   sweep's.

What this shows: for every MSL in the range, TIME-WAIT must be longer than the answer (a real run accepts
an old duplicate at it).  What it does not: that one tick more is enough for that MSL -- the schedule no
longer works there, but another might.  That half is EXHAUSTED by the explicit engine at the configuration's
MSL, and with ``prove`` PROVED there by Z3 for that TIME-WAIT *and every longer one* up to :data:`MOST_TICKS`
(:func:`prove_time_wait`:
induction over the states of a TIME-WAIT that may outlast its setting, :class:`LingeringTimeWait`, against the
relation whose TIME-WAIT is a parameter).  For the other MSL it is not checked: the timing facts are not
inductive, and the reachable states grow too fast with MSL to serve (over ten million at MSL = 2) -- where,
on ``incarnations``, no TIME-WAIT is enough (README, "TIME-WAIT, derived").
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

from checks.bmc import EngineDisagreement, replay
from checks.derive import DEFAULT_UP_TO, Derivation, derivation_json, derive_time_wait, ticks_text
from checks.explicit import explore
from checks.leaves import leaf_names
from checks.properties import GRACEFUL_CLOSE, NO_OLD_DUPLICATES, PROVED, Limits, OldDuplicateObserver, Result
from checks.reachset import MAX_STATES, ReachError, prove_reach
from checks.symbolic import Branch, Frame, Relation, equals
from checks.symprops import SYMBOLIC, overflow, rules_problem
from checks.symstate import Bounds, SymWorld, model_value
from checks.trace import build_trace
from spec.config import Config, ConfigError
from spec.machine import A, B, Label, Machine, Transition, World, _with_endpoint
from spec.states import TIME_WAIT

#: MSL values tried by default, in ticks.
DEFAULT_MSL = range(1, 17)

#: The widest TIME-WAIT the 8-bit parameter holds: 255 is the encoding of a timer that is off.
MOST_TICKS = 254


@dataclass
class Retiming:
    """The schedule at one MSL: the largest TIME-WAIT at which it still ends in an old duplicate."""

    msl: int
    time_wait: int | None  # None: at no TIME-WAIT from 0 to MOST_TICKS
    path: list[Label]  # that run, ticks expanded, as the explicit engine took it
    message: str  # the explicit engine's account of the old duplicate at the end
    queries: int
    seconds: float


@dataclass
class SmtDerivation:
    """The explicit sweep at the configuration's MSL, and the schedule retimed by Z3 for every MSL."""

    explicit: Derivation
    msls: range
    rows: list[Retiming]
    steps: int  # the schedule's length in relation steps (each run of ticks: at most two)
    compile_seconds: float
    seconds: float
    proof: BoundProof | None = None  # with ``prove``: the bound proved by Z3 at the configuration's MSL

    @property
    def config(self) -> Config:
        return self.explicit.config

    @property
    def schedule(self) -> list[Label]:
        below = self.explicit.below
        assert below is not None and below.result.counterexample is not None
        return [label for _, label in below.result.counterexample.path]


@dataclass
class BoundProof:
    """The derived TIME-WAIT and every longer one (to :data:`MOST_TICKS`) at the configuration's MSL, proved by Z3."""

    time_wait: int  # the shortest TIME-WAIT proved
    results: list[Result]
    states: int
    seconds: float
    why_not: str | None = None  # the reachable states could not serve (the proof was not tried)

    @property
    def proved(self) -> bool:
        return self.why_not is None and all(r.verdict == PROVED for r in self.results)


#: What the bound is proved for: the property it is derived from, and the one TIME-WAIT exists for.
BOUND_PROPERTIES = (NO_OLD_DUPLICATES, GRACEFUL_CLOSE)


class LingeringTimeWait(Machine):
    """The spec's machine, with TIME-WAIT free to last longer than it is set to: a proposal of states, not a spec.

    At a tick where a TIME-WAIT timer has run out, that timer may expire as set, or go on waiting for a later
    tick (each endpoint in TIME-WAIT either way).  Its reachable states are those of every TIME-WAIT from the
    configured duration up at once, each with the TIME-WAIT timer read as the ticks left of the configured
    duration (0 once they have passed): :func:`prove_time_wait` checks them against the relation whose TIME-WAIT
    is any duration from that one up.
    """

    def successors(self, world: World) -> list[Transition]:
        out = super().successors(world)
        done = [side for side in (A, B) if world.endpoint(side).state is TIME_WAIT and world.endpoint(side).timer == 0]
        if not done or not self._tick_enabled(world):
            return out
        for k in range(1, len(done) + 1):
            for waiting in itertools.combinations(done, k):
                later = world
                for side in waiting:  # one tick more on the clock: this tick counts it down, not out
                    later = _with_endpoint(later, side, later.endpoint(side)._replace(timer=1))
                tick = self._tick(later)
                mask = sum(1 << side for side in waiting)  # the label's choice tells this tick from the plain one
                out.append(tick._replace(label=tick.label._replace(choice=mask)))
        return out


def _time_left(rel: Relation, ticks: int) -> list[z3.ExprRef]:
    """The relation's leaves, each TIME-WAIT timer read as :class:`LingeringTimeWait` reads it.

    With TIME-WAIT set to ``rel.time_wait`` (a parameter) and ``t`` ticks left, ``rel.time_wait - t`` have passed:
    the timer of a TIME-WAIT set to ``ticks`` would show ``ticks`` minus that, or 0 once it has run out.
    """
    names = leaf_names(rel)
    leaves: list[z3.ExprRef] = [t.e for t in rel.cur.world.leaves()]
    tw = rel.time_wait.e
    for side, ep in (("A", rel.cur.world.a), ("B", rel.cur.world.b)):
        i = names.index(f"{side}.timer")
        timer = leaves[i]
        assert isinstance(timer, z3.BitVecRef)
        passed = tw - timer
        left = z3.If(z3.UGE(passed, ticks), z3.BitVecVal(0, timer.size()), z3.BitVecVal(ticks, timer.size()) - passed)
        leaves[i] = z3.If(z3.And((ep.state == int(TIME_WAIT)).e, z3.ULE(timer, tw)), left, timer)
    return leaves


def prove_bound(explicit: Derivation) -> BoundProof | None:
    """Prove, by Z3, that the explicit sweep's bound and every longer TIME-WAIT are safe at its MSL."""
    bound = explicit.bound
    return None if bound is None else prove_time_wait(bound.config, bound.ticks)


def prove_time_wait(config: Config, ticks: int) -> BoundProof:
    """Prove :data:`BOUND_PROPERTIES` of ``config`` at its MSL for every TIME-WAIT of ``ticks`` or more, by Z3.

    The relation has TIME-WAIT as a parameter, assumed at least ``ticks``, and MSL fixed to the configuration's;
    the invariant is the set of states of :class:`LingeringTimeWait` (TIME-WAIT set to ``ticks``), each TIME-WAIT
    timer read through :func:`_time_left` (induction with the reachable states as the invariant,
    :mod:`checks.reachset`).
    """
    start = time.perf_counter()
    config = dataclasses.replace(config, time_wait=ticks)
    assert config.msl is not None
    exploration = explore(config, max_states=MAX_STATES, machine=LingeringTimeWait(config))
    if exploration.stop_reason or not exploration.complete:
        why = f"the explicit search did not list every state: {exploration.stop_reason or 'incomplete rules'}"
        return BoundProof(ticks, [], len(exploration.states), time.perf_counter() - start, why)
    longest = max(max(len(w.ab), len(w.ba)) for w in exploration.states)
    rel = Relation(config, Bounds.for_config(config, max(1, longest)), symbolic_timing=True)
    assume = [rel.msl.e == config.msl, z3.UGE(rel.time_wait.e, ticks), z3.ULE(rel.time_wait.e, MOST_TICKS)]
    try:
        proof = prove_reach(
            rel, BOUND_PROPERTIES, exploration=exploration, assume=assume, leaves=_time_left(rel, ticks)
        )
    except ReachError as err:
        return BoundProof(ticks, [], len(exploration.states), time.perf_counter() - start, str(err))
    return BoundProof(ticks, proof.results, proof.states, time.perf_counter() - start)


def parse_msl_range(text: str) -> range:
    """``"1..16"`` or ``"4"``: MSL values in ticks, from 1 to 64 (three MSL fit in TIME-WAIT's 254 ticks)."""
    low, dots, high = text.partition("..")
    try:
        lo, hi = int(low), int(high if dots else low)
    except ValueError:
        raise ConfigError(f"--msl: give ticks as N or LOW..HIGH (such as 1..16), not {text!r}") from None
    if not 1 <= lo <= hi <= 64:
        raise ConfigError(f"--msl: MSL from 1 to 64 ticks, the low end first, not {text!r}")
    return range(lo, hi + 1)


def derive_time_wait_smt(
    config: Config,
    msls: range = DEFAULT_MSL,
    limits: Limits | None = None,
    up_to: int = DEFAULT_UP_TO,
    progress: Callable[[Retiming], None] | None = None,
    prove: bool = False,
) -> SmtDerivation:
    """Derive, for every MSL in ``msls``, the largest TIME-WAIT at which an old duplicate still gets in.

    With ``prove``, Z3 also proves the explicit sweep's bound at the configuration's own MSL (:func:`prove_bound`).
    """
    start = time.perf_counter()
    explicit = derive_time_wait(config, up_to, limits)
    below = explicit.below
    if explicit.bound is None or below is None or below.result.counterexample is None:
        return SmtDerivation(explicit, msls, [], 0, 0.0, time.perf_counter() - start)
    schedule = [label for _, label in below.result.counterexample.path]
    rel = Relation(config, symbolic_timing=True)
    solver, frames = _unrolled(rel, _taken_branches(rel, below.config, schedule))
    rows = []
    for m in msls:
        row = _retime(rel, solver, frames, m)
        if m == config.msl and row.time_wait != below.ticks:
            raise EngineDisagreement(
                f"at MSL = {m} the explicit sweep's last violated TIME-WAIT is {below.ticks} ticks, "
                f"Z3's along its schedule {row.time_wait}"
            )
        rows.append(row)
        if progress is not None:
            progress(row)
    proof = prove_bound(explicit) if prove else None
    return SmtDerivation(explicit, msls, rows, len(frames) - 1, rel.compile_seconds, time.perf_counter() - start, proof)


def _taken_branches(rel: Relation, below: Config, schedule: Sequence[Label]) -> list[int]:
    """The branch of the relation that takes each step of the explicit run (a tick: a wait of none, then a tick).

    Each is found by Z3 on that one step, both states fixed to the explicit engine's, the parameters to the
    run's MSL and TIME-WAIT.
    """
    machine = Machine(below, rel.machine.rules)
    assert below.msl is not None
    fixed = [rel.msl.e == below.msl, rel.time_wait.e == below.time_wait_ticks]
    out: list[int] = []
    world = machine.initial()
    for i, label in enumerate(schedule):
        nxt = machine.step(world, label).target
        kinds = [("wait", world), ("tick", nxt)] if label.kind == "tick" else [(label.kind, nxt)]
        for kind, after in kinds:
            solver = z3.SolverFor("QF_BV")
            solver.add(*fixed, rel.formula(), equals(rel.cur.world, SymWorld.of(world, rel.bounds)))
            solver.add(z3.Or(*[rel.selects(k) for k, b in enumerate(rel.branches) if _same(b, kind, label)]))
            out.append(_branch_to(rel, solver, after, i))
            world = after
    return out


def _branch_to(rel: Relation, solver: z3.Solver, after: World, i: int) -> int:
    """A branch the solver's step can take to ``after`` (the slots beyond a channel's length may differ)."""
    while solver.check() == z3.sat:
        model = solver.model()
        if rel.nxt.world.to_world(model_value(model), rel.config.reorder) == after:
            return int(model.eval(rel.cur.ev).as_long())
        solver.add(rel.cur.ev != model.eval(rel.cur.ev))
    raise EngineDisagreement(f"step {i + 1} of the explicit run: no branch of Z3's relation takes it")


def _same(b: Branch, kind: str, label: Label) -> bool:
    if kind == "wait":
        return b.kind == "wait"
    return (b.kind, b.actor, b.channel) == (label.kind, label.actor, label.channel)


def _unrolled(rel: Relation, plan: Sequence[int]) -> tuple[z3.Solver, list[Frame]]:
    """A solver holding the schedule on the relation: each step taken by the branch that took it."""
    too_big, stuck = overflow(rel), rules_problem(rel)
    formula, where = SYMBOLIC[NO_OLD_DUPLICATES]
    assert where == "transition"  # a violation on the step leaving the frame (checks.bmc._at_depth)
    violation = formula(rel)
    solver = z3.SolverFor("QF_BV")
    frames = [rel.frame(0)]
    solver.add(rel.initial(frames[0]), z3.ULE(rel.time_wait.e, MOST_TICKS))
    for i, k in enumerate(plan):
        f, g = frames[i], rel.frame(i + 1)
        solver.add(f.ev == k)
        solver.add(z3.Not(rel.on_frame(too_big, f)), z3.Not(rel.on_frame(stuck, f)))
        solver.add(rel.step(f, g))
        frames.append(g)
    solver.add(rel.on_frame(violation, frames[-2]))
    return solver, frames


def _retime(rel: Relation, solver: z3.Solver, frames: list[Frame], m: int) -> Retiming:
    """The largest TIME-WAIT at which the schedule runs at MSL ``m``: each run found asks for a longer one,
    until none is left (one unsatisfiable query: every TIME-WAIT above the answer is excluded)."""
    start = time.perf_counter()
    msl, tw = rel.msl.e, rel.time_wait.e
    queries = 0
    model: z3.ModelRef | None = None

    def admits(least: int) -> z3.ModelRef | None:
        nonlocal queries
        queries += 1
        answer = solver.check(msl == m, z3.UGE(tw, least))
        if answer == z3.unknown:
            raise RuntimeError(f"z3 answered unknown: {solver.reason_unknown()}")
        return solver.model() if answer == z3.sat else None

    model = admits(0)
    if model is None:
        return Retiming(m, None, [], "", queries, time.perf_counter() - start)
    best = model.eval(tw, model_completion=True).as_long()
    while best < MOST_TICKS and (found := admits(best + 1)) is not None:
        model, best = found, found.eval(tw, model_completion=True).as_long()
    path, message = _replay(rel, model, frames, m, best)
    return Retiming(m, best, path, message, queries, time.perf_counter() - start)


def _replay(rel: Relation, model: z3.ModelRef, frames: list[Frame], m: int, tw: int) -> tuple[list[Label], str]:
    """Z3's run, replayed on the explicit engine at MSL ``m`` and TIME-WAIT ``tw`` (each wait expanded into its
    ticks): its labels, and the explicit engine's account of the old duplicate at the end."""
    config = dataclasses.replace(rel.config, msl=m, time_wait=tw)
    machine = Machine(config, rel.machine.rules)
    value: Any = model_value(model)
    worlds = [machine.initial()]
    for f, g in itertools.pairwise(frames):
        if rel.branches[model.eval(f.ev).as_long()].kind == "wait":
            for _ in range(value(f.idx)):
                ticks = [t.target for t in machine.successors(worlds[-1]) if t.label.kind == "tick"]
                if not ticks:
                    raise EngineDisagreement(f"at MSL = {m}: the explicit engine cannot tick where Z3 waits")
                worlds.append(ticks[0])
        else:
            worlds.append(g.world.to_world(value, config.reorder))
    steps = replay(machine, worlds)  # raises EngineDisagreement where the explicit engine has no such step
    observer = OldDuplicateObserver()
    observer.on_transition(len(worlds) - 2, worlds[-2], steps[-1], len(worlds) - 1)
    if observer.violation is None:
        raise EngineDisagreement(
            f"at MSL = {m}, TIME-WAIT = {tw}: the explicit engine sees no old duplicate at the end"
        )
    return [t.label for t in steps], observer.violation[3]


def _in_msl(ticks: int, msl: int) -> str:
    m = Fraction(ticks, msl)
    return f"{m} MSL" if m.denominator == 1 else f"{float(m):.3g} MSL"


def _law(rows: Sequence[Retiming], plus: int = 0) -> str | None:
    """``"2*MSL - 1"`` (say) when one line ``a*MSL + b`` gives every row's answer (plus ``plus``)."""
    found = [(r.msl, r.time_wait + plus) for r in rows if r.time_wait is not None]
    if len(found) < len(rows) or not found:
        return None
    if len(found) == 1:
        return str(found[0][1])
    (m0, t0), (m1, t1) = found[0], found[1]
    if m1 == m0 or (t1 - t0) % (m1 - m0):
        return None
    a = (t1 - t0) // (m1 - m0)
    b = t0 - a * m0
    if any(t != a * m + b for m, t in found):
        return None
    return f"{a}*MSL" + (f" + {b}" if b > 0 else f" - {-b}" if b < 0 else "")


def derivation_smt_text(d: SmtDerivation) -> str:
    """The explicit sweep in one line, the schedule, one line per MSL, and what is shown and what is not."""
    config, explicit = d.config, d.explicit
    assert config.msl is not None
    rto = "any moment" if config.rto is None else ticks_text(config.rto)
    lines = [
        f"{config.name}: {config.description}",
        f"  engine smt: MSL and TIME-WAIT are 8-bit parameters; MSL = {d.msls.start}..{d.msls.stop - 1} ticks, "
        f"RTO = {rto}",
    ]
    sweep = ", ".join(f"{a.ticks} {a.result.verdict}" for a in explicit.attempts)
    bound, below = explicit.bound, explicit.below
    lines.append(f"  the explicit engine at MSL = {ticks_text(config.msl)}, TIME-WAIT from 0 up: {sweep}")
    if bound is None or below is None or below.result.counterexample is None:
        lines.append("no answer: the explicit sweep found no bound, so there is no schedule for Z3 to retime")
        return "\n".join(lines) + "\n"
    lines += [
        f"  the schedule: its shortest counterexample at TIME-WAIT = {ticks_text(below.ticks)} "
        f"({len(d.schedule)} steps). Z3 keeps its events in order,",
        f"  lets every run of ticks last any number of ticks ({d.steps} steps of the relation, one solver for "
        "every MSL),",
        "  and asks for each MSL the longest TIME-WAIT at which the schedule still ends with an old duplicate "
        "accepted:",
        "    MSL  longest TIME-WAIT with an old duplicate   run (explicit engine)  queries  seconds",
    ]
    for r in d.rows:
        if r.time_wait is None:
            lines.append(f"  {r.msl:>5}  none from 0 to {MOST_TICKS} ticks")
            continue
        tw = f"{ticks_text(r.time_wait)} = {_in_msl(r.time_wait, r.msl)}"
        lines.append(f"  {r.msl:>5}  {tw:<40}  {len(r.path):>3} steps  {r.queries:>12}  {r.seconds:>7.1f}")
    law = _law(d.rows)
    span = f"every MSL from {d.msls.start} to {d.msls.stop - 1} ticks"
    if law is not None:
        lines.append(
            f"for {span}: an old duplicate gets in with TIME-WAIT = {law} ticks (each run replayed on the\n"
            f"  explicit engine); along this schedule none does at any longer TIME-WAIT up to {MOST_TICKS} ticks "
            "(Z3: unsatisfiable)"
        )
        lines.append(
            f"so TIME-WAIT must last at least {_law(d.rows, 1)} ticks (RFC 9293 §3.6.1, MUST-13, asks for 2*MSL)"
        )
    else:
        lines.append(
            f"for {span}: the longest TIME-WAIT with an old duplicate is as above (each run replayed on the "
            "explicit engine); no single a*MSL + b gives them all"
        )
    proved = f"EXHAUSTED by the explicit engine for MSL = {ticks_text(config.msl)} ({bound.states:,} states)"
    others = [m for m in d.msls if m != config.msl]
    lines.append(f"that one tick more is enough: {proved}")
    lines.append("  " + _proof_text(d.proof, config.msl))
    if others:
        lines.append(
            "  for the other MSL NOT CHECKED: no proof by induction (the timing facts are not inductive, and the "
            "reachable states,\n  over ten million at MSL = 2, are too many to serve as the invariant)"
        )
    return "\n".join(lines) + "\n"


def _proof_text(proof: BoundProof | None, msl: int) -> str:
    """The line that says whether Z3 proved the bound at the configuration's MSL."""
    if proof is None:
        return (
            f"by Z3 at MSL = {ticks_text(msl)}: NOT CHECKED (--prove: by induction, for it and every longer TIME-WAIT)"
        )
    at = f"at MSL = {ticks_text(msl)}, every TIME-WAIT from {ticks_text(proof.time_wait)} up to {MOST_TICKS}"
    if proof.why_not is not None:
        return f"by Z3 {at}: NOT CHECKED ({proof.why_not})"
    verdicts = ", ".join(f"{r.prop.name} {r.verdict}" for r in proof.results)
    how = f"induction over the {proof.states:,} states of all those durations at once, {proof.seconds:.0f} s"
    return f"by Z3 {at}:\n    {verdicts} ({how})"


def derivation_smt_json(d: SmtDerivation) -> dict[str, Any]:
    """The derivation as one JSON document: the explicit sweep, the schedule, every MSL's answer and run."""
    config, explicit = d.config, d.explicit
    doc: dict[str, Any] = {
        "config": config.name,
        "property": NO_OLD_DUPLICATES.name,
        "engine": "smt",
        "msl_ticks": [d.msls.start, d.msls.stop - 1],
        "rto_ticks": config.rto,
        "explicit": derivation_json(explicit),
        "schedule_steps": len(d.schedule) if explicit.below and explicit.below.result.counterexample else None,
        "relation_steps": d.steps,
        "rows": [],
        "law": _law(d.rows),
        "proof": None
        if d.proof is None
        else {
            "msl_ticks": d.config.msl,
            "time_wait_ticks": d.proof.time_wait,
            "and_longer": True,
            "verdicts": {r.prop.name: r.verdict for r in d.proof.results},
            "states": d.proof.states,
            "not_checked": d.proof.why_not,
        },
        "seconds": round(d.seconds, 3),
    }
    for r in d.rows:
        row: dict[str, Any] = {
            "msl_ticks": r.msl,
            "longest_violated_time_wait_ticks": r.time_wait,
            "queries": r.queries,
        }
        if r.time_wait is not None:
            machine = Machine(dataclasses.replace(config, msl=r.msl, time_wait=r.time_wait))
            row["message"] = r.message
            row["trace"] = [s.to_json() for s in build_trace(machine, [(i + 1, lab) for i, lab in enumerate(r.path)])]
        doc["rows"].append(row)
    return doc
