"""User calls: RFC 9293 §3.10.1 OPEN, §3.10.2 SEND, §3.10.4 CLOSE, §3.10.5 ABORT.

One rule per state group of each call, in the RFC's order.  A call the RFC
answers with an error ("connection already exists", "connection closing")
returns at once and changes nothing; the user's script goes on with its next
call.  RECEIVE (§3.10.3) is not a separate call: the model's users always have
a RECEIVE outstanding, so data is delivered as soon as TCP takes it in order.
STATUS (§3.10.6) changes nothing and is left out.

The three ``wait-*`` calls are not RFC calls: they model a user blocking until
TCP signals it (RFC 9293 §3.9.1.8 "asynchronous reports"; §3.6 "the TCP
implementation will signal a user ... that the remote peer has closed").
"""

from __future__ import annotations

import dataclasses

from spec.actions import select_iss_and_send_syn, send_data_unit, send_fin, window_open
from spec.config import Call
from spec.rules import Ctx, Event, Rule, rule
from spec.seqnum import any_of, negate
from spec.states import (
    ACK,
    ALL_STATES,
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_RECEIVED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    RST,
    SYN_RECEIVED,
    SYN_SENT,
    SYNCHRONIZED,
    TIME_WAIT,
    Outcome,
)

OPEN = (Call.OPEN,)
LISTEN_CALL = (Call.LISTEN,)
SEND = (Call.SEND, Call.SEND_URGENT)
CLOSE = (Call.CLOSE,)
ABORT = (Call.ABORT,)

# --- §3.10.1 OPEN -------------------------------------------------------------------------------


@rule(Event.CALL, "3.10.1", calls=OPEN, states={CLOSED}, to=SYN_SENT, sends="SYN")
def open_active(x: Ctx) -> None:
    """CLOSED, active OPEN: create a TCB, select an ISS, send <SEQ=ISS><CTL=SYN>, enter SYN-SENT."""
    t = x.tcb
    t.inc = t.inc + 1
    t.passive = False
    select_iss_and_send_syn(x)


@rule(Event.CALL, "3.10.1", calls=LISTEN_CALL, states={CLOSED}, to=LISTEN)
def open_passive(x: Ctx) -> None:
    """CLOSED, passive OPEN: create a TCB and enter LISTEN."""
    t = x.tcb
    t.inc = t.inc + 1
    t.passive = True


@rule(Event.CALL, "3.10.1", calls=OPEN, states={LISTEN}, to=SYN_SENT, sends="SYN")
def open_active_from_listen(x: Ctx) -> None:
    """LISTEN, active OPEN: change the connection from passive to active, select an ISS, send a SYN."""
    x.tcb.passive = False
    select_iss_and_send_syn(x)


@rule(Event.CALL, "3.10.1", calls=OPEN, states=ALL_STATES - {CLOSED, LISTEN})
def open_already_exists(x: Ctx) -> None:
    """Any other state, active OPEN: return "error: connection already exists"."""


@rule(Event.CALL, "3.10.1", calls=LISTEN_CALL, states=ALL_STATES - {CLOSED})
def listen_already_exists(x: Ctx) -> None:
    """Any state but CLOSED, passive OPEN: return "error: connection already exists"."""


# --- §3.10.2 SEND -------------------------------------------------------------------------------


@rule(Event.CALL, "3.10.2", calls=SEND, states={CLOSED})
def send_without_connection(x: Ctx) -> None:
    """CLOSED: return "error: connection does not exist"."""


@rule(Event.CALL, "3.10.2", calls=SEND, states={LISTEN}, to=SYN_SENT, sends="SYN")
def send_from_listen(x: Ctx) -> None:
    """LISTEN: change the connection from passive to active, send a SYN, queue the data."""
    t = x.tcb
    t.passive = False
    t.queued = t.queued + 1
    select_iss_and_send_syn(x)


@rule(Event.CALL, "3.10.2", calls=SEND, states={SYN_SENT, SYN_RECEIVED})
def send_before_established(x: Ctx) -> None:
    """SYN-SENT, SYN-RECEIVED: queue the data for transmission after entering ESTABLISHED."""
    t = x.tcb
    x.require(negate(t.close_queued))
    t.queued = t.queued + 1


