"""Drawings and exports of an explored state graph.

Three views of one :class:`~checks.explicit.Exploration`:

* :func:`reachable_dot` draws every reachable state, for the small presets only.
  A node is one global state: its BFS id, both endpoints' RFC states and what
  is in flight on each channel (the control bits of each segment in tcpdump's
  notation: ``A>B: [S]`` is a SYN from A to B, ``[P.]`` data with an ACK; more
  than four segments on a channel are shown as a count).  Where several states
  would read the same, a last line gives the few fields that tell them apart
  (``A.pc=2`` -- A's user has made two calls; ``A.iss``, ``A.una`` (SND.UNA),
  ``A.rcv`` (RCV.NXT), ``A.ended`` (how earlier incarnations ended), ...); the
  tooltip has the whole state.  States are ranked by BFS depth, top to bottom.
  The initial state is filled, proper final states (nothing in flight, every
  user done or listening) are drawn doubled, and states that violate a
  property are red, with the violation as their tooltip.  An edge is labelled
  by who acted and the rules applied (``A open-active``), or by the fault or
  the clock (``lose A>B [S]``, ``duplicate``, ``tick``, ``A crash``; dashed).
* :func:`quotient_dot` draws the quotient of the graph by the pair of endpoint
  states -- at most 11 x 11 cells, however large the graph.  A node is one
  cell (A's state, B's state) with the number of states in it and of the
  transitions that stay inside it; an edge joins two cells with at least one
  transition between them and is labelled with the number of such transitions
  (``×123``).  The initial state's cell is filled, cells holding a proper final
  state are doubled.
* :func:`graph_json` and :func:`graph_graphml` export the whole graph with
  networkx's writers, for other tools: per state its depth, both RFC states,
  whether it is initial or proper final and a compact text of the whole world;
  per transition the event in words.

All text is deterministic: the same exploration gives the same bytes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import graphviz
import networkx as nx

from checks.explicit import Exploration
from checks.properties import Result, proper_final
from checks.trace import event_text
from spec.machine import NET, SIDE_NAMES, Label, Transition, World
from spec.segment import Segment, flag_letters
from spec.states import TcpState
from spec.tcb import Ended, Endpoint

#: The largest graph :func:`reachable_dot` draws by default: beyond it dot's layout is unreadable.
DRAWN_LIMIT = 300

INITIAL_FILL = "#dbe8f6"
VIOLATION_COLOR = "#d62728"
VIOLATION_FILL = "#fde0e0"
_FONT = "Helvetica"
_SHOWN_SEGMENTS = 4  # a channel with more segments in flight shows their number instead
_CHANNEL_SHORT = ("A>B", "B>A")
_DEFAULT_ENDPOINT = Endpoint()


def _ended(side: int) -> Callable[[World], str]:
    def outcomes(world: World) -> str:
        return ",".join(str(e.outcome).replace(" ", "-") for e in world.endpoint(side).history) or "-"

    return outcomes


#: Fields that tell apart states whose labels would otherwise read the same, most telling first.
_TELLERS: tuple[tuple[str, Callable[[World], Any]], ...] = (
    ("A.pc", attrgetter("a.pc")),
    ("B.pc", attrgetter("b.pc")),
    ("A.ended", _ended(0)),
    ("B.ended", _ended(1)),
    ("A.iss", attrgetter("a.iss")),
    ("B.iss", attrgetter("b.iss")),
    ("A.una", attrgetter("a.snd_una")),
    ("B.una", attrgetter("b.snd_una")),
    ("A.rcv", attrgetter("a.rcv_nxt")),
    ("B.rcv", attrgetter("b.rcv_nxt")),
    ("A.inc", attrgetter("a.inc")),
    ("B.inc", attrgetter("b.inc")),
    ("A.retries", attrgetter("a.retries")),
    ("B.retries", attrgetter("b.retries")),
    ("A.timer", attrgetter("a.timer")),
    ("B.timer", attrgetter("b.timer")),
    ("losses", attrgetter("losses")),
    ("dups", attrgetter("dups")),
    ("crashes", attrgetter("crashes")),
)
_SHOWN_TELLERS = 3


# --- Text of states and transitions -----------------------------------------------------------------


def channel_text(world: World) -> str:
    """What is in flight, compactly: ``A>B: [S]  B>A: [S.] [.]`` (empty when nothing is)."""
    parts = []
    for index, chan in enumerate((world.ab, world.ba)):
        if not chan:
            continue
        if len(chan) > _SHOWN_SEGMENTS:
            parts.append(f"{_CHANNEL_SHORT[index]}: {len(chan)} segs")
        else:
            parts.append(f"{_CHANNEL_SHORT[index]}: " + " ".join(f"[{flag_letters(s.flags)}]" for s in chan))
    return "  ".join(parts)


def _segment_compact(seg: Segment) -> str:
    text = f"{flag_letters(seg.flags)} {seg.seq}"
    if seg.ACK:
        text += f" ack {seg.ack}"
    if seg.data:
        text += f" unit {seg.data}"
    return text + f" inc {seg.inc}" + (f" age {seg.age}" if seg.age else "")


def _value_text(value: Any) -> str:
    if isinstance(value, Segment):
        return "[" + _segment_compact(value) + "]"
    if isinstance(value, Ended):
        text = f"inc {value.inc} {value.outcome} in {value.state}, peer inc {value.peer_inc}, sent {value.sent}"
        return "{" + text + (f", delivered {_value_text(value.delivered)}" if value.delivered else "") + "}"
    if isinstance(value, TcpState):
        return str(value)
    if isinstance(value, tuple):
        return "(" + " ".join(_value_text(v) for v in value) + ")"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def endpoint_text(ep: Endpoint) -> str:
    """The endpoint's state and every TCB field that differs from a fresh one: ``SYN-SENT pc=1 iss=1000 ...``."""
    fields = [
        f"{name}={_value_text(value)}"
        for name, value, default in zip(Endpoint._fields, ep, _DEFAULT_ENDPOINT, strict=True)
        if name != "state" and value != default
    ]
    return " ".join([str(ep.state), *fields])


