"""Replay of real captures against the spec: accepted captures, mutations, variants, late starts, faults, bad input."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.capture import Capture, Observed, read_capture, read_text
from checks.catalogue import on_the_wire
from checks.cli import main
from checks.record import record, unavailable
from checks.replay import ACCEPTED, REJECTED, UNKNOWN, Replay, bind, capture_network, replay, replay_json, replay_text
from spec.config import Call, load_config
from spec.states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_2,
    LAST_ACK,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
)
from spec.variants import variant_named, variants

from .conftest import assert_golden

CAPTURES = Path(__file__).parent / "captures"
LOOPBACK = CAPTURES / "loopback.toml"
LINUX = CAPTURES / "linux.toml"  # loopback, and Linux's TIME-WAIT held against the capture's clock
CRASH = CAPTURES / "crash.toml"  # any loss and order, and a host may crash once
RECORDED = sorted(p.stem for p in CAPTURES.glob("*.pcap"))

#: Both endpoints' states once the last segment of each recording is sent.
FINAL = {
    "abort": (CLOSED, ESTABLISHED),
    "client-closes": (TIME_WAIT, LAST_ACK),
    "close-in-syn-sent": (CLOSED, SYN_RECEIVED),
    "closed-port": (SYN_SENT, CLOSED),
    "data-overtaken": (TIME_WAIT, LAST_ACK),
    "half-close": (TIME_WAIT, LAST_ACK),
    "half-open": (TIME_WAIT, LAST_ACK),
    "late-fin": (TIME_WAIT, LAST_ACK),
    "lost-final-ack": (TIME_WAIT, LAST_ACK),
    "lost-syn": (TIME_WAIT, LAST_ACK),
    "refused-twice": (SYN_SENT, CLOSED),
    "server-closes": (LAST_ACK, TIME_WAIT),
    "simultaneous-close": (CLOSING, CLOSING),
    "simultaneous-open": (TIME_WAIT, LAST_ACK),
    "bulk": (LAST_ACK, TIME_WAIT),
    "bulk-drop": (LAST_ACK, TIME_WAIT),
    "slow-reader": (LAST_ACK, TIME_WAIT),
}

#: The long recordings (thousands of segments): replayed on the networks that may lose any segment (the
#: breadth-first search that a clock or a loss budget needs is not made for them).
LONG = ("bulk", "bulk-drop", "slow-reader")


#: Recordings that need a fault beyond loss and reordering: the configuration that allows it.
NEEDS = {"half-open": CRASH}


def capture(name: str) -> Capture:
    return read_capture(CAPTURES / f"{name}.txt")


def matched(r: Replay) -> list[int]:
    """The capture's segments in the order the matched path sent them (a segment with data and FIN once)."""
    return list(dict.fromkeys(k for step in r.path for k in step.observed))


def test_every_recording_is_pinned() -> None:
    assert sorted(FINAL) == RECORDED


@pytest.mark.parametrize("name", RECORDED)
def test_every_recorded_capture_is_accepted(name: str) -> None:
    """The pcap itself, on replay's default network (any loss, any order), on loopback's (FIFO), and on
    loopback's with the capture's clock read against Linux's TIME-WAIT."""
    cap = read_capture(CAPTURES / f"{name}.pcap")
    if name in NEEDS:
        bases = [load_config(NEEDS[name])]
    elif name in LONG:
        bases = [capture_network(), load_config(LOOPBACK)]
    else:
        bases = [capture_network(), load_config(LOOPBACK), load_config(LINUX)]
    for base in bases:
        r = replay(cap, base)
        assert r.verdict == ACCEPTED, replay_text(r)
        assert matched(r) == list(range(len(cap.segments)))
        last = r.path[-1].world
        assert (last.a.state, last.b.state) == FINAL[name]


def test_the_bindings_follow_the_capture() -> None:
    b = bind(capture("half-close"), capture_network())
    assert b.config.a.script == (Call.OPEN, Call.SEND, Call.CLOSE)
    assert b.config.b.script == (Call.SEND, Call.SEND, Call.CLOSE) and b.config.b.listening
    assert b.config.a.iss == ((2272171746,),) and b.config.b.iss == ((2217983123,),)
    assert b.config.a.sizes == ((7,),) and b.config.b.sizes == ((5, 6),)
    twice = bind(capture("refused-twice"), capture_network())
    assert twice.config.a.script == (Call.OPEN, Call.OPEN)
    assert twice.config.a.iss == ((786044786,), (786831417,)) and twice.config.b.script == ()
    assert bind(capture("abort"), capture_network()).config.a.script == (Call.OPEN, Call.SEND, Call.ABORT)


