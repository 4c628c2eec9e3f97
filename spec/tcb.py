"""The state of one endpoint: its user's program counter, its TCB, and ghost records.

RFC 9293 §3.3.1 lists the TCB's send and receive sequence variables; the model
keeps those that connection management reads (ISS, IRS, SND.UNA, SND.NXT,
RCV.NXT; the windows are fixed, see ``Config.window``) and the bookkeeping an
implementation needs around them: the send queue, whether the user's CLOSE is
waiting for queued data, the retransmission count and the one timer that runs
at a time (retransmission, or TIME-WAIT, which "turns off the other timers").

Fields marked *ghost* are not part of TCP: TCP never reads them.  They record
what the checks need to judge TCP -- which incarnation of the peer this TCB
synchronized with, what was delivered to the user, and how each incarnation
ended.
"""

from __future__ import annotations

from typing import NamedTuple

from spec.segment import Segment
from spec.states import CLOSED, CLOSED_BY_USER, Outcome, TcpState

#: ``timer`` value of a stopped timer.
TIMER_OFF = -1

#: One delivered unit of data: (incarnation of the sender, number of the unit).
DataId = tuple[int, int]


class Ended(NamedTuple):
    """Ghost record of one finished incarnation of an endpoint."""

    inc: int
    peer_inc: int  # the incarnation of the peer it synchronized with, 0 if none
    outcome: Outcome
    state: TcpState  # the state it was in when the TCB was deleted
    sent: int  # units of data it segmentized
    delivered: tuple[DataId, ...]


class Endpoint(NamedTuple):
    """Everything about one endpoint: user, TCB (RFC 9293 §3.3.1) and ghost records."""

    state: TcpState = CLOSED
    pc: int = 0  # index of the user's next call in its script
    inc: int = 0  # incarnation: how many TCBs this endpoint has created for the connection
    passive: bool = False  # this TCB came from a passive OPEN (LISTEN), MUST-11
    iss: int = 0  # ISS: initial send sequence number
    irs: int = 0  # IRS: initial receive sequence number
    snd_una: int = 0  # SND.UNA: oldest unacknowledged sequence number
    snd_nxt: int = 0  # SND.NXT: next sequence number to be sent
    rcv_nxt: int = 0  # RCV.NXT: next sequence number expected
    queued: int = 0  # units the user SENT that are not yet segmentized
    sent: int = 0  # units segmentized so far (numbered 1..sent)
    close_queued: bool = False  # the user's CLOSE waits until queued data is segmentized
    retries: int = 0  # retransmissions of the segment at SND.UNA so far
    timer: int = TIMER_OFF  # ticks until the running timer expires; 0 = expired
    held: tuple[Segment, ...] = ()  # accepted segments ahead of RCV.NXT, for in-order processing
    peer_inc: int = 0  # ghost: incarnation of the peer whose SYN this TCB accepted
    delivered: tuple[DataId, ...] = ()  # ghost: data delivered to the user, in order
    history: tuple[Ended, ...] = ()  # ghost: how earlier incarnations ended

    @property
    def fin_sent(self) -> bool:
        """Our FIN occupies sequence space: the user closed and the FIN has been formed."""
        return fin_was_sent(self.state, self.close_queued)


def fin_was_sent(state: TcpState, close_queued: bool) -> bool:
    """Whether a TCB in ``state`` has formed its FIN (a CLOSE still queued has not)."""
    return state in CLOSED_BY_USER and not close_queued


#: Fields that survive the deletion of the TCB: the user's progress and the ghost records.
PERSISTENT_FIELDS = ("pc", "inc", "history")
