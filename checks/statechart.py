"""The endpoint state machine, drawn in the layout of RFC 9293 Figure 5.

Every edge comes from the rules in ``spec/``: a rule that moves from state S to
state T (``to=``) draws S -> T labelled ``event / action``, the event as Figure 5
words it (``Rule.trigger``) and the action from what the rule sends
(``Rule.action``).  Exploration adds what no single rule declares: a segment
processed by two state-changing rules in one event (RFC 9293 Note 2: FIN-WAIT-1
to TIME-WAIT when a FIN arrives with the ACK of our FIN) draws the composite
edge, and every edge records whether some preset really took it.

Each edge is held against Figure 5 as :mod:`checks.conformance` transcribes it:
the figure's own edges are drawn solid, the changes its notes and the text
describe (resets, ABORT, timeouts, queued CLOSEs) dashed, and an edge no preset
took is drawn dotted.  CLOSED appears twice, as in the figure: where
connections begin (top) and where they end from a synchronized state (bottom).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import graphviz

from checks.conformance import FIGURE_5, TEXT_EDGES
from checks.explicit import explore
from spec.config import Config
from spec.machine import Transition, World
from spec.rules import Rule
from spec.segment import flag_letters
from spec.states import (
    CLOSED,
    ESTABLISHED,
    FIN_WAIT_2,
    SYN_RECEIVED,
    SYNCHRONIZED,
    TcpState,
)

#: Figure 5's rows, top to bottom, each left to right; "CLOSED-END" is the bottom CLOSED.
FIGURE_ROWS: tuple[tuple[str, ...], ...] = (
    ("CLOSED",),
    ("LISTEN",),
    ("SYN-RECEIVED", "SYN-SENT"),
    ("ESTABLISHED",),
    ("FIN-WAIT-1", "CLOSE-WAIT"),
    ("FIN-WAIT-2", "CLOSING", "LAST-ACK"),
    ("TIME-WAIT", "CLOSED-END"),
)

#: How Figure 5 abbreviates the state names in its boxes.
FIGURE_NAMES = {SYN_RECEIVED: "SYN-RCVD", ESTABLISHED: "ESTAB", FIN_WAIT_2: "FIN-WAIT-2"}

#: The legend's line when the changes Figure 5 leaves out (Note 3) are left out here too.
NOTE_3 = "not drawn (as in Figure 5, Note 3): changes to CLOSED on rcv RST, ABORT, timeout\\l"

#: The configuration switch behind a rule's ``when``, for the edge's label.
CONDITIONS = {
    "with_rfc5961": "RFC 5961",
    "without_rfc5961": "RFC 793, no RFC 5961",
    "with_rfc1337": "RFC 1337",
    "without_rfc1337": "no RFC 1337",
    "with_retransmission": "",
}


@dataclass(frozen=True)
class StateEdge:
    """One edge of the endpoint state machine."""

    source: TcpState
    target: TcpState
    event: str  # "rcv SYN", "CLOSE", "Timeout=2MSL"
    action: str  # "snd SYN,ACK", "delete TCB", "x"
    rules: tuple[str, ...]  # the rules that make this change (several for a composite edge: in order)
    figure: str | None  # Figure 5's label of this edge, or None if the figure does not draw it
    note: str  # for an edge Figure 5 does not draw: where the RFC describes it, or why the model has it
    taken: bool  # some exploration of the presets took it
    composite: bool = False  # several rules in one event (RFC 9293 Note 2)

    @property
    def label(self) -> str:
        return f"{self.event} / {self.action}"


def figure_sends(label: str) -> frozenset[str]:
    """The segments a Figure 5 label sends: ``"rcv SYN / snd SYN,ACK"`` -> {"SYN,ACK"}."""
    return rule_sends(label.split(" / ", 1)[1]) if " / " in label else frozenset()


def figure_event(label: str) -> str:
    """The event of a Figure 5 label, without its note: ``"rcv RST (note 1)"`` -> ``"rcv RST"``."""
    event = label.split(" / ", 1)[0]
    return event.split(" (", 1)[0].strip()


def rule_sends(action: str) -> frozenset[str]:
    """The segments an action sends: ``"snd RST, delete TCB"`` -> {"RST"}."""
    return frozenset(part[4:] for part in action.split(", ") if part.startswith("snd "))


def matches_figure(source: TcpState, target: TcpState, event: str, action: str) -> str | None:
    """Figure 5's label of this edge when the figure draws it with this event and these sends, else None."""
    label = FIGURE_5.get((source, target))
    if label is None or figure_event(label) != event or figure_sends(label) != rule_sends(action):
        return None
    return label


