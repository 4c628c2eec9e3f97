"""Deliberately broken copies of rules (made here, never in spec/) must make the matching property fail.

Each test replaces one rule by a broken copy, explores a configuration, and asserts that the property
the rule protects is VIOLATED, with a trace of pinned length.  The search is breadth-first, so the
trace is a shortest one; replaying it through the broken machine reproduces the violation.
Where BMC can unroll that far in test time (the 14-step conformance case; the 23-step ones take
Z3 far longer), it must find a trace exactly as long.
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
from spec.rules import Ctx, Rule
from spec.states import CLOSED, FIN_WAIT_2, Outcome


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


def test_fin_processed_out_of_order_loses_data() -> None:
    """A FIN taken as soon as it arrives (the seed's misconception) loses the data sent before it."""
    from spec.actions import receive_fin

    def fin_at_once(x: Ctx) -> None:
        x.require(x.seg.FIN)  # broken: no check that the FIN sits at RCV.NXT
        receive_fin(x)

    rules = replaced("fin-fin-wait-2", body=fin_at_once)
    rules = tuple(
        dataclasses.replace(r, body=_never) if r.name == "text-ahead" else r for r in rules
    )  # nothing is held either
    config = dataclasses.replace(preset("lifecycle"), reorder=True, msl=1, name="reordering")
    result = assert_violated(config, "graceful-close", rules, length=23)
    assert result.counterexample is not None
    assert "delivered 0 of the 1 units" in result.counterexample.message


def _never(x: Ctx) -> None:
    x.require(False)


def test_no_time_wait_lets_the_passive_closer_be_reset() -> None:
    """An active closer that skips TIME-WAIT answers the retransmitted FIN with a RST."""
    rules = replaced("fin-fin-wait-2", to=CLOSED, outcome=Outcome.CLOSED)
    result = assert_violated(preset("lossy"), "graceful-close", rules, length=23)
    assert result.counterexample is not None
    assert "reset in LAST-ACK" in result.counterexample.message


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


def test_no_retransmission_on_a_lossy_network_deadlocks() -> None:
    """Without retransmission, one lost segment leaves a user waiting for ever."""
    config = dataclasses.replace(preset("lossy"), retries=None, name="no-retransmission")
    result = verdict(config, "no-deadlock", all_rules())
    assert result.verdict == "VIOLATED"
    assert result.counterexample is not None
    assert len(result.counterexample.path) == 3
