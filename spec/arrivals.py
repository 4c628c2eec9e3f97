"""SEGMENT ARRIVES: RFC 9293 §3.10.7, one rule per paragraph.

The RFC describes segment processing as numbered steps ("First, check the
sequence number ... Second, check the RST bit ...").  Each rule below belongs
to one step (``step=``) of one section.  An arriving segment is processed step
by step: at each step at most one rule may apply (the engines check this); a
step where none applies is passed ("if the RST bit is set ..." implies "else
go on"); a rule with ``ends=True`` is the RFC's "return".  The state a rule
moves to takes effect at once, so the later steps are those of the new state:
RFC 9293 Note 2 (FIN-WAIT-1 to TIME-WAIT when a FIN arrives with the ACK of our
FIN) is FIN-WAIT-1 --ACK of FIN--> FIN-WAIT-2 --FIN--> TIME-WAIT in one event.

What the model leaves out, and why:
* the third step (security/compartment) -- the model has a single compartment;
* the sixth step (URG) -- segments carry URG and traces show it, but no urgent
  pointer is kept, so there is nothing to update;
* SEG.WND -- windows are fixed (``Config.window``), so SND.WND, SND.WL1 and
  SND.WL2 never change;
* text or FIN on a SYN (TCP Fast Open) -- no segment of the model carries them.
"""

from __future__ import annotations

from spec.actions import (
    acceptable,
    ack_acceptable,
    acknowledge,
    acks_our_fin,
    acks_unsent,
    ahead_of_rcv_nxt,
    fin_in_order,
    is_old_ack,
    receive_fin,
    send_ack_now,
    send_reset_to_ack,
    send_reset_to_no_ack,
    send_syn_ack,
    start_retransmission_timer,
    synchronize_with,
    text_at_rcv_nxt,
    ticks,
)
from spec.rules import Ctx, Event, rule, with_rfc1337, with_rfc5961, without_rfc1337, without_rfc5961
from spec.seqnum import Value, all_of, negate, seq_add, seq_lt
from spec.states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    OTHER_STATES,
    RST,
    SYN_RECEIVED,
    SYN_SENT,
    SYNCHRONIZED,
    TIME_WAIT,
    Outcome,
)

SEG = Event.SEGMENT
TEXT_STATES = {ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2}  # where received text is delivered (seventh step)
AFTER_FIN_STATES = {CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT}  # a FIN has been received

# --- §3.10.7.1 CLOSED ---------------------------------------------------------------------------


@rule(SEG, "3.10.7.1", states={CLOSED})
def closed_discard_rst(x: Ctx) -> None:
    """CLOSED: an incoming segment containing a RST is discarded."""
    x.require(x.seg.RST)


@rule(SEG, "3.10.7.1", states={CLOSED}, sends="RST,ACK")
def closed_reset_no_ack(x: Ctx) -> None:
    """CLOSED, ACK bit off: send <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>."""
    s = x.seg
    x.require(negate(s.RST), negate(s.ACK))
    send_reset_to_no_ack(x)


@rule(SEG, "3.10.7.1", states={CLOSED}, sends="RST")
def closed_reset_ack(x: Ctx) -> None:
    """CLOSED, ACK bit on: send <SEQ=SEG.ACK><CTL=RST>."""
    s = x.seg
    x.require(negate(s.RST), s.ACK)
    send_reset_to_ack(x)


# --- §3.10.7.2 LISTEN ---------------------------------------------------------------------------


@rule(SEG, "3.10.7.2", states={LISTEN}, step=1)
def listen_ignore_rst(x: Ctx) -> None:
    """LISTEN, first: an incoming RST should be ignored."""
    x.require(x.seg.RST)


@rule(SEG, "3.10.7.2", states={LISTEN}, step=2, sends="RST")
def listen_reset_ack(x: Ctx) -> None:
    """LISTEN, second: any acknowledgment is bad; send <SEQ=SEG.ACK><CTL=RST>."""
    x.require(x.seg.ACK)
    send_reset_to_ack(x)


