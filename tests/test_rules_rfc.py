"""Rule-by-rule tests of the spec against RFC 9293 §3.10 "Event Processing".

Read this file with the RFC open (/work/shared/rfc/rfc9293.txt, §3.10 starts at
line 2885).  Each test puts one endpoint (side A) in a realistic state, gives it
one event -- a user call, an arriving segment, TCP's own output or a timeout --
through :meth:`spec.machine.Machine.react`, and checks what the RFC says must
happen: the state it ends in, the exact segments it sends (SEQ, ACK, control
bits, data), the rules that applied, and which TCB variables changed.

The connection used throughout:

* we (side A) pick ISS = 100; our SYN occupies 100, our data unit n occupies
  100 + n, our FIN follows the last unit;
* the peer picked ISS = 300, so our IRS = 300, RCV.NXT = 301 after its SYN, its
  data unit n occupies 300 + n;
* the window (RCV.WND = SND.WND) is 2 octets, so at most two units are in flight.

Segments the peer sends are built with :func:`from_peer`; segments we send are
compared with :func:`wire`, which drops the two ghost fields (``inc`` and
``age``) that are not part of TCP.  ``Segment(seq, ack, flags, data, size=n)`` reads
like the RFC's ``<SEQ=..><ACK=..><CTL=..>``.
"""

from __future__ import annotations

import functools
import itertools

import pytest

from checks.symbolic import symbolic_react
from spec.config import Call, Config, EndpointConfig
from spec.machine import A, Machine, Reaction
from spec.segment import Segment
from spec.states import (
    ACK,
    ALL_STATES,
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    OTHER_STATES,
    PSH,
    RST,
    SYN,
    SYN_RECEIVED,
    SYN_SENT,
    SYNCHRONIZED,
    TIME_WAIT,
    URG,
    Outcome,
    TcpState,
)
from spec.tcb import TIMER_OFF, Ended, Endpoint

# ---------------------------------------------------------------------------------------------
# The connection and the configurations
# ---------------------------------------------------------------------------------------------

LOCAL_ISS = 100  # our ISS
PEER_ISS = 300  # the peer's ISS, our IRS
LOCAL_INC = 1  # our incarnation (ghost)
PEER_INC = 2  # the peer's incarnation (ghost): delivered data is recorded as (PEER_INC, unit)
WINDOW = 2
MOD = 2**32
WRAP = MOD - 1  # 4294967295: the last sequence number before 0

#: States in which our FIN occupies sequence space, has been acknowledged, or the peer's FIN was received.
OUR_FIN_SENT = {FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT}
OUR_FIN_ACKED = {FIN_WAIT_2, TIME_WAIT}
PEER_FIN_RECEIVED = {CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT}


def mod32(n: int) -> int:
    """A sequence number: ``n`` modulo 2**32 (RFC 9293 §3.4)."""
    return n % MOD


@functools.cache
def config(
    *,
    rfc5961: bool = True,
    rfc1337: bool = False,
    retries: int | None = None,
    msl: int | None = None,
    rto: int = 1,
    iss: tuple[tuple[int, ...], ...] = ((LOCAL_ISS,),),
    urgent: bool = False,
) -> Config:
    """The configuration of a test: window 2, our ISS choices, the RFC 5961 and 1337 switches, the timers.

    Only side A is exercised.  Its script matters only for SEND URGENT: with
    ``urgent=True`` its first unit of data is sent with the URGENT flag.
    """
    first_send = Call.SEND_URGENT if urgent else Call.SEND
    return Config(
        name="rfc-rules",
        description="one endpoint, one event at a time (tests/test_rules_rfc.py)",
        a=EndpointConfig(script=(Call.OPEN, first_send, Call.SEND, Call.SEND, Call.CLOSE), iss=iss),
        b=EndpointConfig(script=(Call.LISTEN,), iss=((PEER_ISS,),)),
        window=WINDOW,
        rfc5961=rfc5961,
        rfc1337=rfc1337,
        retries=retries,
        msl=msl,
        rto=rto,
    )


@functools.cache
def machine(cfg: Config) -> Machine:
    return Machine(cfg)


# ---------------------------------------------------------------------------------------------
# Endpoints in each state
# ---------------------------------------------------------------------------------------------


def in_state(state: TcpState, *, iss: int = LOCAL_ISS, irs: int = PEER_ISS, **fields: object) -> Endpoint:
    """A realistic endpoint in ``state``, with no data sent or received yet; ``fields`` override.

    The SYNs are exchanged as the state implies; our FIN counts in SND.NXT in
    FIN-WAIT-1, CLOSING and LAST-ACK, and in SND.UNA too once acknowledged
    (FIN-WAIT-2, TIME-WAIT); the peer's FIN counts in RCV.NXT in CLOSE-WAIT,
    CLOSING, LAST-ACK and TIME-WAIT.  SYN-RECEIVED comes from a passive OPEN
    unless ``passive=False`` is given.  In TIME-WAIT the time-wait timer runs
    (0: an untimed timer may expire at any moment).
    """
    if state is CLOSED:
        base = Endpoint()
    elif state is LISTEN:
        base = Endpoint(state=LISTEN, inc=LOCAL_INC, passive=True)
    elif state is SYN_SENT:
        base = Endpoint(state=SYN_SENT, inc=LOCAL_INC, iss=iss, snd_una=iss, snd_nxt=mod32(iss + 1))
    elif state is SYN_RECEIVED:
        base = Endpoint(
            state=SYN_RECEIVED,
            inc=LOCAL_INC,
            passive=True,
            iss=iss,
            irs=irs,
            snd_una=iss,
            snd_nxt=mod32(iss + 1),
            rcv_nxt=mod32(irs + 1),
            peer_inc=PEER_INC,
        )
    else:
        fin_sent = 1 if state in OUR_FIN_SENT else 0
        fin_acked = 1 if state in OUR_FIN_ACKED else 0
        fin_received = 1 if state in PEER_FIN_RECEIVED else 0
        base = Endpoint(
            state=state,
            inc=LOCAL_INC,
            iss=iss,
            irs=irs,
            snd_una=mod32(iss + 1 + fin_acked),
            snd_nxt=mod32(iss + 1 + fin_sent),
            rcv_nxt=mod32(irs + 1 + fin_received),
            timer=0 if state is TIME_WAIT else TIMER_OFF,
            peer_inc=PEER_INC,
        )
    return base._replace(**fields)


def from_peer(seq: int, ack: int, flags: int, data: int = 0) -> Segment:
    """A segment the peer sent: <SEQ=seq><ACK=ack><CTL=flags>, carrying data unit ``data`` (0: none)."""
    return Segment(mod32(seq), mod32(ack), flags, data, PEER_INC, size=1 if data else 0)


def peer_data(seq: int, ack: int, irs: int = PEER_ISS) -> Segment:
    """The peer's data segment at ``seq`` (the unit is numbered from the peer's ISS), with ACK,PSH."""
    return from_peer(seq, ack, ACK | PSH, data=mod32(seq - irs))


# ---------------------------------------------------------------------------------------------
# Running one event
# ---------------------------------------------------------------------------------------------


def try_react(
    ep: Endpoint,
    kind: str,
    *,
    seg: Segment | None = None,
    call: Call | None = None,
    choice: int = 0,
    **options: object,
) -> Reaction | None:
    """What side A does in ``ep`` on one event under ``config(**options)``; None if no rule is enabled.

    Every reaction is also computed from the rules' symbolic (Z3) paths, and the two must agree:
    so each test here is an engine-agreement test for the rules it exercises.
    """
    m = machine(config(**options))
    result = m.react(A, ep, kind, seg=seg, call=call, choice=choice)
    symbolic = symbolic_react(m, A, ep, kind, seg=seg, call=call, choice=choice)
    if result is None:
        assert symbolic is None, f"Z3 finds a reaction where the explicit engine has none: {symbolic}"
    else:
        assert symbolic == (result.endpoint, result.sent, result.changes), "the engines disagree"
    return result


def react(ep: Endpoint, kind: str, **kwargs: object) -> Reaction:
    """Like :func:`try_react`, but some rule must apply."""
    r = try_react(ep, kind, **kwargs)
    assert r is not None, f"no rule applies to a {kind} event in {ep.state}"
    return r


def arrive(ep: Endpoint, seg: Segment, **options: object) -> Reaction:
    """SEGMENT ARRIVES (RFC 9293 §3.10.7)."""
    return react(ep, "segment", seg=seg, **options)


def user(ep: Endpoint, call: Call, **options: object) -> Reaction:
    """A user call (RFC 9293 §3.10.1-§3.10.5)."""
    return react(ep, "call", call=call, **options)


def expire(ep: Endpoint, **options: object) -> Reaction:
    """The running timer expires (RFC 9293 §3.10.8)."""
    return react(ep, "timeout", **options)


def output(ep: Endpoint, **options: object) -> Reaction:
    """TCP segmentizes what earlier calls queued (RFC 9293 §3.10.2, §3.10.4)."""
    return react(ep, "output", **options)


def wire(r: Reaction) -> list[Segment]:
    """The segments sent, as they appear on the wire: without the ghost fields ``inc`` and ``age``."""
    return [s._replace(inc=0, age=0) for s in r.sent]


def changed(before: Endpoint, after: Endpoint) -> dict[str, object]:
    """The TCB variables (and ghost records) that differ, with their new values; ``pc`` is left out."""
    return {
        name: new for name, old, new in zip(Endpoint._fields, before, after, strict=True) if name != "pc" and old != new
    }


def moves(r: Reaction) -> list[tuple[TcpState, TcpState, str]]:
    """The changes of state during the event, as (from, to, rule), in order."""
    return [(c.before, c.after, c.rule) for c in r.changes]


def assert_nothing_changed(before: Endpoint, r: Reaction) -> None:
    """The event left the TCB as it was (a call's ``pc`` still advances)."""
    assert changed(before, r.endpoint) == {}


def assert_deleted(before: Endpoint, r: Reaction, outcome: Outcome) -> None:
    """ "Delete the TCB, enter the CLOSED state": only the user's progress and the ghost history survive."""
    ended = Ended(before.inc, before.peer_inc, outcome, before.state, before.sent, before.delivered)
    assert r.endpoint == Endpoint(pc=r.endpoint.pc, inc=before.inc, history=(*before.history, ended))


# =============================================================================================
# §3.10.1 OPEN
# =============================================================================================


def test_active_open_in_closed_sends_syn():
    """§3.10.1 CLOSED: "A SYN segment of the form <SEQ=ISS><CTL=SYN> is sent.  Set SND.UNA to ISS,
    SND.NXT to ISS+1, enter SYN-SENT state"."""
    before = Endpoint()
    r = user(before, Call.OPEN)
    assert r.rules == ("open-active",)
    assert wire(r) == [Segment(100, 0, SYN)]
    assert changed(before, r.endpoint) == {"state": SYN_SENT, "inc": 1, "iss": 100, "snd_una": 100, "snd_nxt": 101}
    assert r.endpoint.pc == 1
    assert moves(r) == [(CLOSED, SYN_SENT, "open-active")]


def test_passive_open_in_closed_enters_listen():
    """§3.10.1 CLOSED: "If passive, enter the LISTEN state and return" -- nothing is sent."""
    before = Endpoint()
    r = user(before, Call.LISTEN)
    assert r.rules == ("open-passive",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"state": LISTEN, "inc": 1, "passive": True}


def test_open_in_closed_creates_a_new_incarnation_with_its_own_iss():
    """§3.10.1 CLOSED: "Create a new transmission control block"; §3.4.1: each TCB selects its ISS."""
    first_ended = Ended(1, PEER_INC, Outcome.CLOSED, TIME_WAIT, 0, ())
    before = Endpoint(pc=3, inc=1, history=(first_ended,))
    r = user(before, Call.OPEN, iss=((100,), (5000,)))
    assert wire(r) == [Segment(5000, 0, SYN)]
    assert changed(before, r.endpoint) == {"state": SYN_SENT, "inc": 2, "iss": 5000, "snd_una": 5000, "snd_nxt": 5001}
    assert r.endpoint.history == (first_ended,)


