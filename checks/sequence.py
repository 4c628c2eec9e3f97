"""Message sequence charts of a path of the model: two lifelines, time going down, segments as slanted arrows.

A path (a canonical scenario, or a counterexample) is replayed from the initial
state with :meth:`spec.machine.Machine.step` into a :class:`Chart`: one row per
step, and one :class:`Arrow` per copy of a segment put on the network, from the
row it was sent (or duplicated) to the row where it met its fate -- received
(``delivered``), lost by the network (``lost``), dropped by a full channel at
once (``dropped``), or still on its way when the path ends (``in flight``).
Copies are matched per channel, ignoring their age, earliest sent first; a
copy the network duplicated begins at the duplication's row.  Marks
(:class:`Mark`) are what is written on a lifeline: the state an endpoint is in
after a step that changed it, user calls, timeouts, crashes, and ticks of the
clock.  ``loop`` labels (a liveness counterexample's repeating part) are
replayed after the path and marked, not checked to return to their start.

Renderings of one chart:

* :func:`chart_dot` -- Graphviz source with every position pinned (draw it with
  :data:`ENGINE`; :func:`chart_svg` does).  Rows are :data:`ROW` points apart
  (:data:`THIN_ROW` around a row where no arrow begins or ends and no state
  changes), the lifelines :data:`GAP` points apart.  Arrows are straight edges
  between points on the two lifelines, so they slant by the time they spent in
  flight; each label is a node placed beside its arrow where it crosses the
  fewest other arrows, labels and boxes (see :func:`_place_labels`).  Lost and
  dropped copies end at a red cross; a duplicate (dashed, blue) branches off its
  original; a copy still in flight at the end runs dashed to the bottom.  State
  boxes sit on the lifeline half a row below the step that entered the state;
  calls, timeouts and crashes are notes outside the lifelines; a tick is a
  dotted line, and the left margin has step numbers and times;
* :func:`chart_mermaid` -- a Mermaid ``sequenceDiagram``, each arrow written at
  the row it arrives or is lost (Mermaid cannot slant arrows);
* :func:`chart_json` -- the chart as data (documented there);
* :func:`chart_text` -- the project's text trace (:func:`checks.trace.format_trace`).

Segments are labelled in tcpdump's notation with absolute numbers:
``[S] seq 4294967295``, ``[S.] seq 300 ack 0``, ``[P.] seq 0:1 ack 301 length 1``.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import graphviz

from checks.render import svg_from_dot
from checks.trace import TraceStep, build_trace, format_trace, segment_text
from spec.machine import NET, SIDE_NAMES, Label, Machine, Transition, World
from spec.rules import Event
from spec.segment import Segment, describe, flag_letters
from spec.states import ACK

if TYPE_CHECKING:
    from checks.properties import Counterexample

#: The Graphviz engine that draws :func:`chart_dot` (every node is pinned; ``inputscale=72`` makes positions points).
ENGINE = "neato"

DELIVERED, LOST, DROPPED, IN_FLIGHT = "delivered", "lost", "dropped", "in flight"
FATES = (DELIVERED, LOST, DROPPED, IN_FLIGHT)


# --- the chart as data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrow:
    """One copy of a segment on the network, from the row it was sent to the row of its fate."""

    index: int
    channel: int  # 0 = A > B, 1 = B > A; the sender is the endpoint numbered ``channel``
    segment: Segment  # with age 0
    label: str  # tcpdump notation, short
    sent: int  # the row it was sent at (for a duplicate: the row the network copied it)
    end: int | None  # the row it was received, lost or dropped; None while in flight at the end
    fate: str  # one of FATES
    duplicate_of: int | None = None  # the arrow this copy was made from

    @property
    def sender(self) -> int:
        return self.channel

    @property
    def receiver(self) -> int:
        return 1 - self.channel


@dataclass(frozen=True)
class Mark:
    """Something written on a lifeline at a row: ``state``, ``call``, ``timeout``, ``crash`` or ``tick``."""

    row: int
    side: int  # 0 = A, 1 = B, 2 = both (a tick)
    kind: str
    text: str


@dataclass(frozen=True)
class ChartStep:
    """One row: a step of the path."""

    row: int
    label: Label
    trace: TraceStep  # the same step as the text trace prints it
    states: tuple[str, str]  # both endpoints' states after the step
    rules: tuple[str, ...]
    sent: tuple[int, ...]  # arrows that begin here (segments sent, dropped, or a duplicate made)
    ended: int | None  # the arrow received or lost here


@dataclass(frozen=True)
class Chart:
    """A path of the model as a message sequence chart."""

    title: str
    initial: tuple[str, str]  # both endpoints' states before the first step
    steps: tuple[ChartStep, ...]
    marks: tuple[Mark, ...]
    arrows: tuple[Arrow, ...]
    loop_start: int | None = None  # the first row of the repeating part of a liveness counterexample
    timed: bool = False  # the configuration has a clock: rows carry a time


def segment_label(seg: Segment) -> str:
    """tcpdump's notation, short: ``[P.] seq 0:1 ack 301 length 1`` (no ``length`` without data)."""
    text = describe(seg).removeprefix("Flags ").replace(",", "")
    return text.removesuffix(" length 0")


