"""The liveness model: establishes and closes, for SPIN, under the explicit engine's weak fairness.

``P ~> Q`` fails on a run that passes a P-state and from there never reaches a
Q-state: it stops, or it loops forever, fairly (:mod:`checks.liveness` says what
fair means: weak fairness on each endpoint's calls, segment arrivals, output and
timeouts, and on the clock; none on faults).  SPIN's own weak fairness (``pan
-f``) is per process, and the model is one process, so the fairness is built
into the model instead.  It is the safety model of :mod:`checks.promela` -- the
same state and the same guarded commands, generated from the same branches --
with a monitor in four more variables:

``monitor``
    0 before the premise; 1 from a premise state that is not a goal state, which
    the model guesses (a command that only sets it, enabled there); 2 once a goal
    state is reached, where every command is disabled: that run is no
    counterexample.
``start_inc_a``, ``start_inc_b``
    closes: the incarnations of A and B when the premise held (its goal is about them).
``fair_count``
    how many fairness classes, in a fixed order, the run has satisfied since the
    last acceptance: class k is satisfied by a step that takes it, or that leaves
    a state where it is disabled.  At the last class the run passes the
    accepting label ``accept_fair`` and the count starts again.  This is the
    classic reduction of a generalized Büchi condition (one set per class) to a
    Büchi condition, with a counter.

An acceptance cycle (``pan -a``) is then a run that stays in monitor 1 (never
reaches the goal) and satisfies every class again and again: a fair loop.  A
state in monitor 1 where nothing is enabled goes to ``accept_stuck``, a loop of
``skip``: the run stops without reaching the goal.  Only the first monitor
matters, so one run of pan checks one property (``TCPSPEC_PROPERTIES``).

Its state count maps onto the explicit engine's: every reachable state appears
once with monitor 0 (the other three variables stay 0 there, and the commands are
the safety model's), and the states after the premise appear again with monitor 1
or 2 and the values of the others.  So the liveness model has exactly as many
states as the safety model when the guess is never taken: the premise never
holds.  Otherwise it has more.
"""

from __future__ import annotations

from collections.abc import Sequence

import z3

from checks.liveness import FAIR_KINDS, FairClass
from checks.promela import CHECKED, CTerms, Generator, PromelaModel, flag
from checks.properties import CLOSES, ESTABLISHES, Property
from checks.symbolic import Branch, Relation
from checks.symprops import closes_goal, closes_premise, establishes_goal, establishes_premise
from checks.symstate import SMALL_BITS
from checks.terms import Term
from spec.config import Config
from spec.rules import Rule

#: The liveness properties the liveness model checks (their bits follow CHECKED's in TCPSPEC_PROPERTIES).
LIVENESS: tuple[Property, ...] = (ESTABLISHES, CLOSES)
#: Every property bit of the liveness model: its branches set the safety bits of CHECKED too.
BITS: tuple[Property, ...] = CHECKED + LIVENESS
#: The z3 names of the incarnations recorded at the premise, and their C names.
START_INC = {"start_inc_a": "ia", "start_inc_b": "ib"}


def fair_classes(rel: Relation) -> tuple[FairClass, ...]:
    """The weak-fairness classes of the relation's branches, in the order the count satisfies them."""
    return tuple(sorted({(b.actor, b.kind) for b in rel.branches if b.kind in FAIR_KINDS}))


def fair_class_of(b: Branch, classes: Sequence[FairClass]) -> int:
    """The number of the branch's fairness class, or -1 for a fault (no fairness applies)."""
    return classes.index((b.actor, b.kind)) if b.kind in FAIR_KINDS else -1