def test_active_open_iss_may_be_the_last_sequence_number():
    """§3.10.1 + §3.4 (arithmetic modulo 2**32): ISS = 2**32-1 gives SND.NXT = ISS+1 = 0."""
    r = user(Endpoint(), Call.OPEN, iss=((WRAP,),))
    assert wire(r) == [Segment(WRAP, 0, SYN)]
    assert (r.endpoint.snd_una, r.endpoint.snd_nxt) == (WRAP, 0)


def test_active_open_selects_the_chosen_iss():
    """§3.4.1: the ISS is selected; ``choice`` picks one of the configuration's candidates."""
    r = react(Endpoint(), "call", call=Call.OPEN, choice=1, iss=((100, 200),))
    assert wire(r) == [Segment(200, 0, SYN)]


def test_active_open_in_listen_becomes_active():
    """§3.10.1 LISTEN: "change the connection from passive to active, select an ISS.  Send a SYN segment,
    set SND.UNA to ISS, SND.NXT to ISS+1.  Enter SYN-SENT state"."""
    before = in_state(LISTEN)
    r = user(before, Call.OPEN)
    assert r.rules == ("open-active-from-listen",)
    assert wire(r) == [Segment(100, 0, SYN)]
    assert changed(before, r.endpoint) == {
        "state": SYN_SENT,
        "passive": False,
        "iss": 100,
        "snd_una": 100,
        "snd_nxt": 101,
    }


@pytest.mark.parametrize("state", sorted(ALL_STATES - {CLOSED, LISTEN}))
def test_active_open_in_other_states_is_an_error(state):
    """§3.10.1 SYN-SENT ... TIME-WAIT: "Return 'error: connection already exists'" -- nothing else happens."""
    before = in_state(state)
    r = user(before, Call.OPEN)
    assert r.rules == ("open-already-exists",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=before.pc + 1)


@pytest.mark.parametrize("state", sorted(ALL_STATES - {CLOSED}))
def test_passive_open_with_a_tcb_is_an_error(state):
    """§3.10.1: an OPEN on an existing connection returns "error: connection already exists"."""
    before = in_state(state)
    r = user(before, Call.LISTEN)
    assert r.rules == ("listen-already-exists",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=before.pc + 1)


# =============================================================================================
# §3.10.2 SEND
# =============================================================================================


def test_send_in_closed_is_an_error():
    """§3.10.2 CLOSED: "return 'error: connection does not exist'"."""
    before = Endpoint()
    r = user(before, Call.SEND)
    assert r.rules == ("send-without-connection",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=1)


def test_send_in_listen_becomes_active_and_queues_the_data():
    """§3.10.2 LISTEN: "change the connection from passive to active, select an ISS.  Send a SYN segment
    ... Enter SYN-SENT state.  Data associated with SEND may be sent with SYN segment or queued"."""
    before = in_state(LISTEN)
    r = user(before, Call.SEND)
    assert r.rules == ("send-from-listen",)
    assert wire(r) == [Segment(100, 0, SYN)]
    assert changed(before, r.endpoint) == {
        "state": SYN_SENT,
        "passive": False,
        "iss": 100,
        "snd_una": 100,
        "snd_nxt": 101,
        "queued": 1,
    }


@pytest.mark.parametrize("state", [SYN_SENT, SYN_RECEIVED])
def test_send_before_established_is_queued(state):
    """§3.10.2 SYN-SENT, SYN-RECEIVED: "Queue the data for transmission after entering ESTABLISHED state"."""
    before = in_state(state)
    r = user(before, Call.SEND)
    assert r.rules == ("send-before-established",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"queued": 1}


@pytest.mark.parametrize(("state", "rcv_nxt"), [(ESTABLISHED, 301), (CLOSE_WAIT, 302)])
def test_send_when_synchronized_segmentizes_at_once(state, rcv_nxt):
    """§3.10.2 ESTABLISHED, CLOSE-WAIT: "Segmentize the buffer and send it with a piggybacked
    acknowledgment (acknowledgment value = RCV.NXT)".  Unit 1 occupies ISS+1 = 101."""
    before = in_state(state)
    r = user(before, Call.SEND)
    assert r.rules == ("send-now",)
    assert wire(r) == [Segment(101, rcv_nxt, ACK | PSH, 1, size=1)]
    assert changed(before, r.endpoint) == {"sent": 1, "snd_nxt": 102}


def test_send_second_unit_follows_the_first():
    """§3.10.2 ESTABLISHED: the next unit is sent at SND.NXT while the first is unacknowledged (window 2)."""
    before = in_state(ESTABLISHED, sent=1, snd_nxt=102)
    r = user(before, Call.SEND)
    assert wire(r) == [Segment(102, 301, ACK | PSH, 2, size=1)]
    assert changed(before, r.endpoint) == {"sent": 2, "snd_nxt": 103}


def test_send_urgent_sets_the_urg_bit():
    """§3.10.2: "If the URGENT flag is set, then SND.UP <- SND.NXT and set the urgent pointer in the
    outgoing segments"."""
    r = user(in_state(ESTABLISHED), Call.SEND_URGENT, urgent=True)
    assert wire(r) == [Segment(101, 301, ACK | PSH | URG, 1, size=1)]


@pytest.mark.parametrize("state", [ESTABLISHED, CLOSE_WAIT])
def test_send_with_the_window_full_is_queued(state):
    """§3.10.2 with §3.8 (flow control): two units fill a window of 2 octets; the third waits."""
    before = in_state(state, sent=2, snd_nxt=103)
    r = user(before, Call.SEND)
    assert r.rules == ("send-queued-behind",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"queued": 1}


def test_send_behind_queued_data_is_queued_even_if_the_window_is_open():
    """§3.10.2: data is segmentized in the order it was SENT, so new data waits behind queued data."""
    before = in_state(ESTABLISHED, queued=1)
    r = user(before, Call.SEND)
    assert r.rules == ("send-queued-behind",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"queued": 2}


def test_send_with_wrapped_sequence_numbers():
    """§3.10.2 + §3.4: with ISS = 2**32-1 the first unit occupies sequence number 0."""
    before = in_state(ESTABLISHED, iss=WRAP)
    assert before.snd_nxt == 0
    r = user(before, Call.SEND)
    assert wire(r) == [Segment(0, 301, ACK | PSH, 1, size=1)]
    assert r.endpoint.snd_nxt == 1


@pytest.mark.parametrize("state", [FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT])
def test_send_after_close_is_an_error(state):
    """§3.10.2 FIN-WAIT-1 ... TIME-WAIT: "Return 'error: connection closing' and do not service request"."""
    before = in_state(state)
    r = user(before, Call.SEND)
    assert r.rules == ("send-after-close",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=before.pc + 1)


# =============================================================================================
# §3.10.4 CLOSE
# =============================================================================================


def test_close_in_closed_is_an_error():
    """§3.10.4 CLOSED: "return 'error: connection does not exist'"."""
    before = Endpoint()
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-without-connection",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=1)


def test_close_in_listen_deletes_the_tcb():
    """§3.10.4 LISTEN: "Delete TCB, enter CLOSED state, and return"."""
    before = in_state(LISTEN)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-listen",)
    assert wire(r) == []
    assert_deleted(before, r, Outcome.CLOSED)


@pytest.mark.parametrize("queued", [0, 1])
def test_close_in_syn_sent_deletes_the_tcb(queued):
    """§3.10.4 SYN-SENT: "Delete the TCB and return 'error: closing' responses to any queued SENDs"."""
    before = in_state(SYN_SENT, queued=queued)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-syn-sent",)
    assert wire(r) == []
    assert_deleted(before, r, Outcome.CLOSED)


def test_close_in_syn_received_sends_fin():
    """§3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no pending data to send, then form
    a FIN segment and send it, and enter FIN-WAIT-1 state"."""
    before = in_state(SYN_RECEIVED)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-syn-received",)
    assert wire(r) == [Segment(101, 301, FIN | ACK)]
    assert changed(before, r.endpoint) == {"state": FIN_WAIT_1, "snd_nxt": 102}


def test_close_in_syn_received_with_queued_data_is_queued():
    """§3.10.4 SYN-RECEIVED: "otherwise, queue for processing after entering ESTABLISHED state"."""
    before = in_state(SYN_RECEIVED, queued=1)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-syn-received-queued",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"close_queued": True}


@pytest.mark.parametrize(("sent", "fin_seq"), [(0, 101), (1, 102)])
def test_close_in_established_sends_fin(sent, fin_seq):
    """§3.10.4 ESTABLISHED: all SENDs segmentized: "form a FIN segment and send it ... enter FIN-WAIT-1".
    The FIN follows the last unit sent."""
    before = in_state(ESTABLISHED, sent=sent, snd_nxt=101 + sent)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-established",)
    assert wire(r) == [Segment(fin_seq, 301, FIN | ACK)]
    assert changed(before, r.endpoint) == {"state": FIN_WAIT_1, "snd_nxt": fin_seq + 1}


def test_close_in_established_with_queued_data_delays_the_fin():
    """§3.10.4 ESTABLISHED: "Queue this until all preceding SENDs have been segmentized, then form a FIN
    segment and send it.  In any case, enter FIN-WAIT-1 state"."""
    before = in_state(ESTABLISHED, sent=2, snd_nxt=103, queued=1)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-established-queued",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"state": FIN_WAIT_1, "close_queued": True}


@pytest.mark.parametrize("state", [FIN_WAIT_1, FIN_WAIT_2])
def test_close_again_emits_no_second_fin(state):
    """§3.10.4 FIN-WAIT-1, FIN-WAIT-2: "error: connection closing" ... "as long as a second FIN is not
    emitted"."""
    before = in_state(state)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-again",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=before.pc + 1)


def test_close_in_close_wait_sends_fin_and_enters_last_ack():
    """§3.10.4 CLOSE-WAIT: "send a FIN segment, enter LAST-ACK state"; the ACK covers the peer's FIN."""
    before = in_state(CLOSE_WAIT)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-close-wait",)
    assert wire(r) == [Segment(101, 302, FIN | ACK)]
    assert changed(before, r.endpoint) == {"state": LAST_ACK, "snd_nxt": 102}


def test_close_in_close_wait_with_queued_data_waits():
    """§3.10.4 CLOSE-WAIT: "Queue this request until all preceding SENDs have been segmentized"."""
    before = in_state(CLOSE_WAIT, sent=2, snd_nxt=103, queued=1)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-close-wait-queued",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"close_queued": True}


@pytest.mark.parametrize("state", [CLOSING, LAST_ACK, TIME_WAIT])
def test_close_while_closing_is_an_error(state):
    """§3.10.4 CLOSING, LAST-ACK, TIME-WAIT: "Respond with 'error: connection closing'"."""
    before = in_state(state)
    r = user(before, Call.CLOSE)
    assert r.rules == ("close-while-closing",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=before.pc + 1)


# =============================================================================================
# §3.10.5 ABORT
# =============================================================================================


def test_abort_in_closed_is_an_error():
    """§3.10.5 CLOSED: "return 'error: connection does not exist'"."""
    before = Endpoint()
    r = user(before, Call.ABORT)
    assert r.rules == ("abort-without-connection",)
    assert wire(r) == []
    assert r.endpoint == before._replace(pc=1)


@pytest.mark.parametrize(
    ("state", "rule", "expected"),
    [
        (LISTEN, "abort-unsynchronized", []),  # the reset's SEG.SEQ, if one is sent
        (SYN_SENT, "abort-unsynchronized", []),
        (SYN_RECEIVED, "abort-with-reset", [101]),
        (ESTABLISHED, "abort-with-reset", [101]),
        (FIN_WAIT_1, "abort-with-reset", [102]),
        (FIN_WAIT_2, "abort-with-reset", [102]),
        (CLOSE_WAIT, "abort-with-reset", [101]),
        (CLOSING, "abort-while-closing", []),
        (LAST_ACK, "abort-while-closing", []),
        (TIME_WAIT, "abort-while-closing", []),
    ],
)
def test_abort_deletes_the_tcb(state, rule, expected):
    """§3.10.5: SYN-RECEIVED ... CLOSE-WAIT "Send a reset segment: <SEQ=SND.NXT><CTL=RST>", with
    <ACK=RCV.NXT> and the ACK bit as Linux sends it; LISTEN, SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT send
    nothing; every state ends in CLOSED with the TCB deleted."""
    before = in_state(state)
    r = user(before, Call.ABORT)
    assert r.rules == (rule,)
    assert wire(r) == [Segment(seq, before.rcv_nxt, RST | ACK) for seq in expected]
    assert_deleted(before, r, Outcome.ABORTED)
    assert r.endpoint.history[-1].outcome is Outcome.ABORTED
    assert r.endpoint.pc == before.pc + 1


