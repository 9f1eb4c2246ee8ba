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
from chatapp.copies import OneCopy
from chatapp.delivery import TabChange, portable
from chatapp.models import utcnow
from chatapp.reflex_adapter import keyed_dict
from chatapp.reflex_adapter.tabs import LONG_WAY
from chatapp.services import audience, inbox, limits, reading
from chatapp.services import conversations as conv
from chatapp.services import messages as msgs
from chatapp.services.conversations import Member
from chatapp.services.errors import ChatError
from chatapp.services.inbox import ConversationRow, Inbox
from chatapp.services.messages import MessageView
from chatapp.services.reading import Receipt
from chatapp.states.app_state import AppState, presence_refresh
from chatapp.states.message_edits import MessageEdits
from chatapp.states.page_loads import page_load
from chatapp.states.session import signed_in

logger = logging.getLogger(__name__)


def composer_call(function: str, *args: Any) -> rx.event.EventSpec:
    """Call a function of the composer's script in the browser (components/composer.py
    defines `window.chatappComposer`); the arguments travel as JSON literals."""
    return rx.call_script(f"window.chatappComposer?.{function}({', '.join(json.dumps(a) for a in args)})")


# The list's rows and groups' member lists that page loads give tabs, one copy of each
# (`chatapp.copies`): a row by its conversation and the viewer's peer (a direct chat's two
# sides differ), a member list by its conversation.
_ROWS_GIVEN: OneCopy[tuple[str, dict[str, Any]]] = OneCopy()
_MEMBERS_GIVEN: OneCopy[tuple[str, list[int]]] = OneCopy()


