"""`ChatState`: the conversation list, the open conversation and sending messages."""

from __future__ import annotations

import logging

import reflex as rx

from chatapp import routes, runtime
from chatapp.delivery import TabChange
from chatapp.services import conversations as conv
from chatapp.services import inbox, limits
from chatapp.services import messages as msgs
from chatapp.services.accounts import normalize_username
from chatapp.services.conversations import Member
from chatapp.services.errors import ChatError
from chatapp.services.inbox import ConversationSummary
from chatapp.services.messages import MessageView
from chatapp.states.app_state import AppState
from chatapp.states.forms import field
from chatapp.states.session import signed_in

logger = logging.getLogger(__name__)


def _split_usernames(raw: str) -> list[str]:
    return [normalize_username(n) for n in raw.replace(",", " ").split() if n.strip()]


class ChatState(AppState):
    """What the chat pages of a tab show."""

    conversations: list[ConversationSummary] = []
    current_id: int = 0
    current_title: str = ""
    current_kind: str = ""
    current_peer_id: int = 0
    current_member_ids: list[int] = []
    members: list[Member] = []
    messages: list[MessageView] = []
    draft: str = ""
    # A problem to show in the open conversation ("" when none).
    error: str = ""
    not_found: bool = False
    # The "new conversation" dialogs.
    dialog_error: str = ""
    direct_open: bool = False
    group_open: bool = False

    @rx.var
    def total_unread(self) -> int:
        """Unread messages across all conversations."""
        return sum(c.unread for c in self.conversations)

    # Loading ----------------------------------------------------------------------------

    def _reload_list(self) -> None:
        with rx.session() as session:
            self.conversations = inbox.list_for_user(session, user_id=self.user_id)

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
        self.messages = []
        self.error = ""
        self.not_found = False

    @rx.event
    async def load_conversation(self) -> None:
        """on_load of /c/[cid]: open it if the user is a member, else say so."""
        if self.tabs_full or not await self._signed_in():
            return
        self._clear_current()
        self.draft = ""
        cid = routes.conversation_id_of(self.router.url.path)
        with rx.session() as session:
            try:
                row = inbox.row_of(session, user_id=self.user_id, conversation_id=cid)
                self.messages = msgs.history(session, user_id=self.user_id, conversation_id=cid)
                self.members = conv.members(session, cid)
                inbox.mark_read(session, user_id=self.user_id, conversation_id=cid)
            except ChatError as exc:
                self.not_found = True
                self.error = str(exc)
                self._reload_list()
                return
            self.conversations = inbox.list_for_user(session, user_id=self.user_id)
        self.current_id = row.id
        self.current_title = row.title
        self.current_kind = row.kind
        self.current_peer_id = row.peer_id
        self.current_member_ids = row.member_ids

    # Sending ----------------------------------------------------------------------------

    @rx.event
    def set_draft(self, value: str) -> None:
        """The composer's text."""
        self.draft = value if isinstance(value, str) else ""

    @rx.event
    @signed_in
    async def send_message(self, form_data: dict | None = None):
        """Send the draft to the open conversation (Enter in the composer)."""
        body = self.draft
        with rx.session() as session:
            try:
                if isinstance(form_data, dict) and "body" in form_data:
                    body = field(form_data, "body")  # whole: the service checks what it stores
                msgs.clean_body(body)  # an empty message is refused, not counted
                await limits.take(limits.MESSAGES, self._limit_key())
                view = msgs.send(session, author_id=self.user_id, conversation_id=self.current_id, body=body)
            except ChatError as exc:
                self.error = str(exc)  # the draft stays, so nothing typed is lost
                return None
            member_ids = conv.member_ids(session, self.current_id)
        self.error = ""
        self.draft = ""
        self._receive_message(view)
        push = runtime.push()
        push.soon(push.to_users(member_ids, message_posted(view), skip=self.router.session.client_token))
        return None

    def _receive_message(self, view: MessageView) -> None:
        """A message was posted in one of this user's conversations."""
        if view.conversation_id == self.current_id:
            if not any(m.id == view.id for m in self.messages[-20:]):
                self.messages.append(view)
            if view.author_id != self.user_id:
                with rx.session() as session:
                    inbox.mark_read(session, user_id=self.user_id, conversation_id=view.conversation_id)
        for i, row in enumerate(self.conversations):
            if row.id == view.conversation_id:
                row.preview = inbox.preview_of(view.author_name, view.body)
                row.last_activity_ms = view.created_ms
                if view.author_id != self.user_id and view.conversation_id != self.current_id:
                    row.unread += 1
                self.conversations = [row, *self.conversations[:i], *self.conversations[i + 1 :]]
                return
        self._reload_list()  # a conversation this tab did not know yet

    # Creating ---------------------------------------------------------------------------

    @rx.event
    def set_direct_open(self, value: bool) -> None:
        self.direct_open = value
        self.dialog_error = ""

    @rx.event
    def set_group_open(self, value: bool) -> None:
        self.group_open = value
        self.dialog_error = ""

    @rx.event
    @signed_in
    async def start_direct(self, form_data: dict):
        """Open (or create) the direct conversation with a username."""
        with rx.session() as session:
            try:
                username = field(form_data, "username")
                await limits.take(limits.CONVERSATION_CREATION, self._limit_key())
                await limits.take(limits.MEMBER_SEARCH, self._limit_key())
                cid, created = conv.open_direct(session, user_id=self.user_id, other_username=username)
            except ChatError as exc:
                self.dialog_error = str(exc)
                return None
            member_ids = conv.member_ids(session, cid)
        self.direct_open = False
        if created:
            await self._membership_changed(member_ids)
        return rx.redirect(routes.conversation(cid))

    @rx.event
    @signed_in
    async def create_group(self, form_data: dict):
        """Create a group from the dialog's title and usernames."""
        with rx.session() as session:
            try:
                title = field(form_data, "title")
                names = _split_usernames(field(form_data, "members"))
                await limits.take(limits.CONVERSATION_CREATION, self._limit_key())
                await limits.take(limits.MEMBER_SEARCH, self._limit_key(), cost=max(1, len(names)))
                cid = conv.create_group(session, user_id=self.user_id, title=title, member_usernames=names)
            except ChatError as exc:
                self.dialog_error = str(exc)
                return None
            member_ids = conv.member_ids(session, cid)
        self.group_open = False
        await self._membership_changed(member_ids)
        return rx.redirect(routes.conversation(cid))

    @rx.event
    @signed_in
    async def add_members(self, form_data: dict):
        """Add users to the open group."""
        try:
            names = _split_usernames(field(form_data, "usernames"))
        except ChatError as exc:
            self.error = str(exc)
            return None
        if not names:
            self.error = "Name at least one username to add."
            return None
        with rx.session() as session:
            try:
                await limits.take(limits.MEMBERSHIP_CHANGES, self._limit_key())
                await limits.take(limits.MEMBER_SEARCH, self._limit_key(), cost=len(names))
                added = conv.add_members(
                    session, user_id=self.user_id, conversation_id=self.current_id, usernames=names
                )
            except ChatError as exc:
                self.error = str(exc)
                return None
            self.members = conv.members(session, self.current_id)
            member_ids = conv.member_ids(session, self.current_id)
        self.current_member_ids = sorted(member_ids)
        self.error = ""
        if added:
            await self._membership_changed(member_ids)
        return None

    @rx.event
    @signed_in
    async def leave_group(self):
        """Leave the open group."""
        cid = self.current_id
        with rx.session() as session:
            try:
                conv.leave(session, user_id=self.user_id, conversation_id=cid)
            except ChatError as exc:
                self.error = str(exc)
                return None
            member_ids = conv.member_ids(session, cid)
        await self._membership_changed([*member_ids, self.user_id])
        return rx.redirect(routes.HOME)

    async def _membership_changed(self, user_ids: list[int]) -> None:
        """New or lost contacts: fresh presence for everyone involved, fresh lists for
        their other tabs (this tab refreshes itself)."""
        self._replace_presence(await runtime.presence().snapshot(self.user_id))
        self._reload_list()
        push = runtime.push()
        me = self.router.session.client_token
        push.soon(push.to_users([*user_ids, self.user_id], CONTACTS_CHANGED, skip=me))


def message_posted(view: MessageView) -> TabChange:
    """A new message for the tabs of its conversation's members."""
    return TabChange(ChatState, apply=lambda state: state._receive_message(view))


async def _refresh_contacts(state: ChatState) -> None:
    """Membership changed: the conversation list and the presence map afresh."""
    state._reload_list()
    if state.user_id:
        state._replace_presence(await runtime.presence().snapshot(state.user_id))


CONTACTS_CHANGED = TabChange(ChatState, apply=_refresh_contacts)
