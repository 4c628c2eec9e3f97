"""The spin engine: SPIN checks the generated Promela model, and its trails are replayed here.

``run_spin`` writes the model of :mod:`checks.promela` into a temporary directory,
runs ``spin -a``, compiles ``pan`` with gcc (without partial-order reduction:
one process, so there is nothing to reduce, and the state counts compare
exactly), and runs it once per violated property.  A trail is turned back into
the explicit engine's transitions -- each step of the trail names the guarded
command taken, and so the branch, the channel slot and the ISS -- and printed in
the project's trace format.  A bounds overflow (more segments in flight than
the model has slots) makes it try again with twice the slots.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from checks.bmc import EngineDisagreement, counterexample_of
from checks.liveness import fair_class, unfair_classes
from checks.promela import CHECKED, Option, PromelaModel, generate
from checks.promela_liveness import LIVENESS, generate_liveness, property_bit
from checks.properties import (
    CLOSES,
    EXHAUSTED,
    PARTIAL,
    UNKNOWN,
    VIOLATED,
    Counterexample,
    Property,
    Result,
    closes_goal,
    closes_premise,
    establishes_goal,
    establishes_premise,
)
from checks.report import Run
from checks.symbolic import Relation
from checks.symstate import Bounds
from spec.config import Config
from spec.machine import NET, AmbiguousRules, IncompleteRules, Label, Machine, World
from spec.rules import Rule

#: gcc's flags for pan (the optimization level is chosen apart: -O0 compiles the large models 4x faster).
CFLAGS = ("-fwrapv", "-w")
#: How pan may store the states it has seen: each state whole, each state's components once
#: (-DCOLLAPSE), or a few bits per state in a hash array (-DBITSTATE: a partial search).
STORES = {"exact": (), "collapse": ("-DCOLLAPSE",), "bitstate": ("-DBITSTATE",)}
#: log2 of the bits in the bitstate hash array (-w): 2**32 bits = 512 MB.
BITSTATE_BITS = 32
MAX_SLOTS = 32
#: Segments per channel of the model when the configuration sets no capacity (doubled while they overflow).
SPIN_SLOTS = 8
#: What SPIN checks: the safety model's properties, then the liveness model's.
SPIN_CHECKS: tuple[Property, ...] = CHECKED + LIVENESS
#: pan's depth limit (-m) for the liveness model's nested depth-first search, unless the Search sets one.
LIVENESS_DEPTH = 1_000_000


class SpinUnavailable(RuntimeError):
    """spin or gcc is not installed (the Makefile installs Debian's spin package)."""


@dataclass(frozen=True)
class Search:
    """How pan searches: its state store, its order, and how hard gcc optimizes it.

    -O0 compiles the large models in a quarter of -O2's time, but pan runs about 3x slower: for
    models of millions of states, ``optimize="-O1"`` pays.  Breadth first gives shortest trails;
    depth first (what ``make bench`` times) is pan's faster order.  ``hash_bits`` is pan's -w: the
    bits of the bitstate array (default :data:`BITSTATE_BITS`), else log2 of the hash table's
    slots (default pan's own).
    """

    store: str = "exact"
    optimize: str = "-O0"
    hash_bits: int | None = None
    breadth_first: bool = True
    cores: int = 1  # above 1: pan -DNCORE (its multi-core search is depth first)
    max_depth: int | None = None  # pan's -m (its default is 10,000 steps)

    @property
    def defines(self) -> tuple[str, ...]:
        if self.cores > 1 and self.breadth_first:
            raise ValueError("pan's multi-core search (-DNCORE) is depth first: set breadth_first=False")
        order = ("-DBFS",) if self.breadth_first else ()
        # pan's multi-core store is shared memory reserved up front, 2 GB unless -DMEMLIM says more;
        # one core: pan stops at three quarters of the memory (it reports it), before the kernel kills it
        if self.cores > 1:
            cores: tuple[str, ...] = (f"-DNCORE={self.cores}", f"-DMEMLIM={_memory_mb(1, 2)}")
        else:
            cores = (f"-DMEMLIM={_memory_mb(3, 4)}",)
        return ("-DNOREDUCE", *order, *STORES[self.store], *cores)

    @property
    def bits(self) -> int | None:
        return BITSTATE_BITS if self.hash_bits is None and self.store == "bitstate" else self.hash_bits

    @property
    def args(self) -> tuple[str, ...]:
        table = (f"-w{self.bits}",) if self.bits is not None else ()
        depth = (f"-m{self.max_depth}",) if self.max_depth is not None else ()
        return ("-E", *table, *depth)

    def describe(self) -> str:
        order = "breadth first" if self.breadth_first else "depth first"
        store = {"exact": "", "collapse": ", states collapsed", "bitstate": f", bitstate -w{self.bits}"}
        cores = f", {self.cores} cores" if self.cores > 1 else ""
        return f"{order}, no reduction{store[self.store]}{cores}, gcc {self.optimize}"


def _memory_mb(numerator: int, denominator: int) -> int:
    """A fraction of this machine's physical memory, in MB (pan's -DMEMLIM)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * numerator // denominator // 2**20


#: What pan prints when it stops short of the end, and what that means.
_CUT = {
    "reached -DMEMLIM bound": "out of memory (it may use three quarters of this machine's)",
    "out of memory": "out of memory",
    "max search depth too small": "its depth limit (-m) is too small",
    "Search not completed": "pan says the search was not completed",
}


@dataclass
class PanReport:
    """What one run of pan said."""

    states: int
    transitions: int
    depth: int
    memory_mb: float
    state_mb: float  # "actual memory usage for states": the stored states, compressed as compiled
    seconds: float
    error: str | None  # the assertion pan reports violated
    text: str
    hash_factor: float | None = None  # bitstate: bits in the hash array per state stored (best if > 100)
    accepting: bool = False  # pan -a found an acceptance cycle

    @property
    def complete(self) -> bool:
        """pan searched every state: no error stopped it, and neither its depth limit nor memory did."""
        return self.error is None and not self.accepting and not any(c in self.text for c in _CUT)

    def stopped(self) -> str:
        """Why pan stopped before the end, for an UNKNOWN verdict: its memory, or its depth limit."""
        why = next((why for text, why in _CUT.items() if text in self.text), "an error")
        return f"-- pan stopped before the end ({self.states:,} states): {why}"

    @staticmethod
    def parse(text: str, seconds: float) -> PanReport:
        def number(pattern: str, default: float = 0) -> float:
            m = re.search(pattern, text)
            return float(m.group(1)) if m else default

        m = re.search(r"assertion violated \((.*)\) \(at depth", text)
        factor = re.search(r"hash factor: ([\d.e+]+)", text)
        return PanReport(
            states=int(number(r"([\d.e+]+) states, stored")),
            transitions=int(number(r"([\d.e+]+) transitions \(= stored\+matched\)")),  # 1.12e+08 from 10**8 on
            depth=int(number(r"depth reached (\d+)")),
            memory_mb=number(r"([\d.]+)\s+total actual memory usage"),
            state_mb=number(r"([\d.]+)\s+actual memory usage for states"),
            seconds=seconds,
            error=m.group(1).strip() if m else None,
            text=text,
            hash_factor=float(factor.group(1)) if factor else None,
            accepting=re.search(r"acceptance cycle \(at depth", text) is not None,
        )


def require_tools() -> None:
    missing = [tool for tool in ("spin", "gcc") if shutil.which(tool) is None]
    if missing:
        raise SpinUnavailable(
            f"--engine spin needs {' and '.join(missing)}: apt-get install spin gcc (make bootstrap does it)"
        )


class Pan:
    """A compiled model in a directory of its own."""

    def __init__(self, model: PromelaModel, where: Path, search: Search) -> None:
        require_tools()
        self.model = model
        self.where = where
        start = time.perf_counter()
        (where / "model.pml").write_text(model.text, encoding="utf-8")
        _run(["spin", "-a", "model.pml"], where, "spin -a")
        _run(["gcc", search.optimize, *CFLAGS, *search.defines, "-o", "pan", "pan.c"], where, "gcc")
        self.compile_seconds = time.perf_counter() - start

    def run(self, wanted: int, args: Sequence[str] = ("-E",)) -> PanReport:
        """pan, checking the properties whose bits are in ``wanted``."""
        env = dict(os.environ, TCPSPEC_PROPERTIES=str(wanted))
        (self.where / "model.pml.trail").unlink(missing_ok=True)
        start = time.perf_counter()
        out = subprocess.run(["./pan", *args], cwd=self.where, env=env, capture_output=True, text=True, check=False)
        return PanReport.parse(out.stdout + out.stderr, time.perf_counter() - start)

    def trail(self, wanted: int) -> list[Option]:
        """The guarded commands of the last trail, in order (pan -r replays it)."""
        env = dict(os.environ, TCPSPEC_PROPERTIES=str(wanted))
        out = subprocess.run(["./pan", "-r"], cwd=self.where, env=env, capture_output=True, text=True, check=False)
        steps = []
        for m in re.finditer(r"\[D_STEP(\d+)\]", out.stdout):
            line = int(m.group(1))
            if line in self.model.options:
                steps.append(self.model.options[line])
        return steps

    def lasso(self, wanted: int) -> tuple[list[Option], int | None, int | None]:
        """The guarded commands of the last trail of an acceptance cycle, where its cycle starts
        (an index into them), and where the monitor started (the guess command; None if absent)."""
        env = dict(os.environ, TCPSPEC_PROPERTIES=str(wanted))
        out = subprocess.run(["./pan", "-r"], cwd=self.where, env=env, capture_output=True, text=True, check=False)
        steps: list[Option] = []
        cycle = guess = None
        for line in out.stdout.splitlines():
            if "START OF CYCLE" in line:
                cycle = len(steps)
            m = re.search(r"\[D_STEP(\d+)\]", line)
            if m is None:
                continue
            number = int(m.group(1))
            if number in self.model.options:
                steps.append(self.model.options[number])
            elif number == self.model.guess_line:
                guess = len(steps)
        return steps, cycle, guess


def _run(cmd: list[str], where: Path, what: str) -> None:
    out = subprocess.run(cmd, cwd=where, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed on the generated model:\n{(out.stdout + out.stderr)[-2000:]}")


def label_of(model: PromelaModel, machine: Machine, world: World, option: Option) -> Label:
    """The explicit engine's label for taking ``option`` in ``world``."""
    b = model.relation.branches[option.branch]
    if b.kind in ("segment", "lose", "duplicate"):
        seg = world.channel(b.channel)[option.idx]
        actor = NET if b.kind != "segment" else b.actor
        choice = _choice(machine, world, b.actor, option.iss) if b.kind == "segment" else 0
        return Label(actor, b.kind, b.channel, seg, choice)
    if b.kind == "tick":
        return Label(NET, "tick")
    choice = _choice(machine, world, b.actor, option.iss) if b.actor < 2 else 0
    return Label(b.actor, b.kind, -1, None, choice)


def _choice(machine: Machine, world: World, side: int, iss: int) -> int:
    """The index of ``iss`` among the ISS values the rules may select now (0 when none is selected)."""
    choices = machine.iss_choices(side, world.endpoint(side))
    return choices.index(iss) if iss in choices else 0


def replay(model: PromelaModel, machine: Machine, options: Sequence[Option]) -> list[World]:
    """The worlds along a trail, by the explicit engine's own transitions."""
    return replay_labelled(model, machine, options)[0]


def replay_labelled(
    model: PromelaModel, machine: Machine, options: Sequence[Option]
) -> tuple[list[World], list[Label]]:
    """The worlds along a trail, and the labels of its steps, by the explicit engine's own transitions."""
    worlds = [machine.initial()]
    labels = []
    for i, option in enumerate(options):
        label = label_of(model, machine, worlds[-1], option)
        try:
            worlds.append(machine.step(worlds[-1], label).target)
        except KeyError as err:
            raise EngineDisagreement(f"step {i + 1} of SPIN's trail: {err}") from err
        labels.append(label)
    return worlds, labels


def liveness_counterexample(
    model: PromelaModel, machine: Machine, prop: Property, options: Sequence[Option], cycle: int, guess: int
) -> Result:
    """The fair run SPIN found that never reaches the goal, checked by the explicit engine's own rules.

    ``options`` are the trail's commands, the loop from index ``cycle`` on (none: the run stops);
    the premise held after ``guess`` of them.  The explicit engine replays the run and checks
    what makes it a counterexample: the premise holds where the monitor started, the goal never
    holds after it, and the run stops in a state with no successor, or its loop returns to the
    state it left and is fair (every class enabled in all of its states is taken in it).
    """
    worlds, labels = replay_labelled(model, machine, options)
    if not 0 <= guess <= cycle <= len(options):
        raise EngineDisagreement(f"{prop.name}: SPIN's trail starts its cycle before the premise")
    first = worlds[guess]
    if prop is CLOSES:
        premise = closes_premise(first)
        reached = [closes_goal(w, first.a.inc, first.b.inc) for w in worlds[guess:]]
    else:
        premise = establishes_premise(first)
        reached = [establishes_goal(w) for w in worlds[guess:]]
    if not premise or any(reached):
        raise EngineDisagreement(f"{prop.name}: SPIN's trail does not pass the premise and then avoid the goal")
    path = [(i + 1, label) for i, label in enumerate(labels[:cycle])]
    loop = [(i + 1, label) for i, label in enumerate(labels[cycle:], cycle)]
    if not loop:
        if machine.successors(worlds[-1]):
            raise EngineDisagreement(f"{prop.name}: SPIN's run stops in a state that has successors")
        return Result(prop, VIOLATED, "", Counterexample(path, [], message="the run stops here"))
    if worlds[cycle] != worlds[-1]:
        raise EngineDisagreement(f"{prop.name}: SPIN's cycle does not return to the state it left")
    enabled = [{c for t in machine.successors(w) if (c := fair_class(t.label)) is not None} for w in worlds[cycle:-1]]
    unfair = unfair_classes(enabled, (fair_class(label) for label in labels[cycle:]))
    if unfair:
        raise EngineDisagreement(
            f"{prop.name}: SPIN's cycle never takes {sorted(map(str, unfair))}, enabled all along it"
        )
    return Result(prop, VIOLATED, "", Counterexample(path, loop, message="the run can repeat the loop forever, fairly"))


def counterexample(model: PromelaModel, machine: Machine, prop: Property, options: Sequence[Option]) -> Result:
    """The violation SPIN found, as the explicit engine replays it.

    The trail ends with the step whose assertion failed -- or, where pan leaves that step out,
    just before it: then the violation is the check of the trail's last state, or the successor
    of that state that violates the property.
    """
    worlds = replay(model, machine, options)
    transition = prop.kind == "action"
    if options or not transition:
        try:
            return counterexample_of(machine, prop, worlds, transition, False)
        except EngineDisagreement:
            pass
    try:
        successors = machine.successors(worlds[-1])
    except (AmbiguousRules, IncompleteRules):
        successors = []
    for t in successors:
        try:
            return counterexample_of(machine, prop, [*worlds, t.target], transition, False)
        except EngineDisagreement:
            continue
    raise EngineDisagreement(f"{prop.name}: the explicit engine finds no violation at the end of SPIN's trail")


def run_spin(
    config: Config,
    wanted: Sequence[Property],
    rules: tuple[Rule, ...] | None = None,
    slots: int | None = None,
    search: Search = Search(),
) -> Run:
    """SPIN's check of the properties among ``wanted`` that it checks (:data:`SPIN_CHECKS`), as a :class:`Run`.

    The safety model is searched first (it counts the states, and finds the slots the model
    needs); then the liveness model, once per liveness property.  Exhaustive, except with
    ``search.store == "bitstate"``: then what holds is PARTIAL.
    """
    safety = [p for p in wanted if p in CHECKED]
    live = [p for p in wanted if p in LIVENESS]
    start = time.perf_counter()
    bounds = Bounds.for_config(config, slots or SPIN_SLOTS)
    machine = Machine(config, rules)
    while True:
        relation = Relation(config, bounds, rules=rules, per_state=True)
        model = generate(config, rules, relation=relation)
        with tempfile.TemporaryDirectory(prefix="tcpspec-spin-") as tmp:
            pan = Pan(model, Path(tmp), search)
            outcome = _check(model, machine, pan, safety, search)
        if outcome is not None or config.capacity is not None or bounds.channel >= MAX_SLOTS:
            break
        bounds = Bounds.for_config(config, bounds.channel * 2)  # the slots overflowed: more slots
    if outcome is None:
        results = [Result(p, UNKNOWN, f"-- the model's slots overflowed ({bounds.describe()})") for p in safety + live]
        seconds = time.perf_counter() - start
        return Run(config, machine, results, "spin", seconds, False, "spin: the slots overflowed", {})
    results, reports = outcome
    first = reports[-1]  # the run that searched every state
    live_results: list[Result] = []
    live_line = ""
    live_stats: dict[str, object] = {}
    if live:
        live_results, live_reports, compile_seconds = _check_liveness(
            generate_liveness(config, rules, relation=relation), machine, live, search, first.states
        )
        biggest = max(live_reports, key=lambda r: r.states)
        live_line = (
            f"; liveness model: {biggest.states:,} states stored, {sum(r.seconds for r in live_reports):.2f} s, "
            f"compiled in {compile_seconds:.1f} s"
        )
        live_stats = {"liveness_states": biggest.states, "liveness_pan_seconds": sum(r.seconds for r in live_reports)}
    seconds = time.perf_counter() - start
    rate = first.states / first.seconds if first.seconds > 0 else 0.0
    factor = f", hash factor {first.hash_factor:,.1f}" if first.hash_factor is not None else ""
    line = (
        f"spin (pan, {search.describe()}): {first.states:,} states stored, {first.transitions:,} "
        f"transitions, depth {first.depth}, {first.seconds:.2f} s ({rate:,.0f} states/s), "
        f"{first.memory_mb:,.0f} MB{factor}; compiled in {pan.compile_seconds:.1f} s; slots: {bounds.describe()}"
        f"{live_line}"
    )
    stats = {
        "states": first.states,
        "transitions": None,
        "depth": first.depth,
        "spin_states": first.states,
        "spin_transitions": first.transitions,
        "memory_mb": first.memory_mb,
        "pan_seconds": sum(r.seconds for r in reports),
        "compile_seconds": pan.compile_seconds,
        "store": search.store,
        "hash_factor": first.hash_factor,
        **live_stats,
    }
    exhaustive = first.complete and search.store != "bitstate"
    by_prop = {r.prop: r for r in results + live_results}
    ordered = [by_prop[p] for p in wanted if p in by_prop]
    return Run(config, machine, ordered, "spin", seconds, exhaustive, line, stats)


def liveness_search(search: Search) -> Search:
    """How pan searches the liveness model: depth first (nested, for acceptance cycles), deep."""
    return dataclasses.replace(search, breadth_first=False, max_depth=search.max_depth or LIVENESS_DEPTH)


def _check_liveness(
    model: PromelaModel, machine: Machine, props: list[Property], search: Search, states: int
) -> tuple[list[Result], list[PanReport], float]:
    """pan -a on the liveness model, once per property; ``states`` is the safety model's count."""
    live = liveness_search(search)
    results: list[Result] = []
    reports: list[PanReport] = []
    with tempfile.TemporaryDirectory(prefix="tcpspec-spin-live-") as tmp:
        pan = Pan(model, Path(tmp), live)
        for p in props:
            bit = property_bit(p)
            report = pan.run(bit, ("-a", *live.args))
            reports.append(report)
            if report.accepting:
                options, cycle, guess = pan.lasso(bit)
                if cycle is None or guess is None:
                    raise EngineDisagreement(
                        f"{p.name}: SPIN's trail of an acceptance cycle has no cycle or no premise"
                    )
                results.append(liveness_counterexample(model, machine, p, options, cycle, guess))
            elif report.error is not None:
                raise EngineDisagreement(f"{p.name}: the liveness model overflows where the safety model does not")
            elif not report.complete:
                results.append(Result(p, UNKNOWN, report.stopped()))
            elif report.hash_factor is not None:
                results.append(
                    Result(
                        p,
                        PARTIAL,
                        f"({states:,} states; bitstate hash factor {report.hash_factor:,.1f}, best if > 100)",
                    )
                )
            elif report.states < states:
                raise EngineDisagreement(f"{p.name}: the liveness model misses states of the safety model")
            else:
                # Every state appears once before the premise; more states: the monitor started somewhere.
                detail = "(premise never holds)" if report.states == states else f"({states:,} states)"
                results.append(Result(p, EXHAUSTED, detail))
    return results, reports, pan.compile_seconds


def explore_spin(config: Config, search: Search) -> tuple[PanReport, Bounds, float]:
    """pan searching every state of ``config`` and checking no property (for ``make bench``).

    Returns pan's report, the slots the model needed (doubled while they overflow), and the seconds
    spin and gcc took to build it.
    """
    bounds = Bounds.for_config(config, SPIN_SLOTS)
    while True:
        model = generate(config, relation=Relation(config, bounds, per_state=True))
        with tempfile.TemporaryDirectory(prefix="tcpspec-spin-") as tmp:
            pan = Pan(model, Path(tmp), search)
            report = pan.run(0, search.args)
        overflowed = report.error is not None
        if not overflowed or config.capacity is not None or bounds.channel >= MAX_SLOTS:
            break
        bounds = Bounds.for_config(config, bounds.channel * 2)
    if overflowed:
        raise RuntimeError(f"{config.name}: pan reports {report.error} with {bounds.describe()}")
    if not report.complete:
        raise RuntimeError(f"{config.name}: pan did not search every state:\n{report.text[-1500:]}")
    return report, bounds, pan.compile_seconds


def _check(
    model: PromelaModel, machine: Machine, pan: Pan, props: list[Property], search: Search
) -> tuple[list[Result], list[PanReport]] | None:
    """Run pan until no wanted property is left violated; None if the slots overflowed."""
    bits = {p: 1 << CHECKED.index(p) for p in props}
    left = dict(bits)
    verdicts: dict[Property, Result] = {}
    reports: list[PanReport] = []
    while True:
        mask = sum(left.values())
        report = pan.run(mask, search.args)
        reports.append(report)
        if report.error is None:
            break
        violated = _violated(report.error, left)
        if violated is None:
            return None  # the bounds assertion: the slots are too few
        verdicts[violated] = counterexample(model, machine, violated, pan.trail(mask))
        del left[violated]
        if not left:
            reports.append(pan.run(0, search.args))  # every property violated: one more run counts the states
            break
    exhaustive = reports[-1]
    states = exhaustive.states
    for p in props:
        if p not in verdicts and exhaustive.complete and exhaustive.hash_factor is not None:
            verdicts[p] = Result(
                p, PARTIAL, f"({states:,} states; bitstate hash factor {exhaustive.hash_factor:,.1f}, best if > 100)"
            )
        elif p not in verdicts and exhaustive.complete:
            verdicts[p] = Result(p, EXHAUSTED, f"({states:,} states)")
        elif p not in verdicts:
            verdicts[p] = Result(p, UNKNOWN, exhaustive.stopped())
    return [verdicts[p] for p in props], reports


def _violated(assertion: str, left: dict[Property, int]) -> Property | None:
    """The property whose assertion pan reports violated (None: the bounds assertion)."""
    for p, bit in left.items():
        if re.search(rf"&\s*{bit}u\b", assertion):
            return p
    return None
