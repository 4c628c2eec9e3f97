"""TIME-WAIT derived, not assumed: the sweep finds 2*MSL on the two-incarnation preset, and only the model decides."""

from __future__ import annotations

import json
import re

import pytest

from checks.cli import main
from checks.derive import Derivation, derivation_text, derive_time_wait, replay_at
from checks.properties import EXHAUSTED, VIOLATED
from spec.config import ConfigError, config_from_dict
from spec.presets import preset
from spec.states import ESTABLISHED, TIME_WAIT
from tests.conftest import assert_golden

#: Two incarnations on a reordering network, B reusing its ISS: a minimal setting for old duplicates
#: (RFC 1337 on: without it, a RST in TIME-WAIT ends it early and no duration is enough).
REUSED_ISS = {
    "name": "reused-iss",
    "description": "A opens twice; B listens twice and reuses ISS 300; segments may overtake each other",
    "a": {"script": ["open", "wait-open", "close", "wait-closed", "open"], "iss": [[4294967295], [0]]},
    "b": {"script": ["listen", "wait-open", "wait-eof", "close", "wait-closed", "listen"], "iss": [[300], [300]]},
    "network": {"order": "any"},
    "timing": {"msl": 1, "rto": 1, "retries": 1},
    "tcp": {"rfc1337": True},
}


@pytest.fixture(scope="module")
def derivation() -> Derivation:
    return derive_time_wait(preset("incarnations"))


def test_the_bound_is_two_msl(derivation: Derivation) -> None:
    verdicts = [(a.ticks, a.result.verdict) for a in derivation.attempts]
    assert verdicts == [(0, VIOLATED), (1, VIOLATED), (2, EXHAUSTED)]
    assert derivation.bound is not None and derivation.in_msl(derivation.bound.ticks) == 2
    lengths = [len(a.result.counterexample.path) for a in derivation.attempts if a.result.counterexample]
    assert lengths == [25, 32]


def test_the_preset_does_not_hold_the_answer(derivation: Derivation) -> None:
    """The sweep overrides TIME-WAIT; the preset's own default (2*MSL) plays no part."""
    assert [a.config.time_wait for a in derivation.attempts] == [0, 1, 2]


def test_at_the_bound_the_schedule_breaks_off_and_no_old_segment_survives(derivation: Derivation) -> None:
    bound, below = derivation.bound, derivation.below
    assert bound is not None and below is not None and below.result.counterexample is not None
    replay = replay_at(bound, below)
    assert replay.blocked is not None and len(replay.followed) == 25
    assert replay.world.a.state is TIME_WAIT  # still waiting where the shorter TIME-WAIT had expired
    assert replay.onward is not None and replay.reached.a.state is ESTABLISHED
    assert replay.reached.a.peer_inc == 2
    assert replay.old_in_flight() == []


def test_the_text_is_golden(derivation: Derivation) -> None:
    text = re.sub(r"\d+\.\d s\)", "- s)", derivation_text(derivation))
    assert "smallest TIME-WAIT that keeps old duplicates out: 2 ticks = 2 MSL" in text
    assert_golden("time-wait.txt", text)


def test_another_configuration_finds_its_own_traces() -> None:
    """A different network and ISS choice: the same bound, reached through other counterexamples."""
    d = derive_time_wait(config_from_dict(REUSED_ISS), up_to=3)
    assert d.bound is not None and d.in_msl(d.bound.ticks) == 2
    assert [len(a.result.counterexample.path) for a in d.attempts if a.result.counterexample] == [20, 23]
    # Had the sweep stopped at 1 MSL, it would have said that no duration it tried was enough.
    short = Derivation(d.config, d.attempts[:2])
    assert short.bound is None
    assert "no TIME-WAIT up to 1 MSL keeps old duplicates out" in derivation_text(short)


#: No data, MSL = 2 ticks: B's passive open can give up and go back to LISTEN, keeping its incarnation
#: and so its ISS; an old duplicate ACK then completes B's next handshake -- TIME-WAIT plays no part.
NO_DATA_MSL_2 = {
    "name": "no-data-msl-2",
    "description": "two incarnations without data; MSL = 2 ticks; the network may duplicate one segment",
    "a": {"script": ["open", "wait-open", "close", "wait-closed", "open", "wait-open"], "iss": [[4294967295], [0]]},
    "b": {
        "script": ["listen", "wait-open", "wait-eof", "close", "wait-closed", "listen", "wait-open"],
        "iss": [[300], [301]],
    },
    "faults": {"duplicate": 1},
    "timing": {"msl": 2, "rto": 1, "retries": 1},
}


def test_a_hazard_that_bypasses_time_wait_stops_the_sweep() -> None:
    d = derive_time_wait(config_from_dict(NO_DATA_MSL_2))
    last = d.attempts[-1]
    assert d.bound is None and last.result.verdict == VIOLATED and last.beyond_time_wait
    assert all(a.result.verdict == VIOLATED for a in d.attempts)
    text = derivation_text(d)
    assert "never enters TIME-WAIT, so no duration of TIME-WAIT can prevent it" in text
    assert "give-up-passive-open" in text


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (preset("handshake"), "untimed"),
        (preset("lossy"), "one incarnation"),
    ],
)
def test_configurations_that_cannot_answer_are_refused(config: object, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        derive_time_wait(config)  # type: ignore[arg-type]


def test_a_search_cut_short_decides_nothing() -> None:
    from checks.properties import Limits

    d = derive_time_wait(preset("incarnations"), limits=Limits(max_states=1000))
    assert d.bound is None and len(d.attempts) == 1 and not d.attempts[0].complete
    assert "no answer" in derivation_text(d)


def test_the_cli_derives_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "time-wait", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["answer"] == {"time_wait_ticks": 2, "time_wait_msl": "2"}
    assert doc["below"]["time_wait_ticks"] == 1 and len(doc["below"]["trace"]) == 32
    assert doc["at_bound"]["blocked"] == 26 and doc["at_bound"]["old_segments_left"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["derive", "time-wait", "-c", "handshake"], "untimed"),
        (["derive", "time-wait", "--up-to", "0"], "between 1 and 16"),
        (["derive", "time-wait", "-c", "no-such-preset"], "unknown configuration"),
        (["derive", "time-wait", "--max-states", "0"], "at least 1"),
        (["derive", "mss"], "invalid choice"),
    ],
)
def test_the_cli_refuses_bad_input(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err