def test_abort_flushes_queued_data_and_the_queued_close():
    """§3.10.5 FIN-WAIT-1: "all segments queued for transmission (except for the RST formed above) or
    retransmission should be flushed" -- the queued unit and the FIN waiting behind it are never sent."""
    before = in_state(FIN_WAIT_1, sent=2, snd_nxt=103, queued=1, close_queued=True)
    r = user(before, Call.ABORT)
    assert r.rules == ("abort-with-reset",)
    assert wire(r) == [Segment(103, 301, RST | ACK)]
    assert (r.endpoint.queued, r.endpoint.close_queued) == (0, False)
    assert try_react(r.endpoint, "output") is None


# =============================================================================================
# §3.10.7.1 SEGMENT ARRIVES in CLOSED
# =============================================================================================


@pytest.mark.parametrize("flags", [RST, RST | ACK])
def test_closed_discards_a_reset(flags):
    """§3.10.7.1: "An incoming segment containing a RST is discarded"."""
    before = Endpoint()
    r = arrive(before, from_peer(301, 101, flags))
    assert r.rules == ("closed-discard-rst",)
    assert wire(r) == []
    assert r.endpoint == before


@pytest.mark.parametrize(
    ("seg", "reset_ack"),
    [
        (from_peer(300, 0, SYN), 301),  # SEG.LEN = 1 (the SYN)
        (from_peer(305, 0, FIN), 306),  # SEG.LEN = 1 (the FIN)
        (from_peer(305, 0, PSH, 5), 306),  # SEG.LEN = 1 (one unit of data)
        (from_peer(305, 0, 0), 305),  # SEG.LEN = 0
        (from_peer(WRAP, 0, SYN), 0),  # SEG.SEQ+SEG.LEN wraps to 0
    ],
)
def test_closed_answers_a_segment_without_ack(seg, reset_ack):
    """§3.10.7.1: "If the ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"."""
    before = Endpoint()
    r = arrive(before, seg)
    assert r.rules == ("closed-reset-no-ack",)
    assert wire(r) == [Segment(0, reset_ack, RST | ACK)]
    assert r.endpoint == before


@pytest.mark.parametrize("flags", [ACK, SYN | ACK, FIN | ACK, ACK | PSH])
def test_closed_answers_a_segment_with_ack(flags):
    """§3.10.7.1: "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"."""
    before = Endpoint()
    r = arrive(before, from_peer(305, 123, flags, 5 if flags & PSH else 0))
    assert r.rules == ("closed-reset-ack",)
    assert wire(r) == [Segment(123, 0, RST)]
    assert r.endpoint == before


# =============================================================================================
# §3.10.7.2 SEGMENT ARRIVES in LISTEN
# =============================================================================================


@pytest.mark.parametrize("flags", [RST, RST | ACK, RST | SYN])
def test_listen_ignores_a_reset(flags):
    """§3.10.7.2 first: "An incoming RST should be ignored.  Return"."""
    before = in_state(LISTEN)
    r = arrive(before, from_peer(300, 101, flags))
    assert r.rules == ("listen-ignore-rst",)
    assert wire(r) == []
    assert r.endpoint == before


@pytest.mark.parametrize("flags", [ACK, SYN | ACK, FIN | ACK, ACK | PSH])
def test_listen_resets_any_acknowledgment(flags):
    """§3.10.7.2 second: "Any acknowledgment is bad if it arrives on a connection still in the LISTEN
    state ... <SEQ=SEG.ACK><CTL=RST>"."""
    before = in_state(LISTEN)
    r = arrive(before, from_peer(301, 777, flags, 1 if flags & PSH else 0))
    assert r.rules == ("listen-reset-ack",)
    assert wire(r) == [Segment(777, 0, RST)]
    assert r.endpoint == before


def test_listen_syn_enters_syn_received():
    """§3.10.7.2 third: "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be selected and a SYN
    segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.  SND.NXT is set to ISS+1 and SND.UNA to
    ISS.  The connection state should be changed to SYN-RECEIVED"."""
    before = in_state(LISTEN)
    r = arrive(before, from_peer(300, 0, SYN))
    assert r.rules == ("listen-syn",)
    assert wire(r) == [Segment(100, 301, SYN | ACK)]
    assert changed(before, r.endpoint) == {
        "state": SYN_RECEIVED,
        "iss": 100,
        "irs": 300,
        "snd_una": 100,
        "snd_nxt": 101,
        "rcv_nxt": 301,
        "peer_inc": PEER_INC,
    }
    assert r.endpoint.passive, "MUST-11: remember that SYN-RECEIVED came from a passive OPEN"
    assert moves(r) == [(LISTEN, SYN_RECEIVED, "listen-syn")]


def test_listen_syn_at_the_last_sequence_number():
    """§3.10.7.2 third, modulo 2**32: SEG.SEQ = 2**32-1 gives RCV.NXT = 0."""
    r = arrive(in_state(LISTEN), from_peer(WRAP, 0, SYN))
    assert wire(r) == [Segment(100, 0, SYN | ACK)]
    assert (r.endpoint.irs, r.endpoint.rcv_nxt) == (WRAP, 0)


def test_listen_syn_starts_the_retransmission_timer():
    """§3.10.7.2 third with §3.8.1: the SYN,ACK occupies sequence space and is retransmitted if lost."""
    r = arrive(in_state(LISTEN), from_peer(300, 0, SYN), retries=2)
    assert r.endpoint.timer == 0  # untimed: the timer runs and may expire at any moment


@pytest.mark.parametrize("seg", [from_peer(300, 0, FIN), from_peer(301, 0, PSH, 1), from_peer(301, 0, 0)])
def test_listen_drops_anything_else(seg):
    """§3.10.7.2 fourth: "other data or control ... Drop the segment and return"."""
    before = in_state(LISTEN)
    r = arrive(before, seg)
    assert r.rules == ("listen-drop-other",)
    assert wire(r) == []
    assert r.endpoint == before


# =============================================================================================
# §3.10.7.3 SEGMENT ARRIVES in SYN-SENT (ISS = 100, SND.UNA = 100, SND.NXT = 101)
# =============================================================================================


@pytest.mark.parametrize("ack", [99, 100, 102, 5000])
@pytest.mark.parametrize("flags", [ACK, SYN | ACK, FIN | ACK])
def test_syn_sent_resets_an_unacceptable_ack(ack, flags):
    """§3.10.7.3 first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset <SEQ=SEG.ACK><CTL=RST> and
    discard the segment"."""
    before = in_state(SYN_SENT)
    r = arrive(before, from_peer(300, ack, flags))
    assert r.rules == ("syn-sent-bad-ack",)
    assert wire(r) == [Segment(ack, 0, RST)]
    assert r.endpoint == before


@pytest.mark.parametrize("ack", [100, 102])
def test_syn_sent_drops_a_reset_with_an_unacceptable_ack(ack):
    """§3.10.7.3 first: "send a reset (unless the RST bit is set, if so drop the segment and return)"."""
    before = in_state(SYN_SENT)
    r = arrive(before, from_peer(300, ack, RST | ACK))
    assert r.rules == ("syn-sent-bad-ack-rst",)
    assert wire(r) == []
    assert r.endpoint == before


def test_syn_sent_acceptable_ack_wraps_around():
    """§3.10.7.3 first, modulo 2**32: with ISS = 2**32-1, SEG.ACK = 0 is acceptable and SEG.ACK = ISS is not."""
    before = in_state(SYN_SENT, iss=WRAP)
    good = arrive(before, from_peer(300, 0, SYN | ACK))
    assert good.endpoint.state is ESTABLISHED
    bad = arrive(before, from_peer(300, WRAP, SYN | ACK))
    assert bad.rules == ("syn-sent-bad-ack",)
    assert wire(bad) == [Segment(WRAP, 0, RST)]


def test_syn_sent_reset_with_acceptable_ack_closes():
    """§3.10.7.3 second: "If the ACK was acceptable, then ... drop the segment, enter CLOSED state, delete
    TCB, and return"."""
    before = in_state(SYN_SENT)
    r = arrive(before, from_peer(0, 101, RST | ACK))
    assert r.rules == ("syn-sent-reset",)
    assert wire(r) == []
    assert r.endpoint.state is CLOSED
    assert r.endpoint.history[-1].state is SYN_SENT


def test_syn_sent_reset_signals_connection_reset():
    """§3.10.7.3 second: "If the ACK was acceptable, then signal to the user 'error: connection reset'"."""
    before = in_state(SYN_SENT)
    r = arrive(before, from_peer(0, 101, RST | ACK))
    assert_deleted(before, r, Outcome.RESET)


def test_syn_sent_drops_a_reset_without_ack():
    """§3.10.7.3 second: "Otherwise (no ACK), drop the segment and return"."""
    before = in_state(SYN_SENT)
    r = arrive(before, from_peer(300, 0, RST))
    assert r.rules == ("syn-sent-rst-without-ack",)
    assert wire(r) == []
    assert r.endpoint == before


def test_syn_sent_syn_ack_establishes():
    """§3.10.7.3 fourth: "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ.  SND.UNA should be advanced to
    equal SEG.ACK ... If SND.UNA > ISS ... change the connection state to ESTABLISHED, form an ACK segment
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it"."""
    before = in_state(SYN_SENT)
    r = arrive(before, from_peer(300, 101, SYN | ACK))
    assert r.rules == ("syn-sent-syn-ack",)
    assert wire(r) == [Segment(101, 301, ACK)]
    assert changed(before, r.endpoint) == {
        "state": ESTABLISHED,
        "irs": 300,
        "rcv_nxt": 301,
        "snd_una": 101,
        "peer_inc": PEER_INC,
    }
    assert moves(r) == [(SYN_SENT, ESTABLISHED, "syn-sent-syn-ack")]


def test_syn_sent_syn_ack_stops_the_retransmission_timer():
    """§3.10.7.3 fourth: "any segments on the retransmission queue that are thereby acknowledged should be
    removed" -- nothing is outstanding, so the timer stops and the retransmission count resets."""
    before = in_state(SYN_SENT, timer=0, retries=1)
    r = arrive(before, from_peer(300, 101, SYN | ACK), retries=2)
    assert (r.endpoint.timer, r.endpoint.retries) == (TIMER_OFF, 0)


def test_syn_sent_syn_ack_keeps_queued_data_for_output():
    """§3.10.7.3 fourth: "Data or controls that were queued for transmission MAY be included" -- the model
    sends the ACK now and segmentizes the queued data as a separate output event."""
    before = in_state(SYN_SENT, queued=1)
    r = arrive(before, from_peer(300, 101, SYN | ACK))
    assert wire(r) == [Segment(101, 301, ACK)]
    assert r.endpoint.queued == 1
    out = output(r.endpoint)
    assert wire(out) == [Segment(101, 301, ACK | PSH, 1, size=1)]


def test_syn_sent_syn_without_ack_is_a_simultaneous_open():
    """§3.10.7.3 fourth: "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT>
    <CTL=SYN,ACK> and send it" (Figure 7, line 3)."""
    before = in_state(SYN_SENT)
    r = arrive(before, from_peer(300, 0, SYN))
    assert r.rules == ("syn-sent-syn",)
    assert wire(r) == [Segment(100, 301, SYN | ACK)]
    assert changed(before, r.endpoint) == {"state": SYN_RECEIVED, "irs": 300, "rcv_nxt": 301, "peer_inc": PEER_INC}
    assert not r.endpoint.passive, "MUST-11: this SYN-RECEIVED came from an active OPEN"


