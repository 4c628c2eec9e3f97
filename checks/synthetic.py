"""Synthetic captures: legal text traces of ordinary connections, of any length (benchmarks, tests).

:func:`bulk_transfer` writes the capture of a connection that a real stack could send on a quiet
network: A's handshake with B, ``units`` data segments from A each acknowledged by B at once, and a
close that A begins (RFC 9293 §3.5, §3.6).  It has ``2 * units + 6`` segments, in the text format of
:mod:`checks.capture`, with absolute sequence numbers (A's may wrap around 2**32).
"""

from __future__ import annotations

from spec.seqnum import MASK

HEADER = "# tcpspec capture: A 10.0.0.1.40000, B 10.0.0.2.5000"


def bulk_transfer(units: int, size: int = 100, a_iss: int = 1000, b_iss: int = 9000) -> str:
    """The capture text: handshake, ``units`` segments of ``size`` octets from A each ACKed by B, close by A."""
    if units < 0 or size < 1:
        raise ValueError(f"bulk_transfer: units >= 0 and size >= 1, not {units} and {size}")
    lines = [HEADER]

    def seg(sender: str, flags: str, seq: int, ack: int | None = None, length: int = 0) -> None:
        receiver = "B" if sender == "A" else "A"
        span = f"{seq}:{(seq + length) & MASK}" if length else f"{seq}"
        acked = f", ack {ack}" if ack is not None else ""
        when = f"{len(lines) * 0.001:.6f}"
        lines.append(f"{when} {sender} > {receiver}: Flags [{flags}], seq {span}{acked}, length {length}")

    a, b = a_iss & MASK, b_iss & MASK
    seg("A", "S", a)
    seg("B", "S.", b, (a + 1) & MASK)
    a, b = (a + 1) & MASK, (b + 1) & MASK
    seg("A", ".", a, b)
    for _ in range(units):
        seg("A", "P.", a, b, size)
        a = (a + size) & MASK
        seg("B", ".", b, a)
    seg("A", "F.", a, b)
    a = (a + 1) & MASK
    seg("B", "F.", b, a)
    b = (b + 1) & MASK
    seg("A", ".", a, b)
    return "\n".join(lines) + "\n"


def segments(units: int) -> int:
    """How many segments :func:`bulk_transfer` writes for ``units`` data segments."""
    return 2 * units + 6
