"""Pieces of processing that several rules of RFC 9293 §3.10 share.

Each helper is one sentence of the RFC, named after it, and, like the rules,
uses only the vocabulary of :mod:`spec.rules` (no ``if`` on protocol data).
"""

from __future__ import annotations

from spec.rules import Ctx
from spec.seqnum import Value, all_of, any_of, negate, seq_add, seq_in_window, seq_lt, seq_sub
from spec.states import ACK, FIN, RST, SYN
from spec.tcb import TIMER_OFF


def ticks(x: Ctx, duration: int | None) -> int:
    """A timer's initial value: ``duration`` ticks, or 0 ("may expire at any moment") when untimed or not given."""
    return duration if x.cfg.timed and duration is not None else 0


# --- Sequence-number tests (RFC 9293 §3.4, §3.10.7.4) ------------------------------------------


def acceptable(x: Ctx) -> Value:
    """The segment acceptability test of RFC 9293 §3.10.7.4 (Table 6), RCV.WND > 0.

    Length 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND.  Length > 0: that, or
    RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND.
    """
    s, t, window = x.seg, x.tcb, x.cfg.window
    starts_in_window = seq_in_window(t.rcv_nxt, s.seq, window)
    ends_in_window = seq_in_window(t.rcv_nxt, seq_add(s.seq, seq_sub(s.len, 1)), window)
    return any_of(starts_in_window, all_of(s.len != 0, ends_in_window))


# The three cases of SEG.ACK in the fifth step are written so that they partition every value:
# RFC 9293's "SEG.ACK =< SND.UNA" and "SND.UNA < SEG.ACK" overlap when the two differ by exactly
# 2**31, where modulo-2**32 comparison has no answer.


def ack_acceptable(x: Ctx) -> Value:
    """SND.UNA < SEG.ACK =< SND.NXT: the ACK acknowledges something sent but not yet acknowledged."""
    s, t = x.seg, x.tcb
    return all_of(seq_lt(t.snd_una, s.ack), negate(seq_lt(t.snd_nxt, s.ack)))


def is_old_ack(x: Ctx) -> Value:
    """SEG.ACK =< SND.UNA: a duplicate, old acknowledgment."""
    return negate(seq_lt(x.tcb.snd_una, x.seg.ack))


def acks_unsent(x: Ctx) -> Value:
    """SEG.ACK > SND.NXT: the ACK acknowledges something not yet sent."""
    s, t = x.seg, x.tcb
    return all_of(seq_lt(t.snd_una, s.ack), seq_lt(t.snd_nxt, s.ack))


def acks_our_fin(x: Ctx) -> Value:
    """The ACK covers our FIN, the last sequence number we sent (only call where the FIN was sent)."""
    return x.seg.ack == x.tcb.snd_nxt


def text_at_rcv_nxt(x: Ctx) -> Value:
    """The segment's data begins at RCV.NXT."""
    return all_of(x.seg.has_text, x.seg.seq == x.tcb.rcv_nxt)


def ahead_of_rcv_nxt(x: Ctx) -> Value:
    """The segment begins beyond RCV.NXT and carries data or a FIN: it must wait (SHLD-31)."""
    s = x.seg
    return all_of(any_of(s.has_text, s.FIN), seq_lt(x.tcb.rcv_nxt, s.seq))


def fin_in_order(x: Ctx) -> Value:
    """The segment's FIN, which follows its data, sits at RCV.NXT."""
    s = x.seg
    return all_of(s.FIN, seq_add(s.seq, s.text_len) == x.tcb.rcv_nxt)


def window_open(x: Ctx) -> Value:
    """One more octet fits in the peer's window: SND.NXT < SND.UNA + SND.WND."""
    t = x.tcb
    return seq_lt(t.snd_nxt, seq_add(t.snd_una, x.cfg.window))


def unit_at(x: Ctx, seq: Value) -> Value:
    """The number of the data unit whose first octet is ``seq``, or 0 if no unit begins there.

    The SYN occupies ISS; unit 1 begins at ISS+1 and each unit after the octets of the one before.
    """
    return x.unit_starting_at(seq_sub(seq, x.tcb.iss))


