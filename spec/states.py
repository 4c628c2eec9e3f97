"""The eleven connection states, the header's control bits and how a connection ends.

RFC 9293 §3.3.2 names the states; Figure 5 draws them.  CLOSED is "fictional":
it is the state of an endpoint that has no TCB.
"""

from __future__ import annotations

from enum import IntEnum


class TcpState(IntEnum):
    """A connection state of RFC 9293 §3.3.2."""

    CLOSED = 0
    LISTEN = 1
    SYN_SENT = 2
    SYN_RECEIVED = 3
    ESTABLISHED = 4
    FIN_WAIT_1 = 5
    FIN_WAIT_2 = 6
    CLOSE_WAIT = 7
    CLOSING = 8
    LAST_ACK = 9
    TIME_WAIT = 10

    def __str__(self) -> str:
        return self.name.replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> TcpState:
        """The state named ``text`` as the RFC spells it (``SYN-SENT``)."""
        try:
            return cls[text.strip().upper().replace("-", "_")]
        except KeyError:
            names = ", ".join(str(s) for s in cls)
            raise ValueError(f"unknown TCP state {text!r}; the states are {names}") from None


CLOSED = TcpState.CLOSED
LISTEN = TcpState.LISTEN
SYN_SENT = TcpState.SYN_SENT
SYN_RECEIVED = TcpState.SYN_RECEIVED
ESTABLISHED = TcpState.ESTABLISHED
FIN_WAIT_1 = TcpState.FIN_WAIT_1
FIN_WAIT_2 = TcpState.FIN_WAIT_2
CLOSE_WAIT = TcpState.CLOSE_WAIT
CLOSING = TcpState.CLOSING
LAST_ACK = TcpState.LAST_ACK
TIME_WAIT = TcpState.TIME_WAIT

ALL_STATES = frozenset(TcpState)

#: "the synchronized states" (RFC 9293 §3.5.2, group 3).
SYNCHRONIZED = frozenset({ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT})

#: The states of RFC 9293 §3.10.7.4 "Other States": SYN-RECEIVED and the synchronized ones.
OTHER_STATES = SYNCHRONIZED | {SYN_RECEIVED}

#: States in which the user has closed and our FIN is (or is about to be) in the sequence space.
CLOSED_BY_USER = frozenset({FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT})

#: States in which a FIN has been received from the peer (RFC 9293 §3.10.7.4, eighth step).
FIN_RECEIVED = frozenset({CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT})


class Flag(IntEnum):
    """Control bits of the TCP header, with their bit values (RFC 9293 §3.1)."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20


FIN = int(Flag.FIN)
SYN = int(Flag.SYN)
RST = int(Flag.RST)
PSH = int(Flag.PSH)
ACK = int(Flag.ACK)
URG = int(Flag.URG)


class Outcome(IntEnum):
    """How an incarnation of a connection ended, as its user was told (RFC 9293 §3.6, MUST-12)."""

    CLOSED = 1  # "closed normally": FIN handshake done, or the user closed before connecting
    REFUSED = 2  # "connection refused": RST while opening
    RESET = 3  # "connection reset": RST in a synchronized state
    ABORTED = 4  # the user called ABORT
    TIMED_OUT = 5  # retransmission limit reached (R2, RFC 9293 §3.8.3)
    CRASHED = 6  # the host lost the TCB (a fault of the configuration, RFC 9293 §3.5.1)

    def __str__(self) -> str:
        return self.name.lower().replace("_", " ")


#: Outcomes that a user sees as an error on the connection.
FAILURES = frozenset({Outcome.REFUSED, Outcome.RESET, Outcome.ABORTED, Outcome.TIMED_OUT, Outcome.CRASHED})