@rule(SEG, "3.10.7.2", states={LISTEN}, step=3, to=SYN_RECEIVED, sends="SYN,ACK", on="rcv SYN")
def listen_syn(x: Ctx) -> None:
    """LISTEN, third: SYN: set RCV.NXT and IRS, select an ISS, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>."""
    t = x.tcb
    x.require(x.seg.SYN)
    synchronize_with(x)
    t.iss = x.choose_iss()
    send_syn_ack(x)
    t.snd_nxt = seq_add(t.iss, 1)
    t.snd_una = t.iss
    start_retransmission_timer(x)


@rule(SEG, "3.10.7.2", states={LISTEN}, step=4)
def listen_drop_other(x: Ctx) -> None:
    """LISTEN, fourth: any other control or text: drop the segment."""


# --- §3.10.7.3 SYN-SENT -------------------------------------------------------------------------


def syn_sent_ack_acceptable(x: Ctx) -> Value:
    """SYN-SENT: the ACK is acceptable, ISS < SEG.ACK =< SND.NXT (SND.UNA = ISS here)."""
    s, t = x.seg, x.tcb
    return all_of(seq_lt(t.iss, s.ack), negate(seq_lt(t.snd_nxt, s.ack)))


@rule(SEG, "3.10.7.3", states={SYN_SENT}, step=1)
def syn_sent_bad_ack_rst(x: Ctx) -> None:
    """SYN-SENT, first: SEG.ACK =< ISS or SEG.ACK > SND.NXT, RST bit set: drop the segment."""
    s = x.seg
    x.require(s.ACK, negate(syn_sent_ack_acceptable(x)), s.RST)


@rule(SEG, "3.10.7.3", states={SYN_SENT}, step=1, sends="RST")
def syn_sent_bad_ack(x: Ctx) -> None:
    """SYN-SENT, first: SEG.ACK =< ISS or SEG.ACK > SND.NXT: send <SEQ=SEG.ACK><CTL=RST>, discard."""
    s = x.seg
    x.require(s.ACK, negate(syn_sent_ack_acceptable(x)), negate(s.RST))
    send_reset_to_ack(x)


@rule(SEG, "3.10.7.3", states={SYN_SENT}, step=2, to=CLOSED, outcome=Outcome.RESET, on="rcv RST")
def syn_sent_reset(x: Ctx) -> None:
    """SYN-SENT, second: RST with an acceptable ACK: "error: connection reset", enter CLOSED."""
    s = x.seg
    x.require(s.RST, s.ACK)


@rule(SEG, "3.10.7.3", states={SYN_SENT}, step=2)
def syn_sent_rst_without_ack(x: Ctx) -> None:
    """SYN-SENT, second: RST without ACK: drop the segment."""
    s = x.seg
    x.require(s.RST, negate(s.ACK))


@rule(SEG, "3.10.7.3", states={SYN_SENT}, step=4, to=ESTABLISHED, sends="ACK", on="rcv SYN,ACK")
def syn_sent_syn_ack(x: Ctx) -> None:
    """SYN-SENT, fourth: SYN with ACK of our SYN: set IRS, RCV.NXT, SND.UNA, send ACK, enter ESTABLISHED."""
    s = x.seg
    x.require(s.SYN, s.ACK)
    synchronize_with(x)
    acknowledge(x)
    x.send_ack()


@rule(SEG, "3.10.7.3", states={SYN_SENT}, step=4, to=SYN_RECEIVED, sends="SYN,ACK", on="rcv SYN")
def syn_sent_syn(x: Ctx) -> None:
    """SYN-SENT, fourth: SYN without ACK (simultaneous open): enter SYN-RECEIVED, send SYN,ACK."""
    s = x.seg
    x.require(s.SYN, negate(s.ACK))
    synchronize_with(x)
    send_syn_ack(x)


@rule(SEG, "3.10.7.3", states={SYN_SENT}, step=5)
def syn_sent_drop_other(x: Ctx) -> None:
    """SYN-SENT, fifth: neither SYN nor RST: drop the segment."""


# --- §3.10.7.4 Other states: first, check the sequence number ---------------------------------


def fin_retransmitted(x: Ctx) -> Value:
    """The segment repeats the peer's FIN: its FIN is the sequence number just before RCV.NXT."""
    s = x.seg
    return all_of(s.FIN, seq_add(s.seq, s.len) == x.tcb.rcv_nxt)


