"""Shared fixtures: each preset is explored once per test session."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

from checks.explicit import Exploration
from checks.properties import Result, check
from spec.machine import Machine, Transition
from spec.presets import preset

UPDATE_GOLDEN = os.environ.get("TCPSPEC_UPDATE_GOLDEN") == "1"
GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """``text`` is the golden file ``tests/golden/NAME``; ``TCPSPEC_UPDATE_GOLDEN=1`` rewrites it instead."""
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} changed: rerun with TCPSPEC_UPDATE_GOLDEN=1, review the diff"
    )


def random_walk(machine: Machine, choices: list[int]) -> list[Transition]:
    """A walk from the initial state: at each step the enabled transition ``choice`` picks (modulo their number)."""
    world, walk = machine.initial(), []
    for choice in choices:
        successors = machine.successors(world)
        if not successors:
            break
        walk.append(successors[choice % len(successors)])
        world = walk[-1].target
    return walk


@cache
def checked(name: str) -> tuple[Exploration, list[Result]]:
    """The exploration and verdicts of a preset (computed once)."""
    return check(preset(name))


#: The slowest test modules, slowest first (measured with ``pytest --durations=0``: about 300, 150,
#: 150, 110 and 80 s of the suite's 1,000 s of work).  xdist's ``--dist loadfile`` hands whole
#: modules to the workers in collection order (``--no-loadscope-reorder`` in pyproject.toml keeps
#: that order); started first, the slowest no longer leave one worker busy alone at the end.
SLOWEST_FIRST = (
    "test_induction_reordering.py",
    "test_induction.py",
    "test_symbolic.py",
    "test_derive.py",
    "test_broken_rules.py",
    "test_catalogue.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the slowest modules first, keeping the order of tests within each module."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
