"""Message sequence charts: arrows matched to their fates, the renderings, and golden files for the handshake."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.explicit import Exploration, explore
from checks.properties import check, property_named
from checks.sequence import (
    DELIVERED,
    DROPPED,
    FATES,
    IN_FLIGHT,
    LOST,
    Chart,
    chart_dot,
    chart_from_counterexample,
    chart_from_path,
    chart_json,
    chart_mermaid,
    chart_svg,
    chart_text,
    segment_label,
)
from checks.trace import build_trace, format_trace
from spec.config import config_from_dict
from spec.machine import Label, Machine
from spec.presets import preset
from spec.segment import Segment
from spec.states import ACK, CLOSED, ESTABLISHED, FIN, PSH, RST, SYN, TIME_WAIT
from tests.conftest import assert_golden, random_walk

LOST_SYN = Segment(4294967295, 0, SYN, inc=1)


@cache
def explored(name: str) -> Exploration:
    return explore(preset(name))


def labels_to(ex: Exploration, sid: int) -> list[Label]:
    return [label for _, label in ex.path_to(sid)]


def first_state(ex: Exploration, kind: str) -> int:
    """The first state (in BFS order) entered by an event of ``kind``."""
    return next(sid for sid in range(1, len(ex.states)) if ex.labels[ex.via[sid]].kind == kind)


@cache
def handshake() -> Chart:
    ex = explored("handshake")
    sid = next(i for i, w in enumerate(ex.states) if w.a.state is ESTABLISHED and w.b.state is ESTABLISHED)
    return chart_from_path(ex.machine, labels_to(ex, sid), title="handshake: A opens, B listens")


@cache
def lifecycle() -> Chart:
    """The shortest run to both endpoints CLOSED with A having passed through TIME-WAIT."""
    ex = explored("lifecycle")
    best: list[Label] | None = None
    for sid, world in enumerate(ex.states):
        if world.a.state is CLOSED and world.b.state is CLOSED and world.a.history:
            path = labels_to(ex, sid)
            w, passed = ex.machine.initial(), False
            for label in path:
                w = ex.machine.step(w, label).target
                passed |= w.a.state is TIME_WAIT
            if passed and (best is None or len(path) < len(best)):
                best = path
    assert best is not None
    return chart_from_path(ex.machine, best, title="lifecycle")


@cache
def lossy() -> Chart:
    ex = explored("lossy")
    return chart_from_path(ex.machine, labels_to(ex, first_state(ex, "lose")), title="lossy: a loss")


@cache
def duplicated() -> Chart:
    ex = explored("chaos")
    return chart_from_path(ex.machine, labels_to(ex, first_state(ex, "duplicate")), title="chaos: a duplicate")


@cache
def dropped() -> Chart:
    ex = explored("chaos")
    m = ex.machine
    sid = next(i for i in range(1, len(ex.states)) if m.step(ex.states[ex.parent[i]], ex.labels[ex.via[i]]).dropped)
    return chart_from_path(m, labels_to(ex, sid), title="chaos: a full channel")


CHARTS = {"handshake": handshake, "lifecycle": lifecycle, "lossy": lossy, "duplicated": duplicated, "dropped": dropped}


# --- golden files ----------------------------------------------------------------------------------------------------


def test_handshake_dot_is_golden() -> None:
    assert_golden("sequence/handshake.dot", chart_dot(handshake()))


def test_handshake_mermaid_is_golden() -> None:
    assert_golden("sequence/handshake.mmd", chart_mermaid(handshake()))


def test_handshake_json_is_golden() -> None:
    assert_golden("sequence/handshake.json", json.dumps(chart_json(handshake()), indent=2) + "\n")


# --- the chart as data -----------------------------------------------------------------------------------------------


def test_handshake_has_three_delivered_arrows_in_order() -> None:
    arrows = handshake().arrows
    assert [a.fate for a in arrows] == [DELIVERED] * 3
    assert [a.label.split(" ")[0] for a in arrows] == ["[S]", "[S.]", "[.]"]
    assert [(a.sender, a.receiver) for a in arrows] == [(0, 1), (1, 0), (0, 1)]
    for a in arrows:
        assert a.end is not None and a.end > a.sent


def test_handshake_marks_states_and_calls() -> None:
    chart = handshake()
    states = [(m.side, m.text) for m in chart.marks if m.kind == "state"]
    assert [t for side, t in states if side == 0] == ["SYN-SENT", "ESTABLISHED"]
    assert [t for side, t in states if side == 1] == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
    assert [(m.side, m.text) for m in chart.marks if m.kind == "call"] == [(0, "user: open"), (1, "user: listen")]
    assert chart.initial == ("CLOSED", "CLOSED")


def assert_every_segment_meets_one_fate(chart: Chart, machine: Machine) -> None:
    """Each copy of a segment put on the network begins once and ends once, as the replayed steps say."""
    world = machine.initial()
    begun: list[int] = []
    for step in chart.steps:
        transition = machine.step(world, step.label)
        copies = 1 if step.label.kind == "duplicate" else 0
        assert len(step.sent) == len(transition.sent) + copies
        begun.extend(step.sent)
        if step.label.kind in ("segment", "lose"):
            assert step.ended is not None
            assert chart.arrows[step.ended].segment == step.label.seg._replace(age=0)  # type: ignore[union-attr]
            assert chart.arrows[step.ended].fate == (DELIVERED if step.label.kind == "segment" else LOST)
        else:
            assert step.ended is None
        world = transition.target
    assert sorted(begun) == list(range(len(chart.arrows)))  # every arrow begins exactly once
    ends = [s.ended for s in chart.steps if s.ended is not None]
    assert len(ends) == len(set(ends))  # and ends at most once
    for a in chart.arrows:
        assert a.fate in FATES
        assert (a.end is None) == (a.fate == IN_FLIGHT)
        if a.fate == DROPPED:
            assert a.end == a.sent
        elif a.end is not None:
            assert a.end > a.sent
    # what is still in flight is exactly what the channels hold at the end
    for channel in (0, 1):
        flying = Counter(a.segment for a in chart.arrows if a.fate == IN_FLIGHT and a.channel == channel)
        assert flying == Counter(s._replace(age=0) for s in world.channel(channel))


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_segment_sent_meets_exactly_one_fate(name: str) -> None:
    ex = explored({"lifecycle": "lifecycle", "lossy": "lossy", "handshake": "handshake"}.get(name, "chaos"))
    assert_every_segment_meets_one_fate(CHARTS[name](), ex.machine)


@pytest.mark.parametrize("name", ["chaos", "lossy", "incarnations", "half-open"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=40))
def test_random_walks_chart_every_segment_once(name: str, choices: list[int]) -> None:
    """Any run the machine can take (losses, copies, reordering, full channels, crashes) charts and renders."""
    machine = Machine(preset(name))
    path = [t.label for t in random_walk(machine, choices)]
    chart = chart_from_path(machine, path, title=f"{name}: a random walk")
    assert_every_segment_meets_one_fate(chart, machine)
    assert len(chart_dot(chart).split(" -> ")) > len(chart.arrows)
    arrived_or_lost = [a for a in chart.arrows if a.fate in (DELIVERED, LOST, DROPPED)]
    mermaid = chart_mermaid(chart).splitlines()
    assert len([line for line in mermaid if re.match(r"\s*[AB]-?-(>>|x)[AB]: ", line)]) == len(arrived_or_lost)


def test_a_lost_segment_ends_in_a_cross() -> None:
    chart = lossy()
    lost = [a for a in chart.arrows if a.fate == LOST]
    assert len(lost) == 1
    assert lost[0].end == len(chart.steps) and chart.steps[-1].label.kind == "lose"
    dot = chart_dot(chart)
    assert re.search(rf"\bcross{lost[0].index}\b", dot)
    assert re.search(rf"cross{lost[0].index}a -> cross{lost[0].index}b", dot)
    assert "A-xB: [S] seq 4294967295 (lost)" in chart_mermaid(chart)


def test_a_duplicate_is_marked() -> None:
    chart = duplicated()
    copies = [a for a in chart.arrows if a.duplicate_of is not None]
    assert len(copies) == 1
    copy, original = copies[0], chart.arrows[copies[0].duplicate_of]  # type: ignore[index]
    assert copy.segment == original.segment and copy.sent > original.sent
    assert chart.steps[copy.sent - 1].label.kind == "duplicate"
    assert "(duplicate" in chart_dot(chart)


def test_a_full_channel_drops_at_once() -> None:
    chart = dropped()
    drops = [a for a in chart.arrows if a.fate == DROPPED]
    assert drops and all(a.end == a.sent for a in drops)
    assert f"cross{drops[0].index}" in chart_dot(chart)
    assert any(m.kind == "timeout" and m.text.startswith("timeout: ") for m in chart.marks)


def test_timed_runs_mark_ticks_and_timeouts() -> None:
    config = config_from_dict(
        {
            "name": "timed",
            "description": "a lost SYN, retransmitted",
            "a": {"script": ["open", "wait-open"], "iss": [4294967295]},
            "b": {"script": ["wait-open"], "iss": [300], "listening": True},
            "faults": {"loss": 1},
            "timing": {"msl": 1, "rto": 1, "retries": 1},
        }
    )
    ex = explore(config)
    path = next(  # the shortest way to a connection on which a SYN was lost
        labels_to(ex, i)
        for i, w in enumerate(ex.states)
        if w.b.state is ESTABLISHED and any(lab.kind == "lose" and lab.seg == LOST_SYN for lab in labels_to(ex, i))
    )
    chart = chart_from_path(ex.machine, path)
    assert chart.timed
    ticks = [m for m in chart.marks if m.kind == "tick"]
    assert ticks and ticks[0].text == "t=1" and ticks[0].side == 2
    timeouts = [m for m in chart.marks if m.kind == "timeout"]
    assert (timeouts[0].side, timeouts[0].text) == (0, "timeout: retransmit-syn")
    assert all(chart.steps[m.row - 1].label.kind == "tick" for m in timeouts)  # timers expire as the clock ticks
    syns = [a for a in chart.arrows if a.segment == LOST_SYN]
    assert len(syns) == 2 and LOST in [a.fate for a in syns]  # sent, and sent again when the timer expired
    assert syns[1].sent == timeouts[0].row


def test_segment_labels_are_short_tcpdump() -> None:
    assert segment_label(Segment(4294967295, 0, SYN)) == "[S] seq 4294967295"
    assert segment_label(Segment(300, 0, SYN | ACK)) == "[S.] seq 300 ack 0"
    assert segment_label(Segment(0, 301, PSH | ACK, 1, size=1)) == "[P.] seq 0:1 ack 301 length 1"
    assert segment_label(Segment(1, 302, FIN | ACK)) == "[F.] seq 1 ack 302"
    assert segment_label(Segment(302, 0, RST)) == "[R] seq 302"


def test_a_loop_is_marked() -> None:
    ex = explored("handshake")
    path = labels_to(ex, next(i for i, w in enumerate(ex.states) if w.b.state is ESTABLISHED))
    chart = chart_from_path(ex.machine, path[:3], path[3:], title="lasso")
    assert chart.loop_start == 4
    assert "from here the run repeats forever" in chart_dot(chart)
    assert "from here the run repeats forever" in chart_text(chart)
    mermaid = chart_mermaid(chart).splitlines()
    assert "    loop from here the run repeats forever" in mermaid and mermaid[-1] == "    end"
    data = chart_json(chart)
    assert data["loop_start"] == 4 and [s["loop"] for s in data["steps"]] == [False] * 3 + [True] * (len(path) - 3)


def test_counterexample_chart_and_text() -> None:
    config = config_from_dict(
        {
            "name": "lost-syn",
            "description": "a lost segment is never sent again",
            "a": {"script": ["open", "wait-open", "send", "close"], "iss": [4294967295]},
            "b": {"script": ["wait-open", "wait-eof", "close"], "iss": [300], "listening": True},
            "faults": {"loss": 1},
        }
    )
    ex, results = check(config, [property_named("no-deadlock")])
    cx = results[0].counterexample
    assert cx is not None
    chart = chart_from_counterexample(ex.machine, cx, title="lost SYN")
    assert chart_text(chart) == format_trace(build_trace(ex.machine, cx.path, cx.loop))
    assert LOST in [a.fate for a in chart.arrows]


# --- renderings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_mermaid_has_one_arrow_line_per_segment_that_arrived_or_was_lost(name: str) -> None:
    chart = CHARTS[name]()
    text = chart_mermaid(chart)
    assert text.startswith("sequenceDiagram\n")
    arrows = [line for line in text.splitlines() if re.match(r"\s+[AB]-{1,2}(>>|x)[AB]: ", line)]
    assert len(arrows) == sum(a.fate in (DELIVERED, LOST, DROPPED) for a in chart.arrows)
    assert len([line for line in arrows if "-x" in line]) == sum(a.fate in (LOST, DROPPED) for a in chart.arrows)
    for line in text.splitlines()[1:]:
        assert ";" not in line and "#" not in line and "%%" not in line


def test_mermaid_text_is_sanitized() -> None:
    chart = chart_from_path(Machine(preset("handshake")), [], title="a; b # c %% d")
    assert chart_mermaid(chart).splitlines()[1] == "    title a, b no. c % d"


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_renderings_are_deterministic(name: str) -> None:
    chart = CHARTS[name]()
    again = CHARTS[name].__wrapped__()  # built afresh
    assert chart_dot(chart) == chart_dot(chart) == chart_dot(again)
    assert chart_mermaid(chart) == chart_mermaid(again)
    assert json.dumps(chart_json(chart)) == json.dumps(chart_json(again))


_LABEL = re.compile(r'\blabel(\d+) \[label="([^"]*)".* pos="(-?[\d.]+),(-?[\d.]+)!"')
_STATE = re.compile(r'\b(?:state\d+[AB]|init[AB]) \[label="?([A-Z-]+)"?.* pos="(-?[\d.]+),(-?[\d.]+)!"')


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_labels_lie_between_the_lifelines_and_apart(name: str) -> None:
    """Arrow labels (monospace, 6 points a character) overlap neither each other nor state boxes."""
    dot = chart_dot(CHARTS[name]())
    labels = [(6.0 * len(t), 13.0, float(x), float(y)) for _, t, x, y in _LABEL.findall(dot)]
    states = [(7.0 * len(t) + 14, 18.0, float(x), float(y)) for t, x, y in _STATE.findall(dot)]
    assert len(labels) == len(CHARTS[name]().arrows) and states
    lifeline_b = max(x for _, _, x, _ in states)
    for i, (w, h, x, y) in enumerate(labels):
        assert x - w / 2 > 0 and x + w / 2 < lifeline_b
        for w2, h2, x2, y2 in labels[i + 1 :] + states:
            assert abs(x - x2) >= (w + w2) / 2 or abs(y - y2) >= (h + h2) / 2


def test_svg_has_the_title_and_every_label() -> None:
    chart = handshake()
    svg = chart_svg(chart)
    assert svg.lstrip().startswith(("<?xml", "<!--", "<svg"))
    assert "handshake: A opens, B listens" in svg
    for a in chart.arrows:
        assert a.label in svg
    assert "<!-- tcpspec: drawn from DOT source sha256 " in svg
