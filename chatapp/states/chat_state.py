"""`ChatState`: the conversation list, the open conversation, and its messages.

The list and the open conversation's messages are keyed dicts (`reflex_adapter.
keyed_dict`): each row, each message travels on its own, so a new message costs a tab
its own size plus a small envelope, however long the history or the list. The browser
orders them (rows by activity, messages by id) and lays them out (components/).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import reflex as rx

from chatapp import routes, runtime, wire
from chatapp.delivery import TabChange
from chatapp.reflex_adapter import keyed_dict
from chatapp.reflex_adapter.tabs import LONG_WAY
from chatapp.services import conversations as conv
from chatapp.services import inbox, limits
from chatapp.services import messages as msgs
from chatapp.services.conversations import Member
from chatapp.services.errors import ChatError
from chatapp.services.inbox import ConversationRow, Inbox
from chatapp.services.messages import MessageView
from chatapp.states.app_state import AppState
from chatapp.states.message_edits import MessageEdits
from chatapp.states.session import signed_in

logger = logging.getLogger(__name__)


def composer_call(function: str, *args: Any) -> rx.event.EventSpec:
    """Call a function of the composer's script in the browser (components/composer.py
    defines `window.chatappComposer`); the arguments travel as JSON literals."""
    return rx.call_script(f"window.chatappComposer?.{function}({', '.join(json.dumps(a) for a in args)})")


class ChatState(MessageEdits, AppState):
    """What the chat pages of a tab show."""

    # Keyed dicts (see module docstring): rows by conversation id, member ids of each
    # group by conversation id, how far the user read each (message number), and the
    # open conversation's loaded messages by message id.
    conversation_rows: dict[str, dict[str, Any]] = {}
    row_members: dict[str, list[int]] = {}
    read_seq: dict[str, int] = {}
    message_map: dict[str, dict[str, Any]] = {}
    _rows_sent: dict[str, dict[str, Any]] = {}
    _row_members_sent: dict[str, list[int]] = {}
    _read_seq_sent: dict[str, int] = {}
    _messages_sent: dict[str, dict[str, Any]] = {}

    current_id: int = 0
    current_title: str = ""
    current_kind: str = ""
    current_peer_id: int = 0
    current_member_ids: list[int] = []
    members: list[Member] = []
    # Older messages than those loaded exist (scrolling up loads them).
    has_older: bool = False
    # The number of the first message that was unread when the conversation opened
    # (the "New messages" divider goes above it); 0 when none was.
    unread_from_seq: int = 0
    # A problem to show in the open conversation ("" when none).
    error: str = ""
    not_found: bool = False

    # Loading ----------------------------------------------------------------------------

    def _show_inbox(self, box: Inbox) -> None:
        self.conversation_rows = {str(r.id): r.to_wire() for r in box.rows}
        self.row_members = {str(cid): ids for cid, ids in box.members.items()}
        self.read_seq = {str(cid): seq for cid, seq in box.read_seq.items()}

    def _reload_list(self) -> None:
        with rx.session() as session:
            self._show_inbox(inbox.inbox_of(session, user_id=self.user_id))

    @rx.event
    async def load_home(self) -> None:
        """on_load of the home page (after `AppState.load_session`)."""
        if self.tabs_full or not await self._signed_in():
            return
        self._clear_current()
        self._reload_list()

    def _clear_current(self) -> None:
        self.current_id = 0
        self.current_title = self.current_kind = ""
        self.current_peer_id = 0
        self.current_member_ids = []
        self.members = []
        self.message_map = {}
        self.has_older = False
        self.unread_from_seq = 0
        self.error = ""
        self.not_found = False
        self.edit_id = self.delete_id = 0

    @rx.event
    async def load_conversation(self) -> None:
        """on_load of /c/[cid]: open it if the user is a member, else say so. Loads the
        newest page of messages, whatever the conversation's length."""
        if self.tabs_full or not await self._signed_in():
            return
        self._clear_current()
        cid = routes.conversation_id_of(self.router.url.path)
        with rx.session() as session:
            try:
                row = inbox.row_of(session, user_id=self.user_id, conversation_id=cid)
                page, self.has_older = msgs.page(session, user_id=self.user_id, conversation_id=cid)
                self.members = conv.members(session, cid)
                box = inbox.inbox_of(session, user_id=self.user_id)
                read = box.read_seq.get(cid, 0)
                inbox.mark_read(session, user_ids=[self.user_id], conversation_id=cid, upto_seq=row.seq)
            except ChatError as exc:
                self.not_found = True
                self.error = str(exc)
                self._reload_list()
                return
        box.read_seq[cid] = max(read, row.seq)
        self._show_inbox(box)
        self.conversation_rows[str(cid)] = row.to_wire()  # a chat the other person started
        self.message_map = {str(m.id): m.to_wire() for m in page}
        self.unread_from_seq = read + 1 if row.seq > read else 0
        self.current_id = row.id
        self.current_title = row.title
        self.current_kind = row.kind
        self.current_peer_id = row.peer_id
        self.current_member_ids = sorted(m.user_id for m in self.members)

    @rx.event
    @signed_in
    async def load_older(self, before_id: int) -> None:
        """The page of messages before `before_id` (scrolling up)."""
        if type(before_id) is not int or not 0 < before_id < 2**63 or not self.current_id:
            return  # not a message id (a database integer): nothing to load
        try:
            await limits.take(limits.MESSAGES, self._limit_key())
            with rx.session() as session:
                page, has_older = msgs.page(
                    session, user_id=self.user_id, conversation_id=self.current_id, before_id=before_id
                )
        except ChatError as exc:
            self.error = str(exc)
            return
        for m in page:
            self.message_map[str(m.id)] = m.to_wire()
        self.has_older = has_older

    # Sending ----------------------------------------------------------------------------

    @rx.event
    @signed_in
    async def send_message(self, body: str, key: str):
        """Send a message to the open conversation, once per key.

        The browser has already cleared the composer; a refusal puts the text back.
        """
        cid = self.current_id
        try:
            msgs.clean_body(body)  # an empty message is refused, not counted
            msgs.clean_key(key)
            await limits.take(limits.MESSAGES, self._limit_key())
            with rx.session() as session:
                view = msgs.send(
                    session, author_id=self.user_id, conversation_id=cid, body=body, client_key=key
                )
                rows = inbox.rows_for_members(session, cid)
                member_ids = conv.member_ids(session, cid)
        except ChatError as exc:
            self.error = str(exc)
            return composer_call("restore", cid, body if isinstance(body, str) else "", key)
        self.error = ""
        self._message_arrived(view, rows)
        if not view.repeat:
            deliver_message(view, rows, member_ids, skip=self.router.session.client_token)
        return composer_call("sent", key)

    @rx.event
    def clear_error(self) -> None:
        """The user acted after an error: it goes."""
        self.error = ""

    # Receiving (pushed into this tab; private: no browser can call them) -----------------

    def _row_for_me(self, rows: dict[int, ConversationRow]) -> dict[str, Any]:
        row = rows.get(self.user_id) or rows.get(0) or next(iter(rows.values()))
        return row.to_wire()

    def _message_arrived(self, view: MessageView, rows: dict[int, ConversationRow]) -> None:
        """A message was posted in one of this user's conversations."""
        key = str(view.conversation_id)
        self.conversation_rows[key] = self._row_for_me(rows)
        if view.conversation_id == self.current_id:
            self.message_map[str(view.id)] = view.to_wire()
        # Shown, or written by this user (in another tab): read.
        if (
            view.conversation_id == self.current_id or view.author_id == self.user_id
        ) and view.seq > self.read_seq.get(key, 0):
            self.read_seq[key] = view.seq

    def _message_arrived_in_place(self, view: MessageView, rows: dict[int, ConversationRow]) -> Any:
        """The same outside Reflex's tracking; the variant of delta this tab needs."""
        key = str(view.conversation_id)
        viewer = self.user_id if self.user_id in rows else 0
        ROWS.set_in_place(self, key, rows[viewer].to_wire())
        where = "open" if view.conversation_id == self.current_id else "list"
        if where == "open":
            MESSAGES.set_in_place(self, str(view.id), view.to_wire())
        # Shown, or written by this user (in another tab): read.
        read = where == "open" or view.author_id == self.user_id
        if read and view.seq > (READ.get(self, key) or 0):
            READ.set_in_place(self, key, view.seq)
        return (where, viewer, read)

    def _message_changed(self, view: MessageView, rows: dict[int, ConversationRow]) -> None:
        """A message was edited or deleted."""
        self.conversation_rows[str(view.conversation_id)] = self._row_for_me(rows)
        if str(view.id) in self.message_map:
            self.message_map[str(view.id)] = view.to_wire()

    def _read_up_to(self, conversation_id: int, seq: int, *, in_place: bool = False) -> bool:
        """The user read a conversation up to message number `seq` (in another tab)."""
        key = str(conversation_id)
        if seq <= (READ.get(self, key) or 0):
            return False
        if in_place:
            READ.set_in_place(self, key, seq)
        else:
            self.read_seq[key] = seq
        return True

    async def _refresh_contacts(self, line: MessageView | None = None) -> None:
        """Membership changed: the list, the presence map and the open conversation's
        members afresh, and the change's line if that conversation is open."""
        if not self.user_id:
            return
        with rx.session() as session:
            self._show_inbox(inbox.inbox_of(session, user_id=self.user_id))
            if self.current_id:
                self.members = conv.members(session, self.current_id)
                self.current_member_ids = sorted(m.user_id for m in self.members)
        if line is not None and line.conversation_id == self.current_id:
            self.message_map[str(line.id)] = line.to_wire()
        self._replace_presence(await runtime.presence().snapshot(self.user_id))


