"""Symbolic values for the rule vocabulary: z3 bit-vectors and booleans behind Python's operators.

The rules in ``spec/`` compute with ``+ - == != < <= & | ~`` and the helpers of
:mod:`spec.seqnum`.  A :class:`Term` wraps a z3 expression so that the *same*
rule functions build formulas instead of values:

* numbers are bit-vectors; ``+`` and ``-`` wrap modulo 2**width, as the
  explicit engine's masked integers do, and ``<``/``<=`` compare *unsigned*,
  as Python compares those integers (sequence-number comparison, which is
  signed, goes through :func:`spec.seqnum.seq_lt`, which tests the sign bit);
* conditions are z3 booleans; ``&``, ``|`` and ``~`` are ``And``, ``Or``,
  ``Not`` -- what :func:`spec.seqnum.all_of` and friends call;
* a Term refuses to be a Python truth value, so a rule that branches on
  protocol data with ``if`` fails loudly instead of silently taking one branch.

Operands of different widths are zero-extended to the wider one; Python ints
and bools are converted to the other operand's sort.
"""

from __future__ import annotations

from typing import Any

import z3

SEQ_BITS = 32


class SymbolicBranch(TypeError):
    """A rule used a symbolic value as a Python truth value (an ``if`` on protocol data)."""


def _expr(value: Any, like: z3.ExprRef | None = None) -> z3.ExprRef:
    """The z3 expression for ``value``, a Term, bool or int (ints take the sort of ``like``)."""
    if isinstance(value, Term):
        return value.e
    if isinstance(value, bool):
        return z3.BoolVal(value)
    if isinstance(value, int):
        width = like.size() if like is not None and z3.is_bv(like) else SEQ_BITS
        return z3.BitVecVal(value % (1 << width), width)
    if isinstance(value, z3.ExprRef):
        return value
    raise TypeError(f"cannot make a symbolic value of {value!r}")


def _pair(a: Any, b: Any) -> tuple[z3.ExprRef, z3.ExprRef]:
    """Both operands as z3 expressions of one sort (the narrower bit-vector zero-extended)."""
    left = a.e if isinstance(a, Term) else None
    right = b.e if isinstance(b, Term) else None
    x = _expr(a, right)
    y = _expr(b, left if left is not None else x)
    if z3.is_bv(x) and z3.is_bv(y) and x.size() != y.size():
        if x.size() < y.size():
            x = z3.ZeroExt(y.size() - x.size(), x)
        else:
            y = z3.ZeroExt(x.size() - y.size(), y)
    elif z3.is_bool(x) and z3.is_bv(y):
        raise TypeError("a condition used as a number")
    elif z3.is_bv(x) and z3.is_bool(y):
        raise TypeError("a number used as a condition")
    return x, y


class Term:
    """A z3 expression that behaves like the explicit engine's ints and bools under Python's operators."""

    __slots__ = ("e",)

    def __init__(self, e: z3.ExprRef) -> None:
        self.e = e

    def __repr__(self) -> str:
        return f"Term({self.e})"

    def __bool__(self) -> bool:
        raise SymbolicBranch(
            f"the symbolic value {self.e} was used as a Python truth value; rules must combine "
            "conditions with all_of/any_of/negate and x.require, or x.ite for values"
        )

    __hash__ = None  # type: ignore[assignment]

    # --- arithmetic (modulo 2**width) ---
    def __add__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(x + y)

    def __radd__(self, other: Any) -> Term:
        x, y = _pair(other, self)
        return Term(x + y)

    def __sub__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(x - y)

    def __rsub__(self, other: Any) -> Term:
        x, y = _pair(other, self)
        return Term(x - y)

    # --- comparison (unsigned, like Python on masked integers) ---
    def __eq__(self, other: Any) -> Term:  # type: ignore[override]
        x, y = _pair(self, other)
        return Term(x == y)

    def __ne__(self, other: Any) -> Term:  # type: ignore[override]
        x, y = _pair(self, other)
        return Term(x != y)

    def __lt__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(z3.ULT(x, y))

    def __le__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(z3.ULE(x, y))

    def __gt__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(z3.UGT(x, y))

    def __ge__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(z3.UGE(x, y))

    # --- logic on conditions, bitwise on numbers ---
    def __and__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(z3.And(x, y) if z3.is_bool(x) else x & y)

    def __rand__(self, other: Any) -> Term:
        x, y = _pair(other, self)
        return Term(z3.And(x, y) if z3.is_bool(x) else x & y)

    def __or__(self, other: Any) -> Term:
        x, y = _pair(self, other)
        return Term(z3.Or(x, y) if z3.is_bool(x) else x | y)

    def __ror__(self, other: Any) -> Term:
        x, y = _pair(other, self)
        return Term(z3.Or(x, y) if z3.is_bool(x) else x | y)

    def __invert__(self) -> Term:
        return Term(z3.Not(self.e) if z3.is_bool(self.e) else ~self.e)


def term(value: Any) -> Term:
    """``value`` as a Term (32-bit for an int)."""
    return value if isinstance(value, Term) else Term(_expr(value))


def cond(value: Any) -> z3.BoolRef:
    """A condition (Term or bool) as a z3 boolean."""
    e = _expr(value)
    if not z3.is_bool(e):
        raise TypeError(f"{value!r} is not a condition")
    return e


def fit(value: Any, width: int) -> Term:
    """A number as a bit-vector of exactly ``width`` bits (zero-extended or truncated)."""
    e = _expr(value, z3.BitVecVal(0, width))
    if not z3.is_bv(e):
        raise TypeError(f"{value!r} is not a number")
    size = e.size()
    if size < width:
        e = z3.ZeroExt(width - size, e)
    elif size > width:
        e = z3.Extract(width - 1, 0, e)
    return Term(e)


def ite(condition: Any, then: Any, otherwise: Any) -> Any:
    """``then`` if ``condition`` else ``otherwise``; plain Python when the condition is a bool."""
    if isinstance(condition, bool):
        return then if condition else otherwise
    c = cond(condition)
    if isinstance(then, bool) and isinstance(otherwise, bool):
        return Term(z3.If(c, z3.BoolVal(then), z3.BoolVal(otherwise)))
    x, y = _pair(then, otherwise)
    return Term(z3.If(c, x, y))
