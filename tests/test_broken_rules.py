"""Deliberately broken copies of rules (made here, never in spec/) must make the matching property fail.

The broken variants students read about (no TIME-WAIT, a FIN taken out of order, no retransmission,
...) are declared in spec/variants.py and pinned by tests/test_catalogue.py; these are the breakages
that test the checker itself: a wrong target state, two rules answering one event.

Each test replaces one rule by a broken copy, explores a configuration, and asserts that the property
the rule protects is VIOLATED, with a trace of pinned length.  The search is breadth-first, so the
trace is a shortest one; replaying it through the broken machine reproduces the violation.
BMC, unrolled as far as breadth-first search had to go (14 steps), must find a trace exactly as long.
"""

from __future__ import annotations

import dataclasses

from checks.bmc import bmc
from checks.properties import Result, check, property_named
from checks.trace import build_trace
from spec.config import Config
from spec.machine import Machine
from spec.presets import preset
from spec.rulebook import all_rules
from spec.rules import Rule
from spec.states import FIN_WAIT_2


def replaced(name: str, **changes: object) -> tuple[Rule, ...]:
    """All rules, with rule ``name`` changed (its body, target state, ...)."""
    rules = all_rules()
    assert name in {r.name for r in rules}
    return tuple(dataclasses.replace(r, **changes) if r.name == name else r for r in rules)  # type: ignore[arg-type]


def verdict(config: Config, prop: str, rules: tuple[Rule, ...]) -> Result:
    _, results = check(config, [property_named(prop)], rules=rules)
    return results[0]


def assert_violated(config: Config, prop: str, rules: tuple[Rule, ...], length: int) -> Result:
    result = verdict(config, prop, rules)
    assert result.verdict == "VIOLATED", result.verdict_text
    cx = result.counterexample
    assert cx is not None
    steps = build_trace(Machine(config, rules), cx.path, cx.loop)
    assert len(steps) == length
    # The same configuration with the correct rules satisfies the property.
    assert verdict(config, prop, all_rules()).verdict in ("EXHAUSTED", "REACHED")
    return result


def test_a_wrong_target_state_breaks_conformance() -> None:
    """CLOSING goes to TIME-WAIT on the ACK of its FIN; sending it to FIN-WAIT-2 is no RFC edge."""
    rules = replaced("closing-ack-of-fin", to=FIN_WAIT_2)
    result = assert_violated(preset("simultaneous-close"), "rfc-conformance", rules, length=14)
    assert result.counterexample is not None
    assert "CLOSING -> FIN-WAIT-2" in result.counterexample.message


def test_bmc_finds_the_wrong_target_state_as_short_as_breadth_first_search() -> None:
    """Z3's bounded model checking, unrolled to the length BFS found, finds a trace exactly as long."""
    rules = replaced("closing-ack-of-fin", to=FIN_WAIT_2)
    config = preset("simultaneous-close")
    bfs = verdict(config, "rfc-conformance", rules).counterexample
    assert bfs is not None
    found = bmc(config, [property_named("rfc-conformance")], 14, rules=rules).results[0]
    assert found.verdict == "VIOLATED" and found.counterexample is not None
    assert len(found.counterexample.path) == len(bfs.path)
    assert len(build_trace(Machine(config, rules), found.counterexample.path)) == 14
    assert "CLOSING -> FIN-WAIT-2" in found.counterexample.message


def test_overlapping_rules_are_reported() -> None:
    """Two rules answering the same segment in the same state make the rules nondeterministic."""
    rules = all_rules()
    listen_syn = next(r for r in rules if r.name == "listen-syn")
    twin = dataclasses.replace(listen_syn, name="listen-syn-twin")
    result = verdict(preset("handshake"), "rules-deterministic", (*rules, twin))
    assert result.verdict == "VIOLATED"
    assert result.counterexample is not None
    assert "listen-syn, listen-syn-twin" in result.counterexample.message
