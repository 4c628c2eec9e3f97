"""The state's leaves: the flat list of numbers a global state is to the symbolic engines, and which mean something.

:meth:`checks.symstate.SymWorld.leaves` fixes one order of the state's terms (``A.pc``, ...,
``A>B[0].seq``, ..., ``overflow``).  The helpers here name them, give a concrete world's values in that
order without z3 (the reachable states number in the hundreds of thousands), and say which leaves are
*guarded*: a slot's fields mean something only while the slot is in use (the length is past it, or --
for a held segment -- its presence bit is set); z3 may leave anything in a slot that is not.
"""

from __future__ import annotations

import re

import z3

from checks.symbolic import Relation
from checks.symstate import OUTCOMES, SCALARS, SEG_FIELDS, SMALL_BITS, Bounds
from spec.machine import World
from spec.segment import Segment
from spec.states import TcpState
from spec.tcb import Ended


def guards(name: str) -> list[tuple[str, int]]:
    """The leaves that say whether ``name`` is in use: (length leaf, k) means length > k; (present, -1) true."""
    out = []
    for m in re.finditer(r"\[(\d+)\]", name):
        head, k = name[: m.start()], int(m[1])
        if name == f"{head}[{k}].present":
            continue
        out.append((f"{head}[{k}].present", -1) if head.endswith(".held") else (f"{head}.len", k))
    return out


def guard_formula(guard: tuple[str, int], leaves: dict[str, z3.ExprRef]) -> z3.BoolRef:
    leaf, k = guard
    return leaves[leaf] if k < 0 else z3.UGT(leaves[leaf], k)


def leaf_names(rel: Relation) -> list[str]:
    """The names of the state's leaves, in :meth:`SymWorld.leaves` order (``A.pc``, ``A>B[0].seq``...)."""
    return [str(t.e).rsplit("@", 1)[0] for t in rel.cur.world.leaves()]


def leaf_values(world: World, bounds: Bounds) -> list[int]:
    """A concrete world's leaves as numbers (booleans 0 and 1), in :meth:`SymWorld.leaves` order.

    The same values as ``SymWorld.of(world, bounds)`` (blank slots included), computed without z3: the
    reachable states number up to hundreds of thousands.
    """
    out: list[int] = []
    for ep in (world.a, world.b):
        for name, width in SCALARS:
            out.append(_fit(getattr(ep, name), width))
        if len(ep.held) > bounds.held or len(ep.history) > bounds.history:
            raise ValueError(f"{world} does not fit in {bounds.describe()}")
        for k in range(bounds.held):
            here = k < len(ep.held)
            out.append(int(here))
            out += _segment_values(ep.held[k] if here else _BLANK_SEGMENT)
        out += _delivered_values(ep.delivered, bounds.delivered)
        out.append(len(ep.history))
        for k in range(bounds.history):
            e = ep.history[k] if k < len(ep.history) else _BLANK_ENDED
            out += [e.inc, e.peer_inc, OUTCOMES.index(e.outcome), int(e.state), e.sent]
            out += _delivered_values(e.delivered, bounds.delivered)
    for chan in (world.ab, world.ba):
        if len(chan) > bounds.channel:
            raise ValueError(f"{len(chan)} segments in flight do not fit in {bounds.channel} slots")
        out.append(len(chan))
        for k in range(bounds.channel):
            out += _segment_values(chan[k] if k < len(chan) else _BLANK_SEGMENT)
    out += [_fit(world.losses, SMALL_BITS), _fit(world.dups, SMALL_BITS), _fit(world.crashes, SMALL_BITS), 0]
    return out


_BLANK_SEGMENT = Segment(0, 0, 0)
_BLANK_ENDED = Ended(0, 0, OUTCOMES[0], TcpState.CLOSED, 0, ())


def _fit(value: int | bool, width: int | None) -> int:
    return int(bool(value)) if width is None else int(value) % (1 << width)


def _segment_values(seg: Segment) -> list[int]:
    return [_fit(getattr(seg, name), width) for name, width in SEG_FIELDS]


def _delivered_values(delivered: tuple[tuple[int, int], ...], slots: int) -> list[int]:
    if len(delivered) > slots:
        raise ValueError(f"{len(delivered)} delivered units do not fit in {slots} slots")
    out = [len(delivered)]
    for k in range(slots):
        inc, unit = delivered[k] if k < len(delivered) else (0, 0)
        out += [_fit(inc, SMALL_BITS), _fit(unit, SMALL_BITS)]
    return out