class ChatState(MessageEdits, AppState):
    """What the chat pages of a tab show."""

    # Keyed dicts (see module docstring): rows by conversation id, member ids of each
    # group by conversation id, how far the user read each (message number), and the
    # open conversation's loaded messages by message id.
    conversation_rows: dict[str, dict[str, Any]] = {}
    row_members: dict[str, list[int]] = {}
    read_seq: dict[str, int] = {}
    message_map: dict[str, dict[str, Any]] = {}
    # The open conversation's read receipts: how far each other member is known to have
    # read, by user id (`reading.Receipt` as a dict); only what this user may see.
    seen_map: dict[str, dict[str, int]] = {}
    _seen_sent: dict[str, dict[str, int]] = {}
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
    # The conversations this user muted (no notifications, a muted row).
    muted_ids: list[int] = []
    # The browser says this tab is visible and its user active: only then is the open
    # conversation read (`set_seeing`).
    _seeing: bool = False
    # The open direct chat is a message request to this user (the other person started
    # it; this user has not written or accepted): they see nothing of this user's presence.
    request: bool = False
    # This user blocked the open direct chat's other person.
    blocked: bool = False
    # A problem to show in the open conversation ("" when none).
    error: str = ""
    not_found: bool = False

    # Loading ----------------------------------------------------------------------------

    def _show_inbox(self, box: Inbox) -> None:
        self.conversation_rows = dict(
            _ROWS_GIVEN.share((r.id, r.peer_id), (str(r.id), r.to_wire())) for r in box.rows
        )
        self.row_members = dict(
            _MEMBERS_GIVEN.share(cid, (str(cid), ids)) for cid, ids in box.members.items()
        )
        self.read_seq = {str(cid): seq for cid, seq in box.read_seq.items()}
        self.muted_ids = box.muted

    def _show_choices_of_reading(self, session: Any) -> None:
        """After a change of mute or receipts: the user's mutes and receipts choice, and
        the open conversation's receipts, afresh."""
        self.muted_ids = reading.muted_ids(session, self.user_id)
        self.read_receipts = reading.sends_receipts(session, self.user_id)
        self._show_reading(session)

    def _show_reading(self, session: Any) -> None:
        """The open conversation's receipts (the user's mutes come with the list,
        `_show_inbox`; their receipts choice with their other choices, `AppState`)."""
        self.seen_map = (
            {
                str(uid): r.to_wire()
                for uid, r in reading.receipts_for(
                    session, viewer_id=self.user_id, conversation_id=self.current_id
                ).items()
            }
            if self.current_id
            else {}
        )

    def _reload_list(self) -> None:
        with rx.session() as session:
            self._show_inbox(inbox.inbox_of(session, user_id=self.user_id))
            self._show_reading(session)

    @rx.event
    @page_load
    async def load_home(self):
        """on_load of the home page: the session (`AppState._open_session`), then the list
        (unless this state kept it current while the tab was away)."""
        refused, current = await self._open_session()
        if refused is not None or self.tabs_full:
            return refused
        self._clear_current()
        if not current:
            self._reload_list()

    def _clear_current(self) -> None:
        self.current_id = 0
        self.current_title = self.current_kind = ""
        self.current_peer_id = 0
        self.current_member_ids = []
        self.members = []
        self.message_map = {}
        self.seen_map = {}
        self.has_older = False
        self.unread_from_seq = 0
        self.request = self.blocked = False
        self.error = ""
        self.not_found = False
        self.edit_id = self.delete_id = 0

    @rx.event
    @page_load
    async def load_conversation(self):
        """on_load of /c/[cid] (every page load and reconnect): open it if the user is a
        member, else say so. Loads the newest page of messages, whatever the
        conversation's length. First the session (`AppState._open_session`); last, the
        composer sends what it still holds unconfirmed."""
        refused, _ = await self._open_session()
        if refused is not None or self.tabs_full:
            return refused
        self._clear_current()
        cid = routes.conversation_id_of(self.router.url.path)
        with rx.session() as session:
            try:
                box = inbox.inbox_of(session, user_id=self.user_id)
                row = next((r for r in box.rows if r.id == cid), None)
                # Not listed: a direct chat the other person started, still empty (or
                # not a member: NotFound).
                row = row or inbox.row_of(session, user_id=self.user_id, conversation_id=cid)
                page, self.has_older = msgs.page(session, user_id=self.user_id, conversation_id=cid)
                self.members = conv.members(session, cid)
                standing = audience.standing(session, user_id=self.user_id, conversation_id=cid)
                self.current_id = cid
                self._show_reading(session)
            except ChatError as exc:
                self.current_id = 0
                self.not_found = True
                self.error = str(exc)
                self._reload_list()
                return
        read = box.read_seq.get(cid, 0)
        self._show_inbox(box)
        self.conversation_rows[str(cid)] = row.to_wire()
        self.message_map = {str(m.id): m.to_wire() for m in page}
        self.unread_from_seq = read + 1 if row.seq > read else 0
        self.current_title = row.title
        self.current_kind = row.kind
        self.current_peer_id = row.peer_id
        self.current_member_ids = sorted(m.user_id for m in self.members)
        self.request, self.blocked = standing.request, standing.blocked
        if self._seeing:
            await self._read_open()
        # Sends never confirmed (made just before a reload, or reaching a server that
        # could not store them: a Redis outage): the tab sends them again, once each.
        return composer_call("resend")

    @rx.event
    @signed_in
    async def set_seeing(self, seeing: bool) -> None:
        """The browser reports whether this tab is visible and its user active: the open
        conversation is read when it becomes so (and while it stays so, as messages
        arrive)."""
        self._seeing = seeing is True
        if self._seeing and self.current_id:
            await self._read_open()

    async def _read_open(self) -> None:
        """The user now sees the open conversation: read up to its last message, here,
        in their other tabs, and (receipts allowing) for the other members."""
        key = str(self.current_id)
        seq = (self.conversation_rows.get(key) or {}).get("seq", 0)
        if seq <= self.read_seq.get(key, 0):
            return
        self.read_seq[key] = seq
        # Off the handler: the tab's lock is not held while the read is written and sent.
        runtime.push().soon(
            record_reads([self.user_id], self.current_id, seq, skip=self.router.session.client_token)
        )

    @rx.event
    @signed_in
    async def set_muted(self, conversation_id: int, muted: bool):
        """Mute or unmute a conversation (for this user, on all their devices)."""
        if type(conversation_id) is not int or not 0 < conversation_id < 2**63:
            return None
        try:
            await limits.take(limits.STATUS_CHANGES, self._limit_key())
            with rx.session() as session:
                reading.set_muted(
                    session, user_id=self.user_id, conversation_id=conversation_id, muted=muted is True
                )
        except ChatError as exc:
            return rx.toast.error(str(exc))
        await self._reading_changed()
        return None

    @rx.event
    @signed_in
    async def set_read_receipts(self, on: bool):
        """The "Send read receipts" choice (mutual: off, the user sees none either)."""
        if (refused := await self._over_choice_limit()) is not None:
            return refused
        with rx.session() as session:
            reading.set_read_receipts(session, self.user_id, on is True)
            others = conv.co_members(session, self.user_id)
        await self._reading_changed()
        # Those who share a conversation with the user see (or stop seeing) their receipts.
        runtime.push().soon(runtime.push().to_users(others, reading_changed()))
        return None

    async def _reading_changed(self) -> None:
        with rx.session() as session:
            self._show_choices_of_reading(session)
        push = runtime.push()
        push.soon(push.to_users([self.user_id], reading_changed(), skip=self.router.session.client_token))

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
        self._message_arrived(view, view.to_wire(), inbox.wire_rows(rows))
        if not view.repeat:
            deliver_message(view, rows, member_ids, skip=self.router.session.client_token)
        if view.first_words:  # the user's first words here: the others may see them now
            self.request = False
            push = runtime.push()
            push.soon(push.to_users([m for m in member_ids if m != self.user_id], presence_refresh()))
        return composer_call("sent", key)

    # Requests and blocks (the open direct chat's other person) -------------------------

    @rx.event
    @signed_in
    async def accept_request(self):
        """Accept the open message request: the other person may see this user's presence."""
        if not self.request:
            return None
        with rx.session() as session:
            audience.mark_written(session, user_id=self.user_id, conversation_id=self.current_id)
        self.request = False
        key = str(self.current_id)
        if key in self.conversation_rows:
            self.conversation_rows[key] = {**self.conversation_rows[key], "request": False}
        push = runtime.push()
        push.soon(push.to_users([self.current_peer_id], presence_refresh()))
        return None

    @rx.event
    @signed_in
    async def block_peer(self):
        """Block the open direct chat's other person: no messages from them, no presence
        either way."""
        return await self._set_block(True)

    @rx.event
    @signed_in
    async def unblock_peer(self):
        """Lift the block on the open direct chat's other person."""
        return await self._set_block(False)

    async def _set_block(self, on: bool):
        if self.current_kind != "direct" or not self.current_peer_id:
            return None
        if (refused := await self._over_choice_limit()) is not None:
            return refused
        with rx.session() as session:
            if on:
                audience.block(session, user_id=self.user_id, other_id=self.current_peer_id)
            else:
                audience.unblock(session, user_id=self.user_id, other_id=self.current_peer_id)
        self.blocked = on
        self._replace_presence(await runtime.presence().snapshot(self.user_id))
        push = runtime.push()
        push.soon(
            push.to_users(
                [self.user_id, self.current_peer_id],
                presence_refresh(),
                skip=self.router.session.client_token,
            )
        )
        return None

    @rx.event
    def clear_error(self) -> None:
        """The user acted after an error: it goes."""
        self.error = ""

    # Receiving (pushed into this tab; private: no browser can call them) -----------------

    def _row_for_me(self, rows: dict[int, dict[str, Any]]) -> dict[str, Any]:
        return rows.get(self.user_id) or rows.get(0) or next(iter(rows.values()))

    def _message_arrived(
        self, view: MessageView, entry: dict[str, Any], rows: dict[int, dict[str, Any]]
    ) -> bool:
        """A message was posted in one of this user's conversations (`entry`: the message
        as tabs hold it; `rows`: each member's row, `inbox.wire_rows`).

        Returns:
            Whether this tab shows it to its user now (so they read it).
        """
        key = str(view.conversation_id)
        self.conversation_rows[key] = self._row_for_me(rows)
        is_open = view.conversation_id == self.current_id
        if is_open:
            self.message_map[str(view.id)] = entry
            if not self._seeing and not self.unread_from_seq and view.author_id != self.user_id:
                self.unread_from_seq = view.seq  # the "New messages" divider, for their return
        # Seen, or written by this user (in another tab): read.
        seen = is_open and self._seeing
        if (seen or view.author_id == self.user_id) and view.seq > self.read_seq.get(key, 0):
            self.read_seq[key] = view.seq
        return seen

    def _message_arrived_in_place(
        self, view: MessageView, entry: dict[str, Any], rows: dict[int, dict[str, Any]]
    ) -> Any:
        """The same outside Reflex's tracking; the variant of delta this tab needs."""
        key = str(view.conversation_id)
        viewer = self.user_id if self.user_id in rows else 0
        ROWS.set_in_place(self, key, rows[viewer])
        where = "open" if view.conversation_id == self.current_id else "list"
        if where == "open":
            MESSAGES.set_in_place(self, str(view.id), entry)
        # Seen, or written by this user (in another tab): read.
        read = (where == "open" and self._seeing) or view.author_id == self.user_id
        if read and view.seq > (READ.get(self, key) or 0):
            READ.set_in_place(self, key, view.seq)
        return (where, viewer, read)

    def _message_changed(
        self, view: MessageView, entry: dict[str, Any], rows: dict[int, dict[str, Any]]
    ) -> None:
        """A message was edited or deleted (`entry`, `rows`: as `_message_arrived`)."""
        self.conversation_rows[str(view.conversation_id)] = self._row_for_me(rows)
        if str(view.id) in self.message_map:
            self.message_map[str(view.id)] = entry

    def _receipt_arrived(self, conversation_id: int, receipt: Receipt, *, in_place: bool = False) -> bool:
        """Another member read the open conversation further (and may be known to)."""
        key = str(receipt.user_id)
        if conversation_id != self.current_id or not self.read_receipts:
            return False
        held = SEEN.get(self, key)
        if held is not None and held["seq"] >= receipt.seq:
            return False
        if in_place:
            SEEN.set_in_place(self, key, receipt.to_wire())
        else:
            self.seen_map[key] = receipt.to_wire()
        return True

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
            self._show_reading(session)
        if line is not None and line.conversation_id == self.current_id:
            self.message_map[str(line.id)] = line.to_wire()
        self._replace_presence(await runtime.presence().snapshot(self.user_id))


