"""RFC 9293's state diagram (Figure 5) and the other state changes its text describes.

This table is transcribed from the RFC independently of the rules in ``spec/``:
the rfc-conformance property holds every state change the rules make against
it, so that a rule moving to a wrong state is caught even if its own metadata
agrees with it.  Each edge says where the RFC draws or describes it.
"""

from __future__ import annotations

from spec.states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
    Outcome,
    TcpState,
)

#: The labelled edges of Figure 5 (event / action), as the RFC draws them.
FIGURE_5: dict[tuple[TcpState, TcpState], str] = {
    (CLOSED, LISTEN): "passive OPEN / create TCB",
    (CLOSED, SYN_SENT): "active OPEN / create TCB, snd SYN",
    (LISTEN, CLOSED): "CLOSE / delete TCB",
    (LISTEN, SYN_RECEIVED): "rcv SYN / snd SYN,ACK",
    (LISTEN, SYN_SENT): "SEND / snd SYN",
    (SYN_SENT, CLOSED): "CLOSE / delete TCB",
    (SYN_SENT, SYN_RECEIVED): "rcv SYN / snd SYN,ACK",
    (SYN_SENT, ESTABLISHED): "rcv SYN,ACK / snd ACK",
    (SYN_RECEIVED, LISTEN): "rcv RST (note 1)",
    (SYN_RECEIVED, ESTABLISHED): "rcv ACK of SYN / x",
    (SYN_RECEIVED, FIN_WAIT_1): "CLOSE / snd FIN",
    (ESTABLISHED, FIN_WAIT_1): "CLOSE / snd FIN",
    (ESTABLISHED, CLOSE_WAIT): "rcv FIN / snd ACK",
    (FIN_WAIT_1, FIN_WAIT_2): "rcv ACK of FIN / x",
    (FIN_WAIT_1, CLOSING): "rcv FIN / snd ACK",
    (FIN_WAIT_2, TIME_WAIT): "rcv FIN / snd ACK",
    (CLOSE_WAIT, LAST_ACK): "CLOSE / snd FIN",
    (CLOSING, TIME_WAIT): "rcv ACK of FIN / x",
    (LAST_ACK, CLOSED): "rcv ACK of FIN / x",
    (TIME_WAIT, CLOSED): "Timeout=2MSL / delete TCB",
}

#: State changes the text describes but Figure 5 leaves out, with where the RFC says so.
TEXT_EDGES: dict[tuple[TcpState, TcpState], str] = {
    (FIN_WAIT_1, TIME_WAIT): "rcv FIN with the ACK of our FIN (Note 2)",
}

#: How a connection may end in CLOSED from any state besides Figure 5's edges: not a normal close.
ABNORMAL_ENDS: dict[Outcome, str] = {
    Outcome.RESET: "rcv RST (Note 3, §3.5.3)",
    Outcome.REFUSED: "rcv RST while opening (§3.10.7.3, §3.10.7.4)",
    Outcome.ABORTED: "ABORT (§3.10.5)",
    Outcome.TIMED_OUT: "retransmission limit R2 or user timeout (§3.8.3, §3.10.8)",
    Outcome.CRASHED: "the host lost its TCB (§3.5.1)",
}


#: The same change may have more causes than Figure 5's label says; these are described in the text.
ALSO: dict[tuple[TcpState, TcpState], str] = {
    (SYN_RECEIVED, LISTEN): "also rcv SYN after a passive OPEN (§3.10.7.4, fourth step), and give-up (§3.8.3)",
    (ESTABLISHED, FIN_WAIT_1): "also a CLOSE queued in SYN-RECEIVED (§3.10.4)",
}


def describe_edge(before: TcpState, after: TcpState, outcome: Outcome | None = None) -> str | None:
    """Where RFC 9293 draws or describes the change from ``before`` to ``after``, or None.

    A change to CLOSED that ends the connection normally (``Outcome.CLOSED``) must be one of
    Figure 5's edges; one that ends it with an error may come from any state.
    """
    if after is CLOSED and outcome is not None and outcome is not Outcome.CLOSED:
        return ABNORMAL_ENDS[outcome]
    if (before, after) in FIGURE_5:
        return "Figure 5: " + FIGURE_5[(before, after)]
    return TEXT_EDGES.get((before, after))
