"""One copy of equal values that many tabs hold: `OneCopy`.

Every tab holds its own state, and tabs that show the same thing (the same person's
presence, the same conversation's row) hold equal dicts. `OneCopy.share(slot, value)`
gives a value equal to the one given out before for that slot as that same object, so
those tabs hold one copy between them, as a pushed change already is (one dict for every
tab it reaches). Safe for values that are replaced whole, never changed in place: a tab's
state is changed only by assigning a new value, and its delta says so.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class OneCopy(Generic[V]):
    """The latest value given out per slot, at most `limit` slots (then it starts over).

    A slot names what the value is of (a user and whether their last seen shows; a
    conversation and the viewer's peer); values are shared only when equal, so a slot
    too coarse costs copies, never a wrong value.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._held: dict[Hashable, V] = {}

    def share(self, slot: Hashable, value: V) -> V:
        """`value`, or the equal one given out before for `slot`."""
        held = self._held.get(slot)
        if held is not None and held == value:
            return held
        if len(self._held) >= self.limit:
            self._held.clear()
        self._held[slot] = value
        return value

    def __len__(self) -> int:
        return len(self._held)