def test_delayed_acks_are_withheld_and_counted() -> None:
    """B's ACK of A's FIN rides on B's own FIN (client-closes, segment 9): the rules' pure ACK is withheld."""
    r = replay(capture("client-closes"), capture_network())
    assert r.withheld == 1
    (step,) = [s for s in r.path if s.withheld]
    assert step.withheld[0].ack == 2240075748
    assert "withholds Flags [.], seq 2185887286, ack 2240075748" in replay_text(r)


def test_the_half_close_data_after_the_fin_is_delivered() -> None:
    """The seed's claim refuted on the wire: both of B's units, sent after A's FIN, reach A in FIN-WAIT-2."""
    r = replay(capture("half-close"), capture_network())
    arrivals = [s.transition for s in r.path if s.transition.label.kind == "segment" and s.transition.label.actor == 0]
    received = [
        t.label.seg.data
        for t in arrivals
        if t.label.seg is not None and t.label.seg.data and any("text" in rule.name for rule in t.rules)
    ]
    assert received == [1, 2]
    assert all(
        s.world.a.state is FIN_WAIT_2 for s in r.path if s.transition in arrivals and s.transition.label.seg.data
    )


# --- mutations of a good capture ------------------------------------------------------------------


def _with(cap: Capture, segments: list[Observed]) -> Capture:
    return dataclasses.replace(cap, segments=segments)


def flip_syn(cap: Capture) -> tuple[Capture, int]:
    """The SYN bit of the SYN,ACK cleared."""
    segs = list(cap.segments)
    segs[1] = dataclasses.replace(segs[1], flags=segs[1].flags & ~0x02)
    return _with(cap, segs), 1


def shift_seq(cap: Capture) -> tuple[Capture, int]:
    """A's data one octet later than it is."""
    segs = list(cap.segments)
    segs[3] = dataclasses.replace(segs[3], seq=segs[3].seq + 1)
    return _with(cap, segs), 3


def drop_syn_ack(cap: Capture) -> tuple[Capture, int]:
    """The SYN,ACK left out: A's ACK of it comes next."""
    return _with(cap, [s for k, s in enumerate(cap.segments) if k != 1]), 1


def fin_before_data(cap: Capture) -> tuple[Capture, int]:
    """A's FIN moved before A's data, which it follows in sequence."""
    segs = list(cap.segments)
    fin = next(k for k, s in enumerate(segs) if s.sender == "A" and s.has("F"))
    moved = segs.pop(fin)
    segs.insert(3, moved)
    return _with(cap, segs), 3


def ack_unsent(cap: Capture) -> tuple[Capture, int]:
    """B acknowledges ten octets more than A sent."""
    segs = list(cap.segments)
    segs[4] = dataclasses.replace(segs[4], ack=(segs[4].ack or 0) + 10)
    return _with(cap, segs), 4


@pytest.mark.parametrize("mutate", [flip_syn, shift_seq, drop_syn_ack, fin_before_data, ack_unsent])
@pytest.mark.parametrize("name", ["client-closes", "lost-syn"])
def test_a_mutated_capture_is_rejected_where_it_departs(
    mutate: Callable[[Capture], tuple[Capture, int]], name: str
) -> None:
    good = capture(name)
    if name == "lost-syn":  # its SYN was sent twice: every index after the first SYN moves by one
        segs = list(good.segments)
        good = _with(good, segs[1:])
    bad, at = mutate(good)
    r = replay(bad, capture_network())
    assert r.verdict == REJECTED, replay_text(r)
    assert r.rejected_at == at
    assert r.possible and r.allowed
    text = replay_text(r)
    assert f"rejected at segment {at + 1} (at {bad.segments[at].time:.6f} s): {bad.segments[at].text()}" in text


def test_a_rejection_lists_what_the_spec_could_send_instead() -> None:
    bad, at = ack_unsent(capture("client-closes"))
    r = replay(bad, capture_network())
    good = capture("client-closes").segments[at]
    assert any(seg.seq == good.seq and seg.ack == good.ack for side, seg in r.allowed if side == 1)
    assert (ESTABLISHED, SYN_RECEIVED) in r.possible
    shifted_data, _ = shift_seq(capture("client-closes"))
    assert "where no unit begins" in replay(shifted_data, capture_network()).reason


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(min_value=2, max_value=9), delta=st.integers(min_value=1, max_value=2**32 - 1))
def test_any_segment_with_another_seq_is_rejected_by_then(k: int, delta: int) -> None:
    """Fuzzed: move one segment's SEG.SEQ anywhere else; replay rejects at that segment or before.

    (Not the two SYNs: each binds its side's ISS, so moving one moves the ISS, and the peer's ACK departs.)"""
    cap = capture("client-closes")
    segs = list(cap.segments)
    segs[k] = dataclasses.replace(segs[k], seq=(segs[k].seq + delta) % 2**32)
    r = replay(_with(cap, segs), capture_network())
    assert r.verdict == REJECTED
    assert r.rejected_at is not None and r.rejected_at <= k