@dataclass
class _Draft:
    channel: int
    segment: Segment
    sent: int
    end: int | None = None
    fate: str = IN_FLIGHT
    duplicate_of: int | None = None


def _earliest(flight: list[int], drafts: list[_Draft], seg: Segment | None) -> int:
    """The copy of ``seg`` (age ignored) sent earliest among those in flight."""
    assert seg is not None
    key = seg._replace(age=0)
    for index in flight:
        if drafts[index].segment == key:
            return index
    raise ValueError(f"{describe(seg)} is not in flight: the path does not replay")


def _timeout_marks(machine: Machine, world: World, transition: Transition, row: int) -> list[Mark]:
    """Which endpoint's timer expired, and the timeout rules it ran."""
    label = transition.label
    timeouts = [r.name for r in transition.rules if r.event is Event.TIMEOUT]
    if label.kind == "timeout":
        return [Mark(row, label.actor, "timeout", "timeout: " + ", ".join(timeouts or ["nothing to do"]))]
    expiring = [side for side in (0, 1) if world.endpoint(side).timer == 0]
    marks = []
    for side in expiring:
        if len(expiring) > 1:
            reaction = machine.react(side, world.endpoint(side), "timeout")
            timeouts = list(reaction.rules) if reaction is not None else []
        marks.append(Mark(row, side, "timeout", "timeout: " + ", ".join(timeouts or ["nothing to do"])))
    return marks


def chart_from_path(machine: Machine, path: Sequence[Label], loop: Sequence[Label] = (), title: str = "") -> Chart:
    """Replay ``path`` (then ``loop``, the part of a liveness counterexample that repeats) into a chart."""
    labels = list(path) + list(loop)
    trace = build_trace(machine, [(0, lab) for lab in path], [(0, lab) for lab in loop])
    world = machine.initial()
    initial = (str(world.a.state), str(world.b.state))
    drafts: list[_Draft] = []
    flight: tuple[list[int], list[int]] = ([], [])
    steps: list[ChartStep] = []
    marks: list[Mark] = []
    for row, (label, traced) in enumerate(zip(labels, trace, strict=True), 1):
        transition = machine.step(world, label)
        ended: int | None = None
        begun: list[int] = []
        if label.kind in ("segment", "lose"):
            ended = _earliest(flight[label.channel], drafts, label.seg)
            flight[label.channel].remove(ended)
            drafts[ended].end = row
            drafts[ended].fate = DELIVERED if label.kind == "segment" else LOST
        elif label.kind == "duplicate":
            origin = _earliest(flight[label.channel], drafts, label.seg)
            drafts.append(_Draft(label.channel, drafts[origin].segment, row, duplicate_of=origin))
            begun.append(len(drafts) - 1)
            flight[label.channel].append(len(drafts) - 1)
        for channel, seg in transition.sent:
            drafts.append(_Draft(channel, seg._replace(age=0), row))
            begun.append(len(drafts) - 1)
        for seg in transition.dropped:  # a full channel keeps the first sends and drops the rest
            key = seg._replace(age=0)
            index = next(i for i in reversed(begun) if drafts[i].segment == key and drafts[i].fate == IN_FLIGHT)
            drafts[index].end, drafts[index].fate = row, DROPPED
        for index in begun:
            if drafts[index].fate == IN_FLIGHT and index not in flight[drafts[index].channel]:
                flight[drafts[index].channel].append(index)
        if label.kind == "call":
            marks.append(Mark(row, label.actor, "call", traced.event))
        elif label.kind == "crash":
            marks.append(Mark(row, label.actor, "crash", "crash: TCB lost"))
        elif label.kind in ("timeout", "tick"):
            if label.kind == "tick":
                marks.append(Mark(row, NET, "tick", f"t={traced.time}"))
            marks.extend(_timeout_marks(machine, world, transition, row))
        for side in (0, 1):
            after = transition.target.endpoint(side).state
            if any(c.side == side for c in transition.changes) or after is not world.endpoint(side).state:
                marks.append(Mark(row, side, "state", str(after)))
        steps.append(
            ChartStep(
                row=row,
                label=label,
                trace=traced,
                states=(str(transition.target.a.state), str(transition.target.b.state)),
                rules=tuple(r.name for r in transition.rules),
                sent=tuple(begun),
                ended=ended,
            )
        )
        world = transition.target
    arrows = tuple(
        Arrow(i, d.channel, d.segment, segment_label(d.segment), d.sent, d.end, d.fate, d.duplicate_of)
        for i, d in enumerate(drafts)
    )
    loop_start = len(path) + 1 if loop else None
    return Chart(title, initial, tuple(steps), tuple(marks), arrows, loop_start, machine.config.timed)


