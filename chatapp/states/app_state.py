"""`AppState`: the signed-in user of a tab, and the presence of everyone they chat with."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import reflex as rx

from chatapp import routes, runtime, wire
from chatapp.delivery import TabChange, portable
from chatapp.models import utcnow
from chatapp.presence.logic import Chosen, epoch_ms, newer
from chatapp.reflex_adapter import keyed_dict, sockets
from chatapp.services import audience, custom_status, limits, logins
from chatapp.services import conversations as conv
from chatapp.services.errors import ChatError
from chatapp.settings import settings
from chatapp.states.session import SessionState, signed_in

logger = logging.getLogger(__name__)
# The status menu's items: (chosen status, for how long) for the presence service.
STATUS_MENU: dict[str, tuple[Chosen | None, timedelta | None]] = {
    "auto": (None, None),
    "away": (Chosen.AWAY, None),
    "dnd": (Chosen.DND, None),
    "dnd_1h": (Chosen.DND, timedelta(hours=1)),
    "invisible": (Chosen.INVISIBLE, None),
}


class AppState(SessionState):
    """The tab's user and the live presence of their contacts.

    `presence_map` maps a user id (as a string) to that user's presence entry
    (`PresenceData.to_wire()`): the user themself and everyone who shares a
    conversation with them. A full snapshot is loaded with every page load and
    reconnect; after that, `presence_change` applies one change at a time. It is a
    keyed dict (`PRESENCE`): each entry travels under a key of its own, so a change of
    one user costs one entry on the wire, not the whole map.
    """

    presence_map: dict[str, dict[str, Any]] = {}
    # This user's chosen status ("away", "dnd", "invisible"), or "" for automatic.
    chosen_status: str = ""
    # When the chosen status ends by itself (epoch ms), 0 for never.
    chosen_until_ms: int = 0
    # This user hides their last-seen time (and so sees no one's).
    hide_last_seen: bool = False
    # Who sees this user's presence: "everyone", "written" (people they wrote to), "nobody".
    presence_audience: str = "written"
    # Others (who may see this user's presence) see when this user is typing.
    share_typing: bool = True
    # This user sends read receipts (and so sees others').
    read_receipts: bool = True
    # This user has the most tabs open that one user may: this one stays empty.
    tabs_full: bool = False
    # What the browser holds of presence_map, to send it only what differs.
    _presence_sent: dict[str, dict[str, Any]] = {}
    # Custom statuses ("🌴 On holiday") of the same people (whom the user may see), by
    # user id: [emoji, text, until epoch ms or 0] (`custom_status.CustomStatus`). Keyed.
    custom_map: dict[str, list] = {}
    _custom_sent: dict[str, list] = {}
    # The custom status dialog: open, and its error.
    custom_open: bool = False
    custom_error: str = ""

    # Page life ------------------------------------------------------------------------

    async def _open_session(self) -> tuple[Any, bool]:
        """The first step of every signed-in page's load (`ChatState.load_home` and
        `load_conversation`): check the login, register this tab and load presence.

        Runs on the first load, on every navigation and after every reconnect, inside
        the page's one on_load handler, which a (re)connect runs inside its hydrate: one
        Reflex event per page load (`reflex_adapter.hydrate.load_inline`).

        Returns:
            A redirect to the log-in form if the tab's login has ended, else None (then
            `user_id` is set, unless `tabs_full`); and whether this state is current (a
            tab taken back whose state got every change while it was away: see
            `PresenceService.came_back_current`), so that the page need not load what
            changes keep current. A reconnect storm is mostly such page loads.
        """
        service = runtime.presence()
        token, sid = self.router.session.client_token, self.router.session.session_id
        await sockets.handled(runtime.push().app, token)  # its reconnect was taken back first
        kept = service.came_back_current(token, sid)
        held_by = self.user_id  # whose state this is (0: a new one)
        if not await self._signed_in():
            # A reconnecting tab was taken back at its socket's connect; its login ended
            # meanwhile (logged out elsewhere, expired): it leaves, as at a logout.
            await service.mark_offline(token=token, sid=None)
            return rx.redirect(routes.LOGIN), False
        # Kept: registered again at its socket's connect, with this user; its state got
        # every change (presence, choices, list) while it was away.
        current = kept and held_by == self.user_id
        if not current:
            self.tabs_full = await self._over_tab_cap()
            if self.tabs_full:
                return None, False
            await service.mark_online(token=token, sid=sid, user_id=self.user_id)
            self._replace_presence(await service.snapshot(self.user_id))
            await self._show_choices()
        sign_out_at_login_end(self.user_id, self._login_id, self._login_ends_at)
        return None, current

    def _replace_custom(self) -> None:
        """The custom statuses of the people in the presence map (whom this user may see,
        themself included), afresh."""
        ids = [int(uid) for uid in self.presence_map] or [self.user_id]
        with rx.session() as session:
            found = custom_status.of_users(session, ids, utcnow())
        self.custom_map = {str(uid): status.to_wire() for uid, status in found.items()}

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
        tabs = [t.token for t in await runtime.presence().registry.tabs_of(self.user_id)]
        return self.router.session.client_token not in tabs and len(tabs) >= cap

    async def _over_choice_limit(self) -> rx.event.EventSpec | None:
        """Count one change of a choice (status, sharing, mute, block) against the user's
        limit; the toast that says why, if it is over."""
        try:
            await limits.take(limits.STATUS_CHANGES, self._limit_key())
        except limits.RateLimited as exc:
            return rx.toast.error(str(exc))
        return None

    def _limit_key(self) -> str:
        """What the rate limits count by: the user, however many tabs or sockets they open."""
        return f"user:{self.user_id}"

    async def _on_signed_out(self) -> None:
        """The tab's login ended: it leaves presence at once (no grace) and forgets what
        it showed; its socket gets no more changes."""
        await runtime.presence().mark_offline(token=self.router.session.client_token, sid=None)
        self.presence_map = {}
        self.chosen_status = ""
        self.chosen_until_ms = 0
        self.hide_last_seen = False

    # Presence -------------------------------------------------------------------------

    def _replace_presence(self, snapshot: dict[str, dict[str, Any]]) -> None:
        """Replace the whole map (page load, reconnect, contacts changed), and the
        custom statuses of the same people."""
        self.presence_map = snapshot
        if self.user_id:
            self._replace_custom()

    def _presence_changed(self, data: dict[str, Any]) -> None:
        """Apply one presence change pushed by the presence service (a private method:
        no browser can send it)."""
        key = str(data["user_id"])
        if newer(data, self.presence_map.get(key)):
            self.presence_map[key] = data

    def _presence_changed_in_place(self, data: dict[str, Any]) -> bool:
        """The same outside Reflex's tracking, as `presence_change`'s delta sends it.

        Returns:
            Whether the entry replaced the one held (an older one is ignored).
        """
        key = str(data["user_id"])
        if not newer(data, PRESENCE.get(self, key)):
            return False
        PRESENCE.set_in_place(self, key, data)
        return True

    @rx.event
    async def set_idle(self, idle: bool) -> None:
        """The browser reports that this tab became idle (or active again)."""
        if not await self._signed_in():
            return
        try:
            await limits.take(limits.IDLE_REPORTS, self._limit_key())
        except limits.RateLimited:
            return  # a flapping or scripted tab: its reports are dropped, peers see nothing
        await runtime.presence().set_idle(token=self.router.session.client_token, idle=idle is True)

    @rx.event
    @signed_in
    async def set_status(self, choice: str):
        """The status menu: "auto", "away", "dnd", "dnd_1h" or "invisible"."""
        if not isinstance(choice, str) or choice not in STATUS_MENU:
            return rx.toast.error(f"Unknown status {str(choice)[:20]!r}.")
        if (refused := await self._over_choice_limit()) is not None:
            return refused
        status, duration = STATUS_MENU[choice]
        until = utcnow() + duration if duration else None
        await runtime.presence().set_chosen(user_id=self.user_id, status=status, until=until)
        await self._show_choices_everywhere()
        return None

    @rx.event
    @signed_in
    async def set_hide_last_seen(self, hide: bool):
        """The "hide my last seen" switch."""
        if (refused := await self._over_choice_limit()) is not None:
            return refused
        await runtime.presence().set_hide_last_seen(user_id=self.user_id, hide=hide is True)
        await self._show_choices_everywhere()
        return None

    @rx.event
    @signed_in
    async def set_presence_audience(self, choice: str):
        """ "Who can see my presence": "everyone", "written" or "nobody"."""
        try:
            await limits.take(limits.STATUS_CHANGES, self._limit_key())
            with rx.session() as session:
                audience.set_audience(session, self.user_id, choice)
                others = conv.co_members(session, self.user_id)
        except ChatError as exc:
            return rx.toast.error(str(exc))
        await self._show_choices_everywhere()
        # Those who gain or lose sight of this user get their presence afresh.
        push = runtime.push()
        push.soon(push.to_users(others, presence_refresh()))
        return None

    @rx.event
    @signed_in
    async def set_share_typing(self, on: bool):
        """ "Let others see when I'm typing"."""
        if (refused := await self._over_choice_limit()) is not None:
            return refused
        with rx.session() as session:
            audience.set_share_typing(session, self.user_id, on is True)
        await self._show_choices_everywhere()
        return None

    @rx.event
    def set_custom_open(self, open_: bool) -> None:
        """The custom status dialog opens or closes."""
        self.custom_open = open_ is True
        self.custom_error = ""

    @rx.event
    @signed_in
    async def set_custom_status(self, form_data: dict):
        """Save the custom status dialog: emoji, text, "clear after" and the browser's
        zone (for "today" and "this week"); an empty emoji and text clear it."""
        try:
            if not isinstance(form_data, dict):
                raise ChatError("A status is an emoji and a short text.")
            emoji, text = custom_status.clean(form_data.get("emoji", ""), form_data.get("text", ""))
            offset = form_data.get("utc_offset", "0")
            offset = int(offset) if isinstance(offset, str) and offset.lstrip("-").isdigit() else None
            until = custom_status.until_for(form_data.get("clear_after", "never"), utcnow(), offset)
            await limits.take(limits.STATUS_CHANGES, self._limit_key())
        except ChatError as exc:
            self.custom_error = str(exc)
            return None
        chosen = custom_status.CustomStatus(emoji, text, until) if emoji or text else None
        await self._publish_custom(chosen)
        self.custom_open = False
        self.custom_error = ""
        return None

    @rx.event
    @signed_in
    async def clear_custom_status(self):
        """The dialog's "Clear status"."""
        try:
            await limits.take(limits.STATUS_CHANGES, self._limit_key())
        except limits.RateLimited as exc:
            self.custom_error = str(exc)
            return
        await self._publish_custom(None)
        self.custom_open = False

    async def _publish_custom(self, chosen: custom_status.CustomStatus | None) -> None:
        with rx.session() as session:
            custom_status.save(session, self.user_id, chosen)
            watchers = audience.watchers_of(session, self.user_id)
        clear_when_ended(self.user_id, chosen.until if chosen else None)
        entry = chosen.to_wire() if chosen else None
        if entry is None:
            self.custom_map.pop(str(self.user_id), None)
        else:
            self.custom_map[str(self.user_id)] = entry
        push = runtime.push()
        push.soon(
            push.to_users(
                [*watchers, self.user_id],
                custom_status_change(self.user_id, entry),
                skip=self.router.session.client_token,
            )
        )

    async def _show_choices_everywhere(self) -> None:
        """The user changed a choice in this tab: show their choices here and, as read
        here once, in their other open tabs, so that every menu and header agrees."""
        shown = await self._read_choices()
        self._show(shown)
        push, token = runtime.push(), self.router.session.client_token
        push.soon(push.to_users([self.user_id], choices_changed(shown), skip=token))

    async def _show_choices(self) -> None:
        self._show(await self._read_choices())

    async def _read_choices(self) -> dict[str, Any]:
        """The user's choices, by the var that shows each."""
        choices = await runtime.presence().preferences.of(self.user_id)
        with rx.session() as session:
            sharing = audience.sharing_of(session, self.user_id)
        return {
            "chosen_status": choices.chosen or "",
            "chosen_until_ms": epoch_ms(choices.until) or 0,
            "hide_last_seen": choices.hide_last_seen,
            "presence_audience": sharing.audience,
            "share_typing": sharing.typing,
            "read_receipts": sharing.receipts,
        }

    def _show(self, shown: dict[str, Any]) -> None:
        for var in CHOICE_VARS:
            setattr(self, var, shown[var])