ROWS = keyed_dict.install(ChatState, wire.CONVERSATION_ROWS, shadow="_rows_sent")
ROW_MEMBERS = keyed_dict.install(ChatState, wire.ROW_MEMBERS, shadow="_row_members_sent")
READ = keyed_dict.install(ChatState, wire.READ_SEQ, shadow="_read_seq_sent")
MESSAGES = keyed_dict.install(ChatState, wire.MESSAGE_MAP, shadow="_messages_sent")
SEEN = keyed_dict.install(ChatState, wire.SEEN_MAP, shadow="_seen_sent")


def deliver_message(
    view: MessageView, rows: dict[int, ConversationRow], member_ids: list[int], *, skip: str
) -> None:
    """Send a new message to every other tab of its members (each instance to the tabs
    whose sockets it holds), and record it read by the members who see it there."""
    push = runtime.push()
    portable_rows = {str(user_id): row.to_wire() for user_id, row in rows.items()}  # every field
    push.soon(push.to_users(member_ids, message_posted(view.to_wire(), portable_rows), skip=skip))


async def record_reads(
    reader_ids: list[int], conversation_id: int, seq: int, *, skip: str | None = None
) -> None:
    """These users saw a conversation up to message number `seq`: record it (one
    database write for all, off the event loop), move the unread counts of their other
    tabs, and send the receipts that may be sent to the members who see receipts.

    A reader who appears offline reveals nothing: their read counts for themselves only,
    and is never revealed later (`reading.mark_read`). A burst of reads sends the first
    receipt at once and then only the newest (`Push.latest`).

    Args:
        skip: The tab whose handler calls this (its state is locked; it changed itself).
    """
    preferences = runtime.presence().preferences
    revealed = [u for u in reader_ids if not await preferences.invisible(u)]
    receipts, audience = await asyncio.to_thread(_write_reads, reader_ids, conversation_id, seq, revealed)
    push = runtime.push()
    push.soon(push.to_users(reader_ids, read_up_to(conversation_id, seq), skip=skip))
    for receipt in receipts:
        others = [u for u in audience if u != receipt.user_id]
        if others:
            push.latest(
                ("receipt", conversation_id, receipt.user_id),
                lambda receipt=receipt, others=others: push.to_users(
                    others, receipt_seen(conversation_id, receipt.to_wire())
                ),
            )