def chart_from_counterexample(machine: Machine, counterexample: Counterexample, title: str = "") -> Chart:
    """The chart of a counterexample (replayed under its own configuration when it carries one)."""
    if counterexample.config is not None:
        machine = Machine(counterexample.config)
    path = [label for _, label in counterexample.path]
    loop = [label for _, label in counterexample.loop]
    return chart_from_path(machine, path, loop, title)


def chart_text(chart: Chart) -> str:
    """The chart's path as the project's text trace."""
    return format_trace([s.trace for s in chart.steps])


# --- JSON ------------------------------------------------------------------------------------------------------------


def _segment_json(seg: Segment) -> dict[str, Any]:
    return {
        "seq": seg.seq,
        "ack": seg.ack if seg.flags & ACK else None,
        "flags": flag_letters(seg.flags),
        "length": seg.text_len,
        "unit": seg.data or None,
        "incarnation": seg.inc,
        "label": segment_label(seg),
    }


def chart_json(chart: Chart) -> dict[str, Any]:
    """The chart as JSON-ready data.

    ``{"format": "tcpspec-sequence-chart", "version": 1, "title", "initial": {"A", "B"}, "loop_start",
    "timed", "steps", "arrows", "marks"}``.  A step: ``row`` (1, 2, ...; row 0 is the initial state), ``time``
    (ticks), ``actor`` (A, B, network), ``kind`` (call, segment, output, timeout, crash, lose, duplicate,
    tick), ``event`` (in words, as the text trace), ``states`` after it, ``rules``, ``changes``, ``loop``,
    ``received`` and ``lost`` (the arrow received or lost here, or None) and ``sent`` (the arrows that
    begin here: segments sent, a copy the network made); each such arrow reference has ``arrow`` (its
    id), ``fate``, ``duplicate_of`` and the segment's fields.  A segment: ``seq``, ``ack`` (None
    without ACK), ``flags`` (tcpdump's letters), ``length`` (octets of data), ``unit`` (the data unit
    carried, or None), ``incarnation`` and ``label``.  An arrow: ``id``, ``from``, ``to``, ``segment``,
    ``sent`` and ``end`` rows (``end`` None while in flight), ``fate`` (delivered, lost, dropped, in
    flight) and ``duplicate_of`` (an arrow id, or None).
    A mark: ``row``, ``side`` (A, B, both), ``kind`` (state, call, timeout, crash, tick), ``text``.
    """

    def ref(index: int | None) -> dict[str, Any] | None:
        if index is None:
            return None
        a = chart.arrows[index]
        return {"arrow": index, "fate": a.fate, "duplicate_of": a.duplicate_of, **_segment_json(a.segment)}

    steps = [
        {
            "row": s.row,
            "time": s.trace.time,
            "actor": SIDE_NAMES[s.label.actor],
            "kind": s.label.kind,
            "event": s.trace.event,
            "states": {"A": s.states[0], "B": s.states[1]},
            "rules": list(s.rules),
            "changes": list(s.trace.changes),
            "loop": s.trace.loop,
            "received": ref(s.ended) if s.label.kind == "segment" else None,
            "lost": ref(s.ended) if s.label.kind == "lose" else None,
            "sent": [ref(i) for i in s.sent],
        }
        for s in chart.steps
    ]
    arrows = [
        {
            "id": a.index,
            "from": SIDE_NAMES[a.sender],
            "to": SIDE_NAMES[a.receiver],
            "segment": _segment_json(a.segment),
            "sent": a.sent,
            "end": a.end,
            "fate": a.fate,
            "duplicate_of": a.duplicate_of,
        }
        for a in chart.arrows
    ]
    marks = [{"row": m.row, "side": ("A", "B", "both")[m.side], "kind": m.kind, "text": m.text} for m in chart.marks]
    return {
        "format": "tcpspec-sequence-chart",
        "version": 1,
        "title": chart.title,
        "initial": {"A": chart.initial[0], "B": chart.initial[1]},
        "loop_start": chart.loop_start,
        "timed": chart.timed,
        "steps": steps,
        "arrows": arrows,
        "marks": marks,
    }


