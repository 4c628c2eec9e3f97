"""Proofs by induction with reordered data: the families the handshake does not need are needed here.

``checks/configs/reorder-capacity-2.toml``: A opens and sends two units on a network that reorders
and holds two segments each way.  Unit 2 can overtake unit 1 and be held for in-order processing (RFC
9293 §3.10.7.4): the facts about held segments, blank TCBs and opening TCBs are then part of the
proof, and dropping any one of them leaves a counterexample to induction (printed with pytest -s).
"""

from __future__ import annotations

import pytest

from checks.induction import InductionRun, prove
from checks.properties import PROVED, UNKNOWN
from checks.symbolic import Relation
from spec.config import Config, load_config
from tests.test_induction import CONFIGS, EXPECTED_PROOFS, NEEDED_WITH_REORDERING, SAFETY, assert_needed

Proof = tuple[Config, Relation, InductionRun]


@pytest.fixture(scope="module")
def reordering() -> Proof:
    config = load_config(CONFIGS / "reorder-capacity-2.toml")
    relation = Relation(config)
    return config, relation, prove(config, SAFETY, relation=relation)


def test_the_properties_are_proved_with_reordered_data(reordering: Proof) -> None:
    _, _, proof = reordering
    verdicts = {r.prop.name: r for r in proof.results}
    assert {name for name, r in verdicts.items() if r.verdict == PROVED} == set(EXPECTED_PROOFS) - {"no-deadlock"}
    # Not yet: the facts no-deadlock rests on are built for in-order networks and for retransmitting ones (chaos);
    # here the set has a deadlocked state, and says so.
    assert verdicts["no-deadlock"].verdict == UNKNOWN
    assert "a state of the invariant violates it" in verdicts["no-deadlock"].detail


@pytest.mark.parametrize("name", NEEDED_WITH_REORDERING)
def test_each_invariant_is_needed_with_reordered_data(reordering: Proof, name: str) -> None:
    config, relation, proof = reordering
    assert_needed(config, relation, proof, name)