def _write_reads(
    reader_ids: list[int], conversation_id: int, seq: int, revealed: list[int]
) -> tuple[list[Receipt], list[int]]:
    with rx.session() as session:
        receipts = reading.mark_read(
            session,
            user_ids=reader_ids,
            conversation_id=conversation_id,
            upto_seq=seq,
            revealed=revealed,
            now=utcnow(),
        )
        return receipts, reading.receipt_audience(session, conversation_id) if receipts else []


@portable("message")
def message_posted(view_fields: dict[str, Any], row_fields: dict[str, dict[str, Any]]) -> TabChange:
    """A new message for the tabs of its conversation's members: tabs with it open get
    the message, its row and the read position; the others the row. Then the members
    who had it open and in sight in a tab (of this instance) have read it.

    Args:
        view_fields: The message (`MessageView`'s fields).
        row_fields: Each member's row of the conversation (`ConversationRow`'s fields),
            by user id as text; "0" for a row every member gets.
    """
    view = MessageView(**view_fields)
    rows = inbox.wire_rows(
        {int(user_id): ConversationRow(**fields) for user_id, fields in row_fields.items()}
    )
    readers: set[int] = set()
    key = str(view.conversation_id)
    entry = view.to_wire()

    def apply(state: ChatState) -> None:
        if state._message_arrived(view, entry, rows):
            readers.add(state.user_id)

    def in_place(state: ChatState) -> Any:
        if state.user_id not in rows and 0 not in rows:
            return LONG_WAY  # not a member as the rows were made (left meanwhile)
        if (
            view.conversation_id == state.current_id
            and not state._seeing
            and not state.unread_from_seq
            and view.author_id != state.user_id
        ):
            return LONG_WAY  # open but unseen: the "New messages" divider goes up too
        variant = state._message_arrived_in_place(view, entry, rows)
        if variant[0] == "open" and state._seeing:
            readers.add(state.user_id)
        return variant

    def delta(variant: tuple[str, int, bool]) -> dict[str, dict[str, Any]]:
        where, viewer, read = variant
        out = ROWS.entries({key: rows[viewer]})
        if where == "open":
            out |= MESSAGES.entries({str(view.id): entry})
        if read:
            out |= READ.entries({key: view.seq})
        return {ChatState.get_full_name(): out}

    async def after() -> None:
        if readers and view.seq:
            await record_reads(sorted(readers), view.conversation_id, view.seq)

    return TabChange(ChatState, apply=apply, in_place=in_place, delta=delta, after=after)


