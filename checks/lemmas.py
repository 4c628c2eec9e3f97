"""Lemmas learned from counterexamples to induction, with the reachable states as a guide.

Houdini (:mod:`checks.induction`) keeps the largest inductive subset of its candidates.  Where the
hand-written families of :mod:`checks.invariants` miss a fact, a counterexample to induction (CTI) -- a
step from a state satisfying every candidate to one that breaks some -- starts in a state that no run
reaches, and Houdini drops what it breaks.  Learning blocks that state instead, as IC3/PDR does: it
generalizes the state to a *cube*, a conjunction of a few field constraints that no reachable state
satisfies, and adds "not cube" to the candidates.  The reachable states come from the explicit engine
and only guide the guess: a lemma is a candidate like any other, and the proof is Z3's -- Houdini's last
query shows every candidate, lemma or not, inductive.  (Had the explicit engine missed a reachable state,
a lemma false there could never be part of an inductive set that holds initially: learning would not end,
but nothing false would be PROVED.)

Generalization, field by field: a constraint ``field = v`` widens to ``field not in F``, F the values
the field takes in the reachable states that match the rest of the cube; with F empty the field goes.
A segment in flight is matched at any position of its channel (several, in their order), a held
segment in either slot (held segments are a set, and z3 may put one in either): what the lemma says of
one slot it says of all.  Whether a CTI's first state is reachable is asked of the reachable states
themselves, not of its cube (which says "at least these segments"); such a state cannot be blocked, and
what its step breaks is dropped, as Houdini would, the step logged.

Lemmas are stored one per line in ``checks/learned/<preset>.txt`` (``tcpspec learn`` writes them), under
a header naming the configuration they were learned for; the ``learned`` family of
:data:`checks.invariants.STRENGTHENING` reads them back when the configuration and the slots match.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations, permutations
from pathlib import Path

import z3

from checks.leaves import guard_formula, guards, leaf_names
from checks.report import write_atomically
from checks.symbolic import Frame, Relation
from checks.symprops import rules_problem
from checks.symstate import OUTCOMES, Bounds, SymWorld, model_value
from spec.config import Config
from spec.machine import World
from spec.states import ACK, FIN, PSH, RST, SYN, URG, TcpState

#: Where the learned lemmas of each preset live.
LEMMA_DIR = Path(__file__).with_name("learned")
CHANNELS = ("A>B", "B>A")  # segments in flight: a list, in order
HELD = ("A.held", "B.held")  # segments held for in-order processing: a set (the slot a segment takes is not kept)
CONTAINERS = CHANNELS + HELD
SEGMENT_FIELDS = ("seq", "ack", "flags", "data", "inc", "age")
_FLAG_NAMES = (("SYN", SYN), ("ACK", ACK), ("FIN", FIN), ("RST", RST), ("PSH", PSH), ("URG", URG))


# --- Cubes: what a lemma excludes ------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """``field`` takes one of ``values`` (``negated``: none of them)."""

    field: str  # a leaf of the state ("A.pc", "B.history[0].state"), or of a segment in a group ("age")
    values: frozenset[int]
    negated: bool = False

    def holds(self, value: int) -> bool:
        return (value in self.values) != self.negated

    def formula(self, term: z3.ExprRef) -> z3.BoolRef:
        eqs = [term == (bool(v) if z3.is_bool(term) else v) for v in sorted(self.values)]
        return z3.Not(z3.Or(*eqs)) if self.negated else z3.Or(*eqs)

    def text(self) -> str:
        shown = _values_text(self.field, self.values)
        if len(self.values) == 1:
            return f"{self.field}{'!=' if self.negated else '='}{shown}"
        return f"{self.field} {'not in' if self.negated else 'in'} {{{shown}}}"


@dataclass(frozen=True)
class Group:
    """A segment in flight on ``channel`` whose fields satisfy ``literals``."""

    channel: str  # "A>B" or "B>A" (in flight), "A.held" or "B.held" (held)
    literals: tuple[Literal, ...]

    def text(self) -> str:
        return f"{self.channel} has [{', '.join(lit.text() for lit in self.literals)}]"


@dataclass(frozen=True)
class Cube:
    """A conjunction: the literals over the state's leaves, and segments in flight (distinct, in channel order)."""

    literals: tuple[Literal, ...]
    groups: tuple[Group, ...] = ()

    def text(self) -> str:
        return " & ".join([lit.text() for lit in self.literals] + [g.text() for g in self.groups])

    def formula(self, leaves: dict[str, z3.ExprRef], channel: int) -> z3.BoolRef:
        """The cube over a frame whose leaves are named (``A.pc``, ``A>B[3].age``, ``A>B.len``...)."""
        parts: list[z3.BoolRef] = []
        for lit in self.literals:
            parts += [guard_formula(g, leaves) for g in guards(lit.field)]
            parts.append(lit.formula(leaves[lit.field]))
        for box in CONTAINERS:
            groups = [g for g in self.groups if g.channel == box]
            if not groups:
                continue

            def at(k: int, g: Group, box: str = box) -> z3.BoolRef:
                fields = [lit.formula(leaves[f"{box}[{k}].{lit.field}"]) for lit in g.literals]
                return z3.And(guard_formula(_slot_guard(box, k), leaves), *fields)

            places = _placements(box, len(groups), _slot_count(box, leaves))
            parts.append(z3.Or(*[z3.And(*[at(k, g) for k, g in zip(ks, groups, strict=True)]) for ks in places]))
        return z3.And(*parts)


