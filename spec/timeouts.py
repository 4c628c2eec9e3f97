"""Timeouts: RFC 9293 §3.10.8, with the retransmission of §3.8.1 and the give-up of §3.8.3.

One timer runs per TCB: the retransmission timer while something that
occupies sequence space is unacknowledged, or the time-wait timer (entering
TIME-WAIT "turns off the other timers").  A timeout rule is enabled when that
timer has expired (``timer == 0``); in an untimed configuration a running timer
may expire at any moment.

RETRANSMISSION TIMEOUT sends "the segment at the front of the retransmission
queue" again: the SYN, the SYN,ACK, the data unit at SND.UNA, or the FIN.
After ``Config.retries`` retransmissions of the same segment the next timeout
closes the connection (R2 of §3.8.3; USER TIMEOUT of §3.10.8 has the same
effect), and the user is told it timed out.
"""

from __future__ import annotations

from spec.actions import restart_retransmission_timer, send_syn_ack, unit_at
from spec.rules import Ctx, Event, rule, with_retransmission
from spec.seqnum import negate, seq_add
from spec.states import (
    ACK,
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN,
    FIN_WAIT_1,
    LAST_ACK,
    LISTEN,
    SYN,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
    Outcome,
)

TIMEOUT = Event.TIMEOUT
#: States in which data or our FIN may wait for an acknowledgment.
SENDING_STATES = {ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK}


def expired(x: Ctx) -> None:
    """The running timer has expired."""
    x.require(x.tcb.timer == 0)


def may_retransmit(x: Ctx) -> None:
    """The timer expired and fewer than ``retries`` retransmissions of this segment were sent."""
    t = x.tcb
    x.require(t.timer == 0, t.retries < (x.cfg.retries or 0))
    t.retries = t.retries + 1
    restart_retransmission_timer(x)


@rule(TIMEOUT, "3.10.8", states={SYN_SENT}, when=with_retransmission, sends="SYN")
def retransmit_syn(x: Ctx) -> None:
    """RETRANSMISSION TIMEOUT, SYN-SENT: send the SYN again."""
    may_retransmit(x)
    x.send(seq=x.tcb.iss, flags=SYN)


@rule(TIMEOUT, "3.10.8", states={SYN_RECEIVED}, when=with_retransmission, sends="SYN,ACK")
def retransmit_syn_ack(x: Ctx) -> None:
    """RETRANSMISSION TIMEOUT, SYN-RECEIVED: send the SYN,ACK again."""
    may_retransmit(x)
    send_syn_ack(x)


@rule(TIMEOUT, "3.10.8", states={FIN_WAIT_1}, when=with_retransmission, sends="SYN,ACK")
def retransmit_syn_ack_after_close(x: Ctx) -> None:
    """RETRANSMISSION TIMEOUT, FIN-WAIT-1 after a CLOSE in SYN-RECEIVED, our SYN unacknowledged: send the SYN,ACK again.

    The SYN,ACK is at the front of the retransmission queue, ahead of the FIN.
    """
    t = x.tcb
    x.require(t.snd_una == t.iss)
    may_retransmit(x)
    send_syn_ack(x)


@rule(TIMEOUT, "3.10.8", states=SENDING_STATES, when=with_retransmission, sends="data")
def retransmit_data(x: Ctx) -> None:
    """RETRANSMISSION TIMEOUT: the data unit at SND.UNA is unacknowledged: send it again."""
    t = x.tcb
    unit = unit_at(x, t.snd_una)
    x.require(unit != 0, unit <= t.sent)
    may_retransmit(x)
    x.send(seq=t.snd_una, ack=t.rcv_nxt, flags=x.data_flags(unit), data=unit)


@rule(TIMEOUT, "3.10.8", states={FIN_WAIT_1, CLOSING, LAST_ACK}, when=with_retransmission, sends="FIN")
def retransmit_fin(x: Ctx) -> None:
    """RETRANSMISSION TIMEOUT: only our FIN is unacknowledged: send it again."""
    t = x.tcb
    x.require(negate(t.close_queued), seq_add(t.snd_una, 1) == t.snd_nxt)
    may_retransmit(x)
    x.send(seq=t.snd_una, ack=t.rcv_nxt, flags=FIN | ACK)


@rule(
    TIMEOUT,
    "3.8.3",
    states={SYN_SENT} | SENDING_STATES,
    when=with_retransmission,
    to=CLOSED,
    outcome=Outcome.TIMED_OUT,
    on="R2 timeout",
)
def give_up(x: Ctx) -> None:
    """R2 reached (the segment was retransmitted ``retries`` times): close the connection, tell the user."""
    t = x.tcb
    x.require(t.timer == 0, t.retries == x.cfg.retries)


@rule(
    TIMEOUT,
    "3.8.3",
    states={SYN_RECEIVED},
    when=with_retransmission,
    to=CLOSED,
    outcome=Outcome.TIMED_OUT,
    on="R2 timeout",
)
def give_up_active_open(x: Ctx) -> None:
    """R2 reached in SYN-RECEIVED after an active OPEN: close the connection, tell the user."""
    t = x.tcb
    x.require(t.timer == 0, t.retries == x.cfg.retries, negate(t.passive))


# RFC-AMBIGUITY: §3.10.8 deletes the TCB on a user timeout "for any state", which would also end
# the LISTEN a passive OPEN asked for.  Real stacks drop only the embryonic connection and keep
# listening; so does the model, in the spirit of Note 1 (SYN-RECEIVED returns to LISTEN on RST).
@rule(TIMEOUT, "3.8.3", states={SYN_RECEIVED}, when=with_retransmission, to=LISTEN, on="R2 timeout")
def give_up_passive_open(x: Ctx) -> None:
    """R2 reached in SYN-RECEIVED after a passive OPEN: drop the half-open connection, keep listening."""
    t = x.tcb
    x.require(t.timer == 0, t.retries == x.cfg.retries, t.passive)


@rule(TIMEOUT, "3.10.8", states={TIME_WAIT}, to=CLOSED, outcome=Outcome.CLOSED, on="Timeout=2MSL")
def time_wait_timeout(x: Ctx) -> None:
    """TIME-WAIT TIMEOUT: after 2 MSL, delete the TCB, enter CLOSED."""
    expired(x)
