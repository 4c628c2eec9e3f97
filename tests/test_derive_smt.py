"""TIME-WAIT derived by Z3 for every MSL: MSL and TIME-WAIT as parameters, a run of ticks as one wait.

The wait step is checked against the explicit engine's ticks, state by state; the derivation's answers
against the explicit sweep (at the configuration's MSL) and against RFC 9293 §3.6.1's 2*MSL (everywhere).
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from random import Random

import pytest
import z3

from checks.cli import main
from checks.derive_smt import (
    BoundProof,
    LingeringTimeWait,
    SmtDerivation,
    derivation_smt_text,
    derive_time_wait_smt,
    parse_msl_range,
    prove_time_wait,
)
from checks.explicit import explore
from checks.properties import GRACEFUL_CLOSE, NO_OLD_DUPLICATES
from checks.reachset import prove_reach
from checks.symbolic import Relation
from checks.symstate import SymWorld, model_value
from spec.config import ConfigError, config_from_dict
from spec.machine import Machine, World
from spec.presets import preset
from spec.states import TIME_WAIT
from tests.test_derive import REUSED_ISS

#: Two incarnations on a FIFO network: about a thousand states, few enough for a proof in a test.
TWICE_FIFO = {**REUSED_ISS, "name": "twice-fifo", "description": "reused-iss on a FIFO network", "network": {}}


@cache
def timed_relation() -> Relation:
    return Relation(preset("incarnations"), symbolic_timing=True)


def worlds_of_a_walk(machine: Machine, seed: int, length: int = 60) -> list[World]:
    rng, world, out = Random(seed), machine.initial(), []
    for _ in range(length):
        out.append(world)
        successors = machine.successors(world)
        if not successors:
            break
        world = rng.choice(successors).target
    return out


def quiet_ticks(machine: Machine, world: World, n: int) -> World | None:
    """``n`` ticks of the explicit engine in none of which a timer expires (None: there are no such n ticks)."""
    for _ in range(n):
        if 0 in (world.a.timer, world.b.timer):
            return None  # a timer at zero expires at this tick
        ticks = [t for t in machine.successors(world) if t.label.kind == "tick"]
        if not ticks:
            return None
        world = ticks[0].target
    return world


@pytest.mark.parametrize("seed", range(6))
def test_a_wait_is_that_many_ticks_in_which_no_timer_expires(seed: int) -> None:
    """Compiler._wait against Machine._tick: with MSL = 3 and TIME-WAIT = 5, waits of 0-4 ticks from states
    of random walks reach what the explicit engine reaches in as many quiet ticks, and only those."""
    rel = timed_relation()
    config = dataclasses.replace(preset("incarnations"), msl=3, time_wait=5)
    machine = Machine(config)
    wait = next(k for k, b in enumerate(rel.branches) if b.kind == "wait")
    checked = 0
    for world in worlds_of_a_walk(machine, seed)[::3]:
        start = SymWorld.of(world, rel.bounds)
        solver = z3.SolverFor("QF_BV")
        solver.add(*[c.e == s.e for c, s in zip(rel.cur.world.leaves(), start.leaves(), strict=True)])
        solver.add(rel.formula(), rel.msl.e == 3, rel.time_wait.e == 5, rel.selects(wait))
        for d in range(5):
            expected = quiet_ticks(machine, world, d) if not machine.idle(world) else None
            if solver.check(rel.cur.idx.e == d) == z3.sat:
                got = rel.nxt.world.to_world(model_value(solver.model()), config.reorder)
                assert got == expected, f"a wait of {d} from {world}"
            else:
                assert expected is None, f"a wait of {d} is refused from {world}, yet {d} quiet ticks lead on"
            checked += 1
    assert checked >= 50


@pytest.fixture(scope="module")
def derivation() -> SmtDerivation:
    return derive_time_wait_smt(preset("incarnations"), range(1, 7))


def test_for_every_msl_an_old_duplicate_gets_in_one_tick_below_two_msl(derivation: SmtDerivation) -> None:
    """RFC 9293 §3.6.1: "When a connection is closed actively, it MUST linger in the TIME-WAIT state for a time
    2xMSL (Maximum Segment Lifetime)" (MUST-13).  Z3 finds 2*MSL - 1 to be too short for every MSL."""
    assert [(r.msl, r.time_wait) for r in derivation.rows] == [(m, 2 * m - 1) for m in range(1, 7)]
    # Each run is the explicit engine's, at that MSL: as long as the schedule plus the extra ticks.
    assert [len(r.path) for r in derivation.rows] == [32 + 2 * (m - 1) for m in range(1, 7)]
    for r in derivation.rows:
        assert "accepted a segment of B's incarnation 1" in r.message
        machine = Machine(dataclasses.replace(preset("incarnations"), msl=r.msl, time_wait=r.time_wait))
        world = machine.initial()
        for label in r.path:
            world = machine.step(world, label).target  # raises if the explicit engine cannot take the step


def test_at_the_configurations_msl_z3_agrees_with_the_explicit_sweep(derivation: SmtDerivation) -> None:
    explicit = derivation.explicit
    assert explicit.bound is not None and explicit.below is not None
    assert derivation.rows[0].msl == preset("incarnations").msl
    assert derivation.rows[0].time_wait == explicit.below.ticks == explicit.bound.ticks - 1
    assert [label for label in derivation.rows[0].path] == derivation.schedule