class ChangeCollector:
    """An exploration observer that notes every state change, and every chain of changes in one event."""

    def __init__(self) -> None:
        self.single: set[tuple[TcpState, TcpState, str]] = set()
        self.chains: dict[tuple[TcpState, TcpState, tuple[str, ...]], str] = {}  # -> what the event sent

    def on_state(self, sid: int, world: World) -> None:
        return None

    def on_transition(self, src: int, world: World, transition: Transition, dst: int) -> None:
        for side in (0, 1):
            changes = [c for c in transition.changes if c.side == side]
            for c in changes:
                self.single.add((c.before, c.after, c.rule))
            if len(changes) > 1:
                key = (changes[0].before, changes[-1].after, tuple(c.rule for c in changes))
                sends = ",".join(sorted({sent_word(seg.flags) for channel, seg in transition.sent if channel == side}))
                self.chains.setdefault(key, sends)


#: How a rule's ``sends`` writes a segment's control bits (tcpdump's letters): ``S.`` is ``SYN,ACK``.
SENT_WORDS = {"S": "SYN", "S.": "SYN,ACK", ".": "ACK", "F.": "FIN", "R": "RST", "R.": "RST,ACK"}


def sent_word(flags: int) -> str:
    """The word a rule's ``sends`` uses for a segment with these control bits: ``SYN,ACK``, ``FIN``, ..."""
    letters = flag_letters(flags)
    return SENT_WORDS.get(letters, letters)


def collect_changes(configs: Iterable[Config]) -> ChangeCollector:
    """Explore each configuration and note the state changes taken."""
    collector = ChangeCollector()
    for config in configs:
        explore(config, [collector])
    return collector


def _condition(r: Rule) -> str:
    if r.when is None:
        return ""
    return CONDITIONS.get(r.when.__name__, r.when.__name__)


def _note(source: TcpState, target: TcpState, rules: Sequence[Rule]) -> str:
    described = TEXT_EDGES.get((source, target))
    if described:
        return described
    sections = sorted({f"§{r.section}" for r in rules})
    conditions = sorted({c for r in rules if (c := _condition(r))})
    return ", ".join(sections) + (f" ({'; '.join(conditions)})" if conditions else "")


def state_edges(rules: Sequence[Rule], collector: ChangeCollector) -> list[StateEdge]:
    """Every state change the rules declare, plus the composite ones exploration took, in a fixed order."""
    grouped: dict[tuple[TcpState, TcpState, str, str], list[Rule]] = {}
    for r in rules:
        if r.to is None:
            continue
        for source in sorted(r.states):
            if source is not r.to:
                grouped.setdefault((source, r.to, r.trigger, r.action), []).append(r)
    edges = []
    for (source, target, event, action), group in grouped.items():
        figure = matches_figure(source, target, event, action)
        edges.append(
            StateEdge(
                source,
                target,
                event,
                action,
                tuple(r.name for r in group),
                figure,
                "" if figure else _note(source, target, group),
                any((source, target, r.name) in collector.single for r in group),
            )
        )
    by_name = {r.name: r for r in rules}
    for (source, target, chain), sends in sorted(collector.chains.items(), key=lambda kv: _chain_key(kv[0])):
        if source is target:
            continue
        first = by_name[chain[0]]
        event = first.trigger if len({by_name[n].trigger for n in chain}) == 1 else _joined_trigger(chain, by_name)
        action = f"snd {sends}" if sends else "x"
        edges.append(
            StateEdge(
                source,
                target,
                event,
                action,
                chain,
                None,
                _note(source, target, [by_name[n] for n in chain]),
                True,
                composite=True,
            )
        )
    return sorted(edges, key=lambda e: (e.source, e.target, e.figure is None, e.event, e.action))


def _chain_key(key: tuple[TcpState, TcpState, tuple[str, ...]]) -> tuple[int, int, tuple[str, ...]]:
    return (int(key[0]), int(key[1]), key[2])


def _joined_trigger(chain: Sequence[str], by_name: dict[str, Rule]) -> str:
    """``rcv ACK of FIN`` then ``rcv FIN`` in one segment: ``rcv FIN + ACK of FIN``."""
    words = [by_name[n].trigger.removeprefix("rcv ") for n in chain]
    return "rcv " + " + ".join(reversed(words))


def figure_edges_missing(edges: Sequence[StateEdge]) -> list[str]:
    """Figure 5's edges that no rule draws (should be none), as text."""
    drawn = {(e.source, e.target, e.figure) for e in edges if e.figure}
    return [
        f"{source} -> {target}: {label}"
        for (source, target), label in FIGURE_5.items()
        if (source, target, label) not in drawn
    ]


