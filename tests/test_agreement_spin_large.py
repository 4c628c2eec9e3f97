"""SPIN agrees with the explicit engine on the presets of more than 10,000 states (see tests/test_spin.py).

A file of its own, named to be scheduled early: each preset takes SPIN half a minute (generating
the model, compiling pan, searching), and the pytest workers share the files among them.
"""

from __future__ import annotations

import pytest

from tests.test_spin import LARGE, assert_spin_agrees


@pytest.mark.parametrize("name", LARGE)
def test_spin_counts_the_states_and_gives_the_verdicts_of_the_explicit_engine(name: str) -> None:
    assert_spin_agrees(name)
