"""The compact world store, and the explorer built on it, held against a plain breadth-first search.

The plain search keeps Worlds themselves in a dict, as the explorer did before the store: it is short
enough to be obviously right.  The explorer must find the same states, in the same order, with the
same edges.
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.explicit import explore
from checks.store import BUDGET_BITS, WorldStore
from spec.machine import Label, Machine, World
from spec.presets import preset
from spec.segment import Segment
from spec.tcb import Endpoint
from tests.conftest import random_walk


def plain_bfs(machine: Machine) -> tuple[list[World], list[list[tuple[int, Label]]]]:
    """Every reachable world in BFS order, and each one's edges (target number, label)."""
    index: dict[World, int] = {}
    states: list[World] = []
    edges: list[list[tuple[int, Label]]] = []
    queue: deque[World] = deque()
    for world in (machine.initial(),):
        index[world] = 0
        states.append(world)
        queue.append(world)
    while queue:
        world = queue.popleft()
        out = []
        for t in machine.successors(world):
            if t.target not in index:
                index[t.target] = len(states)
                states.append(t.target)
                queue.append(t.target)
            out.append((index[t.target], t.label))
        edges.append(out)
    return states, edges


@pytest.mark.parametrize("name", ["lifecycle", "simultaneous-close", "abort", "half-open", "lost-ack"])
def test_explorer_matches_a_plain_bfs(name: str) -> None:
    config = preset(name)
    states, edges = plain_bfs(Machine(config))
    ex = explore(config)
    assert ex.complete
    assert list(ex.states) == states
    assert len(ex.states) == len(states)
    for sid, out in enumerate(edges):
        assert [(dst, ex.labels[lid]) for dst, lid in ex.successors_of(sid)] == out
        assert ex.terminal(sid) == (not out)
    assert ex.transitions == sum(len(out) for out in edges)
    assert list(ex.edges()) == [(src, dst, ex.label_ids[lab]) for src, out in enumerate(edges) for dst, lab in out]


def test_parent_links_are_shortest_paths() -> None:
    ex = explore(preset("lost-ack"))
    machine = ex.machine
    for sid in range(0, len(ex.states), 97):
        world = machine.initial()
        path = ex.path_to(sid)
        assert len(path) == ex.depth[sid]
        for reached, label in path:
            world = machine.step(world, label).target
            assert world == ex.states[reached]
        assert world == ex.states[sid]


def test_equal_worlds_get_one_number_and_share_parts() -> None:
    config = preset("lifecycle")
    ex = explore(config)
    store = WorldStore()
    for world in ex.states:
        copy = World(Endpoint(*world.a), Endpoint(*world.b), tuple(world.ab), tuple(world.ba), *world[4:])
        assert copy is not world
        key = store.key(copy)
        assert store.find(key) is None
        assert store.add(key) == len(store) - 1
        assert store.index_of(world) == len(store) - 1  # found by value, not by identity
    assert list(store) == list(ex.states)
    first_a = {}
    for world in store:
        assert first_a.setdefault(world.a, world.a) is world.a  # an endpoint is rebuilt as one object
    assert store.parts()["endpoints"] == len({w.a for w in store} | {w.b for w in store})
    assert store.parts()["channels"] == len({w.ab for w in store} | {w.ba for w in store})
    assert store[1:4] == list(ex.states)[1:4]


def test_different_worlds_get_different_keys() -> None:
    states = list(explore(preset("lost-ack")).states)
    store = WorldStore()
    keys = {store.key(w) for w in states}
    assert len(keys) == len(set(states)) == len(states)


def test_budgets_round_trip_and_too_large_a_budget_is_refused() -> None:
    store = WorldStore()
    world = World(Endpoint(), Endpoint(), (), (Segment(1, 2, 16),), 3, (1 << BUDGET_BITS) - 1, 7)
    assert store.world(store.key(world)) == world
    with pytest.raises(ValueError, match="fault budget of 65,536"):
        store.key(world._replace(losses=1 << BUDGET_BITS))
    assert store.index_of(world._replace(losses=1 << BUDGET_BITS)) is None


def test_looking_a_world_up_adds_nothing() -> None:
    ex = explore(preset("lifecycle"))
    parts, n = ex.states.parts(), len(ex.states)
    absent = ex.states[5]._replace(ab=(Segment(7, 8, 16),))
    assert absent not in ex.states
    assert ex.index_of(absent) is None
    assert ex.states.parts() == parts
    assert len(ex.states) == n


def test_a_search_cut_short_leaves_the_frontier_unexpanded() -> None:
    ex = explore(preset("lost-ack"), max_states=500)
    assert not ex.complete
    last = len(ex.states) - 1
    assert not ex.expanded(last)
    assert ex.successors_of(last) == ()
    assert not ex.terminal(last)  # not known to be a dead end: it was never expanded
    assert ex.expanded(0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=50))
def test_walked_worlds_round_trip(choices: list[int]) -> None:
    """Worlds met on a random walk of the chaos preset, added in walk order, come back equal."""
    machine = Machine(preset("chaos"))
    store = WorldStore()
    seen: list[World] = []
    for t in random_walk(machine, choices):
        key = store.key(t.target)
        if store.find(key) is None:
            store.add(key)
            seen.append(t.target)
        assert store[store.index_of(t.target)] == t.target  # type: ignore[index]
    assert list(store) == seen