@pytest.mark.parametrize(
    "seg",
    [from_peer(300, 101, ACK), from_peer(301, 101, FIN | ACK), from_peer(301, 0, PSH, 1), from_peer(301, 0, 0)],
)
def test_syn_sent_drops_a_segment_without_syn_or_rst(seg):
    """§3.10.7.3 fifth: "if neither of the SYN or RST bits is set, then drop the segment and return"."""
    before = in_state(SYN_SENT)
    r = arrive(before, seg)
    assert r.rules == ("syn-sent-drop-other",)
    assert wire(r) == []
    assert r.endpoint == before


# =============================================================================================
# §3.10.7.4 Other states, first step: the sequence number (Table 6), window = 2
# =============================================================================================

#: (what the peer sends, its offset from RCV.NXT, acceptable per Table 6 with RCV.WND = 2)
TABLE_6 = [
    ("ACK, length 0", -1, False),
    ("ACK, length 0", 0, True),
    ("ACK, length 0", 1, True),
    ("ACK, length 0", 2, False),
    ("data, length 1", -1, False),
    ("data, length 1", 0, True),
    ("data, length 1", 1, True),
    ("data, length 1", 2, False),
]


def probe(ep: Endpoint, what: str, offset: int) -> Segment:
    """A segment for the acceptability test: a pure ACK or one data unit at RCV.NXT + ``offset``.

    Its ACK field is SND.UNA (a duplicate ACK), so nothing but the sequence number matters.
    """
    at = mod32(ep.rcv_nxt + offset)
    if what.startswith("data"):
        return peer_data(at, ep.snd_una, irs=ep.irs)
    return from_peer(at, ep.snd_una, ACK)


@pytest.mark.parametrize(("what", "offset", "ok"), TABLE_6)
def test_acceptability_in_established(what, offset, ok):
    """§3.10.7.4 first, Table 6: length 0: "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND"; length > 0: that, or
    "RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND".  Unacceptable: "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
    drop the segment.  (One unit already received, so RCV.NXT = 302 and data at 301 is an old duplicate.)"""
    before = in_state(ESTABLISHED, rcv_nxt=302, delivered=((PEER_INC, 1),))
    r = arrive(before, probe(before, what, offset))
    if ok:
        assert "unacceptable" not in r.rules
    else:
        assert r.rules == ("unacceptable",)
        assert wire(r) == [Segment(101, 302, ACK)]
        assert_nothing_changed(before, r)


@pytest.mark.parametrize(("what", "offset", "ok"), TABLE_6)
@pytest.mark.parametrize("rcv_nxt", [WRAP, 0])
def test_acceptability_wraps_around(what, offset, ok, rcv_nxt):
    """§3.10.7.4 first, Table 6, with "all arithmetic ... modulo 2^32" (§3.10): RCV.NXT = 2**32-1 makes the
    window {2**32-1, 0}; RCV.NXT = 0 makes 2**32-1 the number just below it.  (One unit received.)"""
    before = in_state(ESTABLISHED, irs=mod32(rcv_nxt - 2), rcv_nxt=rcv_nxt, delivered=((PEER_INC, 1),))
    r = arrive(before, probe(before, what, offset))
    if ok:
        assert "unacceptable" not in r.rules
    else:
        assert r.rules == ("unacceptable",)
        assert wire(r) == [Segment(101, rcv_nxt, ACK)]
        assert_nothing_changed(before, r)


def test_segment_at_zero_is_in_the_window_at_the_last_sequence_number():
    """§3.10.7.4 first, modulo 2**32: with RCV.NXT = 4294967295 and RCV.WND = 2, SEG.SEQ = 0 is acceptable
    (and, beyond RCV.NXT, held); SEG.SEQ = 1 is not."""
    before = in_state(ESTABLISHED, irs=WRAP - 1)
    assert before.rcv_nxt == WRAP
    inside = arrive(before, peer_data(0, 101, irs=WRAP - 1))
    assert inside.rules == ("ack-duplicate", "text-ahead")
    beyond = arrive(before, peer_data(1, 101, irs=WRAP - 1))
    assert beyond.rules == ("unacceptable",)
    assert wire(beyond) == [Segment(101, WRAP, ACK)]


@pytest.mark.parametrize("state", sorted(OTHER_STATES))
@pytest.mark.parametrize(("what", "offset"), [("ACK", -1), ("ACK", 2), ("data", 2)])
def test_unacceptable_segment_is_answered_with_an_ack_in_every_state(state, what, offset):
    """§3.10.7.4 first: "If an incoming segment is not acceptable, an acknowledgment should be sent in reply
    ... <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.  After sending the acknowledgment, drop the unacceptable segment
    and return"."""
    before = in_state(state)
    r = arrive(before, probe(before, what, offset))
    assert r.rules == ("time-wait-unacceptable" if state is TIME_WAIT else "unacceptable",)
    assert wire(r) == [Segment(before.snd_nxt, before.rcv_nxt, ACK)]
    assert_nothing_changed(before, r)


@pytest.mark.parametrize("rfc5961", [True, False])
@pytest.mark.parametrize("state", sorted(OTHER_STATES))
@pytest.mark.parametrize("offset", [-1, 2, 1000])
def test_unacceptable_reset_is_dropped_silently(state, offset, rfc5961):
    """§3.10.7.4 first: "(unless the RST bit is set, if so drop the segment and return)"; RFC 5961 check 1:
    "If the RST bit is set and the sequence number is outside the current receive window, silently drop"."""
    before = in_state(state)
    r = arrive(before, from_peer(before.rcv_nxt + offset, 0, RST), rfc5961=rfc5961)
    assert r.rules == ("unacceptable-rst",)
    assert wire(r) == []
    assert r.endpoint == before


def test_simultaneous_open_syn_ack_is_answered_by_the_first_step():
    """§3.10.7.4 first, Table 6 read literally: the SYN,ACK of a simultaneous open lies wholly below RCV.NXT,
    so it is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> -- the very ACK the peer needs to reach
    ESTABLISHED (and the peer's equivalent ACK brings us there)."""
    before = in_state(SYN_RECEIVED, passive=False)
    r = arrive(before, from_peer(300, 101, SYN | ACK))
    assert r.rules == ("unacceptable",)
    assert wire(r) == [Segment(101, 301, ACK)]
    then = arrive(r.endpoint, from_peer(301, 101, ACK))
    assert then.endpoint.state is ESTABLISHED


# =============================================================================================
# §3.10.7.4 second step: the RST bit
# =============================================================================================

#: (state, rule, where the reset leads, the outcome recorded when the TCB is deleted)
RESET_BY_STATE = [
    (ESTABLISHED, "reset", CLOSED, Outcome.RESET),
    (FIN_WAIT_1, "reset", CLOSED, Outcome.RESET),
    (FIN_WAIT_2, "reset", CLOSED, Outcome.RESET),
    (CLOSE_WAIT, "reset", CLOSED, Outcome.RESET),
    (CLOSING, "reset-while-closing", CLOSED, Outcome.RESET),
    (LAST_ACK, "reset-while-closing", CLOSED, Outcome.RESET),
    (TIME_WAIT, "reset-time-wait", CLOSED, Outcome.RESET),
]


@pytest.mark.parametrize("flags", [RST, RST | ACK])
@pytest.mark.parametrize(("state", "rule", "to", "outcome"), RESET_BY_STATE)
def test_reset_at_rcv_nxt_closes_a_synchronized_connection(state, rule, to, outcome, flags):
    """§3.10.7.4 second, RFC 5961 check 2: "If the RST bit is set and the sequence number exactly matches
    ... RCV.NXT, then TCP endpoints MUST reset the connection"; ESTABLISHED ... CLOSE-WAIT: "Enter the CLOSED
    state, delete the TCB"; CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB"."""
    before = in_state(state)
    r = arrive(before, from_peer(before.rcv_nxt, before.snd_nxt, flags))
    assert r.rules == (rule,)
    assert wire(r) == []
    assert_deleted(before, r, outcome)


@pytest.mark.parametrize("state", sorted(OTHER_STATES))
def test_reset_in_window_but_not_at_rcv_nxt_gets_a_challenge_ack(state):
    """§3.10.7.4 second, RFC 5961 check 3: "does not exactly match the next expected sequence value, yet is
    within the current receive window, TCP endpoints MUST send an acknowledgment (challenge ACK):
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" and drop the segment."""
    before = in_state(state)
    r = arrive(before, from_peer(before.rcv_nxt + 1, 0, RST))
    assert r.rules == ("rst-challenge",)
    assert wire(r) == [Segment(before.snd_nxt, before.rcv_nxt, ACK)]
    assert r.endpoint == before


@pytest.mark.parametrize(("state", "rule", "to", "outcome"), RESET_BY_STATE)
def test_reset_anywhere_in_the_window_closes_without_rfc5961(state, rule, to, outcome):
    """§3.10.7.4 second, without RFC 5961 ("otherwise, processing for these states is indicated further
    below"): §3.5.3 "A reset is valid if its sequence number is in the window"."""
    before = in_state(state)
    r = arrive(before, from_peer(before.rcv_nxt + 1, 0, RST), rfc5961=False)
    assert r.rules == (rule,)
    assert wire(r) == []
    assert_deleted(before, r, outcome)


@pytest.mark.parametrize("rfc5961", [True, False])
def test_time_wait_ignores_a_reset_with_rfc1337(rfc5961):
    """§3.10.7.4 second, TIME-WAIT: "If the RST bit is set, then enter the CLOSED state" -- unless the
    configuration follows RFC 1337 (TIME-WAIT assassination hazards), which ignores the RST so that
    TIME-WAIT lasts its full 2 MSL."""
    before = in_state(TIME_WAIT)
    r = arrive(before, from_peer(302, 102, RST | ACK), rfc5961=rfc5961, rfc1337=True)
    assert r.rules == ("time-wait-ignores-rst",)
    assert wire(r) == []
    assert r.endpoint == before


def test_challenge_ack_for_reset_wraps_around():
    """§3.10.7.4 second, modulo 2**32: RCV.NXT = 2**32-1, a RST at 0 is in the window but not at RCV.NXT."""
    before = in_state(ESTABLISHED, irs=WRAP - 1)
    r = arrive(before, from_peer(0, 0, RST))
    assert r.rules == ("rst-challenge",)
    assert wire(r) == [Segment(101, WRAP, ACK)]
    exact = arrive(before, from_peer(WRAP, 0, RST))
    assert exact.rules == ("reset",)


@pytest.mark.parametrize("rfc5961", [True, False])
def test_reset_in_passive_syn_received_returns_to_listen(rfc5961):
    """§3.10.7.4 second, SYN-RECEIVED (Figure 5 Note 1): "If this connection was initiated with a passive
    OPEN (i.e., came from the LISTEN state), then return this connection to LISTEN state and return.  The
    user need not be informed ... the retransmission queue should be flushed"."""
    before = in_state(SYN_RECEIVED, timer=0, retries=1)
    r = arrive(before, from_peer(301, 0, RST), rfc5961=rfc5961, retries=2)
    assert r.rules == ("syn-received-reset-passive",)
    assert wire(r) == []
    assert r.endpoint == Endpoint(state=LISTEN, inc=LOCAL_INC, passive=True)
    assert moves(r) == [(SYN_RECEIVED, LISTEN, "syn-received-reset-passive")]


def test_reset_in_passive_syn_received_keeps_the_users_queued_data():
    """§3.10.7.4 second, SYN-RECEIVED: back in LISTEN "the user need not be informed": its SENDs stay queued."""
    before = in_state(SYN_RECEIVED, queued=1)
    r = arrive(before, from_peer(301, 0, RST))
    assert r.endpoint.state is LISTEN
    assert r.endpoint.queued == 1


