"""Exhaustive breadth-first exploration of a configuration's state graph.

The explorer keeps its own compact store -- the visited set of packed worlds
(:mod:`checks.store`), arrays of each state's BFS parent and depth, and flat
arrays of edges (target, label id) -- and builds a networkx graph only when an
algorithm needs one (:meth:`Exploration.digraph`).  Because
exploration is breadth-first, the parent links give shortest paths: every
counterexample to a safety property is as short as any can be.

Observers (the safety properties) see every new state and every transition as
it is found.  Limits on states and seconds stop the search cleanly; the result
then says so (``complete`` is False) and no property may be reported as holding
on the whole graph.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import networkx as nx

from checks.store import WorldStore
from spec.config import Config
from spec.machine import AmbiguousRules, IncompleteRules, Label, Machine, Transition, World


class Observer(Protocol):
    """Something that watches the exploration (a safety property, coverage)."""

    def on_state(self, sid: int, world: World) -> None: ...

    def on_transition(self, src: int, world: World, transition: Transition, dst: int) -> None: ...


@dataclass
class SpecError:
    """The rules could not compute a transition: ambiguous or incomplete."""

    sid: int
    label: Label
    message: str
    kind: str  # "ambiguous" or "incomplete"


@dataclass
class Exploration:
    """The explored part of a state graph.

    States are numbered in BFS order.  Per state the arrays hold its BFS parent, the label of the
    edge from it, and its depth; its successors are one slice of two flat arrays of edges (the
    target's number and the label's), in the order the machine yields them.
    """

    config: Config
    machine: Machine
    states: WorldStore = field(default_factory=WorldStore)
    parent: array[int] = field(default_factory=lambda: array("q"))
    via: array[int] = field(default_factory=lambda: array("l"))  # label id of the edge from the parent
    depth: array[int] = field(default_factory=lambda: array("l"))
    labels: list[Label] = field(default_factory=list)
    label_ids: dict[Label, int] = field(default_factory=dict)
    transitions: int = 0
    complete: bool = False
    stop_reason: str = ""
    seconds: float = 0.0
    errors: list[SpecError] = field(default_factory=list)
    explored_depth: int = 0  # every state at depth < explored_depth has been expanded
    # State i's edges are edge_dst[edge_start[i]:edge_start[i + 1]], for the expanded states i.
    edge_start: array[int] = field(default_factory=lambda: array("q", [0]))
    edge_dst: array[int] = field(default_factory=lambda: array("q"))
    edge_label: array[int] = field(default_factory=lambda: array("l"))
    unexpanded: set[int] = field(default_factory=set)  # states the rules could not expand (spec errors)

    @property
    def max_depth(self) -> int:
        return self.depth[-1] if self.depth else 0  # BFS: the last state added is the deepest

    def label_id(self, label: Label) -> int:
        lid = self.label_ids.get(label)
        if lid is None:
            lid = len(self.labels)
            self.labels.append(label)
            self.label_ids[label] = lid
        return lid

    def index_of(self, world: World) -> int | None:
        """The number of ``world``, or None if it was not reached."""
        return self.states.index_of(world)

    def path_to(self, sid: int) -> list[tuple[int, Label]]:
        """The shortest path from the initial state to ``sid``: (state id reached, label) pairs."""
        steps = []
        while self.parent[sid] >= 0:
            steps.append((sid, self.labels[self.via[sid]]))
            sid = self.parent[sid]
        steps.reverse()
        return steps

    def expanded(self, sid: int) -> bool:
        """The successors of ``sid`` were computed (the search reached it, and the rules could)."""
        return sid < len(self.edge_start) - 1 and sid not in self.unexpanded

    def successors_of(self, sid: int) -> tuple[tuple[int, int], ...]:
        """The edges out of ``sid`` as (target, label id) pairs; () if it was not expanded."""
        if not self.expanded(sid):
            return ()
        start, end = self.edge_start[sid], self.edge_start[sid + 1]
        return tuple(zip(self.edge_dst[start:end], self.edge_label[start:end], strict=True))

    def edges(self) -> Iterator[tuple[int, int, int]]:
        """Every edge found, as (source, target, label id), by source and then in the machine's order."""
        dst, lab, start = self.edge_dst, self.edge_label, self.edge_start
        for src in range(len(start) - 1):
            for e in range(start[src], start[src + 1]):
                yield src, dst[e], lab[e]

    def terminal(self, sid: int) -> bool:
        """Expanded, without successors, and not cut short by a spec error."""
        return self.expanded(sid) and self.edge_start[sid] == self.edge_start[sid + 1]

    def digraph(self, labels: bool = True) -> nx.DiGraph:
        """The explored graph as a networkx DiGraph over state ids.

        With ``labels``, each edge has the attribute ``labels``: the ids of the labels of the
        transitions between its two states, in order.
        """
        g = nx.DiGraph()
        g.add_nodes_from(range(len(self.states)))
        if not labels:
            g.add_edges_from((src, dst) for src, dst, _ in self.edges())
            return g
        between: dict[tuple[int, int], list[int]] = {}
        for src, dst, lid in self.edges():
            between.setdefault((src, dst), []).append(lid)
        g.add_edges_from((src, dst, {"labels": lids}) for (src, dst), lids in between.items())
        return g