# --- Mermaid ---------------------------------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    """Text Mermaid reads literally: no statement separators, entity codes, line breaks or angle brackets."""
    for old, new in ((";", ","), ("#", "no."), ("\n", " "), ("<", "("), (">", ")"), ("%%", "%")):
        text = text.replace(old, new)
    return text.strip()


def _arrow_text(arrow: Arrow) -> str:
    notes = ["duplicate"] if arrow.duplicate_of is not None else []
    notes += {LOST: ["lost"], DROPPED: ["dropped, channel full"], IN_FLIGHT: ["in flight"]}.get(arrow.fate, [])
    return arrow.label + (f" ({', '.join(notes)})" if notes else "")


def chart_mermaid(chart: Chart) -> str:
    """A Mermaid ``sequenceDiagram``: each arrow written at the row it arrives, is lost or is dropped."""
    lines = ["sequenceDiagram"]
    if chart.title:
        lines.append(f"    title {_mermaid_text(chart.title)}")
    lines += ["    participant A", "    participant B"]
    lines += [f"    Note over A: {chart.initial[0]}", f"    Note over B: {chart.initial[1]}"]
    where = ("left of A", "right of B")
    indent = "    "
    for step in chart.steps:
        if step.row == chart.loop_start:
            lines.append("    loop from here the run repeats forever")
            indent = "        "
        row_marks = [m for m in chart.marks if m.row == step.row]
        for m in row_marks:
            if m.kind == "tick":
                lines.append(f"{indent}Note over A,B: tick, {m.text}")
        ending = [a for a in chart.arrows if a.end == step.row]
        for a in ending:
            head = "->>" if a.fate == DELIVERED else "-x"
            dashes = "-" if a.duplicate_of is not None else ""
            sender, receiver = SIDE_NAMES[a.sender], SIDE_NAMES[a.receiver]
            lines.append(f"{indent}{sender}{dashes}{head}{receiver}: {_mermaid_text(_arrow_text(a))}")
        for m in row_marks:
            if m.kind in ("call", "timeout", "crash"):
                lines.append(f"{indent}Note {where[m.side]}: {_mermaid_text(m.text)}")
        for m in row_marks:
            if m.kind == "state":
                lines.append(f"{indent}Note over {SIDE_NAMES[m.side]}: {m.text}")
    if chart.loop_start is not None:
        lines.append("    end")
    for a in chart.arrows:
        if a.fate == IN_FLIGHT:
            who = f"{SIDE_NAMES[a.sender]} to {SIDE_NAMES[a.receiver]}"
            copy = " (duplicate)" if a.duplicate_of is not None else ""
            lines.append(f"    Note over A,B: in flight at the end, {who}: {_mermaid_text(a.label + copy)}")
    return "\n".join(lines) + "\n"


# --- layout ----------------------------------------------------------------------------------------------------------