# --- the student catalogue on the wire ------------------------------------------------------------


def test_every_variant_says_where_it_shows_on_the_wire() -> None:
    assert sorted(on_the_wire()) == sorted(v.name for v in variants())


@pytest.mark.parametrize("name", sorted(n for n, w in on_the_wire().items() if w.capture is not None))
def test_each_variant_is_rejected_on_its_capture(name: str) -> None:
    wire = on_the_wire()[name]
    base = load_config(CAPTURES / wire.network) if wire.network else capture_network()
    cap = read_capture(CAPTURES / f"{wire.capture}.pcap")
    assert replay(cap, base).verdict == ACCEPTED
    r = replay(cap, base, variant_named(name))
    assert r.verdict == REJECTED, replay_text(r)
    assert r.rejected_at is not None and r.rejected_at + 1 == wire.segment


def test_every_variant_shows_on_some_capture() -> None:
    assert all(w.capture is not None for w in on_the_wire().values())


def test_half_open_needs_the_crash_fault() -> None:
    """The recorded half-open connection (RFC 9293 Figure 10 on a real kernel) is REJECTED without crashes."""
    r = replay(capture("half-open"), capture_network())
    assert r.verdict == REJECTED and r.rejected_at == 5  # the new SYN: the old TCB could not have vanished
    accepted = replay(capture("half-open"), load_config(CRASH))
    assert any(step.transition.label.kind == "crash" for step in accepted.path)


def test_the_capture_clock_is_read_in_ticks() -> None:
    """late-fin: the server's FIN comes again 35 s into the client's TIME-WAIT: inside Linux's 60 s, so
    ACCEPTED; with TIME-WAIT = MSL (30 s) the client would have deleted its TCB and answered by RST."""
    cap = capture("late-fin")
    r = replay(cap, load_config(LINUX))
    assert r.verdict == ACCEPTED
    ticks = sum(1 for step in r.path if step.transition.label.kind == "tick")
    assert ticks == int(cap.segments[-1].time)
    short = replay(cap, load_config(LINUX), variant_named("short-time-wait"))
    assert short.verdict == REJECTED and short.rejected_at == 9
    assert "tick 35" in short.reason
    assert any(seg.flags & 0x04 for side, seg in short.allowed if side == 0)  # the RST of a deleted TCB


def test_a_segment_sent_too_early_for_its_timer_is_rejected() -> None:
    """late-fin moved 40 s later: the client's TIME-WAIT (60 s) has ended, so its ACK cannot be from it."""
    cap = capture("late-fin")
    late = _with(cap, [*cap.segments[:8], *(dataclasses.replace(o, time=o.time + 40) for o in cap.segments[8:])])
    r = replay(late, load_config(LINUX))
    assert r.verdict == REJECTED and r.rejected_at == 9


# --- captures as people have them -----------------------------------------------------------------


def test_a_capture_that_begins_late_is_replayed_from_established() -> None:
    cap = capture("client-closes")
    late = _with(cap, cap.segments[3:])
    r = replay(late, capture_network())
    assert r.verdict == ACCEPTED, replay_text(r)
    assert r.binding.late_start
    assert (r.binding.initial.a.state, r.binding.initial.b.state) == (ESTABLISHED, ESTABLISHED)
    assert r.binding.config.a.script == (Call.SEND, Call.CLOSE)
    assert "both sides start in ESTABLISHED" in replay_text(r)


def shifted(cap: Capture, by: int) -> Capture:
    """The capture with every sequence and acknowledgment number moved by ``by`` (mod 2**32)."""

    def move(o: Observed) -> Observed:
        seq = o.seq if o.has("R") and o.seq == 0 else (o.seq + by) % 2**32
        return dataclasses.replace(o, seq=seq, ack=None if o.ack is None else (o.ack + by) % 2**32)

    return _with(cap, [move(o) for o in cap.segments])


