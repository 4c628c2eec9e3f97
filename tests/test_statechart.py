"""The endpoint state machine against RFC 9293 Figure 5, and the rules' diagram metadata against what they do.

The presets are explored once; each transition is recorded twice: by the
statechart's collector (which state changes were taken) and by a recorder of
what each rule received and sent, so that a rule's ``on`` and ``sends`` (the
words a diagram draws) are held against its behaviour.
"""

from __future__ import annotations

import re
from functools import cache

from checks.conformance import FIGURE_5
from checks.explicit import explore
from checks.statechart import (
    ChangeCollector,
    StateEdge,
    figure_edges_missing,
    sent_word,
    state_edges,
    statechart_dot,
)
from spec.machine import Transition, World
from spec.presets import presets
from spec.rulebook import all_rules
from spec.segment import flag_letters
from spec.states import CLOSED, CLOSING, FIN_WAIT_1, SYN_RECEIVED, TIME_WAIT
from tests.conftest import assert_golden


class Recorder:
    """Per rule: the control bits of the segments it was applied to, and what its transitions sent."""

    def __init__(self) -> None:
        self.received: dict[str, set[tuple[int, ...]]] = {}  # the arriving segment's bits, then held ones
        self.sent: dict[tuple[str, ...], set[str]] = {}

    def on_state(self, sid: int, world: World) -> None:
        return None

    def on_transition(self, src: int, world: World, transition: Transition, dst: int) -> None:
        label = transition.label
        if label.kind == "segment" and label.seg is not None:
            held = tuple(h.flags for h in world.endpoint(label.actor).held)
            for r in transition.rules:
                self.received.setdefault(r.name, set()).add((label.seg.flags, *held))
        if transition.rules:
            words = self.sent.setdefault(tuple(r.name for r in transition.rules), set())
            for _channel, seg in transition.sent:
                words.add("data" if seg.data else sent_word(seg.flags))


@cache
def explored() -> tuple[ChangeCollector, Recorder]:
    collector, recorder = ChangeCollector(), Recorder()
    for config in presets():
        explore(config, [collector, recorder])
    return collector, recorder


@cache
def edges() -> tuple[StateEdge, ...]:
    return tuple(state_edges(all_rules(), explored()[0]))


def test_no_edge_of_figure_5_is_missing() -> None:
    assert figure_edges_missing(edges()) == []
    assert len({(e.source, e.target) for e in edges() if e.figure}) == len(FIGURE_5) == 20


def test_every_edge_of_figure_5_is_taken_by_some_preset() -> None:
    untaken = [f"{e.source} -> {e.target}: {e.label}" for e in edges() if e.figure and not e.taken]
    assert untaken == []


def test_every_other_edge_says_where_the_rfc_describes_it() -> None:
    extras = [e for e in edges() if e.figure is None]
    assert extras, "the model has resets, ABORT and timeouts that Figure 5 leaves out"
    for e in extras:
        assert e.note, f"{e.source} -> {e.target} ({e.label}) needs a note"
        assert e.note.startswith("§") or "Note" in e.note, e.note


def test_note_2_is_taken_as_one_event_of_two_rules() -> None:
    (note2,) = [e for e in edges() if e.source is FIN_WAIT_1 and e.target is TIME_WAIT]
    assert note2.composite and note2.taken
    assert note2.rules == ("fin-wait-1-ack-of-fin", "fin-fin-wait-2")
    assert note2.label == "rcv FIN + ACK of FIN / snd ACK"
    assert "Note 2" in note2.note


def test_resets_are_extras_and_simultaneous_close_is_in_the_figure() -> None:
    by_pair = {(e.source, e.target, e.event): e for e in edges()}
    assert by_pair[(SYN_RECEIVED, CLOSED, "rcv RST")].figure is None
    assert by_pair[(FIN_WAIT_1, CLOSING, "rcv FIN")].figure == "rcv FIN / snd ACK"


def _dot_edges(source: str) -> list[tuple[str, str, str]]:
    """(tail, head, attributes) of each edge line of a DOT source."""
    found = []
    for line in source.splitlines():
        m = re.match(r'\s*"?([\w-]+)"?\s*->\s*"?([\w-]+)"?\s*\[(.*)\]\s*$', line)
        if m:
            found.append((m.group(1), m.group(2), m.group(3)))
    return found


def test_the_drawing_marks_figure_edges_solid_and_the_others_dashed_or_dotted() -> None:
    source = statechart_dot(edges(), "test")
    drawn = [(t, h, a) for t, h, a in _dot_edges(source) if "invis" not in a]
    figure = [a for _t, _h, a in drawn if "Figure 5:" in a]
    others = [a for _t, _h, a in drawn if "Figure 5:" not in a]
    assert len(figure) == 20
    assert all("style=solid" in a for a in figure)
    assert others and all("style=dashed" in a or "style=dotted" in a for a in others)


def test_the_figure_5_drawing_leaves_out_abnormal_ends_and_says_so() -> None:
    full = statechart_dot(edges(), "test")
    figure = statechart_dot(edges(), "test", abnormal_ends=False)
    assert "ABORT" in full and "ABORT" not in figure.split("not drawn")[0]
    assert "not drawn (as in Figure 5, Note 3)" in figure


def test_a_rules_event_names_the_control_bits_of_the_segments_it_handles() -> None:
    """``on="rcv SYN,ACK"``: the segment the rule was applied to had SYN and ACK set.

    A segment may make a held one processable (RFC 9293 §3.10.7.4, seventh step), and
    the rules then apply to that one: it must be the arriving segment or a held one.
    """
    received = explored()[1].received
    bits = {"SYN": 0x02, "ACK": 0x10, "FIN": 0x01, "RST": 0x04}
    checked = 0
    for r in all_rules():
        if not r.on.startswith("rcv ") or r.name not in received:
            continue
        named = r.on.removeprefix("rcv ").split(" of ")[0].split(",")
        for arriving, *held in received[r.name]:
            fits = [f for f in (arriving, *held) if all(f & bits[word] for word in named)]
            assert fits, f"{r.name} says {r.on!r} but handled a segment [{flag_letters(arriving)}]"
        checked += 1
    assert checked >= 15


def test_a_rules_sends_covers_what_its_transitions_send() -> None:
    """What a transition sends is what its rules declare (``sends``), plus the ACK some rules owe (MUST-58)."""
    by_name = {r.name: r for r in all_rules()}
    for names, words in explored()[1].sent.items():
        declared = {by_name[n].sends for n in names if by_name[n].sends}
        assert words <= declared | {"ACK"}, f"{names} sent {sorted(words)} but declare {sorted(declared)}"
    applied = {n for names in explored()[1].sent for n in names}
    for r in all_rules():
        if r.sends and r.name in applied:
            seen = set().union(*(w for names, w in explored()[1].sent.items() if r.name in names))
            assert r.sends in seen, f"{r.name} declares it sends {r.sends} but was seen sending only {sorted(seen)}"


def test_golden_statechart() -> None:
    source = statechart_dot(edges(), "TCP endpoint state machine")
    assert_golden("statechart.dot", source)