GAP = 440.0  # points between the lifelines
ROW = 42.0  # points between two rows
THIN_ROW = 24.0  # next to a row where no arrow begins or ends and no state changes
LOOP_GAP = 18.0  # extra room above the first row of a loop
HEAD_Y = 0.0
INITIAL_Y = 32.0  # the initial states, below the heads
MONO, MONO_SIZE, MONO_WIDTH = "Courier", 10.0, 6.0  # arrow labels: a monospace font of known advance
LABEL_HEIGHT = 13.0
SANS = "Helvetica"
TITLE_ADVANCE = 7.0  # points per character of the 14-point title, on average
NOTE_SIZE = 9.0
STATE_HEIGHT = 18.0
CROSS = 5.0  # half the size of the cross that ends a lost segment
INK = {DELIVERED: "#222222", LOST: "#c0392b", DROPPED: "#c0392b", IN_FLIGHT: "#555555"}
DUPLICATE_INK = "#1f6fb2"
STATE_FILL = {"CLOSED": "#eeeeee", "ESTABLISHED": "#dff0d8", "LISTEN": "#fcf3cf", "TIME-WAIT": "#e8daef"}
DEFAULT_STATE_FILL = "#dbe8f6"

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # left, top, right, bottom (y grows downwards)


@dataclass(frozen=True)
class _Geometry:
    rows: tuple[float, ...]  # y of row 0 (the initial states) .. N
    bottom: float
    starts: tuple[Point, ...]  # per arrow
    ends: tuple[Point, ...]


def _xs(side: int) -> float:
    return 0.0 if side == 0 else GAP


def _state_width(text: str) -> float:
    return 7.0 * len(text) + 14.0


def _geometry(chart: Chart) -> _Geometry:
    n = len(chart.steps)
    stated = {m.row for m in chart.marks if m.kind == "state"}
    busy = stated | {s.row for s in chart.steps if s.sent or s.ended is not None}
    thin = {s.row for s in chart.steps if s.row not in busy}  # a note or a tick, no arrow ends there
    rows = [INITIAL_Y, INITIAL_Y + ROW * 0.75]
    for row in range(1, n):
        pitch = THIN_ROW if row not in stated and (row in thin or row + 1 in thin) else ROW
        if row + 1 == chart.loop_start:
            pitch += LOOP_GAP
        rows.append(rows[-1] + pitch)
    if chart.loop_start == 1:
        rows[1] += LOOP_GAP
    flying = any(a.fate == IN_FLIGHT for a in chart.arrows)
    bottom = rows[n] + ROW * (1.75 if flying else 1.0) if n else rows[0] + ROW * 0.5
    starts: list[Point] = []
    ends: list[Point] = []
    for a in chart.arrows:
        x0, x1 = _xs(a.sender), _xs(a.receiver)
        start: Point = (x0, rows[a.sent])
        if a.duplicate_of is not None:  # the copy branches off its original where the network made it
            (sx, sy), (ex, ey) = starts[a.duplicate_of], ends[a.duplicate_of]
            y = rows[a.sent]
            start = (sx + (ex - sx) * (y - sy) / (ey - sy), y)
        if a.fate == DELIVERED:
            assert a.end is not None
            end: Point = (x1, rows[a.end])
        elif a.fate == LOST:
            assert a.end is not None
            end = ((x0 + x1) / 2, rows[a.end])
        elif a.fate == DROPPED:
            end = (x0 + (x1 - x0) * 0.22, rows[a.sent] + ROW * 0.4)
        else:  # heading for the receiver as if it arrived a little after the end (a copy after its original)
            arrival = bottom + ROW * (1.0 if a.duplicate_of is not None else 0.5)
            end = (start[0] + (x1 - start[0]) * (bottom - start[1]) / (arrival - start[1]), bottom)
        starts.append(start)
        ends.append(end)
    return _Geometry(tuple(rows), bottom, tuple(starts), tuple(ends))


def _crosses(box: Box, p: Point, q: Point) -> bool:
    """Whether the segment ``p``-``q`` meets ``box`` (Liang-Barsky clipping)."""
    left, top, right, bottom = box
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, p[0] - left), (dx, right - p[0]), (-dy, p[1] - top), (dy, bottom - p[1])):
        if pk == 0:
            if qk < 0:
                return False
            continue
        r = qk / pk
        if pk < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return False
    return True


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _box(center: Point, width: float, height: float) -> Box:
    return (center[0] - width / 2, center[1] - height / 2, center[0] + width / 2, center[1] + height / 2)