def _slot_guard(box: str, k: int) -> tuple[str, int]:
    """Slot ``k`` of a container is in use: a channel longer than k, a held segment present."""
    return (f"{box}[{k}].present", -1) if box in HELD else (f"{box}.len", k)


def _slot_count(box: str, names: Iterable[str]) -> int:
    return sum(1 for n in names if re.fullmatch(rf"{re.escape(box)}\[\d+\]\.seq", n))


def _placements(box: str, groups: int, slots: int) -> list[tuple[int, ...]]:
    """Distinct slots for the groups: in channel order on a channel, any order in a set."""
    return list(combinations(range(slots), groups) if box in CHANNELS else permutations(range(slots), groups))


def _values_text(name: str, values: Iterable[int]) -> str:
    """Values of a field as a reader knows them: state names, outcome names, flag names, runs of numbers."""
    leaf = name.rsplit(".", 1)[-1]
    ordered = sorted(values)
    if leaf == "state":
        return ",".join(TcpState(v).name for v in ordered)
    if leaf == "outcome":
        return ",".join(OUTCOMES[v].name for v in ordered)
    if leaf == "flags":
        return ",".join("|".join(n for n, bit in _FLAG_NAMES if v & bit) or "none" for v in ordered)
    runs: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(str(ordered[i]) if i == j else f"{ordered[i]}..{ordered[j]}")
        i = j + 1
    return ",".join(runs)


def _parse_values(name: str, text: str) -> frozenset[int]:
    leaf = name.rsplit(".", 1)[-1]
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if leaf == "state":
            out.add(int(TcpState[part]))
        elif leaf == "outcome":
            out.add(OUTCOMES.index(next(o for o in OUTCOMES if o.name == part)))
        elif leaf == "flags":
            flags = dict(_FLAG_NAMES)
            out.add(0 if part == "none" else sum(flags[f] for f in part.split("|")))
        elif ".." in part:
            low, high = part.split("..")
            out.update(range(int(low), int(high) + 1))
        else:
            out.add(int(part))
    return frozenset(out)


_LITERAL = re.compile(
    r"^(?P<field>[\w.\[\]>]+?)(?:(?P<op>!=|=)(?P<one>[^{}]+)| (?P<neg>not in|in) \{(?P<many>[^}]*)\})$"
)


def parse_literal(text: str) -> Literal:
    m = _LITERAL.match(text.strip())
    if m is None:
        raise ValueError(f"not a literal: {text!r}")
    name = m["field"]
    if m["op"]:
        return Literal(name, _parse_values(name, m["one"]), m["op"] == "!=")
    return Literal(name, _parse_values(name, m["many"]), m["neg"] == "not in")


