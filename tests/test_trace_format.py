"""Golden files for the text and JSON renderings of a counterexample trace."""

from __future__ import annotations

import json

from checks.properties import check, property_named
from checks.report import Run, violations_text
from checks.trace import build_trace
from spec.config import config_from_dict
from tests.conftest import assert_golden

CONFIG = config_from_dict(
    {
        "name": "lost-syn",
        "description": "a lost segment is never sent again",
        "a": {"script": ["open", "wait-open", "send", "close"], "iss": [4294967295]},
        "b": {"script": ["wait-open", "wait-eof", "close"], "iss": [300], "listening": True},
        "faults": {"loss": 1},
    }
)


def test_text_trace_is_golden() -> None:
    ex, results = check(CONFIG, [property_named("no-deadlock")])
    assert_golden("lost-syn.txt", violations_text(Run.explicit(ex, results)))


def test_json_trace_is_golden() -> None:
    ex, results = check(CONFIG, [property_named("no-deadlock")])
    cx = results[0].counterexample
    assert cx is not None
    steps = [s.to_json() for s in build_trace(ex.machine, cx.path, cx.loop)]
    assert_golden("lost-syn.json", json.dumps(steps, indent=2) + "\n")
