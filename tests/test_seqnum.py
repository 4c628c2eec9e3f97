"""Sequence-number helpers (RFC 9293 §3.4): integers and symbolic terms (z3) must agree everywhere."""

from __future__ import annotations

import pytest
import z3
from hypothesis import given
from hypothesis import strategies as st

from checks.terms import SymbolicBranch, Term
from spec.seqnum import HALF, MASK, all_of, any_of, negate, seq_add, seq_in_window, seq_le, seq_lt, seq_sub

EDGES = [0, 1, 2, HALF - 2, HALF - 1, HALF, HALF + 1, MASK - 1, MASK]
seqs = st.one_of(st.sampled_from(EDGES), st.integers(min_value=0, max_value=MASK))


def z3_value(term: Term) -> object:
    """Evaluate a closed symbolic term to a Python int or bool."""
    value = z3.simplify(term.e)
    if z3.is_bool(value):
        return z3.is_true(value)
    return value.as_long()  # type: ignore[attr-defined]


def bv(v: int) -> Term:
    return Term(z3.BitVecVal(v, 32))


def test_wraparound_examples() -> None:
    assert seq_add(MASK, 1) == 0
    assert seq_sub(0, MASK) == 1
    assert seq_lt(MASK, 0)  # 2**32 - 1 comes just before 0
    assert not seq_lt(0, MASK)
    assert seq_le(5, 5) and not seq_lt(5, 5)
    assert seq_in_window(MASK, 0, 2) and not seq_in_window(MASK, 1, 2)


@given(seqs, seqs)
def test_lt_is_signed_difference(a: int, b: int) -> None:
    diff = (a - b) & MASK
    assert seq_lt(a, b) == (diff >= HALF)
    assert seq_le(a, b) == (diff == 0 or diff >= HALF)


@given(seqs, seqs)
def test_ints_and_z3_agree(a: int, b: int) -> None:
    for f in (seq_lt, seq_le, seq_add, seq_sub):
        assert z3_value(f(bv(a), bv(b))) == f(a, b), f.__name__


@given(seqs, seqs, st.integers(min_value=1, max_value=8))
def test_window_agrees(low: int, x: int, size: int) -> None:
    assert z3_value(seq_in_window(bv(low), bv(x), size)) == seq_in_window(low, x, size)


@given(st.lists(st.booleans(), min_size=1, max_size=4))
def test_logic_helpers_agree(values: list[bool]) -> None:
    terms = [Term(z3.BoolVal(v)) for v in values]
    assert all_of(*values) == all(values) == z3_value(all_of(*terms))
    assert any_of(*values) == any(values) == z3_value(any_of(*terms))
    assert negate(values[0]) is (not values[0])
    assert z3_value(negate(terms[0])) == (not values[0])


def test_negate_never_uses_bitwise_not_on_bools() -> None:
    assert negate(True) is False  # ~True would be -2, which is truthy


def test_a_symbolic_value_refuses_to_be_a_python_truth_value() -> None:
    with pytest.raises(SymbolicBranch, match="all_of"):
        bool(seq_lt(bv(1), bv(2)))


@given(seqs, seqs)
def test_terms_compare_unsigned_like_masked_ints(a: int, b: int) -> None:
    assert z3_value(bv(a) < bv(b)) == (a < b)
    assert z3_value(bv(a) <= b) == (a <= b)
    assert z3_value(bv(a) - b) == (a - b) & MASK
