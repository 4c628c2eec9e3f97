"""Every preset's state count, transitions, depth and verdicts are pinned (like TLA+'s manifest.json).

A change to the rules that changes what a preset can do shows up here first.  To accept a change
on purpose, run ``TCPSPEC_UPDATE_GOLDEN=1 make test`` and commit the new manifest with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec.presets import presets
from tests.conftest import UPDATE_GOLDEN, checked

MANIFEST = Path(__file__).parent / "golden" / "manifest.json"
NAMES = [c.name for c in presets()]


def _entry(name: str) -> dict[str, object]:
    ex, results = checked(name)
    return {
        "states": len(ex.states),
        "transitions": ex.transitions,
        "depth": ex.max_depth,
        "complete": ex.complete,
        "verdicts": {r.prop.name: r.verdict_text for r in results},
    }


def test_manifest_lists_every_preset() -> None:
    if UPDATE_GOLDEN:
        MANIFEST.write_text(json.dumps({n: _entry(n) for n in NAMES}, indent=2) + "\n", encoding="utf-8")
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert sorted(manifest) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_preset_matches_manifest(name: str) -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert _entry(name) == manifest[name]


@pytest.mark.parametrize("name", NAMES)
def test_every_preset_is_exhausted_and_holds(name: str) -> None:
    ex, results = checked(name)
    assert ex.complete, ex.stop_reason
    bad = {r.prop.name: r.verdict_text for r in results if r.verdict not in ("EXHAUSTED", "REACHED")}
    assert not bad


def test_coverage_reaches_all_eleven_states() -> None:
    """Across the presets meant to reach them, every RFC state is reached by some endpoint."""
    from spec.states import TcpState

    seen = set()
    for name in NAMES:
        ex, _ = checked(name)
        for w in ex.states:
            seen.add(w.a.state)
            seen.add(w.b.state)
    assert seen == set(TcpState)


def test_exploration_is_deterministic() -> None:
    """Same input, same states, same numbering."""
    from checks.explicit import explore
    from spec.presets import preset

    first = explore(preset("simultaneous-close"))
    second = explore(preset("simultaneous-close"))
    assert list(first.states) == list(second.states)
    assert list(first.edges()) == list(second.edges())
    assert [first.labels[i] for i in range(len(first.labels))] == [second.labels[i] for i in range(len(second.labels))]