PRESENCE = keyed_dict.install(AppState, wire.PRESENCE_MAP, shadow="_presence_sent")
CUSTOM = keyed_dict.install(AppState, wire.CUSTOM_STATUS_MAP, shadow="_custom_sent")


@portable("custom status")
def custom_status_change(user_id: int, entry: list | None) -> TabChange:
    """A user's custom status changed (None: cleared or ended): one entry for the tabs of
    whoever may see them."""
    return CUSTOM.entry_change(str(user_id), entry)


def clear_when_ended(user_id: int, until: datetime | None) -> None:
    """Clear the user's custom status (and tell whoever sees it) at `until`, to the
    second, replacing the end of one set before; None only cancels that.

    The timer is this instance's; should it stop first, every instance's sweep
    (`chatapp.wiring`, every 15 s) clears the status. Browsers hide an ended status at
    once by themselves in any case.
    """
    runtime.ends().at(("custom status", user_id), until, lambda: expire_custom_statuses(utcnow()))


def custom_status_end(user_id: int) -> datetime | None:
    """When this instance will clear the user's custom status, if it will."""
    return runtime.ends().when(("custom status", user_id))


async def expire_custom_statuses(now: datetime) -> list[int]:
    """Clear the custom statuses that have ended and tell whoever sees them (run by every
    instance on a timer; each expiry is reported by one)."""
    with rx.session() as session:
        cleared = custom_status.expire_due(session, now)
        audiences = {uid: audience.watchers_of(session, uid) for uid in cleared}
    push = runtime.push()
    for uid, watchers in audiences.items():
        await push.to_users([*watchers, uid], custom_status_change(uid, None))
    return cleared


