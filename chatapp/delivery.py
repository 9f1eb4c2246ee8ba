"""Push to users: one change into every open tab of a set of users, on every instance.

The one way anything reaches tabs other than the one whose handler is running (as
Zulip's `send_event(realm, event, users)`): presence, new messages, conversation-list
updates, logging tabs out; typing and read receipts later. A caller says *who* (user
ids) and *what* (a `TabChange`: which state it changes, how, and the delta if it can
be sent without Reflex's tracking); `Push` finds the users' tabs in the tab directory
(the presence registry: every tab of every instance) and hands them to the adapter,
which changes each tab's state and sends it one small delta (Reflex relays to tabs on
other instances through Redis).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Protocol

import reflex as rx

from chatapp.background import Background
from chatapp.reflex_adapter import tabs
from chatapp.reflex_adapter.tabs import TabChange

logger = logging.getLogger(__name__)

__all__ = ["Push", "TabChange", "TabDirectory"]


class TabDirectory(Protocol):
    """Knows the open tabs of every user on every instance."""

    async def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of every open tab of these users."""
        ...


class Push:
    """Delivers changes into the tabs of users.

    Args:
        app: The running app.
        directory: Where the users' tabs are found.
    """

    def __init__(self, app: rx.App, directory: TabDirectory) -> None:
        self.app = app
        self.directory = directory
        self._later = Background("a delivery to tabs", logger)
        # Coalesced deliveries (see `latest`): keys being delivered, and the newest
        # delivery waiting for each.
        self._busy: set[Hashable] = set()
        self._next: dict[Hashable, Callable[[], Awaitable[object]]] = {}

    async def tabs_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of the users' open tabs, on every instance."""
        # A token belongs to one user, so the directory lists each once; `tabs.send`
        # sends each tab once whatever it is given.
        return list(await self.directory.tokens_of(user_ids))

    async def to_users(self, user_ids: Iterable[int], change: TabChange, *, skip: str | None = None) -> int:
        """Make `change` in every open tab of these users and send each its delta.

        Args:
            user_ids: Who gets it.
            change: What changes.
            skip: A tab to leave out: the one whose handler calls this (its state is
                locked by that handler: a change for it would wait for itself).

        Returns:
            How many tabs were updated.
        """
        tokens = [t for t in await self.tabs_of(user_ids) if t != skip]
        return await self.to_tabs(tokens, change) if tokens else 0

    async def to_tabs(self, tokens: Iterable[str], change: TabChange) -> int:
        """Make `change` in these tabs and send each its delta."""
        return await tabs.send(self.app, tokens, change)

    def soon(self, delivery: Awaitable[object]) -> None:
        """Run a delivery without waiting for it (a handler must return, releasing its
        tab's lock, before a change for that tab can be made)."""
        self._later.start(delivery)

    def latest(self, key: Hashable, delivery: Callable[[], Awaitable[object]]) -> None:
        """Run a delivery soon, coalescing a burst: while one with the same key is under
        way, only the newest one given meanwhile runs after it (a burst of reads sends
        the first receipt at once and the last one next, not every one in between)."""
        if key in self._busy:
            self._next[key] = delivery
            return
        self._busy.add(key)

        async def run() -> None:
            step: Callable[[], Awaitable[object]] | None = delivery
            try:
                while step is not None:
                    await step()
                    step = self._next.pop(key, None)
            finally:
                self._busy.discard(key)
                self._next.pop(key, None)

        self.soon(run())

    async def drain(self) -> None:
        """Wait for every delivery started with `soon` (shutdown, tests)."""
        await self._later.drain()