ROWS = keyed_dict.install(ChatState, wire.CONVERSATION_ROWS, shadow="_rows_sent")
ROW_MEMBERS = keyed_dict.install(ChatState, wire.ROW_MEMBERS, shadow="_row_members_sent")
READ = keyed_dict.install(ChatState, wire.READ_SEQ, shadow="_read_seq_sent")
MESSAGES = keyed_dict.install(ChatState, wire.MESSAGE_MAP, shadow="_messages_sent")


def deliver_message(
    view: MessageView, rows: dict[int, ConversationRow], member_ids: list[int], *, skip: str
) -> None:
    """Send a new message to every other tab of its members, then record it read by the
    members who have the conversation open (one database write per message, off the
    event loop), and tell those members' other tabs."""
    readers: set[int] = set()
    push = runtime.push()

    async def run() -> None:
        await push.to_users(member_ids, message_posted(view, rows, readers), skip=skip)
        if not readers or not view.seq:
            return
        await asyncio.to_thread(_mark_read, sorted(readers), view.conversation_id, view.seq)
        await push.to_users(readers, read_up_to(view.conversation_id, view.seq))

    push.soon(run())


def _mark_read(user_ids: list[int], conversation_id: int, seq: int) -> None:
    with rx.session() as session:
        inbox.mark_read(session, user_ids=user_ids, conversation_id=conversation_id, upto_seq=seq)