@rule(SEG, "3.10.7.4", states=OTHER_STATES, step=1)
def unacceptable_rst(x: Ctx) -> None:
    """First: segment not acceptable, RST bit set: drop the segment."""
    x.require(negate(acceptable(x)), x.seg.RST)


# RFC-AMBIGUITY: Figure 7 (line 6) shows a simultaneous open's SYN-RECEIVED entering ESTABLISHED on
# the peer's SYN,ACK.  The text's acceptability test (Table 6) finds that segment wholly below RCV.NXT
# (its only sequence number is the SYN already received), so the first step answers it with an ACK --
# which is what brings the peer to ESTABLISHED, and the peer's own such ACK brings us there.  The model
# follows the text.  On the wire Linux does the same: a socket connecting to its own port (Linux 6.18)
# sends SYN, SYN,ACK, then an ACK that reports the SYN,ACK's SYN as a duplicate (D-SACK).
@rule(SEG, "3.10.7.4", states=OTHER_STATES - {TIME_WAIT}, step=1, sends="ACK")
def unacceptable(x: Ctx) -> None:
    """First: segment not acceptable: send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop it."""
    x.require(negate(acceptable(x)), negate(x.seg.RST))
    send_ack_now(x)


@rule(SEG, "3.10.7.4", states={TIME_WAIT}, step=1, sends="ACK")
def time_wait_unacceptable(x: Ctx) -> None:
    """First, TIME-WAIT: segment not acceptable (and not the peer's FIN again): send an ACK, drop it."""
    x.require(negate(acceptable(x)), negate(x.seg.RST), negate(fin_retransmitted(x)))
    send_ack_now(x)


# RFC-AMBIGUITY: §3.10.7.4 says a retransmitted FIN in TIME-WAIT is acknowledged and restarts the
# 2 MSL timeout (fifth and eighth steps), but the first step already drops it: its sequence number
# lies below RCV.NXT.  Real stacks (Linux tcp_timewait_state_process) acknowledge it and restart
# the timer, which is what the text intends; the model does that here, in the first step.
@rule(SEG, "3.10.7.4", states={TIME_WAIT}, step=1, sends="ACK")
def time_wait_fin_again(x: Ctx) -> None:
    """TIME-WAIT: a retransmission of the remote FIN: acknowledge it and restart the 2 MSL timeout."""
    x.require(negate(acceptable(x)), negate(x.seg.RST), fin_retransmitted(x))
    send_ack_now(x)
    x.tcb.timer = ticks(x, x.cfg.time_wait_ticks)


# --- second, check the RST bit ------------------------------------------------------------------


def rst_valid(x: Ctx) -> Value:
    """A RST that resets the connection: in the window, and with RFC 5961 exactly at RCV.NXT."""
    s = x.seg
    if x.cfg.rfc5961:
        return all_of(s.RST, s.seq == x.tcb.rcv_nxt)
    return s.RST


@rule(SEG, "3.10.7.4", states=OTHER_STATES, step=2, when=with_rfc5961, sends="ACK")
def rst_challenge(x: Ctx) -> None:
    """Second (RFC 5961): RST in the window but not at RCV.NXT: send a challenge ACK, drop it."""
    s = x.seg
    x.require(s.RST, s.seq != x.tcb.rcv_nxt)
    send_ack_now(x)


@rule(SEG, "3.10.7.4", states={SYN_RECEIVED}, step=2, to=LISTEN, on="rcv RST")
def syn_received_reset_passive(x: Ctx) -> None:
    """Second, SYN-RECEIVED from a passive OPEN: RST returns the connection to LISTEN (Note 1)."""
    x.require(rst_valid(x), x.tcb.passive)


@rule(SEG, "3.10.7.4", states={SYN_RECEIVED}, step=2, to=CLOSED, outcome=Outcome.REFUSED, on="rcv RST")
def syn_received_reset_active(x: Ctx) -> None:
    """Second, SYN-RECEIVED from an active OPEN: RST: "connection refused", enter CLOSED."""
    x.require(rst_valid(x), negate(x.tcb.passive))


@rule(
    SEG,
    "3.10.7.4",
    states={ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT},
    step=2,
    to=CLOSED,
    outcome=Outcome.RESET,
    on="rcv RST",
)
def reset(x: Ctx) -> None:
    """Second, ESTABLISHED ... CLOSE-WAIT: RST: "connection reset", flush queues, enter CLOSED."""
    x.require(rst_valid(x))


