"""`AppState`: the signed-in user of a tab, and the presence of everyone they chat with."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import reflex as rx
from reflex_base.constants.state import FIELD_MARKER

from chatapp import routes
from chatapp.models import utcnow
from chatapp.presence import fanout
from chatapp.presence.logic import epoch_ms, newer
from chatapp.presence.tracker import get_app, get_service
from chatapp.services import limits, logins
from chatapp.settings import settings
from chatapp.states.session import SessionState

logger = logging.getLogger(__name__)

# Each presence entry travels under a key of its own in the tab's state, so a change
# of one user costs one entry on the wire, not the whole map (a 1,000-entry dict var
# is resent whole: 100 KB per change).
PRESENCE_KEY_PREFIX = "presence_map."
_MAP_KEY = "presence_map" + FIELD_MARKER
# The status menu's choices: (status, for how long) for the presence service.
MANUAL_CHOICES: dict[str, tuple[str | None, timedelta | None]] = {
    "auto": (None, None),
    "away": ("away", None),
    "dnd": ("dnd", None),
    "dnd_1h": ("dnd", timedelta(hours=1)),
    "invisible": ("invisible", None),
}


class AppState(SessionState):
    """The tab's user and the live presence of their contacts.

    `presence_map` maps a user id (as a string) to that user's presence entry
    (`PresenceData.to_wire()`): the user themself and everyone who shares a
    conversation with them. A full snapshot is loaded with every page load and
    reconnect; after that, `handle_presence_changed` applies one change at a time.
    """

    presence_map: dict[str, dict[str, Any]] = {}
    # The status this user chose for themself: "away", or "" for automatic.
    manual_status: str = ""
    # When the chosen status ends by itself (epoch ms), 0 for never.
    manual_until_ms: int = 0
    # This user hides their last-seen time (and so sees no one's).
    hide_last_seen: bool = False
    # This user has the most tabs open that one user may: this one stays empty.
    tabs_full: bool = False
    # What the browser holds of presence_map, to send it only what differs.
    _presence_sent: dict[str, dict[str, Any]] = {}

    # Page life ------------------------------------------------------------------------

    @rx.event
    async def load_session(self):
        """on_load of every signed-in page: register this tab and load presence.

        Runs on the first load, on every navigation and after every reconnect.
        """
        service = get_service()
        if not await self._signed_in():
            # A reconnecting tab was taken back at its socket's connect; its login ended
            # meanwhile (logged out elsewhere, expired): it leaves, as at a logout.
            await service.mark_offline(token=self.router.session.client_token, sid=None)
            return rx.redirect(routes.LOGIN)
        self.tabs_full = await self._over_tab_cap()
        if self.tabs_full:
            return None
        await service.mark_online(
            token=self.router.session.client_token,
            sid=self.router.session.session_id,
            user_id=self.user_id,
        )
        self._replace_presence(await service.snapshot(self.user_id))
        await self._show_choices()
        return AppState.end_at_login_expiry

    @rx.event(background=True)
    async def end_at_login_expiry(self):
        """Sign the tab out when its login session expires: it leaves presence and gets
        no more updates, as at a logout. Started by every page load; Reflex cancels it
        when the tab navigates (the next page starts it again) or disconnects."""
        async with self:
            auth_token = self.auth_token
        with rx.session() as session:
            login = logins.resolve(session, auth_token, now=utcnow())
        if login is None:
            return None
        await asyncio.sleep(max(0.0, (login.expires_at - utcnow()).total_seconds()))
        async with self:
            if await self._signed_in():
                return AppState.end_at_login_expiry  # extended meanwhile: watch again
            return rx.redirect(routes.LOGIN)

    @rx.event
    async def logout(self):
        """Log this browser out: every tab of its login leaves at once."""
        if await self._signed_in():
            login_id, user_id = self._login_id, self.user_id
            with rx.session() as session:
                logins.end(session, login_id)
            await self._signed_in()  # this tab first: it has ended now
            await end_tabs(user_id, {login_id}, except_token=self.router.session.client_token)
        self.auth_token = ""
        return rx.redirect(routes.LOGIN)

    @rx.event
    async def logout_everywhere(self):
        """End every login of this user, on every browser and device."""
        if await self._signed_in():
            user_id = self.user_id
            with rx.session() as session:
                ended = logins.end_all(session, user_id=user_id)
            await self._signed_in()
            await end_tabs(user_id, set(ended), except_token=self.router.session.client_token)
        self.auth_token = ""
        return rx.redirect(routes.LOGIN)

    async def _over_tab_cap(self) -> bool:
        """Whether this tab would be one more than `settings.max_tabs_per_user` (over all
        the user's logins and devices, on every instance)."""
        cap = settings.max_tabs_per_user
        if not cap:
            return False
        tabs = await get_service().registry.tokens_of([self.user_id])
        return self.router.session.client_token not in tabs and len(tabs) >= cap

    def _limit_key(self) -> str:
        """What the rate limits count by: the user, however many tabs or sockets they open."""
        return f"user:{self.user_id}"

    async def _on_signed_out(self) -> None:
        """The tab's login ended: it leaves presence at once (no grace) and forgets what
        it showed; its socket gets no more changes."""
        await get_service().mark_offline(token=self.router.session.client_token, sid=None)
        self.presence_map = {}
        self.manual_status = ""
        self.manual_until_ms = 0
        self.hide_last_seen = False

    # Presence -------------------------------------------------------------------------

    def _replace_presence(self, snapshot: dict[str, dict[str, Any]]) -> None:
        """Replace the whole map (page load, reconnect, contacts changed)."""
        self.presence_map = snapshot

    @rx.event
    async def set_idle(self, idle: bool) -> None:
        """The browser reports that this tab became idle (or active again)."""
        if not await self._signed_in():
            return
        try:
            await limits.take(limits.IDLE_REPORTS, self._limit_key())
        except limits.RateLimited:
            return  # a flapping or scripted tab: its reports are dropped, peers see nothing
        await get_service().set_idle(token=self.router.session.client_token, idle=idle is True)

    @rx.event
    async def set_status(self, choice: str):
        """The status menu: "auto", "away", "dnd", "dnd_1h" or "invisible"."""
        if not await self._signed_in():
            return rx.redirect(routes.LOGIN)
        if not isinstance(choice, str) or choice not in MANUAL_CHOICES:
            return rx.toast.error(f"Unknown status {str(choice)[:20]!r}.")
        try:
            await limits.take(limits.STATUS_CHANGES, self._limit_key())
        except limits.RateLimited as exc:
            return rx.toast.error(str(exc))
        status, duration = MANUAL_CHOICES[choice]
        until = utcnow() + duration if duration else None
        await get_service().set_manual(user_id=self.user_id, status=status, until=until)
        await self._show_choices()
        return None

    @rx.event
    async def set_hide_last_seen(self, hide: bool):
        """The "hide my last seen" switch."""
        if not await self._signed_in():
            return rx.redirect(routes.LOGIN)
        try:
            await limits.take(limits.STATUS_CHANGES, self._limit_key())
        except limits.RateLimited as exc:
            return rx.toast.error(str(exc))
        await get_service().set_hide_last_seen(user_id=self.user_id, hide=hide is True)
        await self._show_choices()
        return None

    async def _show_choices(self) -> None:
        choices = await get_service().preferences.of(self.user_id)
        self.manual_status = choices.manual or ""
        self.manual_until_ms = epoch_ms(choices.until) or 0
        self.hide_last_seen = choices.hide_last_seen


async def end_tabs(user_id: int, login_ids: set[int], *, except_token: str) -> None:
    """Sign out the open tabs of these logins of a user, on every instance: each leaves
    presence, forgets what it showed and leaves the chat pages (`signed_out` makes the
    page go to the log-in form).

    `except_token` is the tab whose handler calls this: its state is locked by that
    handler, so a change delivered to it would wait for itself forever.
    """
    if not login_ids:
        return
    tokens = [t for t in await get_service().registry.tokens_of([user_id]) if t != except_token]

    async def end(state: AppState) -> None:
        if state._login_id in login_ids:
            await state._on_signed_out()
            state._clear_login()

    await fanout.deliver(get_app(), tokens, AppState, end)


# The wire ----------------------------------------------------------------------------
# Reflex refuses these two as methods in a state's body (it takes every method there
# for an event handler), so they are attached after the class is made: both are meant
# to be overridden (reflex.istate.delta.build_delta calls get_delta "so an override
# applies to it").

_base_get_delta = AppState.get_delta
_base_dict = AppState.dict


def _get_delta(self: AppState):
    """Send presence as per-user entries: only those that changed since the last send."""
    delta = _base_get_delta(self)
    name = self.get_full_name()
    sub = delta.get(name)
    if sub is not None and _MAP_KEY in sub:
        current = sub.pop(_MAP_KEY) or {}
        # Raw, not through `self._presence_sent`: Reflex would wrap that dict, and every
        # entry read from it, in a change-tracking proxy, which made this diff cost ~8 ms
        # for a tab with 1,000 contacts (profile in docs/benchmarks.md); raw it is ~0.1 ms.
        sent = self.get_value("_presence_sent")
        patch = {PRESENCE_KEY_PREFIX + k: v for k, v in current.items() if sent.get(k) != v}
        patch.update({PRESENCE_KEY_PREFIX + k: None for k in sent if k not in current})
        sub.update(patch)
        self._presence_sent = dict(current)
        if not sub:
            del delta[name]
    return delta


def _dict(self: AppState, include_computed: bool = True, initial: bool = False, **kwargs):
    """A full snapshot (hydration) carries every entry, each under its own key."""
    out = _base_dict(self, include_computed=include_computed, initial=initial, **kwargs)
    sub = out[self.get_full_name()]
    current = sub.pop(_MAP_KEY, {}) or {}
    sub.update({PRESENCE_KEY_PREFIX + k: v for k, v in current.items()})
    return out


def _handle_presence_changed(self: AppState, data: dict[str, Any]) -> None:
    """Apply one presence change pushed by the presence service.

    Server-side only: attached after the class is made so that Reflex does not register
    it as an event a browser could send with a forged entry.
    """
    key = str(data["user_id"])
    if newer(data, self.presence_map.get(key)):
        self.presence_map[key] = data


def _apply_presence_in_place(self: AppState, data: dict[str, Any]) -> bool:
    """Apply one presence change outside Reflex's tracking, as already sent to the
    browser (`presence_delta`): for `fanout.push`, which sends it itself.

    Returns:
        Whether the entry replaced the one held (an older one is ignored).
    """
    key = str(data["user_id"])
    current = self.get_value("presence_map")
    if not newer(data, current.get(key)):
        return False
    current[key] = data
    self.get_value("_presence_sent")[key] = data
    return True


def presence_delta(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The delta a tab gets for one presence change: what `_get_delta` makes of it."""
    return {AppState.get_full_name(): {PRESENCE_KEY_PREFIX + str(data["user_id"]): data}}


AppState.get_delta = _get_delta
AppState.dict = _dict
AppState.handle_presence_changed = _handle_presence_changed
AppState.apply_presence_in_place = _apply_presence_in_place