def parse_cube(text: str) -> Cube:
    """The cube of :meth:`Cube.text`."""
    literals, groups = [], []
    for part in re.split(r" & (?![^\[]*\])", text.strip()):
        g = re.match(r"^(A>B|B>A|A\.held|B\.held) has \[(.*)\]$", part)
        if g:
            inner = [p for p in re.split(r", (?![^{]*\})", g[2]) if p]
            groups.append(Group(g[1], tuple(parse_literal(p) for p in inner)))
        else:
            literals.append(parse_literal(part))
    return Cube(tuple(literals), tuple(groups))


# --- The reachable states, indexed for matching cubes ----------------------------------------------


class ReachIndex:
    """The reachable states as bitsets (one bit a state): which states a cube matches, in a few big-int ANDs."""

    def __init__(self, names: Sequence[str], rows: Sequence[Sequence[int]]) -> None:
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(names)}
        self.all = (1 << len(rows)) - 1
        self.eq: list[dict[int, int]] = [{} for _ in names]
        for r, row in enumerate(rows):
            bit = 1 << r
            for i, v in enumerate(row):
                d = self.eq[i]
                d[v] = d.get(v, 0) | bit
        self._longer: dict[tuple[str, int], int] = {}

    def _where(self, name: str, lit: Literal) -> int:
        """The states where the leaf ``name`` satisfies ``lit``."""
        d = self.eq[self.index[name]]
        hit = 0
        for v in lit.values:
            hit |= d.get(v, 0)
        return self.all & ~hit if lit.negated else hit

    def _guard(self, guard: tuple[str, int]) -> int:
        leaf, k = guard
        if k < 0:
            return self.eq[self.index[leaf]].get(1, 0)
        if guard not in self._longer:
            d = self.eq[self.index[leaf]]
            self._longer[guard] = sum(bits for v, bits in d.items() if v > k)
        return self._longer[guard]

    def literal(self, lit: Literal) -> int:
        rows = self._where(lit.field, lit)
        for g in guards(lit.field):
            rows &= self._guard(g)
        return rows

    def group_at(self, g: Group, k: int) -> int:
        rows = self._guard(_slot_guard(g.channel, k))
        for lit in g.literals:
            rows &= self._where(f"{g.channel}[{k}].{lit.field}", lit)
        return rows

    def groups(self, groups: Sequence[Group]) -> int:
        """States with distinct slots matching each group (in channel order on a channel)."""
        rows = self.all
        for box in CONTAINERS:
            mine = [g for g in groups if g.channel == box]
            if not mine:
                continue
            slots = _slot_count(box, self.names)
            if box in HELD:  # a set of a few slots: every placement
                found = 0
                for ks in _placements(box, len(mine), slots):
                    hit = self.all
                    for k, g in zip(ks, mine, strict=True):
                        hit &= self.group_at(g, k)
                    found |= hit
                rows &= found
                continue
            # ok[k]: the groups so far match at slots up to k, the last one at k
            ok = [self.group_at(mine[0], k) for k in range(slots)]
            for g in mine[1:]:
                before, nxt = 0, []
                for k in range(slots):
                    nxt.append(before & self.group_at(g, k))
                    before |= ok[k]
                ok = nxt
            any_k = 0
            for bits in ok:
                any_k |= bits
            rows &= any_k
        return rows

    def matches(self, cube: Cube) -> int:
        rows = self.all
        for lit in cube.literals:
            rows &= self.literal(lit)
            if not rows:
                return 0
        return rows & self.groups(cube.groups) if cube.groups else rows

    def field_values(self, box: str, fld: str) -> list[int]:
        out: set[int] = set()
        for k in range(_slot_count(box, self.names)):
            out.update(self.eq[self.index[f"{box}[{k}].{fld}"]])
        return sorted(out)


