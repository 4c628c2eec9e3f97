"""Proofs by induction: what is PROVED is proved, each strengthening invariant is needed, nothing unsound passes.

The configuration is the handshake on a network that holds two segments each way
(``checks/configs/handshake-capacity-2.toml``): with finite channels the invariants of
:mod:`checks.invariants` make the seven safety properties inductive.  With one segment each way
the handshake is also proved for every 32-bit ISS (each incarnation's ISS a free parameter).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest
import z3

from checks.bmc import bmc, supported
from checks.cli import main
from checks.engines import disagreements, run_smt
from checks.induction import InductionRun, counterexample_to_induction, prove
from checks.invariants import STRENGTHENING, Invariant
from checks.properties import PROPERTIES, PROVED, UNKNOWN, VIOLATED, Counterexample, Property, check, property_named
from checks.report import Run
from checks.symbolic import Relation
from checks.symstate import SymWorld
from spec.config import Config, load_config
from spec.machine import Label
from spec.states import CLOSED, LISTEN
from tests.test_bmc import irs_off_by_one, replaced, zero_is_no_irs

CONFIGS = Path(__file__).parent.parent / "checks" / "configs"
CONFIG_FILE = CONFIGS / "handshake-capacity-2.toml"
SAFETY = supported(PROPERTIES)
EXPECTED_PROOFS = (
    "handshake-sync",
    "stream-integrity",
    "graceful-close",
    "one-connection-per-open",
    "no-old-duplicates",
    "rfc-conformance",
    "rules-deterministic",
    "no-deadlock",
)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG_FILE)


@pytest.fixture(scope="module")
def relation(config: Config) -> Relation:
    return Relation(config)


@pytest.fixture(scope="module")
def proof(config: Config, relation: Relation) -> InductionRun:
    return prove(config, SAFETY, relation=relation)


def test_the_properties_are_proved(proof: InductionRun) -> None:
    verdicts = {r.prop.name: r.verdict for r in proof.results}
    assert {name for name, v in verdicts.items() if v == PROVED} == set(EXPECTED_PROOFS)
    # What is not proved says so, with the counterexample to induction that stands in the way.
    for r in proof.results:
        if r.verdict != PROVED:
            assert r.verdict == UNKNOWN and "counterexample to induction" in r.detail
    assert "representable" in proof.kept


def test_what_induction_kept_is_inductive(config: Config, relation: Relation, proof: InductionRun) -> None:
    kept = set(proof.kept)
    assert counterexample_to_induction(config, SAFETY, STRENGTHENING, relation=relation, only=kept) is None


#: Families the handshake's proof does not use: nothing is held for in-order processing there, and
#: its TCBs never go back to CLOSED or LISTEN.  They are needed with reordered data
#: (tests/test_induction_reordering.py).
NEEDED_WITH_REORDERING = ("blank-tcb", "opening-tcb", "held-segments")
#: Families built only where the network keeps order and sends each segment once (the handshake's does, with
#: a capacity): what they say subsumes some of the families below, so those are shown needed for the seven
#: properties of a single state or step without them, as on a network that reorders.  The lifecycle needs
#: progress and fifo-channels as well (tests/test_induction_lifecycle.py).
IN_ORDER = ("progress", "fifo-channels", "lone-resets")
NEEDED_WITHOUT_CAPACITY = ("progress", "fifo-channels")
#: What no-deadlock needs on top of them: no state of the inductive set is a deadlock.
FOR_NO_DEADLOCK = ("quiescence", "answers-owed")
BASE = [f for f in STRENGTHENING if f.name not in IN_ORDER + FOR_NO_DEADLOCK]
#: Families built only for timed configurations (tests/test_induction_timed.py).
TIMED = (
    "segment-ages",
    "time-wait-outlasts",
    "in-flight-budget",
    "sender-order",
    "retransmissions",
    "ended-senders",
)
#: Lemmas learned for a preset (tests/test_lemmas.py): none for the configurations here.
LEARNED = ("learned",)
SHOWN = [f for f in BASE if f.name not in NEEDED_WITH_REORDERING + TIMED + LEARNED]
#: The safety properties whose proof the base families carry (no-deadlock needs the families above).
WITHOUT_DEADLOCK = [p for p in SAFETY if p.name != "no-deadlock"]


@pytest.fixture(scope="module")
def base_proof(config: Config, relation: Relation) -> InductionRun:
    """The seven proved with the base families alone, as on a network where the in-order families are not built."""
    return prove(config, WITHOUT_DEADLOCK, invariants=BASE, relation=relation)


def test_the_base_families_alone_prove_the_seven(base_proof: InductionRun) -> None:
    assert {r.prop.name for r in base_proof.results if r.verdict == PROVED} == {p.name for p in WITHOUT_DEADLOCK}


@pytest.mark.parametrize("family", SHOWN, ids=lambda f: f.name)
def test_each_invariant_is_needed(
    config: Config, relation: Relation, base_proof: InductionRun, family: Invariant
) -> None:
    """Without any one family, induction fails; the CTI is printed (run pytest -s to read it)."""
    assert family.reason and len(family.reason.splitlines()) == 1
    assert_needed(config, relation, base_proof, family.name, BASE, WITHOUT_DEADLOCK)


@pytest.mark.parametrize("name", IN_ORDER + FOR_NO_DEADLOCK)
def test_each_invariant_is_needed_for_no_deadlock(
    config: Config, relation: Relation, proof: InductionRun, name: str
) -> None:
    """Without any one of them, no-deadlock (or what it rests on) is not proved: a state of the set is a deadlock,
    or the set is no longer inductive."""
    assert_needed(config, relation, proof, name)


def assert_needed(
    config: Config,
    relation: Relation,
    proof: InductionRun,
    name: str,
    families: Sequence[Invariant] = STRENGTHENING,
    props: Sequence[Property] = SAFETY,
) -> None:
    """Without the family ``name``, what the proof kept of ``families`` is no longer inductive, or no longer implies
    no-deadlock: print the CTI."""
    rest = [f for f in families if f.name != name]
    assert len(rest) == len(families) - 1
    cti = counterexample_to_induction(config, props, rest, relation=relation, only=set(proof.kept))
    assert cti is not None, f"{name} is not needed for the proof"
    print(f"\nwithout {name}:\n{cti.text()}")
    assert cti.broken and "counterexample to induction" in cti.text()


def test_a_false_invariant_is_dropped_never_trusted(config: Config) -> None:
    def b_stays_closed(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
        return [("", (w.b.state == int(CLOSED)).e)]  # true at first, false after LISTEN

    def b_starts_listening(w: SymWorld, rel: Relation) -> list[tuple[str, z3.BoolRef]]:
        return [("", (w.b.state == int(LISTEN)).e)]  # false at first

    bogus = (Invariant("b-closed", "wrong", b_stays_closed), Invariant("b-listening", "wrong", b_starts_listening))
    run = prove(config, SAFETY, invariants=(*STRENGTHENING, *bogus))
    assert "counterexample to induction" in run.dropped["b-closed"]
    assert run.dropped["b-listening"] == "false in the initial state"
    assert not {"b-closed", "b-listening"} & set(run.kept)
    assert {r.prop.name for r in run.results if r.verdict == PROVED} == set(EXPECTED_PROOFS)


def test_a_broken_rule_is_never_proved(config: Config) -> None:
    rules = replaced("syn-sent-syn-ack", body=irs_off_by_one)
    sync = property_named("handshake-sync")
    run = prove(config, [sync], rules=rules, seconds=15)
    assert run.results[0].verdict == UNKNOWN
    smt = run_smt(config, [sync], 6, rules=rules, prove_seconds=5)
    assert smt.results[0].verdict == VIOLATED
    ex, results = check(config, [sync], rules=rules)
    assert disagreements(Run.explicit(ex, results), smt) == []


def test_proved_contradicts_a_violation(config: Config) -> None:
    """The engine cross-check treats PROVED as a claim about every depth."""
    ex, results = check(config, [property_named("handshake-sync")])
    proved = run_smt(config, [property_named("handshake-sync")], 2)
    assert proved.results[0].verdict == PROVED
    violated = dataclasses.replace(results[0], verdict=VIOLATED)
    violated.counterexample = _fake_counterexample()
    explicit = Run.explicit(ex, [violated])
    assert disagreements(explicit, proved) and disagreements(proved, explicit)


def _fake_counterexample() -> Counterexample:
    return Counterexample([(1, Label(0, "call"))], [])


def test_the_cli_says_proved(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--engine", "smt", "--config", str(CONFIG_FILE), "--depth", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("PROVED by induction") == len(EXPECTED_PROOFS)
    assert "no-old-duplicates        action       PROVED by induction: no step from the" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--engine", "explicit", "--prove-seconds", "5"],
        ["--engine", "bmc", "--prove-seconds", "5"],
        ["--engine", "smt", "--prove-seconds", "0"],
        ["--engine", "smt", "--max-states", "10"],
    ],
)
def test_the_cli_refuses_options_that_do_not_apply(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", "handshake", *args]) == 2
    assert "tcpspec: error:" in capsys.readouterr().err


def test_the_handshake_is_proved_for_every_32_bit_iss() -> None:
    """Each incarnation's ISS a free 32-bit parameter: the invariants name it instead of configured values."""
    config = load_config(CONFIG_FILE.with_name("handshake-capacity-1.toml"))
    run = prove(config, SAFETY, relation=Relation(config, symbolic_iss=True))
    assert {r.prop.name: r.verdict for r in run.results} == {name: PROVED for name in EXPECTED_PROOFS}
    assert "representable" in run.kept


