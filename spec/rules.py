"""The form every RFC 9293 event rule takes, and the vocabulary its body may use.

A rule is a plain function decorated with :func:`rule`.  The decorator records
what the diagrams and checks need to know without running it: the event it
handles, the RFC section, the states it applies in, the state it moves to, and
-- for segment arrival -- which step of the section's processing it belongs to
and whether processing returns after it.

The body receives a context ``x`` (:class:`Ctx`) and may only:

* read and write the TCB variables ``x.tcb.<name>`` (see :class:`spec.tcb.Endpoint`),
* read the arriving segment ``x.seg`` and the static configuration ``x.cfg``,
* state its guard with ``x.require(...)`` -- a rule whose guard fails is not enabled,
* act: ``x.send(...)``, ``x.send_ack()``, ``x.choose_iss()``, ``x.deliver()``, ``x.hold()``,
* compute with the helpers of :mod:`spec.seqnum` and ``x.ite(...)``.

There is no Python ``if`` on protocol data in a body: where RFC 9293 says "if
... then ... otherwise ...", there are two rules with complementary guards.
That is what lets one engine run the body on integers and another on symbolic
terms.  Branching on the static configuration (``x.cfg``) is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from spec.config import Call, Config
from spec.seqnum import Value
from spec.states import Outcome, TcpState


class Event(Enum):
    """The three categories of events of RFC 9293 §3.10, and TCP's own output."""

    CALL = "user call"  # §3.10.1-3.10.6, and the user's waits for TCP's signals
    SEGMENT = "segment arrives"  # §3.10.7
    OUTPUT = "output"  # TCP segmentizes data or a FIN queued by an earlier call
    TIMEOUT = "timeout"  # §3.10.8


#: How Figure 5 names the user calls that change state.
CALL_WORDS = {Call.OPEN: "active OPEN", Call.LISTEN: "passive OPEN", Call.SEND_URGENT: "SEND"}

ORDINALS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


class TcbVars(Protocol):
    """The TCB variables a rule reads and writes (the fields of :class:`spec.tcb.Endpoint`)."""

    passive: Any
    iss: Any
    irs: Any
    snd_una: Any
    snd_nxt: Any
    rcv_nxt: Any
    queued: Any
    sent: Any
    close_queued: Any
    retries: Any
    timer: Any
    inc: Any
    peer_inc: Any


class SegVars(Protocol):
    """The fields of the arriving segment a rule reads."""

    seq: Any
    ack: Any
    data: Any
    inc: Any
    SYN: Any
    ACK: Any
    FIN: Any
    RST: Any
    PSH: Any
    URG: Any
    has_text: Any
    text_len: Any
    len: Any


class Ctx(Protocol):
    """What a rule body can see and do; each engine supplies its own implementation."""

    tcb: TcbVars
    seg: SegVars
    cfg: Config

    def require(self, *conditions: Value) -> None:
        """The rule is enabled only if every condition holds."""

    def send(self, *, seq: Value, flags: int, ack: Value = 0, data: Value = 0) -> None:
        """Put a segment on the network towards the peer (carrying data unit ``data``, if not 0)."""

    def unit_size(self, unit: Value) -> Value:
        """Octets of this endpoint's data unit ``unit``: what the user's SEND of it handed to TCP."""

    def unit_starting_at(self, offset: Value) -> Value:
        """The data unit whose first octet lies ``offset`` octets after ISS, or 0 if none begins there."""

    def send_ack(self) -> None:
        """Send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> once this event's processing is over (MUST-58)."""

    def choose_iss(self) -> Value:
        """Select an ISS (RFC 9293 §3.4.1): one of the configuration's values for this incarnation."""

    def deliver(self) -> None:
        """Hand the arriving segment's data to the user (RFC 9293 §3.10.7.4, seventh step)."""

    def hold(self) -> None:
        """Keep the arriving segment for processing once RCV.NXT reaches it (SHLD-31)."""

    def data_flags(self, unit: Value) -> Value:
        """Control bits of a segment carrying data unit ``unit``: ACK, PSH, and URG if it was urgent."""

    def ite(self, condition: Value, then: Value, otherwise: Value) -> Value:
        """``then`` if ``condition`` holds, else ``otherwise`` (a value, not control flow)."""


Body = Callable[[Ctx], None]


