"""All the rules of the model, in the order the RFC presents them."""

from __future__ import annotations

from spec import arrivals, output, timeouts, user_calls
from spec.rules import Rule

MODULES = (user_calls, arrivals, output, timeouts)


def all_rules() -> tuple[Rule, ...]:
    """Every rule of every module, in source order; names are unique."""
    rules = [value for module in MODULES for value in vars(module).values() if isinstance(value, Rule)]
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"rule names must be unique; repeated: {', '.join(duplicates)}")
    return tuple(rules)


def rule_named(name: str) -> Rule:
    """The rule called ``name``."""
    for r in all_rules():
        if r.name == name:
            return r
    raise KeyError(f"no rule named {name!r}")