#: Where along an arrow its label may go (fraction of the way), how far beside it (points) and slid how far.
_ALONG = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_BESIDE = (3.0, 10.0, 20.0)
_SHIFTS = (0.0, -0.25, 0.25, -0.45, 0.45)  # sideways, in label widths


def _distance(box: Box, p: Point, q: Point) -> float:
    """The distance between ``box`` and the segment ``p``-``q`` (0 when they meet)."""
    if _crosses(box, p, q):
        return 0.0
    corners = ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3]))
    near = min(_point_to_segment(c, p, q) for c in corners)
    for x, y in (p, q):
        dx = max(box[0] - x, 0.0, x - box[2])
        dy = max(box[1] - y, 0.0, y - box[3])
        near = min(near, math.hypot(dx, dy))
    return near


def _point_to_segment(c: Point, p: Point, q: Point) -> float:
    dx, dy = q[0] - p[0], q[1] - p[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((c[0] - p[0]) * dx + (c[1] - p[1]) * dy) / length2))
    return math.hypot(c[0] - p[0] - t * dx, c[1] - p[1] - t * dy)


def _place_labels(chart: Chart, geo: _Geometry, texts: Sequence[str]) -> list[Point]:
    """Centres for the arrows' labels, greedily, each beside its arrow where it costs least.

    Candidates lie along the arrow (``_ALONG``), on either side, at a few distances, slid sideways.
    A candidate costs 10 for each arrow it crosses, 8 for each arrow whose line is about as near its
    centre as its own (it could be read as that arrow's label), 30 for each label, state box or cross it
    overlaps, 100 for leaving the space between the lifelines or the rows, 1 for crossing a tick's line,
    and a little for its centre's distance from its arrow and from the arrow's middle, for being slid
    and for lying below the arrow.
    """
    arrows = [(a.index, geo.starts[a.index], geo.ends[a.index]) for a in chart.arrows]
    rules: list[tuple[Point, Point]] = [((0.0, geo.rows[m.row]), (GAP, geo.rows[m.row])) for m in chart.marks
                                        if m.kind == "tick"]  # fmt: skip
    if chart.loop_start is not None:
        y = _loop_y(chart, geo)
        rules.append(((0.0, y), (GAP, y)))
    boxes: list[Box] = []
    for m in chart.marks:
        if m.kind == "state":
            boxes.append(_box((_xs(m.side), geo.rows[m.row] + ROW / 2), _state_width(m.text), STATE_HEIGHT))
    for side in (0, 1):
        boxes.append(_box((_xs(side), geo.rows[0]), _state_width(chart.initial[side]), STATE_HEIGHT))
    for a in chart.arrows:
        if a.fate in (LOST, DROPPED):
            boxes.append(_box(geo.ends[a.index], 2 * CROSS + 4, 2 * CROSS + 4))
    placed: list[Point] = []
    for a, text in zip(chart.arrows, texts, strict=True):
        (x0, y0), (x1, y1) = geo.starts[a.index], geo.ends[a.index]
        width, height = MONO_WIDTH * len(text) + 6, LABEL_HEIGHT
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        normal = ((y1 - y0) / length, -(x1 - x0) / length)  # a unit normal
        if normal[1] > 0:
            normal = (-normal[0], -normal[1])  # pointing up: "above" the arrow comes first
        reach = abs(normal[0]) * width / 2 + abs(normal[1]) * height / 2
        others = [(p, q) for index, p, q in arrows if index != a.index]
        best: tuple[float, Point] | None = None
        for sense, gap, t, shift in itertools.product((1.0, -1.0), _BESIDE, _ALONG, _SHIFTS):
            h = shift * width  # slid sideways, and away from the arrow as far as that needs
            away = sense * (reach + gap) - h * normal[0]
            centre = (x0 + (x1 - x0) * t + h + normal[0] * away, y0 + (y1 - y0) * t + normal[1] * away)
            box = _box(centre, width, height)
            own = _point_to_segment(centre, (x0, y0), (x1, y1))
            cost = own / 8 + abs(t - 0.5) * 3 + abs(shift) * 2 + (0.5 if sense < 0 else 0.0)
            if box[0] < 6.0 or box[2] > GAP - 6.0 or box[1] < geo.rows[0] or box[3] > geo.bottom + 8:
                cost += 100
            for p, q in others:
                if _crosses(box, p, q):
                    cost += 10
                elif _point_to_segment(centre, p, q) < own + 6:
                    cost += 8
            cost += sum(1 for p, q in rules if _crosses(box, p, q))
            cost += 30 * sum(_overlaps(box, other) for other in boxes)
            if best is None or cost < best[0] - 1e-9:
                best = (cost, centre)
        assert best is not None
        placed.append(best[1])
        boxes.append(_box(best[1], width, height))
    return placed


