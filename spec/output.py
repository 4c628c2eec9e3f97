"""TCP's own output: data and FINs that an earlier user call queued (RFC 9293 §3.10.2, §3.10.4).

SEND queues data that cannot be segmentized at once (the connection is not yet
ESTABLISHED, or the peer's window is full); CLOSE queues the FIN behind such
data ("queue this until all preceding SENDs have been segmentized, then form a
FIN segment and send it").  These rules are the moments TCP does so.
"""

from __future__ import annotations

from spec.actions import send_data_unit, send_fin, window_open
from spec.rules import Ctx, Event, rule
from spec.seqnum import negate
from spec.states import CLOSE_WAIT, CLOSING, ESTABLISHED, FIN_WAIT_1, LAST_ACK


def segmentize_next_queued_unit(x: Ctx) -> None:
    """Queued data and an open window: take the next unit off the queue and send it."""
    t = x.tcb
    x.require(t.queued != 0, window_open(x))
    t.queued = t.queued - 1
    send_data_unit(x)


@rule(Event.OUTPUT, "3.10.2", states={CLOSE_WAIT, FIN_WAIT_1, CLOSING}, sends="data")
def segmentize_queued_data(x: Ctx) -> None:
    """Queued data and an open window: segmentize the next unit and send it."""
    segmentize_next_queued_unit(x)


@rule(Event.OUTPUT, "3.10.2", states={ESTABLISHED}, sends="data")
def segmentize_queued_data_established(x: Ctx) -> None:
    """ESTABLISHED, queued data, no CLOSE waiting (that one enters FIN-WAIT-1 first): send the next unit."""
    x.require(negate(x.tcb.close_queued))
    segmentize_next_queued_unit(x)


@rule(Event.OUTPUT, "3.10.4", states={ESTABLISHED}, to=FIN_WAIT_1, sends="FIN", on="queued CLOSE")
def queued_close_established(x: Ctx) -> None:
    """A CLOSE queued in SYN-RECEIVED, now ESTABLISHED, nothing left to send: send the FIN, enter FIN-WAIT-1."""
    t = x.tcb
    x.require(t.close_queued, t.queued == 0)
    send_fin(x)


@rule(Event.OUTPUT, "3.10.4", states={ESTABLISHED}, to=FIN_WAIT_1, on="queued CLOSE")
def queued_close_established_with_data(x: Ctx) -> None:
    """A CLOSE queued in SYN-RECEIVED, now ESTABLISHED, data still queued: enter FIN-WAIT-1, FIN later."""
    t = x.tcb
    x.require(t.close_queued, t.queued != 0)


@rule(Event.OUTPUT, "3.10.4", states={FIN_WAIT_1, CLOSING}, sends="FIN")
def queued_fin(x: Ctx) -> None:
    """The user closed; every preceding SEND is segmentized: form the FIN segment and send it."""
    t = x.tcb
    x.require(t.close_queued, t.queued == 0)
    send_fin(x)


@rule(Event.OUTPUT, "3.10.4", states={CLOSE_WAIT}, to=LAST_ACK, sends="FIN", on="queued CLOSE")
def queued_close_close_wait(x: Ctx) -> None:
    """CLOSE-WAIT, CLOSE queued, every SEND segmentized: send the FIN segment, enter LAST-ACK."""
    t = x.tcb
    x.require(t.close_queued, t.queued == 0)
    send_fin(x)
