"""SPIN's liveness model (checks/promela_liveness.py) gives the explicit engine's verdicts on establishes and closes.

The presets' graphs have no cycles, so these cases are built to have some: SYN-SENT (and
SYN-RECEIVED) retransmit for ever.  There, only weak fairness keeps a loop from counting
as a counterexample, and SPIN's fair loop is held against the explicit engine's own rules.
"""

from __future__ import annotations

import dataclasses

import networkx as nx

from checks.properties import EXHAUSTED, VIOLATED, check, property_named
from checks.spin import run_spin
from spec.actions import restart_retransmission_timer, send_syn_ack
from spec.config import Config
from spec.presets import preset
from spec.rulebook import all_rules
from spec.rules import Ctx, Rule
from spec.states import SYN
from spec.variants import Change, Variant, variant_named

ESTABLISHES = property_named("establishes")


def _syn_forever(x: Ctx) -> None:
    x.require(x.tcb.timer == 0)
    restart_retransmission_timer(x)
    x.send(seq=x.tcb.iss, flags=SYN)


def _syn_ack_forever(x: Ctx) -> None:
    x.require(x.tcb.timer == 0)
    restart_retransmission_timer(x)
    send_syn_ack(x)


def _deaf(x: Ctx) -> None:
    x.require(x.seg.SYN)


SYN_FOREVER = Change("retransmit-syn", {"body": _syn_forever}, "retransmits the SYN for ever")
SYN_ACK_FOREVER = Change("retransmit-syn-ack", {"body": _syn_ack_forever}, "retransmits the SYN,ACK for ever")
DEAF = Change("listen-syn", {"body": _deaf, "to": None, "sends": None}, "LISTEN drops a SYN")


def _case(changes: tuple[Change, ...]) -> tuple[Config, tuple[Rule, ...]]:
    variant = Variant("test", "test", "R2", "3.8.3", changes=changes)
    config = dataclasses.replace(preset("handshake"), name="handshake-capacity-1", loss=0, capacity=1, retries=1)
    return config, variant.rules(all_rules())


def test_unfair_loops_are_no_counterexample() -> None:
    """Endless retransmission loops exist, and each leaves a segment arrival enabled that it never takes."""
    config, rules = _case((SYN_FOREVER, SYN_ACK_FOREVER))
    ex, explicit = check(config, [ESTABLISHES], rules=rules)
    assert not nx.is_directed_acyclic_graph(ex.digraph(labels=False))
    assert explicit[0].verdict == EXHAUSTED
    spin = run_spin(config, [ESTABLISHES], rules)
    assert spin.results[0].verdict_text == explicit[0].verdict_text


def test_a_fair_loop_is_found_and_replayed() -> None:
    """LISTEN drops every SYN and SYN-SENT sends it again for ever: a fair loop that never connects."""
    config, rules = _case((SYN_FOREVER, DEAF))
    _, explicit = check(config, [ESTABLISHES], rules=rules)
    spin = run_spin(config, [ESTABLISHES], rules)
    for result in (explicit[0], spin.results[0]):
        assert result.verdict == VIOLATED and result.counterexample is not None
        assert result.counterexample.loop  # a loop, not a dead end
    # run_spin checked SPIN's loop by the explicit engine's rules: it returns to its start, and is fair


def test_a_run_that_stops_short_of_closed_is_found() -> None:
    variant = variant_named("no-time-wait")
    config, rules = variant.config(preset("lifecycle")), variant.rules(all_rules())
    closes = property_named("closes")
    spin = run_spin(config, [ESTABLISHES, closes], rules)
    verdicts = {r.prop.name: r for r in spin.results}
    assert verdicts["establishes"].verdict_text == "EXHAUSTED (114 states)"
    found = verdicts["closes"]
    assert found.verdict == VIOLATED and found.counterexample is not None
    assert found.counterexample.message == "the run stops here" and not found.counterexample.loop


def test_a_premise_that_never_holds_holds_vacuously() -> None:
    """No user calls CLOSE in the handshake: the liveness model has no state beyond the safety model's."""
    spin = run_spin(preset("handshake"), [property_named("closes"), ESTABLISHES])
    assert [r.verdict_text for r in spin.results] == ["EXHAUSTED (premise never holds)", "EXHAUSTED (28 states)"]
    _, explicit = check(preset("handshake"), [property_named("closes"), ESTABLISHES])
    assert [r.verdict_text for r in explicit] == [r.verdict_text for r in spin.results]