@rule(SEG, "3.10.7.4", states={CLOSING, LAST_ACK}, step=2, to=CLOSED, outcome=Outcome.RESET, on="rcv RST")
def reset_while_closing(x: Ctx) -> None:
    """Second, CLOSING, LAST-ACK: RST: enter the CLOSED state, delete the TCB."""
    x.require(rst_valid(x))


@rule(SEG, "3.10.7.4", states={TIME_WAIT}, step=2, to=CLOSED, outcome=Outcome.RESET, when=without_rfc1337, on="rcv RST")
def reset_time_wait(x: Ctx) -> None:
    """Second, TIME-WAIT: RST: enter the CLOSED state, delete the TCB (TIME-WAIT assassination, RFC 1337)."""
    x.require(rst_valid(x))


@rule(SEG, "3.10.7.4", states={TIME_WAIT}, step=2, when=with_rfc1337)
def time_wait_ignores_rst(x: Ctx) -> None:
    """Second, TIME-WAIT with RFC 1337's fix: ignore a valid RST, so that TIME-WAIT runs its full 2 MSL."""
    x.require(rst_valid(x))


# --- fourth, check the SYN bit ------------------------------------------------------------------


@rule(SEG, "3.10.7.4", states={SYN_RECEIVED}, step=4, to=LISTEN, on="rcv SYN")
def syn_received_syn_passive(x: Ctx) -> None:
    """Fourth, SYN-RECEIVED from a passive OPEN: SYN: return the connection to LISTEN."""
    x.require(x.seg.SYN, x.tcb.passive)


@rule(SEG, "3.10.7.4", states=SYNCHRONIZED, step=4, when=with_rfc5961, sends="ACK")
def syn_challenge(x: Ctx) -> None:
    """Fourth, synchronized states (RFC 5961): SYN: send a challenge ACK, drop the segment."""
    x.require(x.seg.SYN)
    send_ack_now(x)


@rule(SEG, "3.10.7.4", states={SYN_RECEIVED}, step=4, when=with_rfc5961, sends="ACK")
def syn_received_syn_active(x: Ctx) -> None:
    """Fourth, SYN-RECEIVED from an active OPEN: SYN: as in synchronized states, a challenge ACK."""
    x.require(x.seg.SYN, negate(x.tcb.passive))
    send_ack_now(x)


@rule(
    SEG,
    "3.10.7.4",
    states=SYNCHRONIZED,
    step=4,
    when=without_rfc5961,
    to=CLOSED,
    outcome=Outcome.RESET,
    on="rcv SYN",
    sends="RST",
)
def syn_in_window_reset(x: Ctx) -> None:
    """Fourth, synchronized states (RFC 793): a SYN in the window is an error: send a reset, enter CLOSED."""
    x.require(x.seg.SYN)
    # RFC-AMBIGUITY: "send a reset" gives no form; <SEQ=SND.NXT><CTL=RST> is what the receiver accepts.
    x.send(seq=x.tcb.snd_nxt, flags=RST)


@rule(
    SEG,
    "3.10.7.4",
    states={SYN_RECEIVED},
    step=4,
    when=without_rfc5961,
    to=CLOSED,
    outcome=Outcome.RESET,
    on="rcv SYN",
    sends="RST",
)
def syn_received_syn_active_reset(x: Ctx) -> None:
    """Fourth, SYN-RECEIVED from an active OPEN (RFC 793): SYN: send a reset, enter CLOSED."""
    x.require(x.seg.SYN, negate(x.tcb.passive))
    x.send(seq=x.tcb.snd_nxt, flags=RST)


# --- fifth, check the ACK field -----------------------------------------------------------------


@rule(SEG, "3.10.7.4", states=OTHER_STATES, step=5)
def no_ack(x: Ctx) -> None:
    """Fifth: the ACK bit is off: drop the segment."""
    x.require(negate(x.seg.ACK))