ProgressFn = Callable[[Exploration, bool], None]


def explore(
    config: Config,
    observers: Sequence[Observer] = (),
    max_states: int | None = None,
    max_seconds: float | None = None,
    progress: ProgressFn | None = None,
    machine: Machine | None = None,
) -> Exploration:
    """Breadth-first search of every state reachable in ``config`` (by ``machine``, if given)."""
    machine = machine or Machine(config)
    ex = Exploration(config, machine)
    store = ex.states
    start = time.perf_counter()
    init = machine.initial()
    _add(ex, init, store.key(init), -1, -1, 0, observers)
    frontier = 0
    last_report = start
    label_id, key_of, find = ex.label_id, store.key, store.find  # the inner loop's calls, looked up once
    add_dst, add_label = ex.edge_dst.append, ex.edge_label.append
    while frontier < len(store):
        sid = frontier
        world = store[sid]
        ex.explored_depth = ex.depth[sid]
        if max_states is not None and len(store) >= max_states:
            ex.stop_reason = f"stopped at the limit of {max_states:,} states"
            break
        now = time.perf_counter()
        if max_seconds is not None and now - start > max_seconds:
            ex.stop_reason = f"stopped at the time limit of {max_seconds:g} s"
            break
        if progress is not None and now - last_report > 1.0:
            ex.seconds = now - start
            progress(ex, False)
            last_report = now
        try:
            transitions = machine.successors(world)
        except (AmbiguousRules, IncompleteRules) as err:
            kind = "ambiguous" if isinstance(err, AmbiguousRules) else "incomplete"
            ex.errors.append(SpecError(sid, err.label, str(err), kind))
            ex.unexpanded.add(sid)
            ex.edge_start.append(len(ex.edge_dst))
            frontier += 1
            continue
        depth = ex.depth[sid] + 1
        for t in transitions:
            lid = label_id(t.label)
            key = key_of(t.target)
            dst = find(key)
            if dst is None:
                dst = _add(ex, t.target, key, sid, lid, depth, observers)
            add_dst(dst)
            add_label(lid)
            for ob in observers:
                ob.on_transition(sid, world, t, dst)
        ex.edge_start.append(len(ex.edge_dst))
        ex.transitions += len(transitions)
        frontier += 1
    else:
        ex.complete = not ex.errors
        ex.explored_depth = ex.max_depth + 1
        if ex.errors:
            ex.stop_reason = "the rules could not compute some transitions"
    ex.seconds = time.perf_counter() - start
    if progress is not None:
        progress(ex, True)
    return ex


def _add(
    ex: Exploration, world: World, key: int, parent: int, via: int, depth: int, observers: Sequence[Observer]
) -> int:
    sid = ex.states.add(key)
    ex.parent.append(parent)
    ex.via.append(via)
    ex.depth.append(depth)
    for ob in observers:
        ob.on_state(sid, world)
    return sid