# --- Actions -------------------------------------------------------------------------------------


def select_iss_and_send_syn(x: Ctx) -> None:
    """ "Select an ISS. Send a SYN segment, set SND.UNA to ISS, SND.NXT to ISS+1" (§3.10.1)."""
    t = x.tcb
    t.iss = x.choose_iss()
    t.snd_una = t.iss
    t.snd_nxt = seq_add(t.iss, 1)
    x.send(seq=t.iss, flags=SYN)
    start_retransmission_timer(x)


def send_syn_ack(x: Ctx) -> None:
    """<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>."""
    t = x.tcb
    x.send(seq=t.iss, ack=t.rcv_nxt, flags=SYN | ACK)


def send_data_unit(x: Ctx) -> None:
    """Segmentize the next unit of data and send it, with a piggybacked ACK and PSH (§3.10.2)."""
    t = x.tcb
    unit = t.sent + 1
    x.send(seq=t.snd_nxt, ack=t.rcv_nxt, flags=x.data_flags(unit), data=unit)
    t.sent = unit
    t.snd_nxt = seq_add(t.snd_nxt, x.unit_size(unit))
    start_retransmission_timer(x)


def send_fin(x: Ctx) -> None:
    """Form a FIN segment and send it: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK> (§3.10.4)."""
    t = x.tcb
    x.send(seq=t.snd_nxt, ack=t.rcv_nxt, flags=FIN | ACK)
    t.snd_nxt = seq_add(t.snd_nxt, 1)
    t.close_queued = False
    start_retransmission_timer(x)


def send_reset_to_ack(x: Ctx) -> None:
    """The reset for an ACK-bearing segment: <SEQ=SEG.ACK><CTL=RST> (§3.5.2)."""
    x.send(seq=x.seg.ack, flags=RST)


def send_reset_to_no_ack(x: Ctx) -> None:
    """The reset for a segment without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (§3.5.2)."""
    s = x.seg
    x.send(seq=0, ack=seq_add(s.seq, s.len), flags=RST | ACK)


def send_ack_now(x: Ctx) -> None:
    """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, the acknowledgment of §3.10.7.4 (also a challenge ACK)."""
    x.send_ack()


def start_retransmission_timer(x: Ctx) -> None:
    """After sending something that occupies sequence space, start the timer if it is not running."""
    if x.cfg.retries is not None:
        t = x.tcb
        t.timer = x.ite(t.timer == TIMER_OFF, ticks(x, x.cfg.rto), t.timer)


def restart_retransmission_timer(x: Ctx) -> None:
    """ "Reinitialize the retransmission timer" (§3.10.8)."""
    x.tcb.timer = ticks(x, x.cfg.rto)


def acknowledge(x: Ctx) -> None:
    """SND.UNA <- SEG.ACK; the retransmission timer stops when nothing is outstanding, else restarts.

    RFC 9293 §3.10.7.4 fifth step; the timer management is RFC 6298 §5.2-5.3
    (cited by §3.8.1), and a new acknowledgment resets the retransmission count.
    """
    t = x.tcb
    t.snd_una = x.seg.ack
    t.retries = 0
    if x.cfg.retries is not None:
        t.timer = x.ite(t.snd_una == t.snd_nxt, TIMER_OFF, ticks(x, x.cfg.rto))


def synchronize_with(x: Ctx) -> None:
    """ "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ" (§3.10.7.2, §3.10.7.3)."""
    t, s = x.tcb, x.seg
    t.rcv_nxt = seq_add(s.seq, 1)
    t.irs = s.seq
    t.peer_inc = s.inc  # ghost: which incarnation of the peer sent this SYN


def receive_fin(x: Ctx) -> None:
    """ "Advance RCV.NXT over the FIN, and send an acknowledgment for the FIN" (§3.10.7.4, eighth)."""
    t = x.tcb
    t.rcv_nxt = seq_add(t.rcv_nxt, 1)
    x.send_ack()
