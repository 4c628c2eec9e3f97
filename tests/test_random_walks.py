"""Hypothesis random walks through the machine, held against the exhaustive search.

A walk chooses an enabled transition at every step.  Every state it visits must be one breadth-first
search found (the explorer misses nothing the machine can do), the safety invariants must hold on it,
and replaying each step from its label with ``Machine.step`` must reach the same state.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.properties import check_graceful_close, check_handshake_sync, check_stream_integrity
from spec.machine import Machine
from spec.presets import preset
from tests.conftest import checked, random_walk

WALKED = ["lifecycle", "chaos", "lossy", "incarnations", "half-open"]


@pytest.mark.parametrize("name", WALKED)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60))
def test_walks_stay_inside_the_explored_graph(name: str, choices: list[int]) -> None:
    config = preset(name)
    ex, _ = checked(name)
    machine = Machine(config)
    world = machine.initial()
    for t in random_walk(machine, choices):
        assert world in ex.states
        for invariant in (check_handshake_sync, check_stream_integrity, check_graceful_close):
            assert invariant(world, config) is None
        assert machine.step(world, t.label).target == t.target  # the label alone replays the step
        world = t.target
    assert world in ex.states


def test_every_explored_edge_is_a_machine_transition() -> None:
    """The explorer's edges are exactly the machine's successors (spot-checked on a whole preset)."""
    ex, _ = checked("simultaneous-close")
    machine = ex.machine
    for sid, world in enumerate(ex.states):
        expected = sorted((ex.index_of(t.target), ex.label_id(t.label)) for t in machine.successors(world))
        assert sorted(ex.successors_of(sid)) == expected