@rule(SEG, "3.10.7.4", states={SYN_RECEIVED}, step=5, to=ESTABLISHED, ends=False, on="rcv ACK of SYN")
def syn_received_ack(x: Ctx) -> None:
    """Fifth, SYN-RECEIVED: SND.UNA < SEG.ACK =< SND.NXT: enter ESTABLISHED and continue processing."""
    x.require(x.seg.ACK, ack_acceptable(x))
    acknowledge(x)
    x.tcb.peer_inc = x.seg.inc  # ghost: the peer incarnation that acknowledged our SYN is the one we talk to


@rule(SEG, "3.10.7.4", states={SYN_RECEIVED}, step=5, sends="RST")
def syn_received_bad_ack(x: Ctx) -> None:
    """Fifth, SYN-RECEIVED: the acknowledgment is not acceptable: send <SEQ=SEG.ACK><CTL=RST>."""
    x.require(x.seg.ACK, negate(ack_acceptable(x)))
    send_reset_to_ack(x)


@rule(SEG, "3.10.7.4", states=SYNCHRONIZED, step=5, sends="ACK")
def ack_of_unsent(x: Ctx) -> None:
    """Fifth: the ACK acks something not yet sent (SEG.ACK > SND.NXT): send an ACK, drop, return."""
    x.require(x.seg.ACK, acks_unsent(x))
    send_ack_now(x)


@rule(SEG, "3.10.7.4", states={ESTABLISHED, FIN_WAIT_2, CLOSE_WAIT}, step=5, ends=False)
def ack_new(x: Ctx) -> None:
    """Fifth, ESTABLISHED (and FIN-WAIT-2, CLOSE-WAIT): SND.UNA < SEG.ACK =< SND.NXT: SND.UNA <- SEG.ACK."""
    x.require(x.seg.ACK, ack_acceptable(x))
    acknowledge(x)


@rule(
    SEG,
    "3.10.7.4",
    states={ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT},
    step=5,
    ends=False,
)
def ack_duplicate(x: Ctx) -> None:
    """Fifth: a duplicate ACK (SEG.ACK =< SND.UNA) can be ignored; processing continues."""
    x.require(x.seg.ACK, is_old_ack(x))


@rule(SEG, "3.10.7.4", states={FIN_WAIT_1}, step=5, ends=False)
def fin_wait_1_ack(x: Ctx) -> None:
    """Fifth, FIN-WAIT-1: a new ACK that does not cover our FIN: the ESTABLISHED processing."""
    t = x.tcb
    x.require(x.seg.ACK, ack_acceptable(x), negate(all_of(negate(t.close_queued), acks_our_fin(x))))
    acknowledge(x)


@rule(SEG, "3.10.7.4", states={FIN_WAIT_1}, step=5, to=FIN_WAIT_2, ends=False, on="rcv ACK of FIN")
def fin_wait_1_ack_of_fin(x: Ctx) -> None:
    """Fifth, FIN-WAIT-1: our FIN is now acknowledged: enter FIN-WAIT-2 and continue there."""
    x.require(x.seg.ACK, ack_acceptable(x), negate(x.tcb.close_queued), acks_our_fin(x))
    acknowledge(x)


@rule(SEG, "3.10.7.4", states={CLOSING}, step=5, to=TIME_WAIT, ends=False, on="rcv ACK of FIN")
def closing_ack_of_fin(x: Ctx) -> None:
    """Fifth, CLOSING: the ACK acknowledges our FIN: enter TIME-WAIT."""
    x.require(x.seg.ACK, ack_acceptable(x), negate(x.tcb.close_queued), acks_our_fin(x))
    acknowledge(x)


@rule(SEG, "3.10.7.4", states={CLOSING}, step=5)
def closing_ack(x: Ctx) -> None:
    """Fifth, CLOSING: a new ACK that does not acknowledge our FIN: update SND.UNA, ignore the rest."""
    t = x.tcb
    x.require(x.seg.ACK, ack_acceptable(x), negate(all_of(negate(t.close_queued), acks_our_fin(x))))
    acknowledge(x)


@rule(SEG, "3.10.7.4", states={LAST_ACK}, step=5, ends=False)
def last_ack_ack(x: Ctx) -> None:
    """Fifth, LAST-ACK: a new ACK that does not acknowledge our FIN: update SND.UNA and go on."""
    x.require(x.seg.ACK, ack_acceptable(x), negate(acks_our_fin(x)))
    acknowledge(x)


