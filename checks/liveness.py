"""Liveness on the explored graph: "P leads to Q" under weak fairness, by strongly connected components.

A run violates P ~> Q if it passes a P-state and from there never reaches a
Q-state: either it stops in a terminal state, or it loops forever inside the
non-Q states.  Only *fair* loops count: weak fairness says that an event class
(one endpoint's user calls, its segment arrivals, its output, its timeouts;
the clock) enabled in every state of the loop must be taken in the loop.
Losses, duplications and crashes are faults, not obligations: no fairness
applies to them.  For weak fairness, checking the maximal SCCs of the non-Q
subgraph is enough: a sub-SCC of an unfair SCC is unfair too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise

import networkx as nx

from checks.explicit import Exploration
from spec.machine import Label

#: Event kinds on which weak fairness is assumed.
FAIR_KINDS = frozenset({"call", "segment", "output", "timeout", "tick"})

FairClass = tuple[int, str]


@dataclass
class Lasso:
    """A counterexample to a liveness property: a path, then a loop (or a dead end)."""

    prefix: list[tuple[int, Label]]  # (state reached, label) from the initial state
    loop: list[tuple[int, Label]]  # empty: the run stops at the prefix's last state
    start: int  # the state where the premise held


def fair_class(label: Label) -> FairClass | None:
    """The weak-fairness class of a transition, or None for a fault."""
    return (label.actor, label.kind) if label.kind in FAIR_KINDS else None


def leads_to(
    ex: Exploration,
    premise: Iterable[int],
    goal: Callable[[int], bool],
) -> Lasso | None:
    """A shortest-found counterexample to premise ~> goal under weak fairness, or None."""
    starts = sorted(s for s in premise if not goal(s))
    if not starts:
        return None
    # States reachable from a premise state without passing a goal state.
    region: set[int] = set(starts)
    queue = deque(starts)
    while queue:
        u = queue.popleft()
        for v, _ in ex.successors_of(u):
            if v not in region and not goal(v):
                region.add(v)
                queue.append(v)
    graph = nx.DiGraph()
    graph.add_nodes_from(region)
    for u in region:
        for v, lid in ex.successors_of(u):
            if v in region:
                graph.add_edge(u, v)
                graph[u][v].setdefault("labels", []).append(lid)
    # 1. A run that stops without reaching the goal.
    dead = sorted(u for u in region if ex.terminal(u))
    if dead:
        return _lasso(ex, graph, starts, dead[0], [])
    # 2. A fair loop that never reaches the goal.
    for component in sorted(nx.strongly_connected_components(graph), key=min):
        loop = _fair_loop(ex, graph, component)
        if loop is not None:
            return _lasso(ex, graph, starts, min(component), loop)
    return None


def _classes_enabled(ex: Exploration, u: int) -> set[FairClass]:
    out = set()
    for _, lid in ex.successors_of(u):
        c = fair_class(ex.labels[lid])
        if c is not None:
            out.add(c)
    return out


def unfair_classes(enabled: Iterable[set[FairClass]], taken: Iterable[FairClass | None]) -> set[FairClass]:
    """The classes a loop treats unfairly: enabled in every one of its states, and never taken in it.

    ``enabled`` holds, for each state the loop passes, the classes enabled there; ``taken`` the
    classes of the loop's steps.  A loop is fair, and can repeat forever under weak fairness,
    exactly when this is empty.
    """
    sets = list(enabled)
    if not sets:
        return set()
    return set.intersection(*sets) - {c for c in taken if c is not None}


def loop_unfairness(ex: Exploration, lasso: Lasso) -> set[FairClass]:
    """The classes that ``lasso``'s loop treats unfairly (empty for a fair loop or a dead end)."""
    if not lasso.loop:
        return set()
    here = lasso.prefix[-1][0] if lasso.prefix else 0
    states = [here] + [v for v, _ in lasso.loop[:-1]]
    return unfair_classes((_classes_enabled(ex, u) for u in states), (fair_class(label) for _, label in lasso.loop))


def _fair_loop(ex: Exploration, graph: nx.DiGraph, component: set[int]) -> list[tuple[int, Label]] | None:
    """A loop from and back to ``min(component)`` that satisfies weak fairness, or None if none exists.

    A fair loop exists exactly when every class enabled in all of the component's states is taken
    by one of its edges.  The loop built then takes such an edge for each of those classes, and,
    for each class enabled only in some states, passes a state where it is disabled: no class
    stays enabled all along the loop without being taken.
    """
    nodes = sorted(component)
    if len(nodes) == 1 and not graph.has_edge(nodes[0], nodes[0]):
        return None
    enabled = {u: _classes_enabled(ex, u) for u in nodes}
    always = set.intersection(*enabled.values())
    taken: dict[FairClass, tuple[int, int, int]] = {}
    for u in nodes:
        for v, lid in ex.successors_of(u):
            if v in component:
                c = fair_class(ex.labels[lid])
                if c is not None and c not in taken:
                    taken[c] = (u, v, lid)
    if unfair_classes(enabled.values(), taken):
        return None  # some class stays enabled and is never taken: no fair run stays here
    sometimes = set().union(*enabled.values()) - always
    # Waypoints: an edge for each class that must be taken, a state for each class that must pause.
    waypoints: list[tuple[int, int, int] | int] = [taken[c] for c in sorted(always)]
    waypoints += [min(u for u in nodes if c not in enabled[u]) for c in sorted(sometimes)]
    sub = graph.subgraph(component)
    here = nodes[0]
    loop: list[tuple[int, Label]] = []
    for point in waypoints:
        if isinstance(point, int):
            loop.extend(_walk(ex, sub, here, point))
            here = point
        else:
            u, v, lid = point
            loop.extend(_walk(ex, sub, here, u))
            loop.append((v, ex.labels[lid]))
            here = v
    loop.extend(_walk(ex, sub, here, nodes[0]))
    if not loop:  # no waypoint, or only the start itself: go round once
        u, v, lid = _any_edge(ex, component, nodes[0])
        loop = [(v, ex.labels[lid]), *_walk(ex, sub, v, nodes[0])]
    return loop


def _any_edge(ex: Exploration, component: set[int], u: int) -> tuple[int, int, int]:
    for v, lid in ex.successors_of(u):
        if v in component:
            return (u, v, lid)
    raise AssertionError("a strongly connected component with a loop has an edge from each node")


def _walk(ex: Exploration, graph: nx.DiGraph, src: int, dst: int) -> list[tuple[int, Label]]:
    """The steps of a shortest path from ``src`` to ``dst`` in ``graph`` (empty if src == dst)."""
    if src == dst:
        return []
    nodes = nx.shortest_path(graph, src, dst)
    steps = []
    for u, v in pairwise(nodes):
        lid = min(graph[u][v]["labels"])
        steps.append((v, ex.labels[lid]))
    return steps


def _lasso(ex: Exploration, graph: nx.DiGraph, starts: list[int], target: int, loop: list[tuple[int, Label]]) -> Lasso:
    """The shortest path: initial state -> a premise state -> ``target`` (inside the region)."""
    weighted = nx.DiGraph()
    weighted.add_weighted_edges_from((u, v, 1) for u, v in graph.edges)
    source = -1
    weighted.add_weighted_edges_from((source, s, ex.depth[s]) for s in starts)
    path = nx.dijkstra_path(weighted, source, target)
    start = path[1]
    prefix = ex.path_to(start) + _walk(ex, graph, start, target)
    return Lasso(prefix, loop, start)
