"""The explicit engine's liveness search (checks/liveness.py) on random small graphs.

Each graph is turned into an :class:`Exploration` as BFS would number it; ``leads_to``'s
answer is then held against a brute force over every strongly connected set of states:
a fair run stays in such a set for ever exactly when each class enabled in all of its
states is taken by one of its edges.  A lasso it prints must be a real run, pass the
premise, avoid the goal, and (for a loop) be fair on its own.
"""

from __future__ import annotations

from array import array
from collections import deque
from itertools import combinations
from typing import cast

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.explicit import Exploration
from checks.liveness import Lasso, fair_class, leads_to, loop_unfairness, unfair_classes
from spec.config import Config
from spec.machine import Label, Machine

KINDS = ("call", "segment", "lose")  # two fair kinds and a fault


@st.composite
def explorations(draw: st.DrawFn) -> tuple[Exploration, set[int], set[int]]:
    """A random reachable graph of up to 6 states, numbered in BFS order, with a premise and a goal."""
    n = draw(st.integers(1, 6))
    raw = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 1), st.sampled_from(KINDS)),
            max_size=14,
        )
    )
    out: dict[int, list[tuple[int, Label]]] = {u: [] for u in range(n)}
    for i, (u, v, actor, kind) in enumerate(raw):
        out[u].append((v, Label(actor, kind, choice=i)))
    # Number the reachable states in BFS order, as the explicit engine does.
    number = {0: 0}
    order = [0]
    queue = deque([0])
    while queue:
        u = queue.popleft()
        for v, _ in out[u]:
            if v not in number:
                number[v] = len(order)
                order.append(v)
                queue.append(v)
    ex = Exploration(config=cast(Config, None), machine=cast(Machine, None))
    ex.parent, ex.via, ex.depth = (
        array("q", [-1] * len(order)),
        array("l", [0] * len(order)),
        array("l", [0] * len(order)),
    )
    for sid, u in enumerate(order):
        for v, label in out[u]:
            dst = number[v]
            ex.edge_dst.append(dst)
            ex.edge_label.append(ex.label_id(label))
            if dst != 0 and ex.parent[dst] == -1:
                ex.parent[dst], ex.via[dst], ex.depth[dst] = sid, ex.label_ids[label], ex.depth[sid] + 1
        ex.edge_start.append(len(ex.edge_dst))
    ex.complete = True
    states = range(len(order))
    premise = set(draw(st.sets(st.sampled_from(states))))
    goal = set(draw(st.sets(st.sampled_from(states))))
    return ex, premise, goal


def _region(ex: Exploration, starts: set[int], goal: set[int]) -> set[int]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for v, _ in ex.successors_of(queue.popleft()):
            if v not in seen and v not in goal:
                seen.add(v)
                queue.append(v)
    return seen


def _enabled(ex: Exploration, u: int) -> set[tuple[int, str]]:
    return {c for _, lid in ex.successors_of(u) if (c := fair_class(ex.labels[lid])) is not None}


def _fair_set_exists(ex: Exploration, region: set[int]) -> bool:
    """Brute force: a strongly connected set of states, with a cycle, whose edges are fair."""
    for size in range(1, len(region) + 1):
        for nodes in combinations(sorted(region), size):
            inside = set(nodes)
            edges = [(u, v, lid) for u in nodes for v, lid in ex.successors_of(u) if v in inside]
            g = nx.DiGraph()
            g.add_nodes_from(nodes)
            g.add_edges_from((u, v) for u, v, _ in edges)
            if not edges or not nx.is_strongly_connected(g):
                continue
            if not unfair_classes((_enabled(ex, u) for u in nodes), (fair_class(ex.labels[lid]) for *_, lid in edges)):
                return True
    return False


def _check_run(ex: Exploration, lasso: Lasso, premise: set[int], goal: set[int]) -> None:
    here = 0
    steps = lasso.prefix + lasso.loop
    visited = [0]
    for v, label in steps:
        assert (v, ex.label_ids[label]) in ex.successors_of(here), "a step that is not an edge"
        here = v
        visited.append(v)
    assert lasso.start in premise and lasso.start not in goal
    after = visited[visited.index(lasso.start) :]
    assert not goal & set(after), "the run reaches the goal"
    if lasso.loop:
        loop_start = lasso.prefix[-1][0] if lasso.prefix else 0
        assert lasso.loop[-1][0] == loop_start, "the loop does not return to where it began"
        assert not loop_unfairness(ex, lasso), "the printed loop is not fair on its own"
    else:
        assert ex.terminal(here)


@settings(max_examples=400, deadline=None)
@given(explorations())
def test_leads_to_agrees_with_brute_force(case: tuple[Exploration, set[int], set[int]]) -> None:
    ex, premise, goal = case
    lasso = leads_to(ex, premise, lambda s: s in goal)
    starts = premise - goal
    region = _region(ex, starts, goal)
    violated = any(ex.terminal(u) for u in region) or _fair_set_exists(ex, region)
    assert (lasso is not None) == violated
    if lasso is not None:
        _check_run(ex, lasso, premise, goal)


def test_the_printed_loop_pauses_a_class_it_never_takes() -> None:
    """0 loops on A's call and goes to 1 on B's segment; 1 goes back on A's call.

    Only A's class is enabled in both states, and 0's self-loop takes it -- but a run that stays
    at 0 leaves B's segment enabled for ever.  The printed loop must pass 1, where it is not.
    """
    ex = Exploration(config=cast(Config, None), machine=cast(Machine, None))
    edges = {
        0: [(0, Label(0, "call", choice=0)), (1, Label(1, "segment", choice=1))],
        1: [(0, Label(0, "call", choice=2))],
    }
    for u in (0, 1):
        for v, label in edges[u]:
            ex.edge_dst.append(v)
            ex.edge_label.append(ex.label_id(label))
        ex.edge_start.append(len(ex.edge_dst))
    ex.parent, ex.via, ex.depth = array("q", [-1, 0]), array("l", [0, 1]), array("l", [0, 1])
    ex.complete = True
    lasso = leads_to(ex, {0}, lambda s: False)
    assert lasso is not None and lasso.loop
    assert 1 in [v for v, _ in lasso.loop]
    assert not loop_unfairness(ex, lasso)