class LivenessGenerator(Generator):
    """Writes the liveness model of a relation."""

    def __init__(self, rel: Relation) -> None:
        super().__init__(rel)
        self.classes = fair_classes(rel)
        self.names.update(START_INC)

    def monitor_functions(self, c: CTerms) -> list[list[str]]:
        """``premise()`` and ``goal_at(ia, ib)`` of the wanted property, from the formulas of symprops."""
        w = self.rel.cur.world
        ia, ib = (Term(z3.BitVec(name, SMALL_BITS)) for name in START_INC)
        formulas = [
            ("establishes_premise(void)", establishes_premise(w)),
            ("establishes_goal(void)", establishes_goal(w)),
            ("closes_premise(void)", closes_premise(w)),
            ("closes_goal(uint32_t ia, uint32_t ib)", closes_goal(w, ia, ib)),
        ]
        out = []
        for signature, formula in formulas:
            c.prepare([formula])
            text = c.expr(formula)
            out.append([f"static int {signature} {{", *["  " + x for x in c.lines], f"  return {text};", "}"])
        out.append(
            [
                "/* the premise and the goal of the property checked (one per run of pan) */",
                "static int premise(void) {",
                "  if (!ready) want();",
                f"  return (wanted & {flag(ESTABLISHES)}) ? establishes_premise() : closes_premise();",
                "}",
                "static int goal_at(uint32_t ia, uint32_t ib) {",
                "  if (!ready) want();",
                f"  return (wanted & {flag(ESTABLISHES)}) ? establishes_goal() : closes_goal(ia, ib);",
                "}",
            ]
        )
        return out

    def fairness_functions(self, c: CTerms) -> list[list[str]]:
        """``class_enabled(k)``, ``any_enabled()``, ``fair_step(taken)`` and ``after_step()``."""
        by_class: dict[int, list[str]] = {}
        for k, b in enumerate(self.rel.branches):
            for slot, iss in self.options_of(b, c):
                by_class.setdefault(fair_class_of(b, self.classes), []).append(f"B{k}(0, {slot}u, {iss}u)")
        enabled = [
            "/* fairness class k has an enabled command in the current state */",
            "static int class_enabled(int k) {",
        ]
        for k, cls in enumerate(self.classes):
            enabled.append(f"  if (k == {k}) {{  /* {'AB'[cls[0]] if cls[0] < 2 else 'network'}: {cls[1]} */")
            enabled += [f"    if ({call}) return 1;" for call in by_class.get(k, [])]
            enabled.append("    return 0;")
            enabled.append("  }")
        enabled += ["  return 0;", "}"]
        anything = ["/* some command of the model is enabled (a fault's too) */", "static int any_enabled(void) {"]
        anything.append(f"  for (int k = 0; k < {len(self.classes)}; k++) {{ if (class_enabled(k)) return 1; }}")
        anything += [f"  if ({call}) return 1;" for call in by_class.get(-1, [])]
        anything += ["  return 0;", "}"]
        step = [
            "/* before a step of class `taken` (-1: a fault), in its source state: count the classes it satisfies */",
            "static void fair_step(int taken) {",
            "  if (now.monitor != 1) return;",
            "  int k = now.fair_count;",
            f"  while (k < {len(self.classes)} && (k == taken || !class_enabled(k))) k++;",
            "  now.fair_count = k;",
            "}",
            "/* after a step: a goal state ends the monitor's run (nothing is enabled at monitor 2) */",
            "static void after_step(void) {",
            "  if (now.monitor == 1 && goal_at(now.start_inc_a, now.start_inc_b)) now.monitor = 2;",
            "}",
        ]
        return [enabled, anything, step]

    def generate(self) -> PromelaModel:
        """The liveness model: the safety model's commands with the monitor, and its accepting labels."""
        c = CTerms(self.names)
        blocks = [self.prelude(BITS), self.canonical(), self.channel_functions()]
        blocks += self.monitor_functions(c)
        ccode = self.c_code(blocks, c, after=self.fairness_functions(c))
        n = len(self.classes)
        names = ", ".join(f"{k} {'AB'[a] if a < 2 else 'network'} {kind}" for k, (a, kind) in enumerate(self.classes))
        w = self.rel.cur.world
        inc_a, inc_b = (self.names[str(t.e.decl().name())] for t in (w.a.inc, w.b.inc))
        bits = " or ".join(f"TCPSPEC_PROPERTIES={property_bit(p)} ({p.name})" for p in LIVENESS)
        decls = [
            "",
            f"/* Check one property per run: spin -a FILE; gcc -DNOREDUCE -o pan pan.c; then {bits} ./pan -a.",
            "   An acceptance cycle is a fair run that passes the premise and never reaches the goal. */",
            "/* The monitor (see checks/promela_liveness.py): 0 before the premise, 1 after it, 2 once at the goal */",
            "byte monitor = 0;",
            f"/* the fairness classes satisfied, in order: {names} */",
            "byte fair_count = 0;",
            "/* closes: the incarnations of A and B when the premise held */",
            "byte start_inc_a = 0;",
            "byte start_inc_b = 0;",
        ]
        body_head = [
            "",
            "active proctype tcp() {",
            "  do",
        ]
        text = self.head("Promela liveness model") + self.declarations() + decls + [""] + ccode + body_head
        live = f"(now.monitor == 0 || (now.monitor == 1 && now.fair_count < {n}))"
        bounds = "assert(c_expr { (!(viol & V_bounds)) })"

        def command(k: int, b: Branch, call: str) -> str:
            cls = fair_class_of(b, self.classes)
            step = f"viol = 0; fair_step({cls}); {call % 1}; after_step();"
            return f"  :: d_step {{ c_expr {{ ({live} && {call % 0}) }} -> c_code {{ {step} }}; {bounds} }}"

        options = self.commands(c, text, command)
        text += [
            "  /* the premise holds and the goal does not: the monitor may start here */",
            f"  :: d_step {{ c_expr {{ (now.monitor == 0 && premise() && !goal_at({inc_a}, {inc_b})) }} ->",
        ]
        guess = len(text)
        text[-1] += f" c_code {{ now.monitor = 1; now.start_inc_a = {inc_a}; now.start_inc_b = {inc_b}; }} }}"
        text += [
            "  /* every class satisfied since the last time: the run passes an accepting state */",
            f"  :: monitor == 1 && fair_count == {n} -> accept_fair: fair_count = 0",
            "  /* nothing is enabled and the goal was not reached: the run stops here */",
            "  :: c_expr { (now.monitor == 1 && !any_enabled()) } -> goto accept_stuck",
            "  od;",
            "accept_stuck:",
            "  do :: monitor == 1 od  /* stays here forever (SPIN refuses a loop of skip) */",
            "}",
            "",
        ]
        return PromelaModel(self.config, self.rel, "\n".join(text), options, self.leaf_names(), guess)


def generate_liveness(
    config: Config, rules: tuple[Rule, ...] | None = None, relation: Relation | None = None
) -> PromelaModel:
    """The liveness model of ``config`` (with ``rules`` in place of the spec's, for broken variants)."""
    return LivenessGenerator(relation or Relation(config, rules=rules, per_state=True)).generate()


def property_bit(prop: Property) -> int:
    """The bit of ``prop`` in the liveness model's ``TCPSPEC_PROPERTIES``."""
    return 1 << BITS.index(prop)
