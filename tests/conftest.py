"""Shared fixtures: each preset is explored once per test session."""

from __future__ import annotations

import os
from functools import cache

from checks.explicit import Exploration
from checks.properties import Result, check
from spec.presets import preset

UPDATE_GOLDEN = os.environ.get("TCPSPEC_UPDATE_GOLDEN") == "1"


@cache
def checked(name: str) -> tuple[Exploration, list[Result]]:
    """The exploration and verdicts of a preset (computed once)."""
    return check(preset(name))