def _loop_y(chart: Chart, geo: _Geometry) -> float:
    assert chart.loop_start is not None
    return geo.rows[chart.loop_start] - LOOP_GAP / 2 - 4


# --- DOT -------------------------------------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{round(value, 1) + 0.0:.1f}"


def _pos(point: Point) -> str:
    """A pinned position; Graphviz's y grows upwards."""
    return f"{_num(point[0])},{_num(-point[1])}!"


def chart_dot(chart: Chart) -> str:
    """Graphviz source of the chart, every node pinned: draw it with :data:`ENGINE` (``neato``)."""
    geo = _geometry(chart)
    notes = [m for m in chart.marks if m.kind in ("call", "timeout", "crash")]
    margin = max([NOTE_SIZE * 0.55 * len(m.text) + 16 for m in notes] + [70.0])
    g = graphviz.Digraph("sequence")
    g.attr(
        "graph",
        inputscale="72",
        splines="line",
        outputorder="edgesfirst",
        label=_title(chart.title, GAP + 2 * margin + 40),
        labelloc="t",
        fontname=SANS,
        fontsize="14",
        pad="0.25",
        bgcolor="white",
    )
    g.attr("node", shape="point", width="0.01", height="0.01", label="", fontname=SANS, fontsize="10")
    g.attr("edge", arrowsize="0.7", penwidth="1.2")

    top, bottom = HEAD_Y, geo.bottom + 10
    for side, name in ((0, "A"), (1, "B")):
        x = _xs(side)
        g.node(f"head{name}", name, pos=_pos((x, top)), shape="box", style="filled", fillcolor="#f2f2f2",
               fontname=SANS + "-Bold", fontsize="12", width="0.5", height="0.3")  # fmt: skip
        g.node(f"foot{name}", pos=_pos((x, bottom)), style="invis")
        g.edge(f"head{name}", f"foot{name}", arrowhead="none", color="#999999", penwidth="1.5")
        g.node(f"init{name}", chart.initial[side], **_state_attrs(chart.initial[side], (x, geo.rows[0])))

    left_x, right_x = -margin - 8, GAP + margin + 8
    for step in chart.steps:  # step numbers, and the time where the clock ticks, in a column at the left
        y = geo.rows[step.row]
        tick = step.label.kind == "tick"
        g.node(f"row{step.row}", f"{step.row}" + (f"  t={step.trace.time}" if tick else ""),
               pos=_pos((left_x - 18, y)), shape="plaintext", fontsize="8", fontcolor="#999999", width="0",
               height="0", margin="0")  # fmt: skip
    for m in chart.marks:
        y = geo.rows[m.row]
        if m.kind == "state":
            g.node(f"state{m.row}{'AB'[m.side]}", m.text, **_state_attrs(m.text, (_xs(m.side), y + ROW / 2)))
        elif m.kind == "tick":
            g.node(f"tick{m.row}a", pos=_pos((0.0, y)), style="invis")
            g.node(f"tick{m.row}b", pos=_pos((GAP, y)), style="invis")
            g.edge(f"tick{m.row}a", f"tick{m.row}b", arrowhead="none", style="dotted", color="#bbbbbb")
        else:
            right = m.side == 1
            width = margin - 8
            x = GAP + 8 + width / 2 if right else -8 - width / 2
            color = "#c0392b" if m.kind == "crash" else "#444444"
            g.node(f"{m.kind}{m.row}{'AB'[m.side]}", m.text + ("\\l" if right else "\\r"), pos=_pos((x, y)),
                   shape="plaintext", fontname=SANS + "-Oblique", fontsize=_num(NOTE_SIZE), fontcolor=color,
                   width=_num(width / 72), height="0.2", fixedsize="true", margin="0")  # fmt: skip
    if chart.loop_start is not None:
        y = _loop_y(chart, geo)
        g.node("loopa", pos=_pos((left_x, y)), style="invis")
        g.node("loopb", pos=_pos((right_x, y)), style="invis")
        g.edge("loopa", "loopb", arrowhead="none", style="dashed", color="#8e44ad")
        text = "from here the run repeats forever"
        g.node("looptext", text, pos=_pos((GAP / 2, y)), shape="box", style="filled", color="white",
               fillcolor="white", fontname=SANS + "-Oblique", fontsize=_num(NOTE_SIZE), fontcolor="#8e44ad",
               width="0", height="0", margin="0.04,0.01")  # fmt: skip

    texts = [_dot_arrow_text(a) for a in chart.arrows]
    for a, centre, text in zip(chart.arrows, _place_labels(chart, geo, texts), texts, strict=True):
        _draw_arrow(g, a, geo, centre, text)
    return str(g.source)