@pytest.mark.parametrize("rfc5961", [True, False])
def test_reset_in_active_syn_received_refuses_the_connection(rfc5961):
    """§3.10.7.4 second, SYN-RECEIVED: "If this connection was initiated with an active OPEN ... the connection
    was refused; signal the user 'connection refused' ... enter the CLOSED state and delete the TCB"."""
    before = in_state(SYN_RECEIVED, passive=False)
    r = arrive(before, from_peer(301, 0, RST), rfc5961=rfc5961)
    assert r.rules == ("syn-received-reset-active",)
    assert wire(r) == []
    assert_deleted(before, r, Outcome.REFUSED)


def test_reset_flushes_held_segments():
    """§3.10.7.4 second, ESTABLISHED: "All segment queues should be flushed"."""
    held = peer_data(302, 101)
    before = in_state(ESTABLISHED, held=(held,))
    r = arrive(before, from_peer(301, 0, RST))
    assert r.endpoint.held == ()
    assert r.endpoint.state is CLOSED


# =============================================================================================
# §3.10.7.4 fourth step: the SYN bit
# =============================================================================================


@pytest.mark.parametrize("flags", [SYN, SYN | ACK])
@pytest.mark.parametrize("state", sorted(SYNCHRONIZED))
def test_syn_in_a_synchronized_state_gets_a_challenge_ack(state, flags):
    """§3.10.7.4 fourth: "if the SYN bit is set, irrespective of the sequence number, TCP endpoints MUST send
    a 'challenge ACK' to the remote peer: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.  After sending the
    acknowledgment, TCP implementations MUST drop the unacceptable segment"."""
    before = in_state(state)
    r = arrive(before, from_peer(before.rcv_nxt, before.snd_una, flags))
    assert r.rules == ("syn-challenge",)
    assert wire(r) == [Segment(before.snd_nxt, before.rcv_nxt, ACK)]
    assert r.endpoint == before


@pytest.mark.parametrize("rfc5961", [True, False])
@pytest.mark.parametrize("state", sorted(SYNCHRONIZED))
def test_syn_outside_the_window_gets_an_ack_from_the_first_step(state, rfc5961):
    """§3.10.7.4 fourth: "If the SYN is not in the window, this step would not be reached and an ACK would
    have been sent in the first step" (the same <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> as a challenge ACK)."""
    before = in_state(state)
    r = arrive(before, from_peer(PEER_ISS, 0, SYN), rfc5961=rfc5961)  # the peer's old SYN, below RCV.NXT
    assert r.rules == ("time-wait-unacceptable" if state is TIME_WAIT else "unacceptable",)
    assert wire(r) == [Segment(before.snd_nxt, before.rcv_nxt, ACK)]
    assert r.endpoint == before


@pytest.mark.parametrize("state", sorted(SYNCHRONIZED))
def test_syn_in_the_window_resets_without_rfc5961(state):
    """§3.10.7.4 fourth, RFC 793 behaviour: "If the SYN is in the window it is an error: send a reset ... enter
    the CLOSED state, delete the TCB".  (The RFC gives the reset no form; the spec uses <SEQ=SND.NXT><CTL=RST>.)"""
    before = in_state(state)
    r = arrive(before, from_peer(before.rcv_nxt, 0, SYN), rfc5961=False)
    assert r.rules == ("syn-in-window-reset",)
    assert wire(r) == [Segment(before.snd_nxt, 0, RST)]
    assert_deleted(before, r, Outcome.RESET)


@pytest.mark.parametrize("rfc5961", [True, False])
def test_syn_in_passive_syn_received_returns_to_listen(rfc5961):
    """§3.10.7.4 fourth, SYN-RECEIVED: "If the connection was initiated with a passive OPEN, then return this
    connection to the LISTEN state and return"."""
    before = in_state(SYN_RECEIVED)
    r = arrive(before, from_peer(301, 0, SYN), rfc5961=rfc5961)
    assert r.rules == ("syn-received-syn-passive",)
    assert wire(r) == []
    assert r.endpoint == Endpoint(state=LISTEN, inc=LOCAL_INC, passive=True)


def test_syn_in_active_syn_received_gets_a_challenge_ack():
    """§3.10.7.4 fourth, SYN-RECEIVED from an active OPEN: "Otherwise, handle per the directions for
    synchronized states below" -- with RFC 5961, a challenge ACK."""
    before = in_state(SYN_RECEIVED, passive=False)
    r = arrive(before, from_peer(301, 0, SYN))
    assert r.rules == ("syn-received-syn-active",)
    assert wire(r) == [Segment(101, 301, ACK)]
    assert r.endpoint == before


def test_syn_in_active_syn_received_resets_without_rfc5961():
    """§3.10.7.4 fourth, SYN-RECEIVED from an active OPEN, RFC 793 behaviour: "send a reset ... enter the
    CLOSED state, delete the TCB"."""
    before = in_state(SYN_RECEIVED, passive=False)
    r = arrive(before, from_peer(301, 0, SYN), rfc5961=False)
    assert r.rules == ("syn-received-syn-active-reset",)
    assert wire(r) == [Segment(101, 0, RST)]
    assert_deleted(before, r, Outcome.RESET)


# =============================================================================================
# §3.10.7.4 fifth step: the ACK field
# =============================================================================================


@pytest.mark.parametrize("state", sorted(OTHER_STATES))
@pytest.mark.parametrize("kind", ["FIN", "data"])
def test_segment_without_ack_is_dropped(state, kind):
    """§3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return" -- its FIN or data is not
    processed."""
    before = in_state(state)
    seg = from_peer(before.rcv_nxt, 0, FIN) if kind == "FIN" else from_peer(before.rcv_nxt, 0, PSH, 1)
    r = arrive(before, seg)
    assert r.rules == ("no-ack",)
    assert wire(r) == []
    assert r.endpoint == before


@pytest.mark.parametrize("passive", [True, False])
def test_syn_received_acceptable_ack_establishes(passive):
    """§3.10.7.4 fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
    processing" (Figure 5: "rcv ACK of SYN", nothing sent)."""
    before = in_state(SYN_RECEIVED, passive=passive)
    r = arrive(before, from_peer(301, 101, ACK))
    assert r.rules == ("syn-received-ack",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"state": ESTABLISHED, "snd_una": 101}
    assert moves(r) == [(SYN_RECEIVED, ESTABLISHED, "syn-received-ack")]


@pytest.mark.parametrize("ack", [99, 100, 102])
def test_syn_received_unacceptable_ack_is_reset(ack):
    """§3.10.7.4 fifth, SYN-RECEIVED: "If the segment acknowledgment is not acceptable, form a reset segment
    <SEQ=SEG.ACK><CTL=RST> and send it"."""
    before = in_state(SYN_RECEIVED)
    r = arrive(before, from_peer(301, ack, ACK))
    assert r.rules == ("syn-received-bad-ack",)
    assert wire(r) == [Segment(ack, 0, RST)]
    assert r.endpoint == before


def test_new_ack_advances_snd_una():
    """§3.10.7.4 fifth, ESTABLISHED: "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK"."""
    before = in_state(ESTABLISHED, sent=2, snd_nxt=103)
    r = arrive(before, from_peer(301, 102, ACK))
    assert r.rules == ("ack-new",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"snd_una": 102}


@pytest.mark.parametrize("ack", [100, 101])
def test_duplicate_ack_is_ignored(ack):
    """§3.10.7.4 fifth, ESTABLISHED: "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be ignored"."""
    before = in_state(ESTABLISHED, sent=1, snd_nxt=102)
    r = arrive(before, from_peer(301, ack, ACK))
    assert r.rules == ("ack-duplicate",)
    assert wire(r) == []
    assert r.endpoint == before


def test_ack_of_unsent_data_is_answered_and_the_segment_dropped():
    """§3.10.7.4 fifth, ESTABLISHED: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
    ACK, drop the segment, and return" -- its data is not delivered."""
    before = in_state(ESTABLISHED, sent=1, snd_nxt=102)
    r = arrive(before, peer_data(301, 103))
    assert r.rules == ("ack-of-unsent",)
    assert wire(r) == [Segment(102, 301, ACK)]
    assert r.endpoint == before


def test_ack_check_wraps_around():
    """§3.10.7.4 fifth, modulo 2**32: SND.UNA = 2**32-1 (unit 1 in flight), SND.NXT = 0 + 1 (unit 2 too)."""
    before = in_state(ESTABLISHED, iss=WRAP - 1, sent=2, snd_nxt=1)
    assert before.snd_una == WRAP
    assert arrive(before, from_peer(301, 0, ACK)).endpoint.snd_una == 0
    assert arrive(before, from_peer(301, WRAP - 1, ACK)).rules == ("ack-duplicate",)
    unsent = arrive(before, from_peer(301, 2, ACK))
    assert unsent.rules == ("ack-of-unsent",)
    assert wire(unsent) == [Segment(1, 301, ACK)]


def test_new_ack_in_close_wait_as_in_established():
    """§3.10.7.4 fifth, CLOSE-WAIT: "Do the same processing as for the ESTABLISHED state"."""
    before = in_state(CLOSE_WAIT, sent=1, snd_nxt=102)
    r = arrive(before, from_peer(302, 102, ACK))
    assert r.rules == ("ack-new",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"snd_una": 102}


def test_fin_wait_2_duplicate_ack_is_ignored():
    """§3.10.7.4 fifth, FIN-WAIT-2: "In addition to the processing for the ESTABLISHED state" -- our FIN is
    acknowledged already, so SEG.ACK = SND.UNA is a duplicate and "can be ignored"."""
    before = in_state(FIN_WAIT_2)
    r = arrive(before, from_peer(301, 102, ACK))
    assert r.rules == ("ack-duplicate",)
    assert wire(r) == []
    assert r.endpoint == before


def test_fin_wait_1_ack_of_fin_enters_fin_wait_2():
    """§3.10.7.4 fifth, FIN-WAIT-1: "if the FIN segment is now acknowledged, then enter FIN-WAIT-2 and continue
    processing in that state"."""
    before = in_state(FIN_WAIT_1)
    r = arrive(before, from_peer(301, 102, ACK))
    assert r.rules == ("fin-wait-1-ack-of-fin",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"state": FIN_WAIT_2, "snd_una": 102}


def test_fin_wait_1_ack_of_data_only_stays():
    """§3.10.7.4 fifth, FIN-WAIT-1: unit 1 at 101, FIN at 102; an ACK of 102 covers the data, not the FIN."""
    before = in_state(FIN_WAIT_1, sent=1, snd_nxt=103)
    r = arrive(before, from_peer(301, 102, ACK))
    assert r.rules == ("fin-wait-1-ack",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"snd_una": 102}
    assert arrive(before, from_peer(301, 103, ACK)).endpoint.state is FIN_WAIT_2


def test_fin_wait_1_ack_of_everything_before_the_fin_is_formed_stays():
    """§3.10.7.4 fifth, FIN-WAIT-1 with the CLOSE still queued (§3.10.4): SEG.ACK = SND.NXT acknowledges the
    data, but there is no FIN yet to acknowledge."""
    before = in_state(FIN_WAIT_1, sent=2, snd_nxt=103, queued=1, close_queued=True)
    r = arrive(before, from_peer(301, 103, ACK))
    assert r.rules == ("fin-wait-1-ack",)
    assert changed(before, r.endpoint) == {"snd_una": 103}


def test_closing_ack_of_fin_enters_time_wait():
    """§3.10.7.4 fifth, CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT state"."""
    before = in_state(CLOSING)
    r = arrive(before, from_peer(302, 102, ACK))
    assert r.rules == ("closing-ack-of-fin",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"state": TIME_WAIT, "snd_una": 102, "timer": 0}


def test_closing_ack_of_data_only_is_otherwise_ignored():
    """§3.10.7.4 fifth, CLOSING: "In addition to the processing for the ESTABLISHED state, ... otherwise,
    ignore the segment"."""
    before = in_state(CLOSING, sent=1, snd_nxt=103)
    r = arrive(before, from_peer(302, 102, ACK))
    assert r.rules == ("closing-ack",)
    assert wire(r) == []
    assert changed(before, r.endpoint) == {"snd_una": 102}


