"""TCP segments as the model carries them (RFC 9293 §3.1, §3.4).

A segment has the header fields the connection state machine reads -- SEG.SEQ,
SEG.ACK and the six control bits -- and zero or one unit of data.  A unit of data
is what one SEND of the user handed to TCP: ``size`` octets of sequence space
(one octet unless the configuration says otherwise, see
``EndpointConfig.sizes``).  It is identified (``data`` is its number in the
sender's stream, 1, 2, ...) so that the checks can follow each unit to the
receiving user.  Two fields are not part of TCP at all and no rule may read
them: ``inc``, the incarnation of the sending TCB, and ``age``, the ticks spent
in the network (for the maximum segment lifetime, RFC 9293 §3.4.1).
"""

from __future__ import annotations

from typing import NamedTuple

from spec.states import ACK, FIN, PSH, RST, SYN, URG

#: Octets of sequence space one unit of data occupies unless the configuration gives its size.
UNIT = 1

_FLAG_LETTERS = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."), (URG, "U"))


class Segment(NamedTuple):
    """One segment in flight, or held by a receiver for in-order processing."""

    seq: int
    ack: int
    flags: int
    data: int = 0  # number of the data unit carried (1, 2, ...), or 0 for none
    inc: int = 0  # ghost: incarnation of the sender's TCB
    age: int = 0  # ghost: ticks spent in the network
    size: int = 0  # octets of data carried: the size of unit ``data``, 0 when there is none

    @property
    def SYN(self) -> bool:  # noqa: N802 - the RFC's name of the control bit
        return bool(self.flags & SYN)

    @property
    def ACK(self) -> bool:  # noqa: N802
        return bool(self.flags & ACK)

    @property
    def FIN(self) -> bool:  # noqa: N802
        return bool(self.flags & FIN)

    @property
    def RST(self) -> bool:  # noqa: N802
        return bool(self.flags & RST)

    @property
    def PSH(self) -> bool:  # noqa: N802
        return bool(self.flags & PSH)

    @property
    def URG(self) -> bool:  # noqa: N802
        return bool(self.flags & URG)

    @property
    def has_text(self) -> bool:
        """The segment carries a unit of data."""
        return self.data != 0

    @property
    def text_len(self) -> int:
        """Octets of data carried."""
        return self.size

    @property
    def len(self) -> int:
        """SEG.LEN: octets of data plus one for each of SYN and FIN (RFC 9293 §3.4)."""
        return self.size + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)


def flag_letters(flags: int) -> str:
    """The control bits in tcpdump's notation: ``S.`` for SYN,ACK, ``P.`` for PSH,ACK."""
    return "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit) or "none"


def describe(seg: Segment) -> str:
    """tcpdump-like text, absolute sequence numbers: ``Flags [P.], seq 1:2, ack 7, length 1``."""
    parts = [f"Flags [{flag_letters(seg.flags)}]"]
    text = seg.text_len
    if text:
        parts.append(f"seq {seg.seq}:{(seg.seq + text) & 0xFFFFFFFF}")
    else:
        parts.append(f"seq {seg.seq}")
    if seg.flags & ACK:
        parts.append(f"ack {seg.ack}")
    parts.append(f"length {text}")
    return ", ".join(parts)