def state_cube(names: Sequence[str], values: Sequence[int]) -> Cube:
    """The cube of one state: every leaf in use equal to its value, every segment in flight or held one group."""
    value = dict(zip(names, values, strict=True))
    literals = []
    for n in names:
        if n == "overflow" or re.match(r"^(A>B|B>A)\[|^[AB]\.held\[", n):
            continue
        if all((value[g] if k < 0 else value[g] > k) for g, k in guards(n)):
            literals.append(Literal(n, frozenset({value[n]})))
    groups = []
    for box in CONTAINERS:
        for k in range(_slot_count(box, names)):
            leaf, above = _slot_guard(box, k)
            if value[leaf] if above < 0 else value[leaf] > above:
                fields = tuple(Literal(f, frozenset({value[f"{box}[{k}].{f}"]})) for f in SEGMENT_FIELDS)
                groups.append(Group(box, fields))
    return Cube(tuple(literals), tuple(groups))


def generalize(cube: Cube, reach: ReachIndex) -> Cube:
    """A cube no reachable state matches, as general as greedy widening makes it.

    First whole segments go (while no reachable state matches without them), then each constraint widens
    to "none of the values the reachable states matching the rest have", or goes if there are none.
    """
    if reach.matches(cube):
        raise ValueError("a reachable state matches the cube: nothing to learn")
    groups = list(cube.groups)
    k = 0
    while k < len(groups):
        trial = groups[:k] + groups[k + 1 :]
        if not reach.matches(Cube(cube.literals, tuple(trial))):
            groups = trial
        else:
            k += 1
    literals = list(cube.literals)
    for i in range(len(groups)):
        for j in range(len(groups[i].literals)):
            g = groups[i]
            lit = g.literals[j]
            forbidden = []
            for v in reach.field_values(g.channel, lit.field):
                probe = Group(g.channel, g.literals[:j] + (Literal(lit.field, frozenset({v})),) + g.literals[j + 1 :])
                if reach.matches(Cube(tuple(literals), tuple(groups[:i] + [probe] + groups[i + 1 :]))):
                    forbidden.append(v)
            widened = Literal(lit.field, frozenset(forbidden), negated=True)
            groups[i] = Group(g.channel, g.literals[:j] + (widened,) + g.literals[j + 1 :])
    groups = [Group(g.channel, tuple(lit for lit in g.literals if lit.values)) for g in groups]
    for i in reversed(range(len(literals))):
        lit = literals[i]
        rest = Cube(tuple(literals[:i] + literals[i + 1 :]), tuple(groups))
        rows = reach.matches(rest)
        if not rows:
            del literals[i]
            continue
        forbidden = [v for v, bits in reach.eq[reach.index[lit.field]].items() if bits & rows & _allguards(reach, lit)]
        if forbidden:  # (else the field's slot is in use in no state matching the rest: keep it as it is)
            literals[i] = Literal(lit.field, frozenset(forbidden), negated=True)
    result = Cube(tuple(literals), tuple(groups))
    assert not reach.matches(result)
    return result


def _allguards(reach: ReachIndex, lit: Literal) -> int:
    """The states where the literal's field is in use."""
    return reach.literal(Literal(lit.field, frozenset(), negated=True))


# --- Lemma files -------------------------------------------------------------------------------------


def fingerprint(config: Config, bounds: Bounds) -> str:
    """What a lemma file was learned for: the configuration (all of it) and the slots."""
    return hashlib.sha256(f"{config!r} {bounds!r}".encode()).hexdigest()[:16]


def lemma_path(config: Config) -> Path:
    return LEMMA_DIR / f"{config.name}.txt"


def _lines(config: Config, bounds: Bounds) -> list[str]:
    """The lemma file's lines, if it was learned for this configuration and these slots."""
    path = lemma_path(config)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return lines if f"# fingerprint: {fingerprint(config, bounds)}" in lines else []


def load(config: Config, bounds: Bounds) -> list[Cube]:
    """The cubes learned for this configuration and these slots ([] if none, or learned for others)."""
    return [parse_cube(line.removeprefix("not ")[1:-1]) for line in _lines(config, bounds) if line.startswith("not (")]


