"""Push to users: one change into every open tab of a set of users, on every instance.

The one way anything reaches tabs other than the one whose handler is running (as
Zulip's `send_event(realm, event, users)`): presence, new messages, conversation-list
updates, logging tabs out; typing and read receipts later. A caller says *who* (user
ids) and *what* (a `TabChange`: which state it changes, how, and the delta if it can
be sent without Reflex's tracking); `Push` finds the users' tabs in the tab directory
(the presence registry: every tab of every instance) and hands them to the adapter,
which changes each tab's state and sends it one small delta.

With several instances (Redis), a change made by a factory marked `portable` is not
sent to other instances' tabs through Reflex's state in Redis (a state's round trip
per tab): this instance makes it in its own tabs and publishes the factory's name and
arguments once on the push channel (`chatapp.push_bus`); every other instance makes
the same change in the tabs whose sockets it holds. Other changes go to every tab
through Reflex (which relays a delta to the instance that holds the tab's socket).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, ParamSpec, Protocol

import reflex as rx

from chatapp.background import Background
from chatapp.reflex_adapter import tabs
from chatapp.reflex_adapter.tabs import TabChange

logger = logging.getLogger(__name__)

__all__ = ["Bus", "Push", "TabChange", "TabDirectory", "portable"]

P = ParamSpec("P")
# Factories of portable changes, by name (see `portable`).
_RECIPES: dict[str, Callable[..., TabChange]] = {}


def portable(name: str) -> Callable[[Callable[P, TabChange]], Callable[P, TabChange]]:
    """Mark a factory of changes as one another instance can run too: its arguments
    must be JSON (what they become after a round trip through JSON must make the same
    change), and what it returns may not collect anything for the caller (what its
    tabs collect is for its own `after`, which each instance runs).

    Each change it makes carries its recipe (`TabChange.recipe`): `name` and the
    arguments, which `Push.to_users` publishes for the other instances.
    """

    def mark(factory: Callable[P, TabChange]) -> Callable[P, TabChange]:
        known = _RECIPES.get(name)
        if known is not None and _where(known) != _where(factory):  # (a module reloaded: the same)
            msg = f"two portable changes are named {name!r}"
            raise ValueError(msg)

        @functools.wraps(factory)
        def make(*args: P.args, **kwargs: P.kwargs) -> TabChange:
            if kwargs:
                msg = f"the portable change {name!r} takes positional arguments only"
                raise TypeError(msg)
            return dataclasses.replace(factory(*args), recipe=(name, tuple(args)))

        _RECIPES[name] = make
        return make

    return mark


def _where(factory: Callable[..., TabChange]) -> str:
    return f"{factory.__module__}.{factory.__qualname__}"


def from_recipe(recipe: tuple[str, Iterable[Any]]) -> TabChange:
    """The change a recipe makes (on the instance that received it).

    Raises:
        KeyError: No portable change has that name.
    """
    name, args = recipe
    return _RECIPES[name](*args)


class Bus(Protocol):
    """Carries text to every instance (`chatapp.push_bus.RedisBus`)."""

    async def publish(self, message: str) -> int:
        """Send a message to every instance listening (this one included)."""
        ...


class TabDirectory(Protocol):
    """Knows the open tabs of every user on every instance."""

    async def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of every open tab of these users."""
        ...

    def local_tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of these users' tabs whose sockets this instance holds."""
        ...


class Push:
    """Delivers changes into the tabs of users.

    Args:
        app: The running app.
        directory: Where the users' tabs are found.
        bus: Where portable changes go to the other instances (None: one instance).
        instance_id: This instance's name on the bus (its own messages come back).
    """

    def __init__(
        self, app: rx.App, directory: TabDirectory, *, bus: Bus | None = None, instance_id: str = ""
    ) -> None:
        self.app = app
        self.directory = directory
        self.bus = bus
        self.instance_id = instance_id
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
            How many tabs were updated (on this instance only, for a portable change
            with several instances).
        """
        if self.bus is not None and change.recipe is not None:
            users = list(dict.fromkeys(user_ids))
            recipe = change.recipe
            message = json.dumps({"from": self.instance_id, "users": users, "recipe": recipe, "skip": skip})
            try:
                await self.bus.publish(message)
            except Exception as exc:  # Redis is away: the outage closes every socket
                logger.warning("publishing a change to the other instances failed (%s)", exc)
            return await self._to_own_tabs(users, change, skip)
        tokens = [t for t in await self.tabs_of(user_ids) if t != skip]
        return await self.to_tabs(tokens, change)

    def received(self, message: str) -> None:
        """A portable change another instance published: make it in this instance's tabs
        of its users (soon, in the order received)."""
        try:
            decoded = json.loads(message)
            if decoded["from"] == self.instance_id:
                return  # made here already
            change = from_recipe(decoded["recipe"])
        except Exception as exc:  # from a newer version, during a rolling deploy, say
            logger.warning("a change from another instance could not be read (%r)", exc)
            return
        self.soon(self._to_own_tabs(decoded["users"], change, decoded.get("skip")))

    async def _to_own_tabs(self, user_ids: list[int], change: TabChange, skip: str | None) -> int:
        tokens = [t for t in self.directory.local_tokens_of(user_ids) if t != skip]
        return await self.to_tabs(tokens, change)

    async def to_tabs(self, tokens: Iterable[str], change: TabChange) -> int:
        """Make `change` in these tabs and send each its delta, then run its `after`."""
        tokens = list(tokens)
        made = await tabs.send(self.app, tokens, change) if tokens else 0
        if change.after is not None:
            await change.after()
        return made

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
