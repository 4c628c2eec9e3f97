"""Broken variants of TCP: each one mechanism of RFC 9293 taken away, as a small declared change.

A student learns why a mechanism exists by seeing what breaks without it.  A
:class:`Variant` is never a copy of the spec: it names the rules it changes and
how (a new body, another target state, no longer applying), or the one bound of
the configuration it changes (TIME-WAIT's duration, the ISS values, the
retransmission timer).  Every engine runs a variant the way it runs the spec:
``Machine(variant.config(c), variant.rules(all_rules()))``.

The variants, and the RFC text each one ignores:

* ``two-way-handshake`` -- a passive OPEN takes the SYN as the whole handshake
  (§3.5: "the principal reason for the three-way handshake is to prevent old
  duplicate connection initiations from causing confusion");
* ``no-time-wait`` -- the active closer deletes its TCB as soon as it has
  acknowledged the peer's FIN (§3.6.1, MUST-13);
* ``short-time-wait`` -- TIME-WAIT lasts one MSL, not two (§3.6.1, §3.4.3);
* ``fin-out-of-order`` -- a FIN is taken as soon as it arrives, even ahead of
  data not yet received (§3.10.7.4, seventh and eighth steps; SHLD-31);
* ``no-retransmission`` -- no retransmission timer (§3.8.1);
* ``any-ack-in-syn-sent`` -- SYN-SENT takes a SYN,ACK whatever it acknowledges
  (§3.10.7.3, first step; §3.5, Figure 8);
* ``fixed-iss`` -- every incarnation selects the same ISS (§3.4.1);
* ``rst-ignored`` -- an acceptable RST changes nothing (§3.5.2, §3.5.3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spec.actions import acknowledge, ahead_of_rcv_nxt, receive_fin, synchronize_with
from spec.config import Config, ConfigError, EndpointConfig
from spec.rules import Ctx, Rule
from spec.states import CLOSED, ESTABLISHED, Outcome

# --- the changed bodies ---------------------------------------------------------------------------


def _never(x: Ctx) -> None:
    """The rule no longer applies."""
    x.require(False)


def _syn_ack_without_third_ack(x: Ctx) -> None:
    """SYN-SENT, fourth, two-way: SYN,ACK: set IRS, RCV.NXT, SND.UNA, enter ESTABLISHED, send nothing."""
    s = x.seg
    x.require(s.SYN, s.ACK)
    synchronize_with(x)
    acknowledge(x)


def _fin_at_once(x: Ctx) -> None:
    """Eighth, broken: FIN: acknowledge it and move on, wherever it lies in the sequence space."""
    x.require(x.seg.FIN)
    receive_fin(x)


def _hold_text_only(x: Ctx) -> None:
    """Seventh, broken: hold text beyond RCV.NXT; a FIN beyond it is not held but taken at once."""
    x.require(ahead_of_rcv_nxt(x), x.seg.has_text)
    x.hold()
    x.send_ack()


# --- what a variant is ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One rule changed: some of its fields replaced (``body``, ``to``, ``sends`` ...)."""

    rule: str
    fields: Mapping[str, Any]
    why: str  # one line: what the changed rule now does

    def apply(self, r: Rule) -> Rule:
        """The changed copy of ``r`` (its name marked, so that traces show which rules are not the RFC's)."""
        changed = dataclasses.replace(r, **dict(self.fields))
        return dataclasses.replace(changed, name=f"{r.name}~{VARIANT_MARK}")


#: What a changed rule's name ends with: ``fin-fin-wait-2~broken``.
VARIANT_MARK = "broken"


def _time_wait_one_msl(config: Config) -> Config:
    if config.msl is None:
        raise ConfigError(f"{config.name} is untimed: short-time-wait needs msl set (TIME-WAIT lasts MSL ticks)")
    return dataclasses.replace(config, time_wait=config.msl)


def _no_retransmission(config: Config) -> Config:
    return dataclasses.replace(config, retries=None)


def _fixed_iss(config: Config) -> Config:
    def first_only(ep: EndpointConfig) -> EndpointConfig:
        return dataclasses.replace(ep, iss=(ep.iss[0],))

    return dataclasses.replace(config, a=first_only(config.a), b=first_only(config.b))


