"""The canonical scenarios: each is a shortest run of the model through its milestones, replayed by the rules."""

from __future__ import annotations

import dataclasses

import pytest

from checks.scenarios import NoRun, Scenario, changes, find_run, scenario_named, scenarios
from spec.machine import Machine
from spec.states import LISTEN, TIME_WAIT

#: Steps of each scenario's shortest run: a change of the rules that lengthens or shortens one shows here.
LENGTHS = {
    "three-way-handshake": 4,
    "four-way-teardown": 14,
    "simultaneous-open": 8,
    "simultaneous-close": 14,
    "lost-final-ack": 23,
    "half-open-reset": 10,
}

#: The rules each run must apply, in this order (others may come between them).
RULES = {
    "three-way-handshake": ["open-active", "listen-syn", "syn-sent-syn-ack", "syn-received-ack"],
    "four-way-teardown": [
        "close-established",
        "fin-established",
        "fin-wait-1-ack-of-fin",
        "close-close-wait",
        "fin-fin-wait-2",
        "last-ack-ack-of-fin",
        "time-wait-timeout",
    ],
    "simultaneous-open": [
        "open-active",
        "open-active",
        "syn-sent-syn",
        "syn-sent-syn",
        "syn-received-ack",
        "syn-received-ack",
    ],
    "simultaneous-close": [
        "close-established",
        "close-established",
        "fin-fin-wait-1",
        "fin-fin-wait-1",
        "closing-ack-of-fin",
        "closing-ack-of-fin",
    ],
    "lost-final-ack": [
        "fin-fin-wait-2",
        "retransmit-fin",
        "time-wait-fin-again",
        "last-ack-ack-of-fin",
        "time-wait-timeout",
    ],
    "half-open-reset": ["send-now", "closed-reset-ack", "reset"],
}


def _in_order(wanted: list[str], applied: list[str]) -> bool:
    it = iter(applied)
    return all(any(name == w for name in it) for w in wanted)


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s.name)
def test_each_scenario_is_a_shortest_run_through_its_milestones(scenario: Scenario) -> None:
    machine = Machine(scenario.config)
    path = find_run(scenario, machine)
    assert len(path) == LENGTHS[scenario.name]
    world, passed, applied = machine.initial(), 0, []
    for label in path:
        t = machine.step(world, label)
        if passed < len(scenario.milestones) and scenario.milestones[passed].test(world, t):
            passed += 1
        applied += [r.name for r in t.rules]
        world = t.target
    assert passed == len(scenario.milestones)
    assert scenario.final(world)
    assert _in_order(RULES[scenario.name], applied), applied
    shorter = find_run(dataclasses.replace(scenario, name="again"), machine)
    assert shorter == path  # deterministic


def test_the_lists_cover_every_scenario() -> None:
    assert set(LENGTHS) == set(RULES) == {s.name for s in scenarios()}


def test_an_impossible_milestone_is_reported_not_drawn() -> None:
    base = scenario_named("three-way-handshake")
    impossible = dataclasses.replace(base, milestones=(changes(0, TIME_WAIT, LISTEN),))
    with pytest.raises(NoRun, match="no run of three-way-handshake passes A: TIME-WAIT -> LISTEN") as info:
        find_run(impossible)
    assert info.value.complete and str(info.value).endswith("; all 9 states searched")


def test_a_search_cut_short_says_so() -> None:
    with pytest.raises(NoRun, match=r"; the search stopped at the limit of 5 states$") as info:
        find_run(scenario_named("four-way-teardown"), limit=5)
    assert not info.value.complete


def test_unknown_scenario_names_the_scenarios() -> None:
    with pytest.raises(ValueError, match="the scenarios are three-way-handshake, four-way-teardown"):
        scenario_named("handshake")
