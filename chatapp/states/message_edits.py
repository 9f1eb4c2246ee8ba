"""Editing and deleting one's own messages: the handlers and the dialogs' state, mixed
into `ChatState` (a Reflex mixin: the vars and handlers become the chat state's own).

Only messages of the user that the tab has loaded can be picked (`_own_entry`); the
service checks authorship again. Every member's tab with the message loaded gets the
changed entry (`ChatState._message_changed`), and the list's row if it was the last one.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chatapp import runtime
from chatapp.delivery import TabChange
from chatapp.services import conversations as conv
from chatapp.services import inbox, limits
from chatapp.services import messages as msgs
from chatapp.services.errors import ChatError
from chatapp.states.session import signed_in


class MessageEdits(rx.State, mixin=True):
    """The edit and delete dialogs of the open conversation."""

    # The message being edited (0: none) and its text when editing began.
    edit_id: int = 0
    edit_body: str = ""
    # The message the user asked to delete, waiting for their confirmation (0: none).
    delete_id: int = 0

    def _own_entry(self, message_id: Any) -> dict[str, Any] | None:
        """A loaded message of this user that can still change."""
        entry = self.message_map.get(str(message_id)) if isinstance(message_id, int) else None
        if entry is None or entry["author_id"] != self.user_id or entry["deleted"] or entry["kind"] != "text":
            return None
        return entry

    @rx.event
    def start_edit(self, message_id: int) -> None:
        """Open the editor on one of the user's own loaded messages."""
        if (entry := self._own_entry(message_id)) is not None:
            self.edit_id, self.edit_body = message_id, entry["body"]

    @rx.event
    def cancel_edit(self) -> None:
        self.edit_id = 0

    @rx.event
    def ask_delete(self, message_id: int) -> None:
        """Ask to confirm deleting one of the user's own loaded messages."""
        if self._own_entry(message_id) is not None:
            self.delete_id = message_id

    @rx.event
    def cancel_delete(self) -> None:
        self.delete_id = 0

    @rx.event
    @signed_in
    async def save_edit(self, form_data: dict):
        """Save the editor's text."""
        body = form_data.get("body") if isinstance(form_data, dict) else None
        await self._change_message(self.edit_id, body=body if isinstance(body, str) else "")

    @rx.event
    @signed_in
    async def delete_message(self):
        """Delete the message the dialog asked about (the user confirmed)."""
        message_id, self.delete_id = self.delete_id, 0
        if message_id:
            await self._change_message(message_id, body=None)

    async def _change_message(self, message_id: int, *, body: str | None) -> None:
        cid = self.current_id
        try:
            await limits.take(limits.MESSAGES, self._limit_key())
            with rx.session() as session:
                if body is None:
                    view = msgs.delete(session, user_id=self.user_id, message_id=message_id)
                else:
                    view = msgs.edit(session, user_id=self.user_id, message_id=message_id, body=body)
                rows = inbox.rows_for_members(session, view.conversation_id)
                member_ids = conv.member_ids(session, view.conversation_id)
        except ChatError as exc:
            self.error = str(exc)
            return
        self.error = ""
        self.edit_id = 0
        entry, wired = view.to_wire(), inbox.wire_rows(rows)
        if view.conversation_id == cid:
            self._message_changed(view, entry, wired)
        # This state's class is the chat's (the mixin has no tab of its own).
        change = TabChange(type(self), apply=lambda state: state._message_changed(view, entry, wired))
        push = runtime.push()
        push.soon(push.to_users(member_ids, change, skip=self.router.session.client_token))
