"""What textbooks (and the blog post the project started from) say about the handshakes, as checked claims.

Each :class:`Claim` is a sentence a student has read, and the checks that back
it: states that must be reachable in a configuration, states that must occur in
none of its reachable states, properties that must hold there, and properties
that a broken variant must violate there.  :func:`check_claim` explores each
configuration and says HOLDS or FAILS with the evidence: where a state was
reached, in how many states a situation never occurs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from checks.catalogue import case_named, explanations, wrap
from checks.explicit import explore
from checks.properties import EXHAUSTED, VIOLATED, Limits, Property, check, property_named, units_sent
from spec.config import Config
from spec.machine import Machine, World
from spec.presets import preset
from spec.rulebook import all_rules
from spec.segment import Segment
from spec.states import CLOSE_WAIT, FIN, TIME_WAIT, Outcome, TcpState
from spec.variants import Variant, variant_named

HOLDS, FAILS = "HOLDS", "FAILS"


@dataclass(frozen=True)
class Situation:
    """Something a state can show, in words: ``B is in CLOSE-WAIT``."""

    text: str
    test: Callable[[World], bool] = field(compare=False)


def in_state(side: int, state: TcpState) -> Situation:
    return Situation(f"{'AB'[side]} is in {state}", lambda w: w.endpoint(side).state is state)


def both_in(state: TcpState) -> Situation:
    return Situation(f"A and B are both in {state}", lambda w: w.a.state is state and w.b.state is state)


def _holds_fin(seg: Segment) -> bool:
    return bool(seg.flags & FIN)


HOLDS_A_FIN = Situation(
    "an endpoint holds a FIN that arrived ahead of data sent before it",
    lambda w: any(_holds_fin(s) for ep in (w.a, w.b) for s in ep.held),
)


def _lost_data(w: World) -> bool:
    for me in (0, 1):
        peer = w.endpoint(1 - me)
        for e in w.endpoint(me).history:
            if e.outcome is Outcome.CLOSED and e.peer_inc and len(e.delivered) < units_sent(peer, e.peer_inc):
                return True
    return False


DATA_LOST = Situation("an endpoint closed normally without delivering all the data its peer sent", _lost_data)


@dataclass(frozen=True)
class Evidence:
    """One configuration of a claim, explored: what must be reachable, what never, what holds or fails."""

    config: Config
    variant: Variant | None = None
    reachable: tuple[Situation, ...] = ()
    never: tuple[Situation, ...] = ()
    holds: tuple[Property, ...] = ()
    violated: tuple[Property, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A sentence students read, and the evidence the model gives for it."""

    name: str
    evidence: tuple[Evidence, ...]

    def text(self, lang: str = "en") -> str:
        return explanations("claim")[self.name][lang]


@dataclass
class Verdict:
    """The outcome of a claim: HOLDS or FAILS, and one line of evidence per finding."""

    claim: Claim
    verdict: str
    lines: list[str]
    incomplete: bool = False  # a search stopped at a limit

    @property
    def holds(self) -> bool:
        return self.verdict == HOLDS


def claims() -> tuple[Claim, ...]:
    """Every claim, the blog post's misconceptions first."""
    a, b = 0, 1
    lifecycle = preset("lifecycle")
    reordering = case_named("fin-out-of-order").config  # lifecycle on a reordering network, MSL = 1 tick
    graceful = property_named("graceful-close")
    return (
        Claim(
            "passive-closer-waits-in-close-wait",
            (Evidence(lifecycle, reachable=(in_state(b, CLOSE_WAIT),), never=(in_state(b, TIME_WAIT),)),),
        ),
        Claim(
            "only-the-active-closer-enters-time-wait",
            (
                Evidence(lifecycle, reachable=(in_state(a, TIME_WAIT),), never=(in_state(b, TIME_WAIT),)),
                Evidence(preset("simultaneous-close"), reachable=(both_in(TIME_WAIT),)),
            ),
        ),
        Claim(
            "data-after-a-fin-is-not-lost",
            (Evidence(reordering, reachable=(HOLDS_A_FIN,), never=(DATA_LOST,), holds=(graceful,)),),
        ),
        Claim(
            "sequence-order-not-time-wait-keeps-that-data",
            (
                Evidence(reordering, variant_named("no-time-wait"), reachable=(HOLDS_A_FIN,), never=(DATA_LOST,)),
                Evidence(reordering, variant_named("fin-out-of-order"), reachable=(DATA_LOST,)),
            ),
        ),
    )


def _examine(e: Evidence, limits: Limits | None) -> tuple[bool, list[str], bool]:
    config = e.variant.config(e.config) if e.variant is not None else e.config
    rules = e.variant.rules(all_rules()) if e.variant is not None else None
    props = list(dict.fromkeys(e.holds + e.violated))
    if props:
        ex, results = check(config, props, limits, rules=rules)
    else:
        limits = limits or Limits()
        machine = Machine(config, rules)
        ex, results = explore(config, [], limits.max_states, limits.max_seconds, machine=machine), []
    where = config.name
    ok, lines = ex.complete, []
    if not ex.complete:
        lines.append(f"{where}: {ex.stop_reason}: nothing can be said of every state")
    for s in e.reachable:
        sid = next((i for i, w in enumerate(ex.states) if s.test(w)), None)
        ok &= sid is not None
        lines.append(
            f"{where}: {s.text}: reached at depth {ex.depth[sid]} (state {sid})"
            if sid is not None
            else f"{where}: {s.text}: in none of the {len(ex.states):,} states"
        )
    for s in e.never:
        sid = next((i for i, w in enumerate(ex.states) if s.test(w)), None)
        ok &= sid is None and ex.complete
        if sid is not None:
            lines.append(f"{where}: {s.text}: reached at depth {ex.depth[sid]} (state {sid}), but it must never be")
        elif ex.complete:
            lines.append(f"{where}: {s.text}: in none of the {len(ex.states):,} states (EXHAUSTED)")
        else:
            lines.append(f"{where}: {s.text}: in none of the {len(ex.states):,} states explored before the limit")
    for r in results:
        wanted = EXHAUSTED if r.prop in e.holds else VIOLATED
        ok &= r.verdict == wanted
        lines.append(
            f"{where}: {r.prop.name} {r.verdict_text}" + (f" -- {r.counterexample.message}" if r.counterexample else "")
        )
    return ok, lines, ex.complete


def check_claim(claim: Claim, limits: Limits | None = None) -> Verdict:
    """Explore every configuration of the claim and judge it (FAILS, and ``incomplete``, if a limit cut a search)."""
    ok, lines, cut = True, [], False
    for e in claim.evidence:
        fine, found, complete = _examine(e, limits)
        ok &= fine
        cut |= not complete
        lines += found
    return Verdict(claim, HOLDS if ok else FAILS, lines, cut)


def verdicts_text(verdicts: list[Verdict], lang: str = "en") -> str:
    """``tcpspec claims``: each claim, its verdict, its sentence, and the evidence."""

    width = max(len(v.claim.name) for v in verdicts)
    out = []
    for v in verdicts:
        out.append(f"{v.claim.name:<{width}}  {v.verdict}")
        out.append(wrap(v.claim.text(lang), lang, "  "))
        out += [f"    {line}" for line in v.lines]
    return "\n".join(out) + "\n"