def _title(title: str, width: float) -> str:
    """The title as DOT label text, broken into centred lines no wider than ``width`` points."""
    lines = textwrap.wrap(title, width=max(40, int(width / TITLE_ADVANCE)), break_on_hyphens=False)
    return "\\n".join(graphviz.escape(line) for line in lines)


def _state_attrs(state: str, at: Point) -> dict[str, str]:
    return {
        "pos": _pos(at),
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": STATE_FILL.get(state, DEFAULT_STATE_FILL),
        "color": "#666666",
        "fontsize": "10",
        "width": _num(_state_width(state) / 72),
        "height": _num(STATE_HEIGHT / 72),
        "fixedsize": "true",
        "margin": "0",
    }


def _dot_arrow_text(arrow: Arrow) -> str:
    notes = ["duplicate"] if arrow.duplicate_of is not None else []
    notes += {DROPPED: ["dropped, channel full"], IN_FLIGHT: ["in flight"]}.get(arrow.fate, [])
    return arrow.label + (f" ({', '.join(notes)})" if notes else "")


def _draw_arrow(g: graphviz.Digraph, a: Arrow, geo: _Geometry, centre: Point, text: str) -> None:
    i = a.index
    start, end = geo.starts[i], geo.ends[i]
    ink = DUPLICATE_INK if a.duplicate_of is not None else INK[a.fate]
    when = f"sent at step {a.sent}" if a.duplicate_of is None else f"copied by the network at step {a.sent}"
    fate = {DELIVERED: "received", LOST: "lost", DROPPED: "dropped by the full channel"}.get(a.fate, "")
    tooltip = f"{segment_text(a.segment, a.channel)}; {when}" + (f", {fate} at step {a.end}" if fate else ", in flight")
    g.node(f"s{i}", pos=_pos(start), **({"width": "0.06", "color": ink} if a.duplicate_of is not None else {}))
    ending = "cross" if a.fate in (LOST, DROPPED) else "e"
    g.node(f"{ending}{i}", pos=_pos(end), style="invis")
    style = "dashed" if a.duplicate_of is not None or a.fate == IN_FLIGHT else "solid"
    head = "none" if a.fate in (LOST, DROPPED) else ("open" if a.fate == IN_FLIGHT else "normal")
    g.edge(f"s{i}", f"{ending}{i}", color=ink, style=style, arrowhead=head, tooltip=tooltip)
    if ending == "cross":
        x, y = end
        for k, (dx, dy) in enumerate(((-1, -1), (1, 1), (-1, 1), (1, -1))):
            g.node(f"cross{i}{'abcd'[k]}", pos=_pos((x + dx * CROSS, y + dy * CROSS)), style="invis")
        g.edge(f"cross{i}a", f"cross{i}b", arrowhead="none", color=ink, penwidth="2.2", tooltip=tooltip)
        g.edge(f"cross{i}c", f"cross{i}d", arrowhead="none", color=ink, penwidth="2.2", tooltip=tooltip)
    g.node(f"label{i}", text, pos=_pos(centre), shape="box", style="filled", color="#ffffff00",
           fillcolor="white", fontname=MONO, fontsize=_num(MONO_SIZE), fontcolor=ink, width="0", height="0",
           margin="0.02,0.01", tooltip=tooltip)  # fmt: skip


def chart_svg(chart: Chart) -> str:
    """The chart drawn as SVG (stamped with the hash of its DOT source, see :mod:`checks.render`)."""
    return svg_from_dot(chart_dot(chart), engine=ENGINE)