def test_last_ack_ack_of_fin_deletes_the_tcb():
    """§3.10.7.4 fifth, LAST-ACK: "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state,
    and return"."""
    before = in_state(LAST_ACK)
    r = arrive(before, from_peer(302, 102, ACK))
    assert r.rules == ("last-ack-ack-of-fin",)
    assert wire(r) == []
    assert_deleted(before, r, Outcome.CLOSED)
    assert moves(r) == [(LAST_ACK, CLOSED, "last-ack-ack-of-fin")]


def test_last_ack_ack_of_data_only_stays():
    """§3.10.7.4 fifth, LAST-ACK: an ACK that does not cover our FIN updates SND.UNA; the TCB stays."""
    before = in_state(LAST_ACK, sent=1, snd_nxt=103)
    r = arrive(before, from_peer(302, 102, ACK))
    assert r.rules == ("last-ack-ack",)
    assert changed(before, r.endpoint) == {"snd_una": 102}


@pytest.mark.parametrize("state", [FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT])
def test_ack_of_unsent_in_every_synchronized_state(state):
    """§3.10.7.4 fifth ("the same processing as for the ESTABLISHED state"): "If the ACK acks something not yet
    sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return"."""
    before = in_state(state)
    r = arrive(before, from_peer(before.rcv_nxt, before.snd_nxt + 1, ACK))
    assert r.rules == ("ack-of-unsent",)
    assert wire(r) == [Segment(before.snd_nxt, before.rcv_nxt, ACK)]
    assert r.endpoint == before


def test_time_wait_duplicate_ack_is_ignored():
    """§3.10.7.4 fifth, TIME-WAIT: "The only thing that can arrive in this state is a retransmission of the
    remote FIN" -- an ACK alone changes nothing (and does not restart the timer)."""
    before = in_state(TIME_WAIT)
    r = arrive(before, from_peer(302, 102, ACK))
    assert r.rules == ("ack-duplicate",)
    assert wire(r) == []
    assert r.endpoint == before


# =============================================================================================
# §3.10.7.4 seventh step: the segment text
# =============================================================================================


@pytest.mark.parametrize("state", [ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2])
def test_in_order_data_is_delivered_and_acknowledged(state):
    """§3.10.7.4 seventh, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: "it advances RCV.NXT over the data accepted" and
    "Send an acknowledgment of the form: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"."""
    before = in_state(state)
    r = arrive(before, peer_data(301, before.snd_una))
    assert r.rules == ("ack-duplicate", "text-in-order")
    assert wire(r) == [Segment(before.snd_nxt, 302, ACK)]
    assert changed(before, r.endpoint) == {"rcv_nxt": 302, "delivered": ((PEER_INC, 1),)}


def test_data_with_an_ack_of_our_data_is_acknowledged_once():
    """§3.10.7.4 fifth then seventh; MUST-58 "aggregate ACK segments": one ACK for the whole event."""
    before = in_state(ESTABLISHED, sent=1, snd_nxt=102)
    r = arrive(before, peer_data(301, 102))
    assert r.rules == ("ack-new", "text-in-order")
    assert wire(r) == [Segment(102, 302, ACK)]
    assert changed(before, r.endpoint) == {"snd_una": 102, "rcv_nxt": 302, "delivered": ((PEER_INC, 1),)}


def test_data_completing_the_handshake_is_delivered():
    """§3.10.7.4 fifth, SYN-RECEIVED: "enter ESTABLISHED state and continue processing"; seventh: deliver."""
    before = in_state(SYN_RECEIVED)
    r = arrive(before, peer_data(301, 101))
    assert r.rules == ("syn-received-ack", "text-in-order")
    assert wire(r) == [Segment(101, 302, ACK)]
    assert changed(before, r.endpoint) == {
        "state": ESTABLISHED,
        "snd_una": 101,
        "rcv_nxt": 302,
        "delivered": ((PEER_INC, 1),),
    }


def test_in_order_data_at_the_last_sequence_number_wraps_rcv_nxt():
    """§3.10.7.4 seventh, modulo 2**32: a unit at RCV.NXT = 2**32-1 moves RCV.NXT to 0."""
    before = in_state(ESTABLISHED, irs=WRAP - 1)
    r = arrive(before, peer_data(WRAP, 101, irs=WRAP - 1))
    assert wire(r) == [Segment(101, 0, ACK)]
    assert r.endpoint.rcv_nxt == 0


def test_data_ahead_of_rcv_nxt_is_held():
    """§3.10.7.4 first: "Segments with higher beginning sequence numbers SHOULD be held for later processing
    (SHLD-31)"; MAY-13: "send an ACK segment acknowledging RCV.NXT when a valid segment arrives that is in the
    window but not at the left window edge".  RCV.NXT does not move; nothing is delivered."""
    before = in_state(ESTABLISHED)
    unit_2 = peer_data(302, 101)
    r = arrive(before, unit_2)
    assert r.rules == ("ack-duplicate", "text-ahead")
    assert wire(r) == [Segment(101, 301, ACK)]
    assert changed(before, r.endpoint) == {"held": (unit_2,)}


def test_missing_data_releases_the_held_data_in_order():
    """§3.10.7.4 first: "further processing is done in SEG.SEQ order"; MUST-59: "if the TCP endpoint is
    processing a series of queued segments, it MUST process them all before sending any ACK segments"."""
    waiting = arrive(in_state(ESTABLISHED), peer_data(302, 101)).endpoint
    r = arrive(waiting, peer_data(301, 101))
    assert r.rules == ("ack-duplicate", "text-in-order", "text-in-order")
    assert wire(r) == [Segment(101, 303, ACK)]
    assert changed(waiting, r.endpoint) == {"rcv_nxt": 303, "held": (), "delivered": ((PEER_INC, 1), (PEER_INC, 2))}


def test_held_data_is_released_across_the_wrap():
    """§3.10.7.4 first and seventh, modulo 2**32: unit 1 at 2**32-1 releases unit 2 held at 0."""
    irs = WRAP - 1
    waiting = arrive(in_state(ESTABLISHED, irs=irs), peer_data(0, 101, irs=irs)).endpoint
    assert waiting.rcv_nxt == WRAP
    r = arrive(waiting, peer_data(WRAP, 101, irs=irs))
    assert wire(r) == [Segment(101, 1, ACK)]
    assert r.endpoint.delivered == ((PEER_INC, 1), (PEER_INC, 2))


@pytest.mark.parametrize("state", [CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT])
def test_data_after_the_peers_fin_is_ignored(state):
    """§3.10.7.4 seventh, CLOSE-WAIT ... TIME-WAIT: "This should not occur since a FIN has been received from
    the remote side.  Ignore the segment text"."""
    before = in_state(state)
    r = arrive(before, peer_data(before.rcv_nxt, before.snd_una))
    assert r.rules == ("ack-duplicate", "text-after-fin")
    assert wire(r) == []
    assert r.endpoint == before


# =============================================================================================
# §3.10.7.4 eighth step: the FIN bit
# =============================================================================================


def test_fin_in_established_enters_close_wait():
    """§3.10.7.4 eighth: "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN";
    ESTABLISHED: "Enter the CLOSE-WAIT state"."""
    before = in_state(ESTABLISHED)
    r = arrive(before, from_peer(301, 101, FIN | ACK))
    assert r.rules == ("ack-duplicate", "fin-established")
    assert wire(r) == [Segment(101, 302, ACK)]
    assert changed(before, r.endpoint) == {"state": CLOSE_WAIT, "rcv_nxt": 302}


def test_fin_in_syn_received_enters_close_wait():
    """§3.10.7.4 eighth, SYN-RECEIVED and ESTABLISHED: "Enter the CLOSE-WAIT state" (the ACK of our SYN moved
    the connection to ESTABLISHED in the fifth step)."""
    before = in_state(SYN_RECEIVED)
    r = arrive(before, from_peer(301, 101, FIN | ACK))
    assert r.rules == ("syn-received-ack", "fin-established")
    assert wire(r) == [Segment(101, 302, ACK)]
    assert changed(before, r.endpoint) == {"state": CLOSE_WAIT, "snd_una": 101, "rcv_nxt": 302}
    assert moves(r) == [(SYN_RECEIVED, ESTABLISHED, "syn-received-ack"), (ESTABLISHED, CLOSE_WAIT, "fin-established")]


def test_fin_in_fin_wait_1_enters_closing():
    """§3.10.7.4 eighth, FIN-WAIT-1: "If our FIN has been ACKed ... enter TIME-WAIT ...; otherwise, enter the
    CLOSING state"."""
    before = in_state(FIN_WAIT_1)
    r = arrive(before, from_peer(301, 101, FIN | ACK))
    assert r.rules == ("ack-duplicate", "fin-fin-wait-1")
    assert wire(r) == [Segment(102, 302, ACK)]
    assert changed(before, r.endpoint) == {"state": CLOSING, "rcv_nxt": 302}


@pytest.mark.parametrize(("msl", "time_wait_timer"), [(None, 0), (2, 4)])
def test_fin_acking_our_fin_in_fin_wait_1_enters_time_wait(msl, time_wait_timer):
    """Figure 5 Note 2: "a transition from FIN-WAIT-1 to TIME-WAIT if a FIN is received and the local FIN is
    also acknowledged"; §3.10.7.4 eighth: "If our FIN has been ACKed (perhaps in this segment), then enter
    TIME-WAIT, start the time-wait timer, turn off the other timers" (2 MSL = 4 ticks when MSL = 2)."""
    before = in_state(FIN_WAIT_1, timer=0, retries=1)
    r = arrive(before, from_peer(301, 102, FIN | ACK), retries=2, msl=msl)
    assert r.rules == ("fin-wait-1-ack-of-fin", "fin-fin-wait-2")
    assert wire(r) == [Segment(102, 302, ACK)]
    assert changed(before, r.endpoint).keys() <= {"state", "snd_una", "rcv_nxt", "retries", "timer"}
    assert (r.endpoint.state, r.endpoint.snd_una, r.endpoint.rcv_nxt) == (TIME_WAIT, 102, 302)
    assert (r.endpoint.retries, r.endpoint.timer) == (0, time_wait_timer)
    assert moves(r) == [
        (FIN_WAIT_1, FIN_WAIT_2, "fin-wait-1-ack-of-fin"),
        (FIN_WAIT_2, TIME_WAIT, "fin-fin-wait-2"),
    ]


@pytest.mark.parametrize(("msl", "time_wait_timer"), [(None, 0), (2, 4)])
def test_fin_in_fin_wait_2_enters_time_wait(msl, time_wait_timer):
    """§3.10.7.4 eighth, FIN-WAIT-2: "Enter the TIME-WAIT state.  Start the time-wait timer, turn off the other
    timers"."""
    before = in_state(FIN_WAIT_2)
    r = arrive(before, from_peer(301, 102, FIN | ACK), msl=msl)
    assert r.rules == ("ack-duplicate", "fin-fin-wait-2")
    assert wire(r) == [Segment(102, 302, ACK)]
    assert changed(before, r.endpoint) == {"state": TIME_WAIT, "rcv_nxt": 302, "timer": time_wait_timer}


@pytest.mark.parametrize(
    ("state", "rule"),
    [(CLOSE_WAIT, "fin-again"), (CLOSING, "fin-again"), (LAST_ACK, "fin-again"), (TIME_WAIT, "fin-time-wait")],
)
def test_fin_at_rcv_nxt_after_the_peers_fin_remains(state, rule):
    """§3.10.7.4 eighth, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "Remain in the ... state" (and TIME-WAIT:
    "Restart the 2 MSL time-wait timeout").  Only a misbehaving peer sends a FIN at RCV.NXT here; the step
    still advances RCV.NXT over it and acknowledges it."""
    before = in_state(state, timer=1 if state is TIME_WAIT else TIMER_OFF)
    r = arrive(before, from_peer(before.rcv_nxt, before.snd_una, FIN | ACK), msl=2)
    assert r.rules == ("ack-duplicate", rule)
    assert wire(r) == [Segment(before.snd_nxt, before.rcv_nxt + 1, ACK)]
    expected = {"rcv_nxt": before.rcv_nxt + 1}
    if state is TIME_WAIT:
        expected["timer"] = 4
    assert changed(before, r.endpoint) == expected


