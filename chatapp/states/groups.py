"""`GroupsState`: starting direct chats and groups, adding members, leaving; the
dialogs that do it.

Membership changes reach everyone involved as `contacts_changed` (list, presence and
members afresh, with the change's "Dave left" line in tabs that have it open).
"""

from __future__ import annotations

import reflex as rx

from chatapp import routes, runtime
from chatapp.services import conversations as conv
from chatapp.services import limits
from chatapp.services import messages as msgs
from chatapp.services.errors import ChatError
from chatapp.services.messages import MessageView
from chatapp.states.chat_state import ChatState, contacts_changed
from chatapp.states.forms import field
from chatapp.states.people import PeopleState
from chatapp.states.session import signed_in


class GroupsState(ChatState):
    """The new-chat, new-group, add-members and leave dialogs."""

    dialog_error: str = ""
    direct_open: bool = False
    group_open: bool = False

    @rx.event
    async def set_direct_open(self, value: bool):
        self.direct_open = value is True
        self.dialog_error = ""
        return PeopleState.reset_people

    @rx.event
    async def set_group_open(self, value: bool):
        self.group_open = value is True
        self.dialog_error = ""
        return PeopleState.reset_people

    @rx.event
    @signed_in
    async def start_direct_with(self, user_id: int):
        """Open (or create) the direct conversation with a person the search found (only
        one of the results this tab was shown: a raw id from the browser names no one)."""
        if (await self.get_state(PeopleState))._result(user_id) is None:
            return None
        try:
            await limits.take(limits.CONVERSATION_CREATION, self._limit_key())
            with rx.session() as session:
                cid, _ = conv.open_direct(session, user_id=self.user_id, other_id=user_id)
        except ChatError as exc:
            self.dialog_error = str(exc)
            return None
        # The other person hears of it with its first message.
        self.direct_open = False
        return rx.redirect(routes.conversation(cid))

    @rx.event
    @signed_in
    async def create_group(self, form_data: dict):
        """Create a group from the dialog's title and the people picked."""
        people = await self.get_state(PeopleState)
        try:
            title = field(form_data, "title")
            await limits.take(limits.CONVERSATION_CREATION, self._limit_key())
            with rx.session() as session:
                cid = conv.create_group(
                    session, user_id=self.user_id, title=title, member_ids=people._picked_ids()
                )
                member_ids = conv.member_ids(session, cid)
        except ChatError as exc:
            self.dialog_error = str(exc)
            return None
        self.group_open = False
        people._clear_people()
        await self._membership_changed(member_ids, None)
        return rx.redirect(routes.conversation(cid))

    @rx.event
    @signed_in
    async def add_members(self):
        """Add the people picked to the open group."""
        people = await self.get_state(PeopleState)
        picked = people._picked_ids()
        if not picked:
            self.error = "Pick at least one person to add."
            return
        try:
            await limits.take(limits.MEMBERSHIP_CHANGES, self._limit_key())
            with rx.session() as session:
                added = conv.add_members(
                    session, user_id=self.user_id, conversation_id=self.current_id, user_ids=picked
                )
                member_ids = conv.member_ids(session, self.current_id)
                line = msgs.newest(session, self.current_id) if added else None
        except ChatError as exc:
            self.error = str(exc)
            return
        self.error = ""
        people._clear_people()
        if added:
            await self._membership_changed(member_ids, line)

    @rx.event
    @signed_in
    async def leave_group(self):
        """Leave the open group (after the dialog confirmed it)."""
        cid = self.current_id
        try:
            with rx.session() as session:
                conv.leave(session, user_id=self.user_id, conversation_id=cid)
                member_ids = conv.member_ids(session, cid)
                line = msgs.newest(session, cid)
        except ChatError as exc:
            self.error = str(exc)
            return None
        await self._membership_changed([*member_ids, self.user_id], line)
        return rx.redirect(routes.HOME)

    async def _membership_changed(self, user_ids: list[int], line: MessageView | None) -> None:
        """Everyone involved sees the new membership: this tab now, the others by push."""
        await self._refresh_contacts(line)
        push = runtime.push()
        me = self.router.session.client_token
        push.soon(push.to_users([*user_ids, self.user_id], contacts_changed(line), skip=me))