def world_text(world: World) -> str:
    """A compact, deterministic text of a whole world (both endpoints, both channels, the fault budgets)."""
    parts = [f"A {endpoint_text(world.a)}", f"B {endpoint_text(world.b)}"]
    for index, chan in enumerate((world.ab, world.ba)):
        if chan:
            parts.append(f"{_CHANNEL_SHORT[index]} " + " ".join(f"[{_segment_compact(s)}]" for s in chan))
    budgets = [f"{name}={getattr(world, name)}" for name in ("losses", "dups", "crashes") if getattr(world, name)]
    return " | ".join(parts + budgets)


def rule_text(label: Label, transition: Transition) -> str:
    """An edge's label: the actor and the rules applied (``A open-active``), or the event (``lose A>B [S]``)."""
    rules = ", ".join(r.name for r in transition.rules)
    if label.seg is not None and label.kind in ("lose", "duplicate"):
        return f"{label.kind} {_CHANNEL_SHORT[label.channel]} [{flag_letters(label.seg.flags)}]"
    if label.actor == NET:
        return f"{label.kind}: {rules}" if rules else label.kind
    if label.kind == "crash":
        return f"{SIDE_NAMES[label.actor]} crash"
    return f"{SIDE_NAMES[label.actor]} {rules or label.kind}"


def _event(ex: Exploration, world: World, label: Label) -> str:
    script = ex.config.endpoint(label.actor).script if label.actor != NET else ()
    return f"{SIDE_NAMES[label.actor]}: {event_text(label, None, script, world)}"


# --- The full reachable graph -------------------------------------------------------------------------