def inductive(config: Config, bounds: Bounds) -> bool:
    """Whether learning ended with the candidates and the stored lemmas inductive together."""
    return any(line.startswith("# inductive: yes") for line in _lines(config, bounds))


def set_aside(config: Config, bounds: Bounds) -> frozenset[str]:
    """The candidates learning set aside: false in a reachable state, so in no inductive set (not worth a query)."""
    for line in _lines(config, bounds):
        if line.startswith("# set aside:"):
            return frozenset(line.removeprefix("# set aside:").split())
    return frozenset()


def save(
    config: Config, bounds: Bounds, cubes: Sequence[Cube], note: str, aside: Iterable[str] = (), inductive: bool = False
) -> Path:
    path = lemma_path(config)
    path.parent.mkdir(exist_ok=True)
    head = [
        f"# Lemmas learned for the preset {config.name} by `tcpspec learn` (checks/lemmas.py): each line says",
        "# a cube of field values that no reachable state has; Houdini proves them inductive with the rest.",
        f"# slots: {bounds.describe()}",
        f"# fingerprint: {fingerprint(config, bounds)}",
        f"# {note}",
        "# set aside: " + " ".join(sorted(aside)),
        f"# inductive: {'yes' if inductive else 'not yet'} (candidates and lemmas, when learning stopped)",
    ]
    write_atomically(path, "\n".join(head + [f"not ({c.text()})" for c in cubes]) + "\n")
    return path


def learned(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
    """The stored lemmas of ``rel``'s configuration, as formulas over ``w`` (the ``learned`` family)."""
    cubes = load(rel.config, rel.bounds)
    if not cubes:
        return []
    leaves = dict(zip(leaf_names(rel), (t.e for t in w.leaves()), strict=True))
    return [(str(k), z3.Not(c.formula(leaves, rel.bounds.channel))) for k, c in enumerate(cubes, 1)]


# --- Learning ------------------------------------------------------------------------------------------

#: After a CTI, the same solver is asked for the next one (the lemma added) as long as it answers in this
#: time: an incremental check is often quick, a fresh solver's first check takes its time to bit-blast.
QUICK_SECONDS = 3.0


@dataclass
class LearnRun:
    """What one run of learning did."""

    cubes: list[Cube]
    rounds: int = 0
    inductive: bool = False  # the last query found no CTI: every candidate, lemmas included, is inductive
    dropped: list[str] = field(default_factory=list)  # broken by a step from a reachable state
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)