#: Where the "all changes" drawing sends resets, ABORTs and timeouts from synchronized states: a CLOSED of
#: its own, in a row below the figure, so that dot gives their labels room instead of piling them on one box.
ABNORMAL_END = "CLOSED-ABNORMAL"


def _node(state: TcpState, end: bool = False) -> str:
    return "CLOSED-END" if end else str(state)


def _target_node(edge: StateEdge, abnormal_ends: bool = False) -> str:
    """Figure 5 draws the change to CLOSED from a synchronized state into the bottom CLOSED box."""
    ends = edge.target is CLOSED and edge.source in SYNCHRONIZED
    if ends and abnormal_ends and abnormal_end(edge):
        return ABNORMAL_END
    return _node(edge.target, ends)


def abnormal_end(edge: StateEdge) -> bool:
    """A change to CLOSED that Figure 5 leaves out (Note 3): a reset, an ABORT, a timeout."""
    return edge.figure is None and edge.target is CLOSED


def statechart_dot(edges: Sequence[StateEdge], title: str, abnormal_ends: bool = True) -> str:
    """The state machine as DOT source: Figure 5's rows, its edges solid, the others dashed or dotted.

    Without ``abnormal_ends``, the changes to CLOSED that Figure 5 leaves out for legibility
    (Note 3: resets, ABORT, timeouts) are left out here too, and the legend says so; with them,
    those from synchronized states end in a CLOSED box of their own below the figure.
    """
    g = graphviz.Digraph("endpoint", graph_attr={"label": title, "labelloc": "t", "fontsize": "18"})
    g.attr("graph", rankdir="TB", nodesep="0.9", ranksep="0.75", newrank="true", fontname="Helvetica")
    g.attr("node", shape="box", style="rounded", fontname="Helvetica", fontsize="13", width="1.3")
    g.attr("edge", fontname="Helvetica", fontsize="10")
    joined = {(_node(e.source), _target_node(e)) for e in edges if e.figure is not None}
    for i, row in enumerate(FIGURE_ROWS):
        with g.subgraph(name=f"row{i}") as sub:
            sub.attr(rank="same")
            for name in row:
                state = CLOSED if name == "CLOSED-END" else TcpState.parse(name)
                sub.node(name, FIGURE_NAMES.get(state, str(state)))
        for left, right in itertools.pairwise(row):
            if (left, right) not in joined:  # a real edge keeps them in order; two would crowd its label
                g.edge(left, right, style="invis")
    if abnormal_ends:
        g.node(ABNORMAL_END, "CLOSED\\n(reset, ABORT, timeout)")
    merged: dict[tuple[str, str, bool], list[StateEdge]] = {}
    for e in edges:
        if e.figure is None and (abnormal_ends or not abnormal_end(e)):
            target = _target_node(e, abnormal_ends)
            merged.setdefault((_node(e.source), target, target == ABNORMAL_END), []).append(e)
    for e in edges:
        if e.figure is not None:
            g.edge(
                _node(e.source),
                _target_node(e),
                label=e.label,
                tooltip=f"Figure 5: {e.figure}; rules: {', '.join(e.rules)}",
                penwidth="1.6",
                style="solid" if e.taken else "dotted",
            )
    for (source, target, below), group in merged.items():
        lines = [f"{e.label}{'' if e.taken else ' (not taken)'}" for e in group]
        tooltip = "; ".join(f"{e.label}: {e.note}; rules: {', '.join(e.rules)}" for e in group)
        g.edge(
            source,
            target,
            label="\n".join(lines),
            tooltip=tooltip,
            style="dashed" if any(e.taken for e in group) else "dotted",
            color="#3465a4",
            fontcolor="#3465a4",
            constraint="true" if below else "false",
        )
    with g.subgraph(name="cluster_legend") as legend:
        legend.attr(label="", style="rounded", color="gray")
        legend.node(
            "legend",
            "solid: an edge of RFC 9293 Figure 5\\l"
            "dashed blue: a change the RFC's text or notes describe but Figure 5 does not draw\\l"
            "dotted: declared by a rule, taken by no preset\\l"
            "labels: event / action, derived from the rules in spec/\\l"
            + (
                ""
                if abnormal_ends
                else "not drawn (as in Figure 5, Note 3): changes to CLOSED on rcv RST, ABORT, timeout\\l"
            ),
            shape="plaintext",
            fontsize="10",
        )
    g.edge(ABNORMAL_END if abnormal_ends else "TIME-WAIT", "legend", style="invis")
    return str(g.source)