@dataclass(frozen=True)
class Rule:
    """One RFC 9293 event rule: metadata, and the body that enables and performs it."""

    name: str
    event: Event
    section: str  # "3.10.7.4"
    states: frozenset[TcpState]
    body: Body
    doc: str
    to: TcpState | None = None  # the state it moves to; None = unchanged
    step: int = 1  # for Event.SEGMENT: the step of the section's processing (1 = "first")
    ends: bool = True  # for Event.SEGMENT: processing returns after this rule
    calls: frozenset[Call] = frozenset()  # for Event.CALL: the calls it handles
    outcome: Outcome | None = None  # when moving to CLOSED: what the user is told
    when: Callable[[Config], bool] | None = None  # a static condition on the configuration
    sends: str = ""  # what it sends, for diagrams: "SYN,ACK"
    on: str = ""  # the event as RFC 9293 Figure 5 words it: "rcv ACK of FIN", "Timeout=2MSL"

    def __call__(self, x: Ctx) -> None:
        self.body(x)

    def applies(self, config: Config) -> bool:
        """Whether the rule belongs to the model of ``config``."""
        return self.when is None or self.when(config)

    @property
    def trigger(self) -> str:
        """The event, as Figure 5 labels an edge: ``rcv SYN``, ``active OPEN``, ``CLOSE``."""
        if self.on:
            return self.on
        names = sorted(CALL_WORDS.get(c, c.name) for c in self.calls)
        return " or ".join(dict.fromkeys(names)) or self.event.value

    @property
    def action(self) -> str:
        """What it does, as Figure 5 labels an edge: ``create TCB, snd SYN``, ``delete TCB``, ``x`` (nothing)."""
        parts = []
        if self.to is not None and self.to is not TcpState.CLOSED and self.states == {TcpState.CLOSED}:
            parts.append("create TCB")
        if self.sends:
            parts.append(f"snd {self.sends}")
        if self.to is TcpState.CLOSED:
            parts.append("delete TCB")
        return ", ".join(parts) or "x"

    @property
    def citation(self) -> str:
        """``RFC 9293 §3.10.7.4, fifth step``."""
        text = f"RFC 9293 §{self.section}"
        if self.event is Event.SEGMENT and self.section.startswith("3.10.7"):
            text += f", {ORDINALS[self.step]} step"
        return text


def rule(
    event: Event,
    section: str,
    *,
    states: Iterable[TcpState],
    to: TcpState | None = None,
    step: int = 1,
    ends: bool = True,
    calls: Iterable[Call] = (),
    outcome: Outcome | None = None,
    when: Callable[[Config], bool] | None = None,
    sends: str = "",
    on: str = "",
) -> Callable[[Body], Rule]:
    """Declare a rule; the function's name (with dashes) is the rule's name.

    ``sends`` and ``on`` are for diagrams (what the rule sends, and the event as
    Figure 5 words it); a rule that changes state must say ``on`` unless it
    answers a user call, whose name says it.
    """

    def wrap(body: Body) -> Rule:
        doc = (body.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"rule {body.__name__} needs a docstring: one line saying what the RFC says")
        if to is TcpState.CLOSED and outcome is None:
            raise ValueError(f"rule {body.__name__} moves to CLOSED: say which Outcome its user is told")
        if to is not None and event is not Event.CALL and not on:
            raise ValueError(f"rule {body.__name__} changes state: say on= which event, as Figure 5 words it")
        return Rule(
            name=body.__name__.replace("_", "-"),
            event=event,
            section=section,
            states=frozenset(states),
            body=body,
            doc=doc[0],
            to=to,
            step=step,
            ends=ends,
            calls=frozenset(calls),
            outcome=outcome,
            when=when,
            sends=sends,
            on=on,
        )

    return wrap


def with_rfc5961(config: Config) -> bool:
    """The configuration implements RFC 5961's mitigations (as Linux does)."""
    return config.rfc5961


def without_rfc5961(config: Config) -> bool:
    """The configuration follows RFC 793's original RST and SYN processing."""
    return not config.rfc5961


def with_rfc1337(config: Config) -> bool:
    """TIME-WAIT ignores RST segments (RFC 1337's protection against TIME-WAIT assassination)."""
    return config.rfc1337


def without_rfc1337(config: Config) -> bool:
    """TIME-WAIT is ended by a valid RST, as RFC 9293 §3.10.7.4 says."""
    return not config.rfc1337


def with_retransmission(config: Config) -> bool:
    """The configuration has a retransmission timer."""
    return config.retries is not None
