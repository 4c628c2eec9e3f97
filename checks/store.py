"""A compact store of explored worlds: each world kept as one integer, its parts kept once.

A reachable state graph has far fewer distinct parts than states: on the lossy
preset, 130,275 worlds are made of 93 distinct endpoints and 7,769 distinct
channel contents.  So the store hash-conses (interns) the parts -- each distinct
endpoint and channel content gets a number, the first time it is seen -- and
keeps each world as the numbers of its four parts and its three fault budgets,
packed into one integer.  That integer is the world's key in the visited set, which
hashes it in constant time, where hashing a :class:`~spec.machine.World`
walks every field of both endpoints and every segment in flight.

Worlds are numbered in the order they were added (for the explorer, BFS order).
``store[i]`` rebuilds world ``i`` from its parts; the parts are the interned
objects themselves, so rebuilding copies nothing.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import Generic, TypeVar, overload

from spec.machine import World
from spec.segment import Segment
from spec.tcb import Endpoint

T = TypeVar("T", bound=Hashable)

#: Bits of each part's number in a world's key: every part table holds fewer than 2**32 entries.
FIELD_BITS = 32
_FIELD_MASK = (1 << FIELD_BITS) - 1
#: Bits of each fault budget (losses, duplications, crashes left), packed as they are.
BUDGET_BITS = 16
_BUDGET_MASK = (1 << BUDGET_BITS) - 1


class Interned(Generic[T]):
    """Distinct values, numbered in the order they were first seen."""

    __slots__ = ("_by_value", "by_identity", "values")

    def __init__(self) -> None:
        self.values: list[T] = []  # number -> the value's first (canonical) object
        self._by_value: dict[T, int] = {}
        # id() of each canonical object -> its number.  Canonical objects live as long as the
        # table, so no other live object can have their id: a hit needs no hashing of the value.
        self.by_identity: dict[int, int] = {}

    def number(self, value: T) -> int:
        """The number of ``value``, adding it if it is new."""
        n = self.by_identity.get(id(value))
        if n is not None:
            return n
        n = self._by_value.get(value)
        if n is None:
            n = len(self.values)
            if n > _FIELD_MASK:
                raise MemoryError(f"more than 2**{FIELD_BITS} distinct parts of worlds; the store cannot number them")
            self.values.append(value)
            self._by_value[value] = n
            self.by_identity[id(value)] = n
        return n

    def find(self, value: T) -> int | None:
        """The number of ``value``, or None if it has not been seen (nothing is added)."""
        n = self.by_identity.get(id(value))
        return n if n is not None else self._by_value.get(value)

    def __len__(self) -> int:
        return len(self.values)


class WorldStore(Sequence[World]):
    """Worlds numbered 0, 1, ... in the order added, each stored as one packed integer."""

    __slots__ = ("_channels", "_endpoints", "_ids", "_keys")

    def __init__(self) -> None:
        self._endpoints: Interned[Endpoint] = Interned()
        self._channels: Interned[tuple[Segment, ...]] = Interned()
        self._keys: list[int] = []  # world number -> key
        self._ids: dict[int, int] = {}  # key -> world number

    def key(self, world: World) -> int:
        """The packed numbers of the world's parts: A, B, channel A > B, channel B > A, fault budgets."""
        a, b, ab, ba, losses, dups, crashes = world
        if (losses | dups | crashes) >> BUDGET_BITS:
            most = max(losses, dups, crashes)
            raise ValueError(f"a fault budget of {most:,} is not one the store packs (0 to 2**{BUDGET_BITS} - 1)")
        # The parts that a transition left unchanged are the canonical objects: found by identity.
        endpoints, channels = self._endpoints, self._channels
        same_endpoint, same_channel = endpoints.by_identity.get, channels.by_identity.get
        na = same_endpoint(id(a))
        nb = same_endpoint(id(b))
        nab = same_channel(id(ab))
        nba = same_channel(id(ba))
        return (
            (endpoints.number(a) if na is None else na)
            | (endpoints.number(b) if nb is None else nb) << FIELD_BITS
            | (channels.number(ab) if nab is None else nab) << 2 * FIELD_BITS
            | (channels.number(ba) if nba is None else nba) << 3 * FIELD_BITS
            | (losses | dups << BUDGET_BITS | crashes << 2 * BUDGET_BITS) << 4 * FIELD_BITS
        )

    def find(self, key: int) -> int | None:
        """The number of the world with ``key``, or None if it has not been added."""
        return self._ids.get(key)

    def add(self, key: int) -> int:
        """Add the world with ``key`` (not yet in the store) and return its number."""
        n = len(self._keys)
        self._keys.append(key)
        self._ids[key] = n
        return n

    def index_of(self, world: World) -> int | None:
        """The number of ``world``, or None if it is not in the store (which it leaves as it was)."""
        a, b, ab, ba, losses, dups, crashes = world
        parts = (
            self._endpoints.find(a),
            self._endpoints.find(b),
            self._channels.find(ab),
            self._channels.find(ba),
        )
        if None in parts or (losses | dups | crashes) >> BUDGET_BITS:
            return None
        return self._ids.get(self.key(world))

    def __contains__(self, world: object) -> bool:
        return isinstance(world, World) and self.index_of(world) is not None

    def world(self, key: int) -> World:
        """The world with ``key``, rebuilt from its interned parts."""
        endpoints = self._endpoints.values
        channels = self._channels.values
        budgets = key >> 4 * FIELD_BITS
        return World(
            endpoints[key & _FIELD_MASK],
            endpoints[key >> FIELD_BITS & _FIELD_MASK],
            channels[key >> 2 * FIELD_BITS & _FIELD_MASK],
            channels[key >> 3 * FIELD_BITS & _FIELD_MASK],
            budgets & _BUDGET_MASK,
            budgets >> BUDGET_BITS & _BUDGET_MASK,
            budgets >> 2 * BUDGET_BITS,
        )

    def parts(self) -> dict[str, int]:
        """How many distinct parts the stored worlds share."""
        return {"endpoints": len(self._endpoints), "channels": len(self._channels)}

    @overload
    def __getitem__(self, index: int) -> World: ...

    @overload
    def __getitem__(self, index: slice) -> list[World]: ...

    def __getitem__(self, index: int | slice) -> World | list[World]:
        if isinstance(index, slice):
            return [self.world(k) for k in self._keys[index]]
        return self.world(self._keys[index])

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[World]:
        world = self.world
        for key in self._keys:
            yield world(key)