def test_a_symbolic_iss_finds_the_bug_a_configured_one_hides() -> None:
    """Induction over the configured ISS values proves a rule that is wrong for ISS 0; over every ISS it cannot."""
    config = load_config(CONFIG_FILE.with_name("handshake-capacity-1.toml"))
    rules = replaced("syn-sent-syn-ack", body=zero_is_no_irs)
    sync = [property_named("handshake-sync")]
    assert prove(config, sync, rules=rules).results[0].verdict == PROVED
    symbolic = Relation(config, rules=rules, symbolic_iss=True)
    assert prove(config, sync, relation=symbolic, seconds=20).results[0].verdict == UNKNOWN
    found = bmc(config, sync, 6, relation=symbolic).results[0]
    assert found.verdict == VIOLATED and found.counterexample is not None


def test_the_cli_proves_with_a_symbolic_iss_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """--symbolic-iss reaches both BMC and induction (here with too little time to prove anything)."""
    args = ["--engine", "smt", "--symbolic-iss", "--depth", "1", "--prove-seconds", "0.001"]
    code = main(["check", "--config", str(CONFIG_FILE), "-p", "handshake-sync", *args])
    out = capsys.readouterr().out
    assert code == 0
    assert "ISS: any 32-bit value" in out
    assert "HOLDS TO DEPTH 1; induction: induction gave up after 0.001 s" in out


def test_induction_gives_up_on_time(config: Config) -> None:
    run = prove(config, SAFETY, seconds=1e-9)
    assert all(r.verdict == UNKNOWN and "gave up" in r.detail for r in run.results)