@pytest.mark.parametrize("name", ["client-closes", "half-close", "simultaneous-open"])
def test_sequence_numbers_wrap_around(name: str) -> None:
    """Each side's ISS three octets below 2**32: its data and FIN wrap to 0 and on."""
    cap = capture(name)
    a_iss = cap.segments[0].seq
    moved = shifted(cap, 2**32 - 3 - a_iss)
    assert moved.segments[0].seq == 2**32 - 3
    r = replay(moved, capture_network())
    assert r.verdict == ACCEPTED, replay_text(r)


def test_a_crash_is_a_fault_the_configuration_allows() -> None:
    """RFC 9293 Figure 10, half-open discovery: accepted when a host may crash, rejected when none may."""
    cap = capture("rfc9293-figure-10")
    r = replay(cap, load_config(CAPTURES / "crash.toml"))
    assert r.verdict == ACCEPTED, replay_text(r)
    assert any(step.transition.label.kind == "crash" for step in r.path)
    assert "A crashes and loses its TCB" in replay_text(r)
    no_crash = replay(cap, capture_network())
    assert no_crash.verdict == REJECTED and no_crash.rejected_at == 3


def test_repacketized_data_is_rejected_with_the_reason() -> None:
    """A retransmission that merges two units cannot be read as SENDs: REJECTED there, saying why."""
    cap = capture("data-overtaken")
    segs = list(cap.segments)
    k = next(i for i, s in enumerate(segs) if i > 6 and s.sender == "A" and s.length == 7)
    segs[k] = dataclasses.replace(segs[k], seq=segs[3].seq, length=12)
    r = replay(_with(cap, segs), capture_network())
    assert r.verdict == REJECTED and r.rejected_at == k
    assert "does not line up with the units" in r.reason


def test_a_search_cut_short_says_unknown() -> None:
    r = replay(capture("client-closes"), capture_network(), max_nodes=5)
    assert r.verdict == UNKNOWN
    assert "searched" in replay_text(r)


def test_replay_is_deterministic() -> None:
    def stable(r: Replay) -> dict[str, object]:
        out = replay_json(r)
        out.pop("seconds")
        return out

    runs = [stable(replay(capture("simultaneous-close"), capture_network())) for _ in range(2)]
    assert runs[0] == runs[1]


def test_golden_replay_text() -> None:
    text = replay_text(replay(read_capture(CAPTURES / "client-closes.pcap"), capture_network()))
    text = text.replace(str(CAPTURES), "tests/captures")  # the same in any checkout
    assert_golden("replay-client-closes.txt", re.sub(r"\d+\.\d\d s", "S s", text))