@portable("presence")
def presence_change(data: dict[str, Any]) -> TabChange:
    """One presence entry for the tabs that show it: one key of `presence_map` each."""
    return TabChange(
        AppState,
        apply=lambda state: state._presence_changed(data),
        in_place=lambda state: state._presence_changed_in_place(data),
        delta=PRESENCE.delta(str(data["user_id"]), data),
    )


# The vars that show a user's choices (`AppState._read_choices`).
CHOICE_VARS = (
    "chosen_status",
    "chosen_until_ms",
    "hide_last_seen",
    "presence_audience",
    "share_typing",
    "read_receipts",
)


@portable("choices")
def choices_changed(shown: dict[str, Any]) -> TabChange:
    """A user changed a choice (status, last seen, audience, typing) in one of their tabs:
    their other tabs show the choices as read there (`AppState._read_choices`)."""

    def apply(state: AppState) -> None:
        if state.user_id:
            state._show(shown)

    return TabChange(AppState, apply=apply)


def presence_snapshot(snapshot: dict[str, dict[str, Any]]) -> TabChange:
    """A user's whole presence map (what they may see changed as a whole)."""
    return TabChange(AppState, apply=lambda state: state._replace_presence(snapshot))


def presence_refresh() -> TabChange:
    """Whose presence a user may see changed (a choice, a request answered, a block):
    their tabs load their presence afresh (gaining or losing entries)."""

    async def apply(state: AppState) -> None:
        if state.user_id:
            state._replace_presence(await runtime.presence().snapshot(state.user_id))

    return TabChange(AppState, apply=apply)


def sign_out_at_login_end(user_id: int, login_id: int, ends_at: datetime | None) -> None:
    """Sign out the login's open tabs when it expires (they leave presence and get no
    more updates, as at a logout), on every instance.

    One timer per login in this process (every page load of its tabs asks for the same
    one: kept as it is), not a background event per tab: that event took each tab's
    state lock twice per page load, a share of every reconnect storm.
    """
    if ends_at is not None:
        ended = {login_id}
        runtime.ends().at(("login", login_id), ends_at, lambda: end_tabs(user_id, ended, except_token=""))


async def end_tabs(user_id: int, login_ids: set[int], *, except_token: str) -> None:
    """Sign out the open tabs of these logins of a user, on every instance: each leaves
    presence, forgets what it showed and leaves the chat pages (`signed_out` makes the
    page go to the log-in form).

    `except_token` is the tab whose handler calls this (see `Push.to_users`).
    """
    if not login_ids:
        return

    async def end(state: AppState) -> None:
        if state._login_id in login_ids:
            await state._on_signed_out()
            state._clear_login()

    await runtime.push().to_users([user_id], TabChange(AppState, apply=end), skip=except_token)
