"""Segment shapes real stacks send, and old duplicates that could really be old (RFC 9293)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.capture import Capture, read_capture, read_text
from checks.replay import ACCEPTED, REJECTED, capture_network, readings, replay, replay_text
from spec.rulebook import all_rules
from spec.states import ACK, CLOSED, FIN, PSH, TIME_WAIT
from spec.user_calls import with_reset_as_written

HEAD = "# tcpspec capture: A 10.0.0.1.40000, B 10.0.0.2.80\n"
HANDSHAKE = """\
0.000 A > B: Flags [S], seq 100, length 0
0.001 B > A: Flags [S.], seq 300, ack 101, length 0
0.002 A > B: Flags [.], seq 101, ack 301, length 0
"""


def trace(body: str, handshake: bool = True) -> Capture:
    return read_text(Path("shape.txt"), HEAD + (HANDSHAKE if handshake else "") + body)


# --- a FIN on the last data segment -----------------------------------------------------------------


def test_fin_on_the_last_data_segment_is_read_as_the_data_then_the_fin() -> None:
    """§3.3: "each segment is bound to as many consecutive sequence numbers as there are octets of data and
    SYN or FIN flags in the segment": [FP.] seq 101:106 is the data 101:106 and the FIN at 106."""
    cap = trace("0.003 A > B: Flags [FP.], seq 101:106, ack 301, length 5\n")
    observed, origin = readings(cap)
    assert [(o.flags, o.seq, o.length) for o in observed[3:]] == [(ACK | PSH, 101, 5), (ACK | FIN, 106, 0)]
    assert origin == [0, 1, 2, 3, 3]


def test_a_close_right_after_the_last_write_is_accepted() -> None:
    """Linux sends the FIN on the last data when the user closes at once (Flags [FP.]); the peer ACKs both."""
    r = replay(
        trace(
            "0.003 A > B: Flags [FP.], seq 101:106, ack 301, length 5\n"
            "0.004 B > A: Flags [.], seq 301, ack 107, length 0\n"
            "0.005 B > A: Flags [F.], seq 301, ack 107, length 0\n"
            "0.006 A > B: Flags [.], seq 107, ack 302, length 0\n"
        ),
        capture_network(),
    )
    assert r.verdict == ACCEPTED, replay_text(r)
    assert [k for step in r.path for k in step.observed] == [0, 1, 2, 3, 3, 4, 5, 6]
    assert r.path[-1].world.a.state is TIME_WAIT
    assert "and its FIN" in replay_text(r)


def test_an_fin_that_acknowledges_data_never_sent_is_still_rejected() -> None:
    """Reading [FP.] as two segments changes nothing else: the peer's ACK of an octet beyond the FIN fails."""
    r = replay(
        trace(
            "0.003 A > B: Flags [FP.], seq 101:106, ack 301, length 5\n"
            "0.004 B > A: Flags [.], seq 301, ack 108, length 0\n"
        ),
        capture_network(),
    )
    assert r.verdict == REJECTED and r.rejected_at == 4, replay_text(r)


def test_a_fin_added_when_data_is_retransmitted() -> None:
    """§3.8.6: "the sending TCP endpoint ... may repackage segments on the retransmission queue": the data
    is retransmitted with the FIN sent after it on the same segment."""
    r = replay(
        trace(
            "0.003 A > B: Flags [P.], seq 101:106, ack 301, length 5\n"
            "0.004 A > B: Flags [F.], seq 106, ack 301, length 0\n"
            "0.200 A > B: Flags [FP.], seq 101:106, ack 301, length 5\n"
            "0.201 B > A: Flags [.], seq 301, ack 107, length 0\n"
        ),
        capture_network(),
    )
    assert r.verdict == ACCEPTED, replay_text(r)
    assert "retransmit-data" in {rule.name for step in r.path for rule in step.transition.rules}


def test_a_fin_first_sent_on_a_retransmission() -> None:
    """The user closes after the data was sent; the FIN rides on the data's retransmission."""
    r = replay(
        trace(
            "0.003 A > B: Flags [P.], seq 101:106, ack 301, length 5\n"
            "0.200 A > B: Flags [FP.], seq 101:106, ack 301, length 5\n"
            "0.201 B > A: Flags [.], seq 301, ack 107, length 0\n"
        ),
        capture_network(),
    )
    assert r.verdict == ACCEPTED, replay_text(r)


# --- ABORT's reset as RFC 9293 writes it ----------------------------------------------------------


def test_abort_reset_without_ack_as_section_3_10_5_writes_it() -> None:
    """§3.10.5 ABORT, ESTABLISHED: "a reset segment should be sent: <SEQ=SND.NXT><CTL=RST>"."""
    r = replay(
        trace("0.003 A > B: Flags [P.], seq 101:106, ack 301, length 5\n0.004 A > B: Flags [R], seq 106, length 0\n"),
        capture_network(),
    )
    assert r.verdict == ACCEPTED, replay_text(r)
    last = r.path[-1]
    assert last.transition.label.kind == "call" and [rule.name for rule in last.transition.rules] == [
        "abort-with-reset"
    ]
    assert last.world.a.state is CLOSED