@pytest.mark.parametrize(("msl", "timer_before", "timer_after"), [(None, 0, 0), (2, 1, 4)])
def test_time_wait_acknowledges_a_retransmitted_fin_and_restarts_the_timer(msl, timer_before, timer_after):
    """§3.10.7.4 fifth, TIME-WAIT: "The only thing that can arrive in this state is a retransmission of the
    remote FIN.  Acknowledge it, and restart the 2 MSL timeout".  (The FIN at 301 is below RCV.NXT = 302; the
    spec answers it in the first step.)"""
    before = in_state(TIME_WAIT, timer=timer_before)
    r = arrive(before, from_peer(301, 102, FIN | ACK), msl=msl)
    assert r.rules == ("time-wait-fin-again",)
    assert wire(r) == [Segment(102, 302, ACK)]
    assert changed(before, r.endpoint) == ({"timer": timer_after} if timer_after != timer_before else {})


@pytest.mark.parametrize("state", [CLOSE_WAIT, CLOSING, LAST_ACK])
def test_retransmitted_fin_is_acknowledged_by_the_first_step(state):
    """§3.10.7.4 first: a retransmitted FIN lies below RCV.NXT, so it is "not acceptable" and answered with
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, which acknowledges the FIN again."""
    before = in_state(state)
    r = arrive(before, from_peer(301, before.snd_una, FIN | ACK))
    assert r.rules == ("unacceptable",)
    assert wire(r) == [Segment(before.snd_nxt, 302, ACK)]
    assert r.endpoint == before


def test_fin_ahead_of_missing_data_waits_for_the_data():
    """§3.10.7.4 first (SHLD-31) and eighth: the FIN at 302 follows unit 1 at 301, which is missing; the FIN
    is held and RCV.NXT stays; when unit 1 arrives, both are processed in order and acknowledged once."""
    before = in_state(ESTABLISHED)
    fin = from_peer(302, 101, FIN | ACK)
    held = arrive(before, fin)
    assert held.rules == ("ack-duplicate", "text-ahead")
    assert wire(held) == [Segment(101, 301, ACK)]
    assert changed(before, held.endpoint) == {"held": (fin,)}

    r = arrive(held.endpoint, peer_data(301, 101))
    assert r.rules == ("ack-duplicate", "text-in-order", "fin-established")
    assert wire(r) == [Segment(101, 303, ACK)]
    assert changed(held.endpoint, r.endpoint) == {
        "state": CLOSE_WAIT,
        "rcv_nxt": 303,
        "held": (),
        "delivered": ((PEER_INC, 1),),
    }


def test_fin_ahead_in_fin_wait_2_waits_then_enters_time_wait():
    """§3.10.7.4 eighth, FIN-WAIT-2, after the held FIN's missing data arrives: "Enter the TIME-WAIT state"."""
    waiting = arrive(in_state(FIN_WAIT_2), from_peer(302, 102, FIN | ACK)).endpoint
    assert (waiting.state, waiting.rcv_nxt) == (FIN_WAIT_2, 301)
    r = arrive(waiting, peer_data(301, 102))
    assert r.endpoint.state is TIME_WAIT
    assert wire(r) == [Segment(102, 303, ACK)]


# =============================================================================================
# §3.10.8 Timeouts (retries = 2: two retransmissions, then give up)
# =============================================================================================

RETRIES = 2


def test_active_open_starts_the_retransmission_timer():
    """§3.8.1 via §3.10.1: the SYN is on the retransmission queue.  Untimed: a running timer is 0 ("may expire
    at any moment"); timed: RTO ticks."""
    assert user(Endpoint(), Call.OPEN, retries=RETRIES).endpoint.timer == 0
    assert user(Endpoint(), Call.OPEN, retries=RETRIES, msl=2, rto=3).endpoint.timer == 3
    assert user(Endpoint(), Call.OPEN).endpoint.timer == TIMER_OFF  # no retransmission configured


def test_retransmission_timeout_resends_the_syn():
    """§3.10.8 RETRANSMISSION TIMEOUT: "send the segment at the front of the retransmission queue again,
    reinitialize the retransmission timer, and return"."""
    before = in_state(SYN_SENT, timer=0)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("retransmit-syn",)
    assert wire(r) == [Segment(100, 0, SYN)]
    assert changed(before, r.endpoint) == {"retries": 1}  # timer reinitialized: 0 again when untimed


def test_retransmission_timeout_reinitializes_a_timed_timer():
    """§3.10.8: "reinitialize the retransmission timer" -- RTO ticks in a timed configuration."""
    before = in_state(SYN_SENT, timer=0)
    r = expire(before, retries=RETRIES, msl=2, rto=3)
    assert changed(before, r.endpoint) == {"retries": 1, "timer": 3}


def test_retransmission_timeout_resends_the_syn_ack():
    """§3.10.8 RETRANSMISSION TIMEOUT in SYN-RECEIVED: the SYN,ACK <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>."""
    before = in_state(SYN_RECEIVED, timer=0)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("retransmit-syn-ack",)
    assert wire(r) == [Segment(100, 301, SYN | ACK)]
    assert changed(before, r.endpoint) == {"retries": 1}


def test_retransmission_timeout_after_close_in_syn_received_resends_the_syn_ack():
    """§3.10.4 then §3.10.8: a CLOSE in SYN-RECEIVED sent the FIN (at 101) behind the unacknowledged SYN (at
    100); in FIN-WAIT-1 the SYN,ACK is still at the front of the retransmission queue.  (Found by the random
    configurations: without this rule no rule answered the timer.)"""
    before = in_state(SYN_RECEIVED, timer=0)._replace(state=FIN_WAIT_1, snd_nxt=102)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("retransmit-syn-ack-after-close",)
    assert wire(r) == [Segment(100, 301, SYN | ACK)]
    assert changed(before, r.endpoint) == {"retries": 1}


def test_retransmission_timeout_resends_the_data_at_snd_una():
    """§3.10.8 RETRANSMISSION TIMEOUT: units 1 and 2 sent, unit 1 acknowledged: unit 2 at SND.UNA = 102 is at
    the front of the retransmission queue."""
    before = in_state(ESTABLISHED, sent=2, snd_una=102, snd_nxt=103, timer=0)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("retransmit-data",)
    assert wire(r) == [Segment(102, 301, ACK | PSH, 2, size=1)]
    assert changed(before, r.endpoint) == {"retries": 1}


def test_retransmission_timeout_resends_data_before_the_fin():
    """§3.10.8: in FIN-WAIT-1 with unit 1 (at 101) and the FIN (at 102) unacknowledged, the data is in front."""
    before = in_state(FIN_WAIT_1, sent=1, snd_nxt=103, timer=0)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("retransmit-data",)
    assert wire(r) == [Segment(101, 301, ACK | PSH, 1, size=1)]


@pytest.mark.parametrize(("state", "ack"), [(FIN_WAIT_1, 301), (CLOSING, 302), (LAST_ACK, 302)])
def test_retransmission_timeout_resends_the_fin(state, ack):
    """§3.10.8 RETRANSMISSION TIMEOUT: only our FIN is unacknowledged: <SEQ=SND.UNA><ACK=RCV.NXT><CTL=FIN,ACK>."""
    before = in_state(state, timer=0)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("retransmit-fin",)
    assert wire(r) == [Segment(101, ack, FIN | ACK)]
    assert changed(before, r.endpoint) == {"retries": 1}


@pytest.mark.parametrize(
    "before",
    [
        in_state(SYN_SENT),
        in_state(ESTABLISHED, sent=1, snd_nxt=102),
        in_state(CLOSE_WAIT, sent=1, snd_nxt=102),
        in_state(FIN_WAIT_1),
        in_state(CLOSING),
        in_state(LAST_ACK),
        in_state(SYN_RECEIVED, passive=False),
    ],
    ids=lambda ep: str(ep.state),
)
def test_give_up_after_the_last_retransmission(before):
    """§3.8.3 (c): "When the number of transmissions of the same segment reaches a threshold R2 ... close the
    connection"; §3.10.8 USER TIMEOUT: "signal the user ... delete the TCB, enter the CLOSED state"."""
    before = before._replace(timer=0, retries=RETRIES)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("give-up-active-open" if before.state is SYN_RECEIVED else "give-up",)
    assert wire(r) == []
    assert_deleted(before, r, Outcome.TIMED_OUT)


def test_give_up_in_passive_syn_received_returns_to_listen():
    """§3.8.3 (c) "close the connection"; the spec (RFC-AMBIGUITY in spec/timeouts.py) drops only the
    half-open connection and keeps the user's passive OPEN, as for a RST (Note 1)."""
    before = in_state(SYN_RECEIVED, timer=0, retries=RETRIES)
    r = expire(before, retries=RETRIES)
    assert r.rules == ("give-up-passive-open",)
    assert wire(r) == []
    assert r.endpoint == Endpoint(state=LISTEN, inc=LOCAL_INC, passive=True)


def test_syn_is_sent_retries_plus_one_times_then_the_open_times_out():
    """§3.10.8 and §3.8.3: with retries = 2 the SYN is retransmitted twice; the third timeout gives up."""
    ep = user(Endpoint(), Call.OPEN, retries=RETRIES).endpoint
    rules = []
    for _ in range(RETRIES + 1):
        r = expire(ep, retries=RETRIES)
        rules.extend(r.rules)
        ep = r.endpoint
    assert rules == ["retransmit-syn", "retransmit-syn", "give-up"]
    assert ep.history[-1].outcome is Outcome.TIMED_OUT


def test_new_ack_resets_the_retransmission_count_and_timer():
    """§3.10.7.4 fifth with RFC 6298 §5.3 (cited by §3.8.1): a new ACK with data still outstanding restarts the
    timer; the count of retransmissions starts again.  When everything is acknowledged, the timer stops."""
    before = in_state(ESTABLISHED, sent=2, snd_nxt=103, timer=0, retries=1)
    partly = arrive(before, from_peer(301, 102, ACK), retries=RETRIES, msl=2, rto=3)
    assert changed(before, partly.endpoint) == {"snd_una": 102, "retries": 0, "timer": 3}
    fully = arrive(before, from_peer(301, 103, ACK), retries=RETRIES)
    assert changed(before, fully.endpoint) == {"snd_una": 103, "retries": 0, "timer": TIMER_OFF}


@pytest.mark.parametrize("retries", [None, RETRIES])
def test_time_wait_timeout_deletes_the_tcb(retries):
    """§3.10.8 TIME-WAIT TIMEOUT: "If the time-wait timeout expires on a connection, delete the TCB, enter the
    CLOSED state, and return"."""
    before = in_state(TIME_WAIT)
    r = expire(before, retries=retries)
    assert r.rules == ("time-wait-timeout",)
    assert wire(r) == []
    assert_deleted(before, r, Outcome.CLOSED)


def test_no_timeout_without_a_running_timer():
    """§3.10.8: a timeout needs a timer that expired: stopped (TIMER_OFF) or still counting (timed, 1 tick
    left), nothing happens; without a retransmission timer configured, nothing is retransmitted."""
    assert try_react(in_state(SYN_SENT, timer=TIMER_OFF), "timeout", retries=RETRIES) is None
    assert try_react(in_state(SYN_SENT, timer=1), "timeout", retries=RETRIES, msl=2) is None
    assert try_react(in_state(SYN_SENT, timer=0), "timeout") is None
    assert try_react(in_state(ESTABLISHED, timer=0), "timeout", retries=RETRIES) is None  # nothing outstanding


# =============================================================================================
# TCP's output: what SEND and CLOSE queued (§3.10.2, §3.10.4)
# =============================================================================================


def test_output_waits_while_the_window_is_full():
    """§3.10.2 with §3.8: two units in flight fill the window of 2; the queued unit waits."""
    assert try_react(in_state(ESTABLISHED, sent=2, snd_nxt=103, queued=1), "output") is None


