"""Tabs whose socket closed a moment ago: who each was, and until when it counts.

A closed tab still gets every change for a while (its grace, or a mass drop's longer
one), so that when it reconnects meanwhile its state is current and its page load need
not load it again. Both registries keep them: the in-process one for every tab
(`registry.InProcessRegistry`), the Redis one for the tabs this instance held
(`redis_registry.OwnTabs`). Kept oldest first (by when each closed), by token and by user:
a change finds its users' closed tabs without a look at every closed tab.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime


class ClosedTabs:
    def __init__(self) -> None:
        # By token: (user, until when it counts), oldest first; the same tokens by user.
        self._by_token: dict[str, tuple[int, datetime]] = {}
        self._by_user: dict[int, dict[str, None]] = {}

    def add(self, token: str, user_id: int, until: datetime) -> None:
        """A tab's socket closed now: it counts until `until` (unless kept longer)."""
        self.drop(token)
        self._by_token[token] = (user_id, until)
        self._by_user.setdefault(user_id, {})[token] = None

    def keep(self, token: str, until: datetime) -> None:
        """A closed tab counts until `until` at least (keeping its place: it closed when
        it closed)."""
        closed = self._by_token.get(token)
        if closed is not None and closed[1] < until:
            self._by_token[token] = (closed[0], until)

    def get(self, token: str) -> tuple[int, datetime] | None:
        """A closed tab's user and until when it counts (None: not a closed tab)."""
        return self._by_token.get(token)

    def drop(self, token: str) -> int | None:
        """Forget a closed tab (back, or its time over); returns its user, if it was one."""
        closed = self._by_token.pop(token, None)
        if closed is None:
            return None
        user_id = closed[0]
        tokens = self._by_user[user_id]
        del tokens[token]
        if not tokens:
            del self._by_user[user_id]
        return user_id

    def drop_user(self, user_id: int) -> None:
        """Forget every closed tab of a user."""
        for token in list(self._by_user.get(user_id, ())):
            self.drop(token)

    def forget(self, counts: Callable[[int, datetime], bool]) -> None:
        """Forget the oldest closed tabs until one that still `counts(user, until)`. Those
        after it that do not are forgotten later (a mass drop's tabs are kept longer:
        those closed after them wait for them, and meanwhile get changes they do not
        need; a look-up checks, `get`)."""
        closed = self._by_token
        while closed:
            token, (user_id, until) = next(iter(closed.items()))
            if counts(user_id, until):
                break
            self.drop(token)

    def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The closed tabs of these users (each user once)."""
        by_user = self._by_user
        return [token for uid in dict.fromkeys(user_ids) for token in by_user.get(uid, ())]

    def clear(self) -> None:
        self._by_token.clear()
        self._by_user.clear()

    def __contains__(self, token: str) -> bool:
        return token in self._by_token

    def __len__(self) -> int:
        return len(self._by_token)