def reachable_dot(
    ex: Exploration,
    violations: Mapping[int, str] | None = None,
    *,
    limit: int = DRAWN_LIMIT,
    rankdir: str = "TB",
) -> str:
    """DOT source of every reachable state and transition, ranked by BFS depth.

    ``violations`` maps state ids to a message: those states are drawn red.  ``rankdir="LR"`` lays
    the depths out left to right, which suits wide, shallow graphs (half-open) better.
    Raises ValueError for graphs of more than ``limit`` states (draw :func:`quotient_dot` instead).
    """
    n = len(ex.states)
    if n > limit:
        raise ValueError(
            f"the reachable graph of {ex.config.name} has {n:,} states, more than the {limit:,} that dot can "
            "lay out readably; draw its quotient by endpoint states instead (quotient_dot)"
        )
    violations = violations or {}
    dot = graphviz.Digraph(
        name=f"{ex.config.name}-reachable",
        graph_attr={
            "rankdir": rankdir,
            "nodesep": "0.25",
            "splines": "polyline",
            "ranksep": "0.45",
            "fontname": _FONT,
            "label": f"{ex.config.name}: {n:,} states, {ex.transitions:,} transitions (rank = BFS depth)",
            "labelloc": "t",
            "fontsize": "14",
        },
        node_attr={"shape": "box", "style": "rounded", "fontname": _FONT, "fontsize": "10", "margin": "0.06,0.03"},
        edge_attr={"fontname": _FONT, "fontsize": "8", "arrowsize": "0.6", "color": "#555555"},
    )
    dot.node("legend", _legend_html(bool(violations)), shape="plain")
    by_depth: dict[int, list[int]] = defaultdict(list)
    for sid in range(n):
        by_depth[ex.depth[sid]].append(sid)
    labels = _state_labels(ex.states)
    for depth in sorted(by_depth):
        with dot.subgraph(name=f"depth{depth}") as rank:
            rank.attr(rank="same")
            for sid in by_depth[depth]:
                rank.node(f"s{sid}", **_state_attrs(ex, sid, labels[sid], violations))
    for src in range(n):
        world = ex.states[src]
        texts: dict[int, list[str]] = defaultdict(list)
        events: dict[int, list[str]] = defaultdict(list)
        network: dict[int, bool] = defaultdict(lambda: True)
        for dst, lid in ex.successors_of(src):
            label = ex.labels[lid]
            text = rule_text(label, ex.machine.step(world, label))
            if text not in texts[dst]:
                texts[dst].append(text)
            events[dst].append(_event(ex, world, label))
            network[dst] &= label.actor == NET or label.kind == "crash"
        for dst in sorted(texts):
            attrs = {"label": "\\n".join(texts[dst]), "tooltip": "\\n".join(events[dst])}
            if network[dst]:
                attrs["style"] = "dashed"
            dot.edge(f"s{src}", f"s{dst}", **attrs)
    return str(dot.source)


def _state_labels(states: Sequence[World]) -> list[str]:
    """Node labels (without the id): both RFC states, what is in flight, and what tells apart look-alikes."""
    base = []
    for world in states:
        flight = channel_text(world)
        base.append(f"A {world.a.state} · B {world.b.state}" + (f"\\n{flight}" if flight else ""))
    groups: dict[str, list[int]] = defaultdict(list)
    for sid, text in enumerate(base):
        groups[text].append(sid)
    labels = list(base)
    for sids in groups.values():
        if len(sids) < 2:
            continue
        keys: list[tuple[Any, ...]] = [() for _ in sids]
        shown = []
        for name, get in _TELLERS:  # greedily, the fields that split the group further
            finer = [key + (get(states[sid]),) for key, sid in zip(keys, sids, strict=True)]
            if len(set(finer)) > len(set(keys)):
                keys = finer
                shown.append(name)
            if len(shown) == _SHOWN_TELLERS or len(set(keys)) == len(sids):
                break
        for key, sid in zip(keys, sids, strict=True):
            if shown:
                labels[sid] += "\\n" + " ".join(f"{name}={value}" for name, value in zip(shown, key, strict=True))
    return labels


