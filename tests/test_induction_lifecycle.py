"""Proofs by induction on the ``lifecycle`` preset: a whole connection, open to TIME-WAIT, on unbounded channels.

The network is a reliable FIFO one with no capacity: nothing in the model bounds the segments in
flight, so the proof must show that four slots per channel hold every reachable state (the instance
"representable" survives).  That takes the ``fifo-channels`` family (in order and sent once, each
segment in flight moves SEG.SEQ + SEG.LEN or SEG.ACK beyond the one before it) and the ``progress``
family (a connection only moves forward), both built only for such networks.  Dropping either
leaves a counterexample to induction (printed with pytest -s).
"""

from __future__ import annotations

import pytest

from checks.explicit import explore
from checks.induction import SLOTS_HOLD, InductionRun, counterexample_to_induction, prove
from checks.invariants import STRENGTHENING
from checks.properties import PROVED
from checks.symbolic import Relation
from spec.config import Config
from spec.presets import preset
from tests.test_induction import EXPECTED_PROOFS, NEEDED_WITHOUT_CAPACITY, SAFETY, assert_needed

Proof = tuple[Config, Relation, InductionRun]


@pytest.fixture(scope="module")
def lifecycle() -> Proof:
    config = preset("lifecycle")
    assert config.capacity is None, "the point of this proof is a network without a capacity"
    relation = Relation(config)
    return config, relation, prove(config, SAFETY, relation=relation)


def test_the_lifecycle_is_proved(lifecycle: Proof) -> None:
    _, _, proof = lifecycle
    assert {r.prop.name for r in proof.results if r.verdict == PROVED} == set(EXPECTED_PROOFS)
    assert SLOTS_HOLD in proof.kept  # four slots per channel hold every reachable state


def test_what_induction_kept_is_inductive_on_the_lifecycle(lifecycle: Proof) -> None:
    config, relation, proof = lifecycle
    kept = set(proof.kept)
    assert counterexample_to_induction(config, SAFETY, STRENGTHENING, relation=relation, only=kept) is None


@pytest.mark.parametrize("name", NEEDED_WITHOUT_CAPACITY)
def test_each_invariant_is_needed_on_unbounded_channels(lifecycle: Proof, name: str) -> None:
    config, relation, proof = lifecycle
    assert_needed(config, relation, proof, name)


def test_four_slots_are_needed_and_the_proof_says_they_suffice(lifecycle: Proof) -> None:
    """Some reachable state has four segments in flight on one channel: fewer slots could not hold it."""
    config, relation, _ = lifecycle
    assert relation.bounds.channel == 4
    most = max(max(len(w.ab), len(w.ba)) for w in explore(config).states)
    assert most == relation.bounds.channel
