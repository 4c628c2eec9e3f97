"""Replay's searches agree: the layered search (quick and exact) with the breadth-first one, on every capture.

The breadth-first search takes every loss and every interleaving; the layered one leaves losses implicit,
takes an endpoint's unobserved events just before its next observed segment, and drops nodes another
node stands for.  Both must give every capture the same verdict, and reject it at the same segment.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.capture import Capture, read_capture, read_text
from checks.replay import (
    ACCEPTED,
    BEAM,
    NO_OLD_DUPLICATES,
    REJECTED,
    _breadth_first,
    _contains,
    _layered,
    bind,
    capture_network,
    replay,
)
from checks.synthetic import bulk_transfer, segments
from spec.config import load_config
from spec.machine import Machine
from spec.segment import Segment
from spec.states import ACK, LAST_ACK, TIME_WAIT

CAPTURES = Path(__file__).parent / "captures"
TEXTS = sorted(p.name for p in CAPTURES.glob("*.txt"))
LOOPBACK = CAPTURES / "loopback.toml"


def searches(cap: Capture, network_file: Path | None = None) -> tuple[tuple[str, int], ...]:
    """(verdict, segments matched) of the breadth-first, the exact layered and the quick layered search."""
    base = load_config(network_file) if network_file else capture_network()
    binding = bind(cap, base)
    machine = Machine(binding.config)
    obs = cap.segments
    out = []
    for found in (
        _breadth_first(machine, binding.initial, obs, 400_000, NO_OLD_DUPLICATES, None),
        _layered(machine, binding.initial, obs, 400_000, NO_OLD_DUPLICATES),
        _layered(machine, binding.initial, obs, 400_000, NO_OLD_DUPLICATES, BEAM),
    ):
        assert not found.stopped
        out.append((ACCEPTED if found.done is not None else REJECTED, found.best))
    return tuple(out)


@pytest.mark.parametrize("name", TEXTS)
def test_the_searches_agree_on_every_committed_capture(name: str) -> None:
    cap = read_capture(CAPTURES / name)
    first, exact, quick = searches(cap)
    assert exact[0] == first[0]
    if first[0] == REJECTED:
        assert exact[1] == first[1]
    else:
        assert quick[0] == ACCEPTED  # the quick search finds the committed captures' runs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["client-closes", "half-close", "simultaneous-close", "data-overtaken", "lost-syn"]),
    k=st.integers(0, 30),
    field=st.sampled_from(["seq", "ack", "flags", "drop", "swap"]),
    delta=st.sampled_from([-1, 1]),
)
def test_the_searches_agree_on_mutated_captures(name: str, k: int, field: str, delta: int) -> None:
    """Exact searches agree on verdict and rejection point; the quick one never accepts what they reject."""
    cap = read_capture(CAPTURES / f"{name}.txt")
    segs = list(cap.segments)
    k %= len(segs)
    s = segs[k]
    if field == "seq":
        segs[k] = dataclasses.replace(s, seq=(s.seq + delta) % 2**32)
    elif field == "ack" and s.ack is not None:
        segs[k] = dataclasses.replace(s, ack=(s.ack + delta) % 2**32)
    elif field == "flags":
        segs[k] = dataclasses.replace(s, flags=s.flags ^ (0x01 if delta > 0 else 0x02))
    elif field == "drop" and len(segs) > 1:
        del segs[k]
    elif field == "swap" and k + 1 < len(segs):
        segs[k], segs[k + 1] = segs[k + 1], segs[k]
    first, exact, quick = searches(dataclasses.replace(cap, segments=segs))
    assert exact[0] == first[0]
    assert exact[0] == ACCEPTED or exact[1] == first[1]
    assert quick[0] == REJECTED or first[0] == ACCEPTED


@pytest.mark.parametrize("name", ["client-closes", "data-overtaken", "simultaneous-open"])
def test_the_searches_agree_on_a_fifo_network(name: str) -> None:
    first, exact, _ = searches(read_capture(CAPTURES / f"{name}.txt"), LOOPBACK)
    assert first == exact


def test_a_long_capture_is_accepted() -> None:
    """A bulk transfer of 400 data segments (806 in all): the handshake, each segment ACKed, the close."""
    r = replay(read_text(Path("bulk.txt"), bulk_transfer(400)), capture_network())
    assert r.verdict == ACCEPTED
    assert len([k for step in r.path for k in step.observed]) == segments(400)
    assert (r.path[-1].world.a.state, r.path[-1].world.b.state) == (TIME_WAIT, LAST_ACK)


def test_a_long_capture_is_rejected_where_it_departs() -> None:
    """The same with one of B's ACKs acknowledging an octet A never sent: REJECTED at that segment."""
    cap = read_text(Path("bulk.txt"), bulk_transfer(12))
    segs = list(cap.segments)
    k = 20  # B's ACK of the ninth data segment
    segs[k] = dataclasses.replace(segs[k], ack=(segs[k].ack or 0) + 1000)
    r = replay(dataclasses.replace(cap, segments=segs), capture_network())
    assert r.verdict == REJECTED and r.rejected_at == k


def test_channels_contain_what_losses_leave() -> None:
    a, b, c = (Segment(n, 0, ACK) for n in (1, 2, 3))
    assert _contains((a, b, c), (a, c), reorder=False)
    assert not _contains((a, b), (b, a), reorder=False)  # FIFO: losses keep the order
    assert _contains((a, b, c), (a, c), reorder=True)
    assert not _contains((a, b), (a, a), reorder=True)  # a multiset: one copy is not two


# --- the long recordings, mutated -----------------------------------------------------------------

MUTATIONS = {
    "an ACK of an octet never sent": lambda o: dataclasses.replace(o, ack=(o.ack or 0) + 100_000),
    "a sequence gap": lambda o: dataclasses.replace(o, seq=(o.seq + 3 * 1448) % 2**32),
    "a SYN mid-connection": lambda o: dataclasses.replace(o, flags=o.flags | 0x02),
}


@pytest.mark.parametrize("recording", ["bulk", "bulk-drop", "slow-reader"])
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_long_recording_with_one_field_changed_is_rejected_at_that_segment(recording: str, mutation: str) -> None:
    """The committed long captures are ACCEPTED (test_replay); one field of one data segment in the middle
    changed, each is REJECTED at that segment, with the reason."""
    cap = read_capture(CAPTURES / f"{recording}.pcap")
    data = [k for k, o in enumerate(cap.segments) if o.length and o.sender == "A"]
    k = data[len(data) // 2]
    segs = list(cap.segments)
    segs[k] = MUTATIONS[mutation](segs[k])
    r = replay(dataclasses.replace(cap, segments=segs), capture_network())
    assert r.verdict == REJECTED and r.rejected_at == k, (r.verdict, r.rejected_at, k, r.reason)
    assert r.reason
