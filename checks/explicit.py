"""Exhaustive breadth-first exploration of a configuration's state graph.

The explorer keeps its own compact store -- a list of states, their BFS parent
and depth, and successor lists of (state id, label id) -- and builds a networkx
graph only when an algorithm needs one (:meth:`Exploration.digraph`).  Because
exploration is breadth-first, the parent links give shortest paths: every
counterexample to a safety property is as short as any can be.

Observers (the safety properties) see every new state and every transition as
it is found.  Limits on states and seconds stop the search cleanly; the result
then says so (``complete`` is False) and no property may be reported as holding
on the whole graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import networkx as nx

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
    """The explored part of a state graph."""

    config: Config
    machine: Machine
    states: list[World] = field(default_factory=list)
    index: dict[World, int] = field(default_factory=dict)
    parent: list[int] = field(default_factory=list)
    via: list[int] = field(default_factory=list)  # label id of the edge from the parent
    depth: list[int] = field(default_factory=list)
    succ: list[tuple[tuple[int, int], ...] | None] = field(default_factory=list)  # None = not expanded
    labels: list[Label] = field(default_factory=list)
    label_ids: dict[Label, int] = field(default_factory=dict)
    transitions: int = 0
    complete: bool = False
    stop_reason: str = ""
    seconds: float = 0.0
    errors: list[SpecError] = field(default_factory=list)
    explored_depth: int = 0  # every state at depth < explored_depth has been expanded

    @property
    def max_depth(self) -> int:
        return max(self.depth) if self.depth else 0

    def label_id(self, label: Label) -> int:
        lid = self.label_ids.get(label)
        if lid is None:
            lid = len(self.labels)
            self.labels.append(label)
            self.label_ids[label] = lid
        return lid

    def path_to(self, sid: int) -> list[tuple[int, Label]]:
        """The shortest path from the initial state to ``sid``: (state id reached, label) pairs."""
        steps = []
        while self.parent[sid] >= 0:
            steps.append((sid, self.labels[self.via[sid]]))
            sid = self.parent[sid]
        steps.reverse()
        return steps

    def successors_of(self, sid: int) -> tuple[tuple[int, int], ...]:
        s = self.succ[sid]
        return s if s is not None else ()

    def terminal(self, sid: int) -> bool:
        """Expanded, without successors, and not cut short by a spec error."""
        return self.succ[sid] == ()

    def digraph(self) -> nx.DiGraph:
        """The explored graph as a networkx DiGraph over state ids (edge attribute ``labels``)."""
        g = nx.DiGraph()
        g.add_nodes_from(range(len(self.states)))
        for src, succ in enumerate(self.succ):
            for dst, lid in succ or ():
                if g.has_edge(src, dst):
                    g[src][dst]["labels"].append(lid)
                else:
                    g.add_edge(src, dst, labels=[lid])
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
    start = time.perf_counter()
    init = machine.initial()
    _add(ex, init, -1, -1, 0, observers)
    frontier = 0
    last_report = start
    while frontier < len(ex.states):
        sid = frontier
        world = ex.states[sid]
        ex.explored_depth = ex.depth[sid]
        if max_states is not None and len(ex.states) >= max_states and frontier < len(ex.states):
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
            ex.succ[sid] = None
            frontier += 1
            continue
        out = []
        for t in transitions:
            dst = ex.index.get(t.target)
            if dst is None:
                dst = _add(ex, t.target, sid, ex.label_id(t.label), ex.depth[sid] + 1, observers)
            out.append((dst, ex.label_id(t.label)))
            for ob in observers:
                ob.on_transition(sid, world, t, dst)
        ex.succ[sid] = tuple(out)
        ex.transitions += len(out)
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


def _add(ex: Exploration, world: World, parent: int, via: int, depth: int, observers: Sequence[Observer]) -> int:
    sid = len(ex.states)
    ex.states.append(world)
    ex.index[world] = sid
    ex.parent.append(parent)
    ex.via.append(via)
    ex.depth.append(depth)
    ex.succ.append(None)
    for ob in observers:
        ob.on_state(sid, world)
    return sid
