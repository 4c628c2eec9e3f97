"""Configurations: presets are valid, TOML files load, and every mistake is reported with its fix."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec.config import Call, ConfigError, config_from_dict, load_config, parse_goal
from spec.presets import preset, presets
from spec.states import TcpState

GOOD = {
    "name": "mine",
    "a": {"script": ["open", "wait-open", "send", "close"], "iss": [4294967295]},
    "b": {"script": ["listen", "wait-open", "wait-eof", "close"], "iss": [[300], [301]]},
    "network": {"order": "any", "capacity": 3},
    "faults": {"loss": 1, "duplicate": 1},
    "timing": {"msl": 2, "rto": 1, "retries": 2},
    "tcp": {"window": 2, "rfc5961": False},
    "reach": ["TIME-WAIT", "B:SYN-RECEIVED->ESTABLISHED", "rule:text-ahead"],
}


def test_preset_names_are_unique_and_known() -> None:
    names = [c.name for c in presets()]
    assert len(names) == len(set(names))
    assert preset("lifecycle").name == "lifecycle"
    with pytest.raises(ConfigError, match="the presets are"):
        preset("no-such-preset")


def test_a_full_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        """
name = "mine"
[a]
script = ["open", "wait-open", "send", "close"]
iss = [4294967295, 7]
[b]
script = ["listen", "wait-open", "wait-eof", "close"]
iss = [[300], [301]]
[network]
order = "any"
[faults]
loss = true
[timing]
msl = 2
retries = 1
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.a.script[0] is Call.OPEN
    assert config.a.iss_choices(1) == (7, 4294967295)
    assert config.b.iss_choices(1) == (300,) and config.b.iss_choices(2) == (301,) and config.b.iss_choices(5) == (301,)
    assert config.reorder and config.loss is None and config.time_wait_ticks == 4


def test_dict_round_trip() -> None:
    config = config_from_dict(GOOD)
    assert config.capacity == 3 and config.duplicate == 1 and not config.rfc5961
    assert [g.text for g in map(parse_goal, config.reach)] == GOOD["reach"]


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda d: d.pop("a"), "missing table \\[a\\]"),
        (lambda d: d.update(colour="blue"), "unknown key 'colour'"),
        (lambda d: d["a"].update(script=["open", "teleport"]), "unknown call 'teleport'"),
        (lambda d: d["a"].update(script=[]), "non-empty list"),
        (lambda d: d["a"].update(iss=[2**32]), "not a 32-bit sequence number"),
        (lambda d: d["a"].update(iss=[-1]), "not a 32-bit sequence number"),
        (lambda d: d["network"].update(order="random"), 'write "fifo" or "any"'),
        (lambda d: d["network"].update(capacity=0), "at least 1"),
        (lambda d: d["tcp"].update(window=0), "at least 1"),
        (lambda d: d["tcp"].update(window="two"), "must be an integer"),
        (lambda d: d["timing"].update(msl=0), "at least 1"),
        (lambda d: d["faults"].update(loss=-3), "at least 0"),
        (lambda d: d.update(reach=["NOT-A-STATE"]), "unknown TCP state"),
        (lambda d: d.update(reach=["rule:no-such-rule"]), "no rule named"),
        (lambda d: (d["timing"].pop("msl"), d["timing"].update(time_wait=3)), "time_wait needs msl"),
    ],
)
def test_mistakes_are_explained(mutation, message: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    data = copy.deepcopy(GOOD)
    mutation(data)
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[a\nscript = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_goals_parse() -> None:
    g = parse_goal("b:syn-sent->syn-received")
    assert (g.side, g.before, g.after) == (1, TcpState.SYN_SENT, TcpState.SYN_RECEIVED)
    assert parse_goal("rule:listen-syn").rule == "listen-syn"
    assert parse_goal("old-duplicate").old_duplicate


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**33) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(GOOD) + ["x"]), json_like, max_size=8))
def test_fuzzed_configs_are_accepted_or_explained(data: dict) -> None:  # type: ignore[type-arg]
    """Whatever a file contains, loading it gives a Config or a ConfigError, never another exception."""
    with contextlib.suppress(ConfigError):
        config_from_dict(data)