@rule(SEG, "3.10.7.4", states={LAST_ACK}, step=5, to=CLOSED, outcome=Outcome.CLOSED, on="rcv ACK of FIN")
def last_ack_ack_of_fin(x: Ctx) -> None:
    """Fifth, LAST-ACK: our FIN is now acknowledged: delete the TCB, enter CLOSED, return."""
    x.require(x.seg.ACK, ack_acceptable(x), acks_our_fin(x))


# --- seventh, process the segment text --------------------------------------------------------


@rule(SEG, "3.10.7.4", states=TEXT_STATES, step=7, ends=False, sends="ACK")
def text_in_order(x: Ctx) -> None:
    """Seventh: data at RCV.NXT: deliver it to the user, advance RCV.NXT, acknowledge it."""
    t = x.tcb
    x.require(text_at_rcv_nxt(x))
    x.deliver()
    t.rcv_nxt = seq_add(t.rcv_nxt, x.seg.text_len)
    x.send_ack()


# RFC-AMBIGUITY: §3.10.7.4 asks that a segment beginning beyond RCV.NXT be "held for later
# processing" (SHLD-31) as a whole.  Real stacks process its ACK field at once (done above, in the
# fifth step) and hold only its text and FIN, acknowledging RCV.NXT immediately (MAY-13); so does
# the model.  The held part is processed when RCV.NXT reaches it (see spec/machine.py).
@rule(SEG, "3.10.7.4", states=TEXT_STATES, step=7, sends="ACK")
def text_ahead(x: Ctx) -> None:
    """Seventh: data or FIN beyond RCV.NXT: hold it for in-order processing, acknowledge RCV.NXT."""
    x.require(ahead_of_rcv_nxt(x))
    x.hold()
    x.send_ack()


@rule(SEG, "3.10.7.4", states=AFTER_FIN_STATES, step=7, ends=False)
def text_after_fin(x: Ctx) -> None:
    """Seventh, CLOSE-WAIT ... TIME-WAIT: text should not occur after the peer's FIN: ignore it."""
    x.require(x.seg.has_text)


# --- eighth, check the FIN bit ------------------------------------------------------------------


@rule(SEG, "3.10.7.4", states={ESTABLISHED}, step=8, to=CLOSE_WAIT, sends="ACK", on="rcv FIN")
def fin_established(x: Ctx) -> None:
    """Eighth, ESTABLISHED (or SYN-RECEIVED, now ESTABLISHED): FIN: acknowledge it, enter CLOSE-WAIT."""
    x.require(fin_in_order(x))
    receive_fin(x)


@rule(SEG, "3.10.7.4", states={FIN_WAIT_1}, step=8, to=CLOSING, sends="ACK", on="rcv FIN")
def fin_fin_wait_1(x: Ctx) -> None:
    """Eighth, FIN-WAIT-1, our FIN not yet acknowledged: acknowledge the FIN, enter CLOSING."""
    x.require(fin_in_order(x))
    receive_fin(x)


@rule(SEG, "3.10.7.4", states={FIN_WAIT_2}, step=8, to=TIME_WAIT, sends="ACK", on="rcv FIN")
def fin_fin_wait_2(x: Ctx) -> None:
    """Eighth, FIN-WAIT-2: FIN: acknowledge it, enter TIME-WAIT, start the time-wait timer."""
    x.require(fin_in_order(x))
    receive_fin(x)


@rule(SEG, "3.10.7.4", states={CLOSE_WAIT, CLOSING, LAST_ACK}, step=8, sends="ACK")
def fin_again(x: Ctx) -> None:
    """Eighth, CLOSE-WAIT, CLOSING, LAST-ACK: FIN: acknowledge it, remain in the state."""
    x.require(fin_in_order(x))
    receive_fin(x)


@rule(SEG, "3.10.7.4", states={TIME_WAIT}, step=8, sends="ACK")
def fin_time_wait(x: Ctx) -> None:
    """Eighth, TIME-WAIT: FIN: acknowledge it, remain, restart the 2 MSL time-wait timeout."""
    x.require(fin_in_order(x))
    receive_fin(x)
    x.tcb.timer = ticks(x, x.cfg.time_wait_ticks)