def _state_attrs(ex: Exploration, sid: int, text: str, violations: Mapping[int, str]) -> dict[str, str]:
    world = ex.states[sid]
    attrs = {"label": f"{sid}\\n{text}", "tooltip": world_text(world)}
    styles = ["rounded"]
    if sid == 0:
        styles.append("filled")
        attrs["fillcolor"] = INITIAL_FILL
    if proper_final(world, ex.config):
        attrs["peripheries"] = "2"
    if sid in violations:
        attrs.update(color=VIOLATION_COLOR, fontcolor=VIOLATION_COLOR, penwidth="2", tooltip=violations[sid])
        if sid != 0:
            styles.append("filled")
            attrs["fillcolor"] = VIOLATION_FILL
    attrs["style"] = ",".join(styles)
    return attrs


def _legend_html(with_violations: bool, cells: bool = False) -> str:
    what = "cell of the initial state" if cells else "initial state"
    final = "holds a proper final state" if cells else "proper final state"
    rows = [
        f'<tr><td bgcolor="{INITIAL_FILL}" border="1" style="rounded">   </td><td align="left">{what}</td></tr>',
        f'<tr><td border="3" style="rounded">   </td><td align="left">{final} (drawn doubled)</td></tr>',
    ]
    if with_violations:
        rows.append(
            f'<tr><td bgcolor="{VIOLATION_FILL}" color="{VIOLATION_COLOR}" border="2">   </td>'
            '<td align="left">violates a property</td></tr>'
        )
    return (
        '<<table border="0" cellborder="0" cellspacing="3" cellpadding="2">'
        '<tr><td colspan="2" align="left"><b>legend</b></td></tr>' + "".join(rows) + "</table>>"
    )


# --- The quotient by endpoint states ------------------------------------------------------------------

Cell = tuple[TcpState, TcpState]


def quotient_graph(ex: Exploration) -> nx.DiGraph:
    """The graph's quotient by (A's state, B's state): nodes are cells, edges carry ``count`` transitions.

    Node attributes: ``states`` (how many), ``inside`` (transitions staying in the cell), ``depth``
    (the smallest BFS depth in it), ``final`` (proper final states in it), ``initial`` (bool).
    """
    width = len(TcpState)
    cell_of = [w.a.state * width + w.b.state for w in ex.states]
    states = [0] * (width * width)
    depth = [-1] * (width * width)
    final = [0] * (width * width)
    config = ex.config
    for sid, world in enumerate(ex.states):
        c = cell_of[sid]
        if not states[c]:
            depth[c] = ex.depth[sid]  # BFS order: the first state met is the shallowest
        states[c] += 1
        if not (world.ab or world.ba) and proper_final(world, config):
            final[c] += 1
    counts: dict[int, int] = defaultdict(int)
    for src, dst, _ in ex.edges():
        counts[cell_of[src] * width * width + cell_of[dst]] += 1
    g = nx.DiGraph()
    initial = cell_of[0] if ex.states else -1
    for c in range(width * width):
        if states[c]:
            g.add_node(
                _cell(c),
                states=states[c],
                inside=counts.get(c * width * width + c, 0),
                depth=depth[c],
                final=final[c],
                initial=c == initial,
            )
    for key in sorted(counts):
        src, dst = divmod(key, width * width)
        if src != dst:
            g.add_edge(_cell(src), _cell(dst), count=counts[key])
    return g


def _cell(c: int) -> Cell:
    a, b = divmod(c, len(TcpState))
    return TcpState(a), TcpState(b)


def _cell_id(cell: Cell) -> str:
    return f"{cell[0].name}__{cell[1].name}"