@dataclass(frozen=True)
class Variant:
    """A mechanism of RFC 9293 taken away: the rules changed, or the one bound of the configuration."""

    name: str
    summary: str  # one line: what the variant does differently
    mechanism: str  # the mechanism it takes away, as a noun phrase
    section: str  # the RFC 9293 section that asks for the mechanism: "3.6.1"
    changes: tuple[Change, ...] = ()
    configure: Callable[[Config], Config] | None = field(default=None, compare=False)
    configure_text: str = ""  # what ``configure`` changes, for the catalogue

    def rules(self, base: tuple[Rule, ...]) -> tuple[Rule, ...]:
        """``base`` with this variant's changes made; every changed rule must exist."""
        by_name = {c.rule: c for c in self.changes}
        missing = sorted(set(by_name) - {r.name for r in base})
        if missing:
            raise ValueError(f"variant {self.name} changes rules that do not exist: {', '.join(missing)}")
        return tuple(by_name[r.name].apply(r) if r.name in by_name else r for r in base)

    def config(self, config: Config) -> Config:
        """``config`` with this variant's bound changed, and named after it (ConfigError if it cannot apply)."""
        changed = self.configure(config) if self.configure is not None else config
        return dataclasses.replace(changed, name=f"{config.name}+{self.name}")

    @property
    def changed_rules(self) -> tuple[str, ...]:
        """The names the changed rules have in a trace: ``fin-fin-wait-2~broken``."""
        return tuple(f"{c.rule}~{VARIANT_MARK}" for c in self.changes)


_TO_CLOSED = {"to": CLOSED, "outcome": Outcome.CLOSED, "ends": True}
_IGNORED = {"to": None, "outcome": None}  # the same guard: the RST is recognised, and dropped


def variants() -> tuple[Variant, ...]:
    """Every variant, in the order a course would meet the mechanisms."""
    return (
        Variant(
            "two-way-handshake",
            "a passive OPEN enters ESTABLISHED on the SYN, and the active side sends no third ACK",
            "the three-way handshake",
            "3.5",
            (
                Change("listen-syn", {"to": ESTABLISHED}, "LISTEN: SYN: send SYN,ACK and enter ESTABLISHED at once"),
                Change(
                    "syn-sent-syn-ack",
                    {"body": _syn_ack_without_third_ack, "sends": ""},
                    "SYN-SENT: SYN,ACK: enter ESTABLISHED without acknowledging it",
                ),
            ),
        ),
        Variant(
            "no-time-wait",
            "the active closer deletes its TCB as soon as it has acknowledged the peer's FIN",
            "TIME-WAIT",
            "3.6.1",
            (
                Change("fin-fin-wait-2", _TO_CLOSED, "FIN-WAIT-2: FIN: acknowledge it and enter CLOSED"),
                Change("closing-ack-of-fin", _TO_CLOSED, "CLOSING: ACK of our FIN: enter CLOSED"),
            ),
        ),
        Variant(
            "short-time-wait",
            "TIME-WAIT lasts one MSL instead of two",
            "TIME-WAIT's 2 MSL",
            "3.6.1",
            configure=_time_wait_one_msl,
            configure_text="time_wait = msl",
        ),
        Variant(
            "fin-out-of-order",
            "a FIN is taken as soon as it arrives, even ahead of data not yet received",
            "processing a FIN in sequence order",
            "3.10.7.4",
            (
                Change("text-ahead", {"body": _hold_text_only}, "hold text beyond RCV.NXT, but not a FIN"),
                Change("fin-established", {"body": _fin_at_once}, "ESTABLISHED: any FIN: enter CLOSE-WAIT"),
                Change("fin-fin-wait-1", {"body": _fin_at_once}, "FIN-WAIT-1: any FIN: enter CLOSING"),
                Change("fin-fin-wait-2", {"body": _fin_at_once}, "FIN-WAIT-2: any FIN: enter TIME-WAIT"),
            ),
        ),
        Variant(
            "no-retransmission",
            "no retransmission timer: a lost segment is never sent again",
            "retransmission",
            "3.8.1",
            configure=_no_retransmission,
            configure_text="no retries",
        ),
        Variant(
            "any-ack-in-syn-sent",
            "SYN-SENT takes a SYN,ACK whatever it acknowledges",
            "the acceptability test of the ACK in SYN-SENT",
            "3.10.7.3",
            (
                Change("syn-sent-bad-ack", {"body": _never}, "SYN-SENT: an unacceptable ACK is no longer answered"),
                Change("syn-sent-bad-ack-rst", {"body": _never}, "SYN-SENT: nor dropped when it carries RST"),
            ),
        ),
        Variant(
            "fixed-iss",
            "every incarnation of an endpoint selects the same ISS",
            "a new ISS for every connection",
            "3.4.1",
            configure=_fixed_iss,
            configure_text="iss = the first incarnation's, for all",
        ),
        Variant(
            "rst-ignored",
            "an acceptable RST changes nothing",
            "reset processing",
            "3.5.3",
            tuple(
                Change(name, _IGNORED, "an acceptable RST is dropped; the connection carries on")
                for name in (
                    "syn-sent-reset",
                    "syn-received-reset-passive",
                    "syn-received-reset-active",
                    "reset",
                    "reset-while-closing",
                    "reset-time-wait",
                )
            ),
        ),
    )


def variant_named(name: str) -> Variant:
    """The variant called ``name`` (ValueError naming the variants otherwise)."""
    for v in variants():
        if v.name == name:
            return v
    raise ValueError(f"unknown variant {name!r}; the variants are {', '.join(v.name for v in variants())}")