def test_the_text_says_what_is_shown_and_what_is_not(derivation: SmtDerivation) -> None:
    text = derivation_smt_text(derivation)
    assert "an old duplicate gets in with TIME-WAIT = 2*MSL - 1 ticks" in text
    assert "so TIME-WAIT must last at least 2*MSL ticks" in text
    assert "EXHAUSTED by the explicit engine for MSL = 1 tick" in text
    assert "for the other MSL NOT CHECKED" in text


def test_the_text_says_whether_z3_proved_the_bound(derivation: SmtDerivation) -> None:
    """Without --prove the bound is not proved by Z3, and the text says so; a proof or its absence is reported."""
    assert derivation.proof is None
    assert "by Z3 at MSL = 1 tick: NOT CHECKED (--prove" in derivation_smt_text(derivation)
    lifecycle = Relation(preset("lifecycle"))
    proved = prove_reach(lifecycle, [NO_OLD_DUPLICATES, GRACEFUL_CLOSE])
    done = dataclasses.replace(derivation, proof=BoundProof(2, proved.results, proved.states, 1.0))
    assert done.proof is not None and done.proof.proved
    expected = "every TIME-WAIT from 2 ticks up to 254:\n    no-old-duplicates PROVED, graceful-close PROVED"
    assert expected in derivation_smt_text(done)
    refused = dataclasses.replace(derivation, proof=BoundProof(2, [], 0, 1.0, "too many states"))
    assert refused.proof is not None and not refused.proof.proved
    assert "every TIME-WAIT from 2 ticks up to 254: NOT CHECKED (too many states)" in derivation_smt_text(refused)


def _read_as(world: World, time_wait: int, ticks: int) -> World:
    """``world`` of a TIME-WAIT set to ``time_wait``, its TIME-WAIT timers read as one set to ``ticks`` would show."""
    for side in (0, 1):
        ep = world.endpoint(side)
        if ep.state is TIME_WAIT:
            left = max(0, ticks - (time_wait - ep.timer))
            ep = ep._replace(timer=left)
            world = world._replace(a=ep) if side == 0 else world._replace(b=ep)
    return world


def test_a_lingering_time_wait_holds_the_states_of_every_longer_one() -> None:
    """The proposal behind the proof for every longer TIME-WAIT: the states of TIME-WAIT = 1, 2 and 4 ticks, their
    timers read as a 1-tick TIME-WAIT's, are all states of :class:`LingeringTimeWait` -- and not all of the plain
    1-tick machine's (a longer TIME-WAIT outlasts it)."""
    config = config_from_dict(TWICE_FIFO)
    short = dataclasses.replace(config, time_wait=1)
    lingering = set(explore(short, machine=LingeringTimeWait(short)).states)
    plain = set(explore(short).states)
    for time_wait in (1, 2, 4):
        longer = explore(dataclasses.replace(config, time_wait=time_wait))
        assert longer.complete
        read = {_read_as(w, time_wait, 1) for w in longer.states}
        assert read <= lingering
        assert (read <= plain) == (time_wait == 1)


def test_z3_proves_every_time_wait_from_the_bound_up() -> None:
    proof = prove_time_wait(config_from_dict(TWICE_FIFO), 1)
    assert proof.proved, [r.verdict_text for r in proof.results]
    assert [r.prop for r in proof.results] == [NO_OLD_DUPLICATES, GRACEFUL_CLOSE]


def test_prove_refuses_the_explicit_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "time-wait", "--prove"]) == 2
    assert "--engine smt" in capsys.readouterr().err


def test_another_configuration_finds_the_same_law() -> None:
    """A reordering network where B reuses its ISS: another schedule, the same 2*MSL - 1."""
    d = derive_time_wait_smt(config_from_dict(REUSED_ISS), range(1, 5))
    assert [r.time_wait for r in d.rows] == [1, 3, 5, 7]
    assert len(d.schedule) == 23


@pytest.mark.parametrize(("text", "expected"), [("4", range(4, 5)), ("1..16", range(1, 17)), ("2..3", range(2, 4))])
def test_msl_ranges(text: str, expected: range) -> None:
    assert parse_msl_range(text) == expected


@pytest.mark.parametrize("text", ["0", "3..2", "1..65", "x", "1..", "..4", "1.5"])
def test_bad_msl_ranges_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--msl"):
        parse_msl_range(text)


def test_the_cli_derives_with_z3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "time-wait", "--engine", "smt", "--msl", "1..2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["engine"] == "smt" and doc["law"] == "2*MSL - 1"
    assert [(r["msl_ticks"], r["longest_violated_time_wait_ticks"]) for r in doc["rows"]] == [(1, 1), (2, 3)]
    assert doc["explicit"]["answer"]["time_wait_ticks"] == 2
    assert len(doc["rows"][1]["trace"]) == 34


def test_the_cli_refuses_a_bad_msl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "time-wait", "--engine", "smt", "--msl", "0..3"]) == 2
    err = capsys.readouterr().err
    assert "--msl" in err and "Traceback" not in err