def learn(
    rel: Relation,
    rows: Sequence[Sequence[int]],
    candidates: Sequence[tuple[str, z3.BoolRef]],
    *,
    reachable: frozenset[World] = frozenset(),
    excluded: Sequence[tuple[str, z3.BoolRef]] = (),
    known: Sequence[Cube] = (),
    seconds: float | None = None,
    report: Callable[[str], None] | None = None,
    store: Callable[[list[Cube]], None] | None = None,
) -> LearnRun:
    """Learn lemmas until the candidates and the lemmas are inductive together (or ``seconds`` run out).

    ``rows`` are the reachable states' leaf values (:func:`leaf_values`), ``reachable`` the states themselves
    (to tell a reachable CTI state exactly: a cube says "at least these segments"); ``candidates`` must hold in each,
    so a CTI's state is never reachable, and is blocked rather than a candidate dropped.  ``excluded`` are
    state formulas no reachable state satisfies (a deadlock), checked against the set instead of joining
    it (:data:`checks.symprops.IMPLIED`): a state of the set that satisfies one is blocked too.  ``store``
    is called with the cubes after each new one.
    """
    start = time.perf_counter()
    names = leaf_names(rel)
    reach = ReachIndex(names, rows)
    run = LearnRun(list(known))
    tmpl = dict(zip(names, (t.e for t in rel.cur.world.leaves()), strict=True))

    def lemma(cube: Cube) -> z3.BoolRef:
        return z3.Not(cube.formula(tmpl, rel.bounds.channel))

    def solver() -> z3.Solver:
        s = z3.SolverFor("QF_BV")
        if seconds is not None:
            s.set("timeout", max(1, int((seconds - (time.perf_counter() - start)) * 1000)))
        return s

    facts = list(candidates) + [(f"learned[{k}]", lemma(c)) for k, c in enumerate(run.cubes, 1)]
    f0, f1 = rel.frame(0), rel.frame(1)
    step = [rel.step(f0, f1), z3.Not(rel.on_frame(rules_problem(rel), f0))]
    while seconds is None or time.perf_counter() - start < seconds:
        run.rounds += 1
        began = time.perf_counter()
        query = solver()
        query.add(*step, *[rel.on_frame(f, f0) for _, f in facts])
        after = [rel.on_frame(f, f1) for _, f in facts]
        query.add(z3.Or(*[z3.Not(a) for a in after]))
        answer = query.check()

        checked = list(zip(facts, after, strict=True))  # what a CTI of this query may break
        broken: list[str] = []
        if answer == z3.sat:  # a CTI
            model = query.model()
            broken = _broken(checked, model)
        elif answer == z3.unsat:  # inductive: does a state of the set satisfy an excluded formula?
            for name, bad in excluded:
                query = solver()
                query.add(*[rel.on_frame(f, f0) for _, f in facts], rel.on_frame(bad, f0))
                answer = query.check()
                if answer != z3.unsat:
                    broken = [name]
                    break
            if answer == z3.unsat:
                run.inductive = True
                break
            if answer == z3.sat:
                model = query.model()
                checked = []
        if answer == z3.unknown:  # out of time
            break
        # Block the state; then, while the same solver answers quickly, the next one (with the lemmas so far).
        while True:
            values = [_model_int(model, x) for x in f0.leaves()]
            state = state_cube(names, values)
            if _world(f0, model, rel) in reachable:
                # A reachable state (as the explicit engine encodes it) steps out of a fact: as Houdini does,
                # drop what broke -- it depends on what the encoding leaves free (a slot not in use).
                run.dropped += broken
                facts = [(n, f) for n, f in facts if n not in broken]
                line = f"query {run.rounds}: from a reachable state, a step breaks {', '.join(broken)}: dropped"
                if checked:  # the step, for whoever wants to see why
                    line += f"\n  before: {_world(f0, model, rel)}\n  after:  {_world(f1, model, rel)}"
                run.log.append(line)
                if report is not None:
                    report(line)
                break
            cube = generalize(state, reach)
            run.cubes.append(cube)
            facts.append((f"learned[{len(run.cubes)}]", lemma(cube)))
            line = f"query {run.rounds} ({time.perf_counter() - began:.1f} s) broke {', '.join(broken[:2])}"
            line += f"{' ...' if len(broken) > 2 else ''}: learned not ({cube.text()})"
            run.log.append(line)
            if report is not None:
                report(line)
            if store is not None:
                store(run.cubes)
            left = QUICK_SECONDS if seconds is None else min(QUICK_SECONDS, seconds - (time.perf_counter() - start))
            if left <= 0:
                break
            query.add(rel.on_frame(facts[-1][1], f0))
            query.set("timeout", int(left * 1000))
            began = time.perf_counter()
            if query.check() != z3.sat:
                break
            run.rounds += 1
            model = query.model()
            broken = _broken(checked, model) if checked else broken
    run.seconds = time.perf_counter() - start
    return run


def _world(f: Frame, model: z3.ModelRef, rel: Relation) -> World | None:
    """The frame's state in the model, as the explicit engine keeps it (None: a field outside its domain)."""
    try:
        return f.world.to_world(model_value(model), rel.config.reorder)
    except (ValueError, IndexError):
        return None


def _broken(checked: Sequence[tuple[tuple[str, z3.BoolRef], z3.ExprRef]], model: z3.ModelRef) -> list[str]:
    """The facts a CTI's next state falsifies."""
    return [name for (name, _), after in checked if z3.is_false(model.eval(after, model_completion=True))]


def _model_int(model: z3.ModelRef, x: z3.ExprRef) -> int:
    v = model.eval(x, model_completion=True)
    return int(z3.is_true(v)) if z3.is_bool(v) else v.as_long()