def quotient_dot(ex: Exploration) -> str:
    """DOT source of :func:`quotient_graph`: one node per (A state, B state) cell, edges labelled ``×count``."""
    g = quotient_graph(ex)
    dot = graphviz.Digraph(
        name=f"{ex.config.name}-quotient",
        graph_attr={
            "rankdir": "TB",
            "nodesep": "0.3",
            "ranksep": "0.5",
            "fontname": _FONT,
            "label": (
                f"{ex.config.name}: {len(ex.states):,} states, {ex.transitions:,} transitions, "
                f"grouped by (A state, B state)"
            ),
            "labelloc": "t",
            "fontsize": "14",
        },
        node_attr={"shape": "box", "style": "rounded", "fontname": _FONT, "fontsize": "10"},
        edge_attr={"fontname": _FONT, "fontsize": "9", "arrowsize": "0.6", "color": "#555555"},
    )
    dot.node("legend", _legend_html(False, cells=True), shape="plain")
    for cell in sorted(g.nodes):
        data = g.nodes[cell]
        label = f"A {cell[0]}\\nB {cell[1]}\\n{_plural(data['states'], 'state')}"
        if data["inside"]:
            label += f", {data['inside']:,} inside"
        attrs = {"label": label, "tooltip": f"smallest BFS depth {data['depth']}"}
        if data["final"]:
            attrs["peripheries"] = "2"
            attrs["tooltip"] += f"; {_plural(data['final'], 'proper final state')}"
        if data["initial"]:
            attrs.update(style="rounded,filled", fillcolor=INITIAL_FILL)
        dot.node(_cell_id(cell), **attrs)
    for src, dst in sorted(g.edges):
        count = g.edges[src, dst]["count"]
        dot.edge(_cell_id(src), _cell_id(dst), label=f"×{count:,}", penwidth=_pen(count))
    return str(dot.source)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _pen(count: int) -> str:
    """Edge width grows with the number of digits of its transition count: 1 for one, 3 from 100,000."""
    return f"{min(3.0, 0.6 + 0.4 * len(str(count))):.1f}"


# --- Exports ----------------------------------------------------------------------------------------


def export_graph(ex: Exploration) -> nx.MultiDiGraph:
    """The whole explored graph for export: one edge per transition (key = label id), text attributes."""
    g = nx.MultiDiGraph(name=ex.config.name)
    config = ex.config
    for sid, world in enumerate(ex.states):
        g.add_node(
            sid,
            depth=ex.depth[sid],
            a=str(world.a.state),
            b=str(world.b.state),
            initial=sid == 0,
            final=proper_final(world, config),
            world=world_text(world),
        )
    texts: dict[int, str] = {}  # label id -> event text, for events whose text does not depend on the state
    for src, dst, lid in ex.edges():
        label = ex.labels[lid]
        if label.kind == "call":
            text = _event(ex, ex.states[src], label)
        else:
            text = texts.get(lid) or texts.setdefault(lid, _event(ex, ex.states[src], label))
        g.add_edge(src, dst, key=lid, label=text)
    return g


def graph_json(ex: Exploration) -> str:
    """The whole graph as node-link JSON (``nx.node_link_data``; read back with ``nx.node_link_graph``)."""
    data = nx.node_link_data(export_graph(ex), edges="edges")
    return json.dumps(data, sort_keys=True, indent=1) + "\n"


def graph_graphml(ex: Exploration) -> str:
    """The whole graph as GraphML (``nx.generate_graphml``; read back with ``nx.parse_graphml``)."""
    return "\n".join(nx.generate_graphml(export_graph(ex))) + "\n"


# --- Violations ---------------------------------------------------------------------------------------


def violating_states(results: Iterable[Result]) -> dict[int, str]:
    """The last state of each failed safety counterexample, mapped to its message (for :func:`reachable_dot`).

    Liveness counterexamples (with a loop) and empty paths (the initial state itself is not marked) are skipped.
    """
    out: dict[int, str] = {}
    for r in results:
        cx = r.counterexample
        if not r.failed or cx is None or cx.loop or not cx.path:
            continue
        sid = cx.path[-1][0]
        message = f"{r.prop.name}: {cx.message or r.detail or r.verdict}"
        out[sid] = f"{out[sid]}; {message}" if sid in out else message
    return out