def test_abort_reset_with_ack_as_linux_sends_it() -> None:
    """Linux sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>: the rulebook's form."""
    r = replay(
        trace(
            "0.003 A > B: Flags [P.], seq 101:106, ack 301, length 5\n"
            "0.004 A > B: Flags [R.], seq 106, ack 301, length 0\n"
        ),
        capture_network(),
    )
    assert r.verdict == ACCEPTED, replay_text(r)


def test_a_reset_at_the_wrong_sequence_number_is_no_abort() -> None:
    r = replay(
        trace("0.003 A > B: Flags [P.], seq 101:106, ack 301, length 5\n0.004 A > B: Flags [R], seq 105, length 0\n"),
        capture_network(),
    )
    assert r.verdict == REJECTED and r.rejected_at == 4, replay_text(r)


def test_the_rfc_form_replaces_only_abort_s_reset() -> None:
    rules = all_rules()
    changed = [(a.name, b.sends) for a, b in zip(rules, with_reset_as_written(rules), strict=True) if a != b]
    assert changed == [("abort-with-reset", "RST")]


# --- CLOSE in SYN-SENT, which the capture does not show ---------------------------------------------


def test_a_close_in_syn_sent_is_inferred_and_the_syn_ack_draws_a_reset() -> None:
    """§3.10.4 CLOSE, SYN-SENT: "Delete the TCB"; the SYN,ACK then meets a closed port: <SEQ=SEG.ACK><CTL=RST>
    (§3.5.2, §3.10.7.1)."""
    r = replay(
        trace(
            "0.000 A > B: Flags [S], seq 100, length 0\n"
            "0.100 B > A: Flags [S.], seq 300, ack 101, length 0\n"
            "0.101 A > B: Flags [R], seq 101, length 0\n",
            handshake=False,
        ),
        capture_network(),
    )
    assert r.verdict == ACCEPTED, replay_text(r)
    calls = [rule.name for step in r.path if step.transition.label.kind == "call" for rule in step.transition.rules]
    assert calls == ["open-active", "close-syn-sent"]
    assert "perhaps CLOSE in SYN-SENT" in replay_text(r)
    assert "(A: user call (close-syn-sent), which sends nothing)" in replay_text(r)


def test_the_kernel_closes_in_syn_sent() -> None:
    """Recorded (close-in-syn-sent): the client closes before the SYN,ACK arrives; Linux's RST answers the
    SYN,ACK sent again: the CLOSE, which sends nothing, is inferred from that reset."""
    cap = read_capture(Path(__file__).parent / "captures" / "close-in-syn-sent.pcap")
    r = replay(cap, capture_network())
    assert r.verdict == ACCEPTED, replay_text(r)
    assert "close-syn-sent" in {rule.name for step in r.path for rule in step.transition.rules}


# --- old duplicates that could really be old ------------------------------------------------------

OLD = {
    "SYN with FIN": "0.003 B > A: Flags [SF], seq 50, length 0\n",
    "SYN with RST": "0.003 B > A: Flags [SR], seq 50, length 0\n",
    "data without ACK": "0.003 B > A: Flags [P], seq 50:55, length 5\n",
    "an ACK of the FIN sent in the capture": (
        "0.003 A > B: Flags [F.], seq 101, ack 301, length 0\n0.004 B > A: Flags [.], seq 999, ack 102, length 0\n"
    ),
    "B's current sequence space": "0.003 B > A: Flags [.], seq 301, ack 50, length 0\n",
}


@pytest.mark.parametrize("name", sorted(OLD))
def test_segments_no_earlier_incarnation_sent_are_not_old_duplicates(name: str) -> None:
    cap = trace(OLD[name])
    r = replay(cap, capture_network(), old_duplicates=1)
    assert r.verdict == REJECTED and r.rejected_at == len(cap.segments) - 1, replay_text(r)


def test_an_ack_from_an_earlier_incarnation_may_be_old() -> None:
    """Seq and ACK outside every space of the capture's TCBs, with ACK: it may be from an earlier incarnation."""
    r = replay(trace("0.003 B > A: Flags [.], seq 999, ack 50, length 0\n"), capture_network(), old_duplicates=1)
    assert r.verdict == ACCEPTED, replay_text(r)
    assert replay(trace("0.003 B > A: Flags [.], seq 999, ack 50, length 0\n"), capture_network()).verdict == REJECTED


@pytest.mark.parametrize("figure", ["rfc9293-figure-8", "rfc9293-figure-11"])
def test_the_rfc_figures_old_duplicates_are_still_admitted(figure: str) -> None:
    cap = read_capture(Path(__file__).parent / "captures" / f"{figure}.txt")
    assert replay(cap, capture_network(), old_duplicates=1).verdict == ACCEPTED
