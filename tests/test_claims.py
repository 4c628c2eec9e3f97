"""The textbook claims: each holds, with its evidence; a claim the model contradicts fails."""

from __future__ import annotations

from functools import cache

import pytest

from checks.claims import FAILS, HOLDS, Claim, Evidence, Verdict, check_claim, claims, in_state
from checks.properties import Limits
from spec.presets import preset
from spec.states import CLOSE_WAIT, TIME_WAIT
from tests.test_cli import run


@cache
def verdict(name: str) -> Verdict:
    return check_claim(next(c for c in claims() if c.name == name))


@pytest.mark.parametrize("name", [c.name for c in claims()])
def test_every_claim_holds_and_says_why(name: str) -> None:
    v = verdict(name)
    assert v.verdict == HOLDS, "\n".join(v.lines)
    assert v.lines and all(": " in line for line in v.lines)
    for lang in ("en", "ko"):
        assert "RFC 9293 §" in v.claim.text(lang)


def test_the_passive_closer_never_reaches_time_wait_and_does_reach_close_wait() -> None:
    lines = verdict("passive-closer-waits-in-close-wait").lines
    assert lines == [
        "lifecycle: B is in CLOSE-WAIT: reached at depth 10 (state 42)",
        "lifecycle: B is in TIME-WAIT: in none of the 122 states (EXHAUSTED)",
    ]


def test_the_data_claim_rests_on_a_fin_that_really_overtook_data() -> None:
    lines = verdict("data-after-a-fin-is-not-lost").lines
    assert any("holds a FIN that arrived ahead of data" in line and "reached" in line for line in lines)
    lines = verdict("sequence-order-not-time-wait-keeps-that-data").lines
    assert any(line.startswith("reordering+fin-out-of-order: an endpoint closed normally without") for line in lines)


def test_a_false_claim_fails() -> None:
    """The blog's version: the passive closer waits in TIME-WAIT (and never in CLOSE-WAIT)."""
    blog = Claim(
        "passive-closer-waits-in-close-wait",
        (Evidence(preset("lifecycle"), reachable=(in_state(1, TIME_WAIT),), never=(in_state(1, CLOSE_WAIT),)),),
    )
    v = check_claim(blog)
    assert v.verdict == FAILS
    assert v.lines == [
        "lifecycle: B is in TIME-WAIT: in none of the 122 states",
        "lifecycle: B is in CLOSE-WAIT: reached at depth 10 (state 42), but it must never be",
    ]


def test_a_search_cut_short_proves_no_never() -> None:
    v = check_claim(claims()[0], Limits(max_states=50))
    assert v.verdict == FAILS and v.incomplete
    assert "explored before the limit" in v.lines[-1]


def test_the_command_exits_0_and_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("claims", capsys=capsys)
    assert code == 0 and out.count(f"  {HOLDS}\n") == len(claims())
    code, out, _ = run("claims", "--lang", "ko", "--max-states", "50", capsys=capsys)
    assert code == 3 and "CLOSE-WAIT다" in out
