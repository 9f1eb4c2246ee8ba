"""`TypingState`: who is typing in the user's conversations, and telling others.

Nothing is stored: a typing tab reports "typing" when its user starts and at most every
few seconds while they go on, and "stopped" after a pause, on an emptied draft or on
leaving the conversation (components/composer.py throttles it in the browser). Each
report goes to the members who may see the typer's presence (`audience.
typing_receivers`), never while the typer appears offline, and of their tabs only to
those that show the conversation: open in the tab, or its row on screen in the tab's
list (the browser reports which rows are, `set_rows_in_view`; a tab that scrolls a row
into view gets its typers with their next refresh, within 3 s). It travels as one keyed
entry
(`typing_map.<conversation>-<user>`): [conversation id, user id, server time in ms]
(a list: the frame stays under 300 bytes under this state's long name), removed
(None) when they stop. A receiving browser shows an entry for 6 s after it last changed
(so a typer whose tab died goes within 6 s) and hides it at once when that user's
message arrives (components/typing.py).
"""

from __future__ import annotations

import time

import reflex as rx

from chatapp import runtime, wire
from chatapp.delivery import TabChange, portable
from chatapp.reflex_adapter import keyed_dict
from chatapp.services import audience, limits
from chatapp.states.chat_state import ChatState
from chatapp.states.session import signed_in


class TypingState(ChatState):
    """Who is typing, as this tab shows it (the user's choice to share their own typing
    is `AppState.share_typing`)."""

    # Keyed: "<conversation id>-<user id>" → the entry above.
    typing_map: dict[str, list[int]] = {}
    _typing_sent: dict[str, list[int]] = {}
    # The conversations whose rows this tab's list shows on screen (its browser says).
    _rows_in_view: list[int] = []

    @rx.event
    @signed_in
    async def set_rows_in_view(self, ids: list) -> None:
        """The browser: these conversations' rows are on screen in this tab's list now.

        Anything but a list of at most `wire.ROWS_IN_VIEW_MAX` ids is ignored. Ids of
        conversations the user is not in change nothing: typing is sent only to members,
        and only then filtered by what their tabs show.
        """
        if type(ids) is not list or len(ids) > wire.ROWS_IN_VIEW_MAX:
            return
        if not all(type(i) is int and 0 < i < 2**63 for i in ids):
            return
        try:
            await limits.take(limits.ROWS_IN_VIEW, self._limit_key())
        except limits.RateLimited:
            return  # dropped: the next report (scrolling on) sets it right
        self._rows_in_view = sorted(set(ids))

    @rx.event
    @signed_in
    async def set_typing(self, typing: bool) -> None:
        """The browser: this tab's user started (or goes on) typing in the open
        conversation, or stopped."""
        cid = self.current_id
        if not cid or type(typing) is not bool:
            return
        try:
            await limits.take(limits.TYPING, self._limit_key())
        except limits.RateLimited:
            return  # dropped: a stop missed is made up by the receivers' expiry
        if typing and await runtime.presence().preferences.invisible(self.user_id):
            return
        with rx.session() as session:
            receivers = audience.typing_receivers(session, user_id=self.user_id, conversation_id=cid)
        if not receivers:
            return
        key = f"{cid}-{self.user_id}"
        entry = [cid, self.user_id, int(time.time() * 1000)]
        push = runtime.push()
        push.soon(push.to_users(receivers, typing_change(cid, key, entry if typing else None)))


TYPING = keyed_dict.install(TypingState, wire.TYPING_MAP, shadow="_typing_sent")


def shows(state: TypingState, conversation_id: int) -> bool:
    """Whether a tab shows the conversation: open in it, or its row on screen."""
    return state.current_id == conversation_id or conversation_id in state.get_value("_rows_in_view")


@portable("typing")
def typing_change(conversation_id: int, key: str, entry: list[int] | None) -> TabChange:
    """One typing entry (None: stopped) for the receivers' tabs: one key each.

    A start (or refresh) changes only the tabs that show the conversation; the others
    are sent nothing. A stop removes the entry from every tab that holds it (one that
    showed the conversation when the typing began).
    """
    change = TYPING.entry_change(key, entry)
    if entry is None:
        return change
    return TabChange(
        TypingState,
        apply=lambda state: shows(state, conversation_id) and change.apply(state),
        in_place=lambda state: shows(state, conversation_id) and change.in_place(state),
        delta=change.delta,
    )
