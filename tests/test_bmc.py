"""Bounded model checking with Z3: shortest counterexamples, as long as breadth-first search finds them.

Each broken copy of a rule (made here, never in spec/) must make BMC find a violation whose trace,
replayed on the explicit engine, is exactly as long as the one breadth-first search finds; and the
correct rules must hold to the same depth.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from checks.bmc import bmc
from checks.cli import main
from checks.engines import disagreements, run_bmc
from checks.properties import HOLDS_TO_DEPTH, VIOLATED, Result, check, property_named
from checks.report import Run
from checks.trace import build_trace
from spec.actions import acknowledge, synchronize_with
from spec.config import Config
from spec.machine import Machine
from spec.presets import preset
from spec.rulebook import all_rules
from spec.rules import Ctx, Rule
from spec.seqnum import seq_add
from spec.states import FIN_WAIT_1
from spec.variants import variant_named


def replaced(name: str, **changes: object) -> tuple[Rule, ...]:
    rules = all_rules()
    assert name in {r.name for r in rules}
    return tuple(dataclasses.replace(r, **changes) if r.name == name else r for r in rules)  # type: ignore[arg-type]


def both_engines(config: Config, prop: str, rules: tuple[Rule, ...], depth: int) -> tuple[Result, Result]:
    _, explicit = check(config, [property_named(prop)], rules=rules)
    symbolic = bmc(config, [property_named(prop)], depth, rules=rules).results
    return explicit[0], symbolic[0]


def assert_same_shortest(config: Config, prop: str, rules: tuple[Rule, ...], depth: int) -> int:
    explicit, symbolic = both_engines(config, prop, rules, depth)
    assert explicit.verdict == VIOLATED
    assert symbolic.verdict == VIOLATED, symbolic.verdict_text
    assert explicit.counterexample is not None and symbolic.counterexample is not None
    length = len(symbolic.counterexample.path)
    assert length == len(explicit.counterexample.path)
    # The BMC trace replays on the explicit engine (build_trace steps through Machine.step).
    assert len(build_trace(Machine(config, rules), symbolic.counterexample.path)) == length

    # Several traces can be shortest, and A or B may be the one that goes wrong first: the two engines
    # must report the same violation, up to which endpoint it happened to.
    def either_side(message: str) -> str:
        return re.sub(r"\b[AB]\b", "X", message)

    assert either_side(symbolic.counterexample.message) == either_side(explicit.counterexample.message)
    return length


def test_overlapping_rules() -> None:
    listen_syn = next(r for r in all_rules() if r.name == "listen-syn")
    rules = (*all_rules(), dataclasses.replace(listen_syn, name="listen-syn-twin"))
    assert assert_same_shortest(preset("handshake"), "rules-deterministic", rules, 6) == 2


def irs_off_by_one(x: Ctx) -> None:
    """A broken SYN-SENT rule for SYN,ACK: IRS must be SEG.SEQ, this sets SEG.SEQ + 1."""
    s = x.seg
    x.require(s.SYN, s.ACK)
    synchronize_with(x)
    x.tcb.irs = seq_add(s.seq, 1)
    x.send_ack()


def zero_is_no_irs(x: Ctx) -> None:
    """A broken SYN-SENT rule for SYN,ACK that takes sequence number 0 for "no IRS"."""
    t, s = x.tcb, x.seg
    x.require(s.SYN, s.ACK)
    synchronize_with(x)
    t.irs = x.ite(s.seq == 0, 1, s.seq)  # broken: 0 treated as "not set"
    acknowledge(x)
    x.send_ack()


def test_wrong_irs_breaks_handshake_synchronisation() -> None:
    rules = replaced("syn-sent-syn-ack", body=irs_off_by_one)
    assert assert_same_shortest(preset("handshake"), "handshake-sync", rules, 8) == 5


def test_wrong_target_breaks_conformance() -> None:
    rules = replaced("syn-sent-syn-ack", to=FIN_WAIT_1)
    assert assert_same_shortest(preset("handshake"), "rfc-conformance", rules, 6) == 4


def test_data_delivered_twice_breaks_stream_integrity() -> None:
    def twice(x: Ctx) -> None:
        t = x.tcb
        x.require(x.seg.has_text, x.seg.seq == t.rcv_nxt)
        x.deliver()
        x.deliver()  # broken
        t.rcv_nxt = seq_add(t.rcv_nxt, x.seg.text_len)
        x.send_ack()

    rules = replaced("text-in-order", body=twice)
    assert assert_same_shortest(preset("lifecycle"), "stream-integrity", rules, 12) > 0


@pytest.mark.parametrize(
    ("variant_name", "preset_name", "steps"), [("rst-ignored", "handshake", 4), ("no-retransmission", "lossy", 3)]
)
def test_a_deadlock_is_found_as_short_as_breadth_first_search_finds_it(
    variant_name: str, preset_name: str, steps: int
) -> None:
    """no-deadlock as the invariant "some event is enabled, or the state is a proper final one" (the catalogue's
    two deadlocks: A in SYN-SENT for ever, after an ignored RST or a lost SYN never sent again)."""
    variant = variant_named(variant_name)
    config = variant.config(preset(preset_name))
    assert assert_same_shortest(config, "no-deadlock", variant.rules(all_rules()), steps + 1) == steps


def test_the_cli_bmc_fails_on_a_deadlock(capsys: pytest.CaptureFixture[str]) -> None:
    """``check --engine bmc`` checks no-deadlock too: a deadlock four steps deep is a violation, exit 1."""
    args = ["check", "--engine", "bmc", "--config", "handshake", "--variant", "rst-ignored", "--depth", "5"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert re.search(r"no-deadlock +deadlock +VIOLATED", out)
    assert "shortest trace found (4 steps)" in out


def test_correct_rules_hold_to_the_depth_asked() -> None:
    run = bmc(preset("handshake"), [property_named("handshake-sync"), property_named("rfc-conformance")], 8)
    assert [r.verdict for r in run.results] == [HOLDS_TO_DEPTH, HOLDS_TO_DEPTH]
    assert all(r.detail == "8" for r in run.results)
    assert run.complete


def test_too_few_slots_stop_the_search_and_say_so() -> None:
    run = run_bmc(preset("lifecycle"), [property_named("handshake-sync")], 7, slots=1)
    assert run.incomplete
    assert "overflow" in run.search
    assert run.results[0].verdict == HOLDS_TO_DEPTH and "overflow" in run.results[0].detail


@pytest.mark.parametrize(
    ("mine", "theirs", "disagree"),
    [
        ((VIOLATED, 5), (VIOLATED, 5), False),
        ((VIOLATED, 5), (VIOLATED, 6), True),
        ((VIOLATED, 5), ("EXHAUSTED", None), True),
        ((VIOLATED, 5), (HOLDS_TO_DEPTH, 4), False),
        ((VIOLATED, 5), (HOLDS_TO_DEPTH, 5), True),
        (("EXHAUSTED", None), (HOLDS_TO_DEPTH, 9), False),
    ],
)
def test_engines_disagree_only_when_they_contradict(
    mine: tuple[str, int | None], theirs: tuple[str, int | None], disagree: bool
) -> None:
    from checks.properties import Counterexample
    from spec.machine import Label

    prop = property_named("handshake-sync")

    def result(verdict: str, n: int | None) -> Result:
        if verdict == VIOLATED:
            assert n is not None
            return Result(prop, VIOLATED, "", Counterexample([(i, Label(0, "call")) for i in range(n)], []))
        return Result(prop, verdict, "" if n is None else str(n))

    config = preset("handshake")
    machine = Machine(config)
    a = Run(config, machine, [result(*mine)], "explicit", 0.0, True, "")
    b = Run(config, machine, [result(*theirs)], "bmc", 0.0, True, "")
    assert bool(disagreements(a, b)) is disagree
    assert bool(disagreements(b, a)) is disagree


def test_symbolic_iss_finds_what_the_configured_iss_values_miss() -> None:
    """A bug that bites one ISS only (0 used as a "no IRS" sentinel): breadth-first search over the
    preset's ISS values cannot see it; BMC with every ISS a free 32-bit value finds it, and the trace
    replays on the explicit engine under the ISS that Z3 chose."""

    config = preset("handshake")
    rules = replaced("syn-sent-syn-ack", body=zero_is_no_irs)
    prop = property_named("handshake-sync")
    _, explicit = check(config, [prop], rules=rules)
    assert explicit[0].verdict == "EXHAUSTED"
    assert bmc(config, [prop], 6, rules=rules).results[0].verdict == HOLDS_TO_DEPTH
    found = bmc(config, [prop], 6, rules=rules, symbolic_iss=True).results[0]
    assert found.verdict == VIOLATED
    cx = found.counterexample
    assert cx is not None and cx.config is not None
    assert cx.config.b.iss == ((0,),)  # B's ISS, which A took for its IRS
    assert "IRS 1" in cx.message
    assert len(build_trace(Machine(cx.config, rules), cx.path)) == len(cx.path)


def test_symbolic_iss_handshake_holds_for_every_iss() -> None:
    run = bmc(preset("handshake"), [property_named("handshake-sync")], 7, symbolic_iss=True)
    assert run.results[0].verdict == HOLDS_TO_DEPTH and run.results[0].detail == "7"