def message_posted(view: MessageView, rows: dict[int, ConversationRow], readers: set[int]) -> TabChange:
    """A new message for the tabs of its conversation's members: tabs with it open get
    the message, its row and the read position; the others the row. `readers` collects
    the users who had it open."""
    key = str(view.conversation_id)
    entry = view.to_wire()

    def apply(state: ChatState) -> None:
        state._message_arrived(view, rows)
        if view.conversation_id == state.current_id:
            readers.add(state.user_id)

    def in_place(state: ChatState) -> Any:
        if state.user_id not in rows and 0 not in rows:
            return LONG_WAY  # not a member as the rows were made (left meanwhile)
        variant = state._message_arrived_in_place(view, rows)
        if variant[0] == "open":
            readers.add(state.user_id)
        return variant

    def delta(variant: tuple[str, int, bool]) -> dict[str, dict[str, Any]]:
        where, viewer, read = variant
        out = ROWS.entries({key: rows[viewer].to_wire()})
        if where == "open":
            out |= MESSAGES.entries({str(view.id): entry})
        if read:
            out |= READ.entries({key: view.seq})
        return {ChatState.get_full_name(): out}

    return TabChange(ChatState, apply=apply, in_place=in_place, delta=delta)


def read_up_to(conversation_id: int, seq: int) -> TabChange:
    """The user has read a conversation up to message number `seq` (their other tabs)."""
    return TabChange(
        ChatState,
        apply=lambda state: state._read_up_to(conversation_id, seq),
        in_place=lambda state: state._read_up_to(conversation_id, seq, in_place=True),
        delta={ChatState.get_full_name(): READ.entries({str(conversation_id): seq})},
    )


def contacts_changed(line: MessageView | None = None) -> TabChange:
    """Membership changed: list, presence and members afresh (with the change's line)."""
    return TabChange(ChatState, apply=lambda state: state._refresh_contacts(line))