@portable("read up to")
def read_up_to(conversation_id: int, seq: int) -> TabChange:
    """The user has read a conversation up to message number `seq` (their other tabs)."""
    return TabChange(
        ChatState,
        apply=lambda state: state._read_up_to(conversation_id, seq),
        in_place=lambda state: state._read_up_to(conversation_id, seq, in_place=True),
        delta={ChatState.get_full_name(): READ.entries({str(conversation_id): seq})},
    )


@portable("receipt")
def receipt_seen(conversation_id: int, receipt_fields: dict[str, int]) -> TabChange:
    """A member read a conversation further: one entry of `seen_map` for the tabs that
    show that conversation (and whose user sees receipts); nothing for the others.

    Args:
        conversation_id: The conversation read.
        receipt_fields: The reader's receipt (`Receipt.to_wire()`).
    """
    receipt = Receipt(**receipt_fields)
    return TabChange(
        ChatState,
        apply=lambda state: state._receipt_arrived(conversation_id, receipt),
        in_place=lambda state: state._receipt_arrived(conversation_id, receipt, in_place=True),
        delta=SEEN.delta(str(receipt.user_id), receipt.to_wire()),
    )


def reading_changed() -> TabChange:
    """A user's reading choices changed (mute, receipts): their own tabs and those of
    the people who share a conversation with them load the choices and receipts afresh."""

    def apply(state: ChatState) -> None:
        if state.user_id:
            with rx.session() as session:
                state._show_choices_of_reading(session)

    return TabChange(ChatState, apply=apply)


def contacts_changed(line: MessageView | None = None) -> TabChange:
    """Membership changed: list, presence and members afresh (with the change's line)."""
    return TabChange(ChatState, apply=lambda state: state._refresh_contacts(line))