@rule(Event.CALL, "3.10.2", calls=SEND, states={ESTABLISHED, CLOSE_WAIT}, sends="data")
def send_now(x: Ctx) -> None:
    """ESTABLISHED, CLOSE-WAIT: segmentize the buffer and send it with a piggybacked acknowledgment."""
    t = x.tcb
    x.require(negate(t.close_queued), t.queued == 0, window_open(x))
    send_data_unit(x)


@rule(Event.CALL, "3.10.2", calls=SEND, states={ESTABLISHED, CLOSE_WAIT})
def send_queued_behind(x: Ctx) -> None:
    """ESTABLISHED, CLOSE-WAIT, earlier data still queued or the window full: queue the data."""
    t = x.tcb
    x.require(negate(t.close_queued), any_of(t.queued != 0, negate(window_open(x))))
    t.queued = t.queued + 1


# RFC-AMBIGUITY: §3.10.2 lists SEND as queued in SYN-RECEIVED and segmentized in CLOSE-WAIT even
# after the user's CLOSE was queued there; §3.6 says CLOSE means "I have no more data to send".  The
# model follows §3.6: once the CLOSE is accepted, a SEND gets "error: connection closing".
@rule(Event.CALL, "3.10.2", calls=SEND, states={SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT})
def send_after_queued_close(x: Ctx) -> None:
    """A CLOSE is queued: the user said it has no more data to send: "error: connection closing"."""
    x.require(x.tcb.close_queued)


@rule(Event.CALL, "3.10.2", calls=SEND, states={FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT})
def send_after_close(x: Ctx) -> None:
    """FIN-WAIT-1 ... TIME-WAIT: return "error: connection closing" and do not service the request."""


# --- §3.10.4 CLOSE ------------------------------------------------------------------------------


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={CLOSED})
def close_without_connection(x: Ctx) -> None:
    """CLOSED: return "error: connection does not exist"."""


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={LISTEN}, to=CLOSED, outcome=Outcome.CLOSED)
def close_listen(x: Ctx) -> None:
    """LISTEN: delete the TCB, enter CLOSED."""


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={SYN_SENT}, to=CLOSED, outcome=Outcome.CLOSED)
def close_syn_sent(x: Ctx) -> None:
    """SYN-SENT: delete the TCB; queued SENDs get "error: closing"."""


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={SYN_RECEIVED}, to=FIN_WAIT_1, sends="FIN")
def close_syn_received(x: Ctx) -> None:
    """SYN-RECEIVED, nothing to send: form a FIN segment, send it, enter FIN-WAIT-1."""
    x.require(x.tcb.queued == 0)
    send_fin(x)


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={SYN_RECEIVED})
def close_syn_received_queued(x: Ctx) -> None:
    """SYN-RECEIVED, data queued: queue the CLOSE for processing after entering ESTABLISHED."""
    t = x.tcb
    x.require(t.queued != 0)
    t.close_queued = True


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={ESTABLISHED}, to=FIN_WAIT_1, sends="FIN")
def close_established(x: Ctx) -> None:
    """ESTABLISHED, all SENDs segmentized: form a FIN segment, send it, enter FIN-WAIT-1."""
    x.require(x.tcb.queued == 0)
    send_fin(x)


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={ESTABLISHED}, to=FIN_WAIT_1)
def close_established_queued(x: Ctx) -> None:
    """ESTABLISHED, data queued: the FIN waits until the SENDs are segmentized; enter FIN-WAIT-1 anyway."""
    t = x.tcb
    x.require(t.queued != 0)
    t.close_queued = True


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={FIN_WAIT_1, FIN_WAIT_2})
def close_again(x: Ctx) -> None:
    """FIN-WAIT-1, FIN-WAIT-2: "error: connection closing" (or "ok"); a second FIN is not emitted."""


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={CLOSE_WAIT}, to=LAST_ACK, sends="FIN")
def close_close_wait(x: Ctx) -> None:
    """CLOSE-WAIT, all SENDs segmentized: send a FIN segment, enter LAST-ACK."""
    x.require(x.tcb.queued == 0)
    send_fin(x)


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={CLOSE_WAIT})
def close_close_wait_queued(x: Ctx) -> None:
    """CLOSE-WAIT, data queued: queue the request until all preceding SENDs have been segmentized."""
    t = x.tcb
    x.require(t.queued != 0)
    t.close_queued = True