def test_output_segmentizes_queued_data_when_the_window_opens():
    """§3.10.2 ESTABLISHED: "Segmentize the buffer and send it with a piggybacked acknowledgment" once the
    peer's ACK opens the window."""
    full = in_state(ESTABLISHED, sent=2, snd_nxt=103, queued=1)
    opened = arrive(full, from_peer(301, 103, ACK)).endpoint
    r = output(opened)
    assert r.rules == ("segmentize-queued-data-established",)
    assert wire(r) == [Segment(103, 301, ACK | PSH, 3, size=1)]
    assert changed(opened, r.endpoint) == {"queued": 0, "sent": 3, "snd_nxt": 104}


def test_output_has_nothing_to_do_without_queued_data():
    """Nothing queued, no CLOSE pending: no output rule applies."""
    assert try_react(in_state(ESTABLISHED), "output") is None
    assert try_react(in_state(FIN_WAIT_1), "output") is None


def test_queued_close_sends_its_fin_after_the_queued_data():
    """§3.10.4 ESTABLISHED: "Queue this until all preceding SENDs have been segmentized, then form a FIN
    segment and send it.  In any case, enter FIN-WAIT-1 state"."""
    ep = user(in_state(ESTABLISHED, sent=2, snd_nxt=103, queued=1), Call.CLOSE).endpoint
    assert (ep.state, ep.close_queued) == (FIN_WAIT_1, True)
    assert try_react(ep, "output") is None  # window full
    ep = arrive(ep, from_peer(301, 103, ACK)).endpoint
    assert ep.state is FIN_WAIT_1, "SND.NXT is acknowledged, but no FIN has been sent yet"

    data = output(ep)
    assert data.rules == ("segmentize-queued-data",)
    assert wire(data) == [Segment(103, 301, ACK | PSH, 3, size=1)]
    fin = output(data.endpoint)
    assert fin.rules == ("queued-fin",)
    assert wire(fin) == [Segment(104, 301, FIN | ACK)]
    assert changed(data.endpoint, fin.endpoint) == {"snd_nxt": 105, "close_queued": False}
    assert try_react(fin.endpoint, "output") is None


def test_queued_close_in_close_wait_sends_fin_after_the_data():
    """§3.10.4 CLOSE-WAIT: "Queue this request until all preceding SENDs have been segmentized; then send a
    FIN segment, enter LAST-ACK state"."""
    ep = in_state(CLOSE_WAIT, sent=2, snd_una=103, snd_nxt=103, queued=1, close_queued=True)
    data = output(ep)
    assert wire(data) == [Segment(103, 302, ACK | PSH, 3, size=1)]
    fin = output(data.endpoint)
    assert fin.rules == ("queued-close-close-wait",)
    assert wire(fin) == [Segment(104, 302, FIN | ACK)]
    assert fin.endpoint.state is LAST_ACK


def test_close_queued_in_syn_received_is_processed_in_established():
    """§3.10.4 SYN-RECEIVED: "otherwise, queue for processing after entering ESTABLISHED state" -- here the
    user's data was already segmentized, so on output the FIN goes out and FIN-WAIT-1 is entered."""
    ep = in_state(ESTABLISHED, close_queued=True)
    r = output(ep)
    assert r.rules == ("queued-close-established",)
    assert wire(r) == [Segment(101, 301, FIN | ACK)]
    assert changed(ep, r.endpoint) == {"state": FIN_WAIT_1, "snd_nxt": 102, "close_queued": False}


def test_close_queued_in_syn_received_with_data_and_window_full_enters_fin_wait_1():
    """§3.10.4 ESTABLISHED: "In any case, enter FIN-WAIT-1 state" -- the FIN still waits for the data."""
    ep = in_state(ESTABLISHED, sent=2, snd_nxt=103, queued=1, close_queued=True)
    r = output(ep)
    assert r.rules == ("queued-close-established-with-data",)
    assert wire(r) == []
    assert changed(ep, r.endpoint) == {"state": FIN_WAIT_1}


def test_send_and_close_queued_in_syn_received_go_out_in_order():
    """§3.10.2 SYN-RECEIVED "Queue the data ... after entering ESTABLISHED" and §3.10.4 SYN-RECEIVED "queue for
    processing after entering ESTABLISHED": the data goes out first, then the FIN, ending in FIN-WAIT-1."""
    ep = in_state(SYN_RECEIVED, queued=1)
    ep = user(ep, Call.CLOSE).endpoint
    ep = arrive(ep, from_peer(301, 101, ACK)).endpoint
    assert ep.state is ESTABLISHED
    sent: list[Segment] = []
    for _ in range(5):
        r = try_react(ep, "output")
        if r is None:
            break
        sent.extend(wire(r))
        ep = r.endpoint
    assert sent == [Segment(101, 301, ACK | PSH, 1, size=1), Segment(102, 301, FIN | ACK)]
    assert ep.state is FIN_WAIT_1


# =============================================================================================
# Waiting for TCP's signals (§3.9.1.8 asynchronous reports; not RFC calls, the model's users block)
# =============================================================================================


@pytest.mark.parametrize(
    ("call", "rule", "completes_in"),
    [
        (Call.WAIT_OPEN, "open-completed", SYNCHRONIZED | {CLOSED}),
        (Call.WAIT_EOF, "peer-closed", {CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT, CLOSED}),
        (Call.WAIT_CLOSED, "connection-gone", {CLOSED}),
    ],
)
@pytest.mark.parametrize("state", sorted(ALL_STATES))
def test_waits_complete_only_once_tcp_has_signalled(state, call, rule, completes_in):
    """§3.9.1.8 and §3.6 ("the TCP implementation will signal a user ... that the remote peer has closed"): a
    wait returns, changing nothing but the user's progress, once the OPEN completed / the peer's FIN arrived /
    the TCB is gone; before that the user stays blocked (no rule applies)."""
    before = in_state(state)
    r = try_react(before, "call", call=call)
    if state in completes_in:
        assert r is not None
        assert r.rules == (rule,)
        assert wire(r) == []
        assert r.endpoint == before._replace(pc=before.pc + 1)
    else:
        assert r is None


# =============================================================================================
# Determinism: exactly one rule per step, for every segment the model produces, in every state
# =============================================================================================

#: Control-bit combinations the model's endpoints put on the wire.
WIRE_FLAGS = {
    "SYN": SYN,
    "SYN,ACK": SYN | ACK,
    "ACK": ACK,
    "ACK,PSH+data": ACK | PSH,
    "FIN,ACK": FIN | ACK,
    "RST": RST,
    "RST,ACK": RST | ACK,
}

#: Realistic endpoints: every state, with and without data in flight or queued.
VARIANTS = {
    "CLOSED": in_state(CLOSED),
    "LISTEN": in_state(LISTEN),
    "SYN-SENT": in_state(SYN_SENT),
    "SYN-SENT+queued": in_state(SYN_SENT, queued=1),
    "SYN-RECEIVED passive": in_state(SYN_RECEIVED),
    "SYN-RECEIVED active": in_state(SYN_RECEIVED, passive=False),
    "ESTABLISHED": in_state(ESTABLISHED),
    "ESTABLISHED+in flight": in_state(ESTABLISHED, sent=2, snd_una=102, snd_nxt=103),
    "ESTABLISHED+held": in_state(ESTABLISHED, held=(peer_data(302, 101),)),
    "FIN-WAIT-1": in_state(FIN_WAIT_1),
    "FIN-WAIT-1+data before FIN": in_state(FIN_WAIT_1, sent=1, snd_nxt=103),
    "FIN-WAIT-1+CLOSE queued": in_state(FIN_WAIT_1, sent=2, snd_nxt=103, queued=1, close_queued=True),
    "FIN-WAIT-2": in_state(FIN_WAIT_2),
    "CLOSE-WAIT": in_state(CLOSE_WAIT),
    "CLOSE-WAIT+in flight": in_state(CLOSE_WAIT, sent=1, snd_nxt=102),
    "CLOSING": in_state(CLOSING),
    "LAST-ACK": in_state(LAST_ACK),
    "TIME-WAIT": in_state(TIME_WAIT),
}


def near_the_wrap(ep: Endpoint) -> Endpoint:
    """The same connection with ISS = 2**32-2 and IRS = 2**32-2: SND.UNA and RCV.NXT sit at 2**32-1 and the
    numbers after them wrap to 0."""
    send_by, receive_by = WRAP - 1 - LOCAL_ISS, WRAP - 1 - PEER_ISS
    if ep.state in (CLOSED, LISTEN):
        return ep
    moved = {name: mod32(getattr(ep, name) + send_by) for name in ("iss", "snd_una", "snd_nxt")}
    if ep.state is not SYN_SENT:
        moved |= {"irs": mod32(ep.irs + receive_by), "rcv_nxt": mod32(ep.rcv_nxt + receive_by)}
    held = tuple(h._replace(seq=mod32(h.seq + receive_by), ack=mod32(h.ack + send_by)) for h in ep.held)
    return ep._replace(held=held, **moved)


def grid(ep: Endpoint) -> list[Segment]:
    """Every wire flag combination x SEG.SEQ below / at / inside / beyond the window x SEG.ACK below SND.UNA /
    at SND.UNA / at SND.NXT / beyond SND.NXT."""
    irs = ep.irs if ep.state in OTHER_STATES else PEER_ISS
    rcv_nxt = ep.rcv_nxt if ep.state in OTHER_STATES else PEER_ISS
    seqs = [mod32(rcv_nxt - 1), rcv_nxt, mod32(rcv_nxt + 1), mod32(rcv_nxt + WINDOW)]
    acks = [mod32(ep.snd_una - 1), ep.snd_una, ep.snd_nxt, mod32(ep.snd_nxt + 1)]
    segs = []
    for flags, at, ack in itertools.product(WIRE_FLAGS.values(), seqs, acks):
        unit = max(mod32(at - irs), 1) if flags & PSH else 0
        segs.append(from_peer(at, ack if flags & ACK else 0, flags, unit))
    return segs


#: The configuration switches that choose between rules: (rfc5961, rfc1337).
SWITCHES = [(True, False), (False, False), (True, True)]


@pytest.mark.parametrize(("rfc5961", "rfc1337"), SWITCHES, ids=["rfc5961", "rfc793", "rfc5961+rfc1337"])
@pytest.mark.parametrize("wrapped", [False, True], ids=["iss=100", "iss=2**32-2"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_segment_gets_exactly_one_rule_per_step(name, wrapped, rfc5961, rfc1337):
    """§3.10.7: the processing of an arriving segment is defined for every state and every segment, and at
    each step at most one paragraph applies: ``react`` never raises AmbiguousRules or IncompleteRules."""
    ep = near_the_wrap(VARIANTS[name]) if wrapped else VARIANTS[name]
    m = machine(config(rfc5961=rfc5961, rfc1337=rfc1337))
    for seg in grid(ep):
        r = m.react(A, ep, "segment", seg=seg)
        assert r is not None and r.rules, f"{name}: nothing handles {seg}"


@pytest.mark.parametrize(("rfc5961", "rfc1337"), SWITCHES, ids=["rfc5961", "rfc793", "rfc5961+rfc1337"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_reset_is_never_answered_with_a_reset(name, rfc5961, rfc1337):
    """§3.5.2: "a reset is sent in response to any incoming segment except another reset" -- in no state does
    a segment carrying RST make the spec send a RST."""
    ep = VARIANTS[name]
    m = machine(config(rfc5961=rfc5961, rfc1337=rfc1337))
    for seg in grid(ep):
        if seg.RST:
            r = m.react(A, ep, "segment", seg=seg)
            assert r is not None
            assert not any(s.RST for s in r.sent), f"{name}: {seg} answered with {r.sent}"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_calls_timeouts_and_output_are_deterministic(name):
    """§3.10.1-§3.10.5, §3.10.8: every user call, timeout and output event is handled by at most one rule
    (``react`` raises AmbiguousRules otherwise; returning None -- nothing to do -- is fine)."""
    ep = VARIANTS[name]
    for retries in (None, RETRIES):
        m = machine(config(retries=retries))
        for kind, call in [("output", None), ("timeout", None), *(("call", c) for c in Call)]:
            for timer, tries in [(TIMER_OFF, 0), (0, 0), (0, RETRIES)]:
                m.react(A, ep._replace(timer=timer, retries=tries), kind, call=call)
