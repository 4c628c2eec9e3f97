"""The synthetic captures of checks/synthetic.py are legal: replay accepts them, and rejects a mutated one."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.capture import read_text
from checks.replay import ACCEPTED, REJECTED, capture_network, replay, replay_text
from checks.synthetic import bulk_transfer, segments


@pytest.mark.parametrize(("units", "a_iss"), [(0, 1000), (2, 1000), (3, 2**32 - 150)])
def test_a_bulk_transfer_is_accepted(units: int, a_iss: int) -> None:
    """Handshake, data each acknowledged at once, close (A's ISS near 2**32: the sequence numbers wrap)."""
    text = bulk_transfer(units, a_iss=a_iss)
    capture = read_text(Path("bulk.txt"), text)
    assert len(capture.segments) == segments(units)
    r = replay(capture, capture_network())
    assert r.verdict == ACCEPTED, replay_text(r)


def test_an_ack_of_data_never_sent_is_rejected() -> None:
    lines = bulk_transfer(2).splitlines()
    lines[5] = lines[5].replace("ack 1101", "ack 1201")  # B acknowledges the second unit before it is sent
    r = replay(read_text(Path("bulk.txt"), "\n".join(lines) + "\n"), capture_network())
    assert r.verdict == REJECTED and r.rejected_at == 4, replay_text(r)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="units"):
        bulk_transfer(-1)