@rule(Event.CALL, "3.10.4", calls=CLOSE, states={CLOSING, LAST_ACK, TIME_WAIT})
def close_while_closing(x: Ctx) -> None:
    """CLOSING, LAST-ACK, TIME-WAIT: respond with "error: connection closing"."""


# --- §3.10.5 ABORT ------------------------------------------------------------------------------


@rule(Event.CALL, "3.10.5", calls=ABORT, states={CLOSED})
def abort_without_connection(x: Ctx) -> None:
    """CLOSED: return "error: connection does not exist"."""


@rule(Event.CALL, "3.10.5", calls=ABORT, states={LISTEN, SYN_SENT}, to=CLOSED, outcome=Outcome.ABORTED)
def abort_unsynchronized(x: Ctx) -> None:
    """LISTEN, SYN-SENT: delete the TCB, enter CLOSED; queued calls get "connection reset"."""


@rule(
    Event.CALL,
    "3.10.5",
    calls=ABORT,
    states={SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT},
    to=CLOSED,
    outcome=Outcome.ABORTED,
    sends="RST,ACK",
)
def abort_with_reset(x: Ctx) -> None:
    """SYN-RECEIVED ... CLOSE-WAIT: send a reset, flush the queues, delete the TCB.

    RFC 9293 §3.10.5 writes the reset <SEQ=SND.NXT><CTL=RST>.  Linux sends
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (tcp_send_active_reset; seen in the
    abort capture), and so does the model.  The ACK bit matters only to a peer in
    SYN-SENT, which accepts a reset only with an acceptable ACK (§3.10.7.3): with
    the RFC's form, a peer in a simultaneous open would ignore the reset.
    """
    t = x.tcb
    x.send(seq=t.snd_nxt, ack=t.rcv_nxt, flags=RST | ACK)


def reset_as_written(x: Ctx) -> None:
    """ABORT's reset exactly as RFC 9293 §3.10.5 writes it: "a reset segment should be sent:
    <SEQ=SND.NXT><CTL=RST>" -- without the ACK bit."""
    x.send(seq=x.tcb.snd_nxt, flags=RST)


def with_reset_as_written(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """``rules`` whose ABORT sends the reset without ACK (:func:`reset_as_written`), not Linux's RST,ACK.

    RFC-AMBIGUITY: §3.10.5 writes <SEQ=SND.NXT><CTL=RST>, Linux sends RST,ACK; both are TCP.  The
    rulebook takes Linux's form (see :func:`abort_with_reset`); replay takes this one for a capture
    whose user's ABORT shows it.
    """
    return tuple(
        dataclasses.replace(r, body=reset_as_written, sends="RST") if r.name == abort_with_reset.name else r
        for r in rules
    )


@rule(Event.CALL, "3.10.5", calls=ABORT, states={CLOSING, LAST_ACK, TIME_WAIT}, to=CLOSED, outcome=Outcome.ABORTED)
def abort_while_closing(x: Ctx) -> None:
    """CLOSING, LAST-ACK, TIME-WAIT: respond "ok", delete the TCB, enter CLOSED."""


# --- Waiting for TCP's signals (RFC 9293 §3.9.1.8, §3.6) -------------------------------------------


@rule(Event.CALL, "3.9.1.8", calls=(Call.WAIT_OPEN,), states=SYNCHRONIZED | {CLOSED})
def open_completed(x: Ctx) -> None:
    """The user's OPEN completes: the connection is established (or later), or it failed."""


@rule(Event.CALL, "3.6", calls=(Call.WAIT_EOF,), states=FIN_RECEIVED | {CLOSED})
def peer_closed(x: Ctx) -> None:
    """TCP signals "connection closing": the peer's FIN arrived (or the connection failed)."""


@rule(Event.CALL, "3.9.1.8", calls=(Call.WAIT_CLOSED,), states={CLOSED})
def connection_gone(x: Ctx) -> None:
    """The TCB has been deleted: the user may reuse the connection's port pair."""