# --- the command line -----------------------------------------------------------------------------


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["replay", str(CAPTURES / "client-closes.pcap")]) == 0
    assert "ACCEPTED" in capsys.readouterr().out
    assert main(["replay", str(CAPTURES / "lost-syn.txt"), "--variant", "no-retransmission"]) == 1
    assert "rejected at segment 2" in capsys.readouterr().out
    assert main(["replay", str(CAPTURES / "abort.txt"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "ACCEPTED" and out["path"][-1]["A"] == "CLOSED"
    assert main(["replay", str(CAPTURES / "abort.txt"), "--max-nodes", "3"]) == 3
    capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "/nonexistent.pcap"], "cannot read"),
        (["replay", "EMPTY"], "no segments"),
        (["replay", "GARBAGE"], "GARBAGE:1:"),
        (["replay", str(CAPTURES / "abort.txt"), "--variant", "nonsense"], "nonsense"),
        (["replay", str(CAPTURES / "abort.txt"), "--variant", "short-time-wait"], "untimed"),
        (["replay", str(CAPTURES / "abort.txt"), "--config", "BADTICK"], "tick needs msl"),
        (["replay", str(CAPTURES / "abort.txt"), "--config", "no-such-preset"], "no-such-preset"),
        (["replay", str(CAPTURES / "abort.txt"), "--max-nodes", "0"], "--max-nodes"),
        (["replay", str(CAPTURES / "abort.txt"), "--port", "5000"], "--port is for pcap"),
    ],
)
def test_cli_bad_input_exits_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "EMPTY").write_text("# tcpspec capture: A 1.2.3.4.1, B 1.2.3.4.2\n")
    (tmp_path / "GARBAGE").write_text("this is not a capture\n")
    (tmp_path / "BADTICK.toml").write_text(
        'a = { script = ["open"] }\nb = { script = ["listen"] }\ntiming = { tick = 1 }\n'
    )
    argv = [str(tmp_path / a) if a in ("EMPTY", "GARBAGE") else a for a in argv]
    argv = [str(tmp_path / "BADTICK.toml") if a == "BADTICK" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_hand_written_text_trace_replays() -> None:
    text = (
        "# tcpspec capture: A 10.0.0.1.1000, B 10.0.0.2.80\n"
        "A > B: Flags [S], seq 4294967295, length 0\n"
        "B > A: Flags [S.], seq 7, ack 0, length 0\n"
        "A > B: Flags [.], seq 0, ack 8, length 0\n"
        "A > B: Flags [P.], seq 0:1460, ack 8, length 1460\n"
        "B > A: Flags [.], seq 8, ack 1460, length 0\n"
    )
    r = replay(read_text(Path("hand.txt"), text), capture_network())
    assert r.verdict == ACCEPTED, replay_text(r)
    assert r.binding.config.a.sizes == ((1460,),)


# --- fresh recordings, where this machine can record ----------------------------------------------

CANNOT = unavailable()


@pytest.mark.skipif(
    CANNOT is not None, reason=f"this machine cannot record: {CANNOT}; the fixtures are replayed instead"
)
@pytest.mark.parametrize("name", ["client-closes", "data-overtaken", "refused-twice", "half-open"])
def test_a_fresh_recording_is_accepted(name: str, tmp_path: Path) -> None:
    """Recorded now, on this machine's kernel (late-fin, which takes 40 s, is only replayed from its fixture)."""
    out = tmp_path / f"{name}.pcap"
    record(name, out)
    r = replay(read_capture(out), load_config(NEEDS[name]) if name in NEEDS else capture_network())
    assert r.verdict == ACCEPTED, replay_text(r)
    last = r.path[-1].world
    assert (last.a.state, last.b.state) == FINAL[name]


def test_close_wait_is_where_the_passive_closer_waits_on_the_wire() -> None:
    """server-closes: A, the passive closer, is in CLOSE-WAIT between B's FIN and its own -- never TIME-WAIT."""
    r = replay(capture("server-closes"), capture_network())
    states = [step.world.a.state for step in r.path]
    assert CLOSE_WAIT in states and TIME_WAIT not in states


def test_an_old_duplicate_syn_is_admitted_when_asked_for() -> None:
    """RFC 9293 Figure 8: the old SYN (seq 90) is answered, A resets it, and B returns to LISTEN."""
    cap = capture("rfc9293-figure-8")
    assert replay(cap, capture_network()).rejected_at == 1  # no old duplicates by default
    r = replay(cap, capture_network(), old_duplicates=1)
    assert r.verdict == ACCEPTED, replay_text(r)
    (old,) = [s for s in r.path if s.transition.label.kind == "old-duplicate"]
    assert old.observed == (1,) and old.transition.label.seg is not None and old.transition.label.seg.inc == 0
    rules = [rule.name for s in r.path for rule in s.transition.rules]
    assert "syn-sent-bad-ack" in rules and "syn-received-reset-passive" in rules
    last = r.path[-1].world
    assert last.a.state is ESTABLISHED
    assert "an old duplicate, in flight since before the capture" in replay_text(r)
    broken = replay(cap, capture_network(), variant_named("any-ack-in-syn-sent"), old_duplicates=1)
    assert broken.verdict == REJECTED and broken.rejected_at == 3  # A no longer resets the old connection


def test_two_passive_sockets_reset_by_an_old_duplicate() -> None:
    """RFC 9293 Figure 11."""
    r = replay(capture("rfc9293-figure-11"), capture_network(), old_duplicates=1)
    assert r.verdict == ACCEPTED, replay_text(r)


def test_old_duplicates_are_bounded_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(CAPTURES / "rfc9293-figure-8.txt"), "--old-duplicates", "1"]) == 0
    assert main(["replay", str(CAPTURES / "rfc9293-figure-8.txt")]) == 1
    assert main(["replay", str(CAPTURES / "rfc9293-figure-8.txt"), "--old-duplicates", "17"]) == 2
    assert "between 0 and 16" in capsys.readouterr().err


def test_a_late_capture_may_show_a_later_incarnation() -> None:
    """Begun after the handshake, then closed, and a new connection from the same port: OPEN and LISTEN again."""
    first = capture("client-closes")
    again = shifted(first, 1_000_000)
    tail = [dataclasses.replace(o, time=o.time + 1.0) for o in again.segments]
    cap = _with(first, [*first.segments[3:], *tail])
    b = bind(cap, capture_network())
    assert b.late_start
    assert b.config.a.script == (Call.SEND, Call.CLOSE, Call.OPEN, Call.SEND, Call.CLOSE)
    assert b.config.b.script == (Call.SEND, Call.CLOSE, Call.LISTEN, Call.SEND, Call.CLOSE)
    r = replay(cap, capture_network())
    assert r.verdict == ACCEPTED, replay_text(r)
