"""Sequence-number arithmetic and the logic vocabulary of the rules (RFC 9293 §3.4).

"All arithmetic dealing with sequence numbers must be performed modulo 2^32"
(RFC 9293 §3.4).  The rules in ``spec/`` never compare sequence numbers with
Python's ``<``; they call the helpers below, which work on two kinds of value:

* plain ``int`` and ``bool`` -- the explicit engine runs the rules on these;
* symbolic terms (:class:`checks.terms.Term`: z3 bit-vectors and booleans) that
  overload ``+ - == != & | ~`` with the same modular meaning -- the symbolic
  engines run the very same rule functions on those.

A sequence comparison reads the sign bit of the 32-bit difference, which means
the same on both kinds of value: no engine's own notion of "signed" is used.

Python's ``and``/``or``/``not``/``if`` would force a truth value out of a
symbolic term, so conditions are combined with :func:`all_of`,
:func:`any_of` and :func:`negate` instead.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31

#: A sequence number or condition: ``int``/``bool`` or a symbolic term.
Value = Any


def seq_add(a: Value, b: Value) -> Value:
    """``a + b`` modulo 2**32."""
    total = a + b
    return total & MASK if isinstance(total, int) else total


def seq_sub(a: Value, b: Value) -> Value:
    """``a - b`` modulo 2**32 (the distance from ``b`` up to ``a``)."""
    diff = a - b
    return diff & MASK if isinstance(diff, int) else diff


def seq_lt(a: Value, b: Value) -> Value:
    """``a < b`` in sequence space: the 32-bit difference ``a - b``, read as signed, is negative."""
    diff = a - b
    if isinstance(diff, int):
        return (diff & MASK) >= HALF
    return (diff & HALF) != 0  # a 32-bit symbolic term: its sign bit


def seq_le(a: Value, b: Value) -> Value:
    """``a =< b`` in sequence space (RFC 9293 writes "=<")."""
    diff = a - b
    if isinstance(diff, int):
        diff &= MASK
        return diff == 0 or diff >= HALF
    return any_of(a == b, (diff & HALF) != 0)


def seq_gt(a: Value, b: Value) -> Value:
    """``a > b`` in sequence space."""
    return seq_lt(b, a)


def seq_ge(a: Value, b: Value) -> Value:
    """``a >= b`` in sequence space."""
    return seq_le(b, a)


def seq_in_window(low: Value, x: Value, size: int) -> Value:
    """``low =< x < low + size``: ``x`` lies in the window of ``size`` numbers starting at ``low``."""
    return all_of(seq_le(low, x), seq_lt(x, seq_add(low, size)))


def all_of(*conditions: Value) -> Value:
    """Conjunction that works on bools and on symbolic conditions."""
    for c in conditions:
        if c.__class__ is not bool:
            return reduce(lambda p, q: p & q, conditions)
    return all(conditions)


def any_of(*conditions: Value) -> Value:
    """Disjunction that works on bools and on symbolic conditions."""
    for c in conditions:
        if c.__class__ is not bool:
            return reduce(lambda p, q: p | q, conditions)
    return any(conditions)


def negate(condition: Value) -> Value:
    """Negation that works on bools and on symbolic conditions (``~True`` is -2 in Python)."""
    if condition.__class__ is bool:
        return not condition
    return ~condition
