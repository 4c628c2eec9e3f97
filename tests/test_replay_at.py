"""Captures taken at one host (``replay --at A|B``): the other side's segments are seen as they reach it.

Random runs of the spec are written down as each observer sees them -- on the wire (every segment as it
is sent), at A and at B (the host's own segments as sent, the other side's as they reach the host) --
and replay must find a run for each view.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checks.capture import Capture, Observed, read_capture, read_text
from checks.cli import main
from checks.replay import ACCEPTED, REJECTED, capture_network, replay, replay_text
from spec.config import ConfigError, load_config
from spec.machine import Machine
from spec.presets import preset
from spec.segment import Segment
from spec.states import ACK, FIN, SYN

CAPTURES = Path(__file__).parent / "captures"
SIDES = ("A", "B")

#: Open, data, both close, on a network that loses, delays and reorders any segment; timers fire at any time.
WALKED = dataclasses.replace(preset("simultaneous-close"), reorder=True, loss=None, retries=1)


def observed(side: int, seg: Segment, k: int) -> Observed:
    return Observed(k / 1000, SIDES[side], seg.flags, seg.seq, seg.ack if seg.flags & ACK else None, seg.size)


def views(data: st.DataObject, steps: int) -> dict[str | None, list[Observed]]:
    """A random run, as seen on the wire (key None) and at each host."""
    machine = Machine(WALKED)
    world = machine.initial()
    seen: dict[str | None, list[Observed]] = {None: [], "A": [], "B": []}
    for _ in range(steps):
        # Replay binds the retransmission count from the capture (at least the most it shows), so a TCB that
        # gave up (R2, §3.8.3) after fewer retransmissions than another segment shows is no run it searches.
        successors = [
            t for t in machine.successors(world) if not any(rule.name.startswith("give-up") for rule in t.rules)
        ]
        if not successors:
            break
        t = successors[data.draw(st.integers(0, len(successors) - 1))]
        label = t.label
        if label.kind == "segment":  # it reaches the host it is for, which takes it at once
            assert label.seg is not None
            host = SIDES[label.actor]
            seen[host].append(observed(1 - label.actor, label.seg, len(seen[host])))
        for side, seg in t.sent:
            seen[None].append(observed(side, seg, len(seen[None])))
            seen[SIDES[side]].append(observed(side, seg, len(seen[SIDES[side]])))
        world = t.target
    return seen


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), steps=st.integers(4, 30))
def test_every_run_is_accepted_as_each_observer_saw_it(data: st.DataObject, steps: int) -> None:
    seen = views(data, steps)

    def space(o: Observed) -> tuple[str, int, int, int] | None:
        """What a segment tells of its sender's sequence space (its SYN, data, FIN), or None."""
        return (o.sender, o.seq, o.flags & (SYN | FIN), o.length) if o.length or o.flags & (SYN | FIN) else None

    for at, segments in seen.items():
        assume(segments and segments[0].flags & SYN)  # the capture begins with a SYN
        # At one host replay reads the other side's TCB from what reaches it: its SYN, and its FIN and data
        # (a gap in the data is read as one unit); a run where one never arrived is left out.
        sent = {space(o) for o in seen[None] if o.sender != at} - {None}
        assume(at is None or sent <= {space(o) for o in segments})
        cap = Capture("walk.txt", ("10.0.0.1", 40000), ("10.0.0.2", 80), segments)
        r = replay(cap, capture_network(), max_nodes=200_000, at=at)
        assert r.verdict == ACCEPTED, f"--at {at}\n{cap.text()}\n{replay_text(r)}"


def test_a_reordered_burst_is_seen_in_arrival_order_at_the_receiver() -> None:
    """A sends 1 then 2; the network delivers 2 first. At B they are seen 2, 1: on the wire that is no run."""
    text = (
        "# tcpspec capture: A 10.0.0.1.40000, B 10.0.0.2.80\n"
        "0.000 A > B: Flags [S], seq 100, length 0\n"
        "0.001 B > A: Flags [S.], seq 300, ack 101, length 0\n"
        "0.002 A > B: Flags [.], seq 101, ack 301, length 0\n"
        "0.004 A > B: Flags [P.], seq 106:111, ack 301, length 5\n"
        "0.004 B > A: Flags [.], seq 301, ack 101, length 0\n"
        "0.005 A > B: Flags [P.], seq 101:106, ack 301, length 5\n"
        "0.005 B > A: Flags [.], seq 301, ack 111, length 0\n"
    )
    cap = read_text(Path("reordered.txt"), text)
    assert replay(cap, capture_network(), at="B").verdict == ACCEPTED
    wire = replay(cap, capture_network())
    assert wire.verdict == REJECTED and wire.rejected_at == 3, replay_text(wire)


def test_every_arrival_at_the_host_is_seen() -> None:
    """data-overtaken at B: the kernel's iptables dropped the second data segment after tcpdump saw it; at B
    every segment seen is processed, so B's duplicate ACK cannot follow: REJECTED (on the wire: ACCEPTED)."""
    cap = read_capture(CAPTURES / "data-overtaken.pcap")
    assert replay(cap, capture_network()).verdict == ACCEPTED
    r = replay(cap, capture_network(), at="B")
    assert r.verdict == REJECTED and r.rejected_at == 7, replay_text(r)
    assert replay(cap, capture_network(), at="A").verdict == ACCEPTED


@pytest.mark.parametrize("name", ["client-closes", "simultaneous-open", "lost-syn", "bulk", "slow-reader"])
@pytest.mark.parametrize("at", SIDES)
def test_loopback_recordings_are_accepted_at_either_host(name: str, at: str) -> None:
    r = replay(read_capture(CAPTURES / f"{name}.pcap"), capture_network(), at=at)
    assert r.verdict == ACCEPTED, replay_text(r)


def test_at_needs_a_network_that_may_lose_anything(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError):
        replay(read_capture(CAPTURES / "late-fin.pcap"), load_config(CAPTURES / "linux.toml"), at="A")
    code = main(["replay", str(CAPTURES / "late-fin.pcap"), "--config", str(CAPTURES / "linux.toml"), "--at", "A"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "one host" in err
    assert main(["replay", str(CAPTURES / "client-closes.pcap"), "--at", "C"]) == 2
