"""Which tabs each user has open, in this process (the single-process registry)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from chatapp.presence.logic import Tab


class LocalRegistry:
    """Open tabs by token and by user. Every method is synchronous, so each call is
    atomic on the event loop: no two handlers can interleave inside one.
    """

    def __init__(self) -> None:
        self._tabs: dict[str, Tab] = {}
        self._by_user: dict[int, dict[str, Tab]] = {}

    def register(self, tab: Tab) -> Tab | None:
        """Record an open tab (a page load or a reconnect); returns the tab it replaced."""
        old = self._tabs.get(tab.token)
        if old is not None and old.user_id != tab.user_id:
            self._drop(old)
        self._tabs[tab.token] = tab
        self._by_user.setdefault(tab.user_id, {})[tab.token] = tab
        return old

    def unregister(self, token: str, sid: str | None = None) -> Tab | None:
        """Forget a tab. With `sid`, only if the tab is still on that socket: the close
        of a socket that a reconnect already replaced must not end the new one.
        """
        tab = self._tabs.get(token)
        if tab is None or (sid is not None and tab.sid != sid):
            return None
        self._drop(tab)
        return tab

    def set_idle(self, token: str, idle: bool) -> Tab | None:
        """Mark a tab idle or active; returns the updated tab, None if unknown."""
        tab = self._tabs.get(token)
        if tab is None:
            return None
        tab = replace(tab, idle=idle)
        self._tabs[token] = tab
        self._by_user[tab.user_id][token] = tab
        return tab

    def tab(self, token: str) -> Tab | None:
        """The tab with this token, if open."""
        return self._tabs.get(token)

    def tabs_of(self, user_id: int) -> list[Tab]:
        """The open tabs of a user."""
        return list(self._by_user.get(user_id, {}).values())

    def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of every open tab of these users."""
        return [token for uid in user_ids for token in self._by_user.get(uid, {})]

    def connected_users(self) -> set[int]:
        """The users with at least one open tab."""
        return set(self._by_user)

    def _drop(self, tab: Tab) -> None:
        del self._tabs[tab.token]
        tabs = self._by_user.get(tab.user_id, {})
        tabs.pop(tab.token, None)
        if not tabs:
            self._by_user.pop(tab.user_id, None)
