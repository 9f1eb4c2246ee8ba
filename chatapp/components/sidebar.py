"""The sidebar: own status, new-conversation buttons and the conversation list."""

from __future__ import annotations

from dataclasses import dataclass, field

import reflex as rx

from chatapp import routes
from chatapp.components.avatar import avatar, avatar_with_presence
from chatapp.components.new_conversation import direct_dialog, group_dialog
from chatapp.components.presence import custom_status, online_count, status_of, status_words
from chatapp.components.rows_in_view import rows_in_view
from chatapp.components.status_menu import status_menu
from chatapp.components.typing import typing_line
from chatapp.reflex_adapter.js import js_var, merge_data
from chatapp.states.app_state import AppState
from chatapp.states.chat_state import READ, ROW_MEMBERS, ROWS, ChatState

_ROWS_JS = """
function chatappRows(rows, readOf, membersOf, me, mutedIds) {
  const muted = new Set(mutedIds ?? []);
  return [...rows]
    .sort((a, b) => (b.last_activity_ms - a.last_activity_ms) || (b.id - a.id))
    .map((r) => {
      let who = "";
      if (r.preview_kind === "system") who = (r.preview_author_id === me ? "You" : r.preview_author) + " ";
      else if (r.preview_author_id === me) who = "You: ";
      else if (r.kind === "group" && r.preview_author) who = r.preview_author + ": ";
      const text = r.preview_deleted ? "Message deleted" : r.preview;
      return {
        ...r,
        unread: Math.max(0, r.seq - (readOf(r.id) ?? 0)),
        line: r.preview_kind ? who + text : "",
        member_ids: membersOf(r.id) ?? [],
        muted: muted.has(r.id),
      };
    });
}
// Reflex may render the list from another module than this one (memoized components).
globalThis.chatappRows = chatappRows;
"""


@dataclass
class Row:
    """A row of the list as shown (see `inbox.ConversationRow`, plus what the browser
    works out: this user's unread count, the preview line, a group's members, whether the
    user muted it)."""

    id: int = 0
    kind: str = ""
    title: str = ""
    peer_id: int = 0
    unread: int = 0
    line: str = ""
    member_ids: list[int] = field(default_factory=list)
    request: bool = False
    muted: bool = False


class RowScripts(rx.Fragment):
    """Renders nothing; brings the list's ordering function."""

    def add_custom_code(self) -> list[str]:
        return [_ROWS_JS]


def rows() -> rx.Var[list[Row]]:
    """The conversation list, newest activity first."""
    values, data = ROWS.js_values()
    read, read_data = READ.js_entry("id")
    members, members_data = ROW_MEMBERS.js_entry("id")
    me = AppState.user_id
    muted = ChatState.muted_ids
    return js_var(
        f"chatappRows({values}, (id) => {read}, (id) => {members}, {me}, {muted})",
        list[Row],
        me,
        muted,
        data=merge_data(data, read_data, members_data),
    )


def row_label(c: rx.Var[Row]) -> rx.Var[str]:
    """What a screen reader says for a row: "Bob Builder, online, 1 unread, last
    message: see you" (a group: how many others are online)."""
    is_direct = c.kind == "direct"
    others = online_count(c.member_ids, besides=AppState.user_id)
    status = status_words(status_of(c.peer_id))
    return (
        c.title
        + rx.cond(
            is_direct,
            ", " + status,
            rx.match(
                others,
                (0, ", no one else online"),
                (1, ", 1 other online"),
                ", " + others.to_string() + " others online",
            ).to(str),
        )
        + rx.cond(c.unread > 0, ", " + c.unread.to_string() + " unread", "")
        + rx.cond(c.line != "", ", last message: " + c.line, "")
    )


def _row(c: rx.Var[Row]) -> rx.Component:
    is_direct = c.kind == "direct"
    return rx.link(
        rx.hstack(
            rx.cond(
                is_direct,
                avatar_with_presence(c.title, c.peer_id),
                avatar(c.title),
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(
                        c.title,
                        weight="medium",
                        size="2",
                        trim="both",
                        class_name="conv-title one-line",
                    ),
                    rx.cond(is_direct, custom_status(c.peer_id)),
                    rx.spacer(),
                    rx.cond(
                        c.request,
                        rx.badge("Request", variant="outline", size="1", class_name="request-badge"),
                    ),
                    rx.cond(
                        c.muted,
                        rx.icon(
                            "bell-off",
                            size=14,
                            color="var(--gray-9)",
                            class_name="muted-icon",
                            aria_label="Muted",
                        ),
                    ),
                    rx.cond(
                        c.unread > 0,
                        rx.cond(
                            c.muted,
                            rx.badge(
                                c.unread,
                                radius="full",
                                variant="soft",
                                color_scheme="gray",
                                class_name="unread-badge",
                            ),
                            rx.badge(c.unread, radius="full", variant="solid", class_name="unread-badge"),
                        ),
                    ),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    is_direct,
                    rx.fragment(),
                    rx.text(
                        online_count(c.member_ids, besides=AppState.user_id),
                        " of ",
                        c.member_ids.length() - 1,
                        rx.cond(c.member_ids.length() == 2, " other online", " others online"),
                        size="1",
                        color="var(--grass-12)",
                        class_name="group-online",
                    ),
                ),
                typing_line(c.id, class_name="one-line conv-typing"),
                rx.text(
                    c.line, size="1", color_scheme="gray", class_name="one-line conv-preview", width="100%"
                ),
                spacing="0",
                min_width="0",
                flex="1",
            ),
            padding="8px 10px",
            border_radius="8px",
            background=rx.cond(c.id == ChatState.current_id, "var(--accent-a4)", "transparent"),
            _hover={"background": "var(--accent-a3)"},
            width="100%",
            align="center",
        ),
        href="/c/" + c.id.to_string(),
        on_click=rx.call_script("window.chatappComposer?.leave(" + c.id.to_string() + ")"),
        underline="none",
        color="inherit",
        # Reflex's link turns its text to the accent's step 8 on hover: a row's title
        # read at 2.2:1 under the pointer (the row's background shows the hover).
        _hover={"color": "inherit"},
        width="100%",
        class_name="conversation-row",
        aria_label=row_label(c),
        custom_attrs={"data-conversation-id": c.id, "data-muted": rx.cond(c.muted, "true", "false")},
    )


def sidebar(*, on_home: bool) -> rx.Component:
    """The left column; full width on a phone's home page, hidden there in a conversation."""
    listed = rows()
    return rx.vstack(
        RowScripts.create(),
        rows_in_view(),
        rx.hstack(status_menu(), rx.spacer(), width="100%", align="center"),
        rx.hstack(direct_dialog(), group_dialog(), width="100%"),
        rx.separator(),
        rx.scroll_area(
            rx.vstack(
                rx.foreach(listed, _row),
                rx.cond(
                    listed.length() == 0,
                    rx.text("No conversations yet: start one above.", size="2", color_scheme="gray"),
                ),
                spacing="1",
                width="100%",
            ),
            type="auto",
            scrollbars="vertical",
            flex="1",
        ),
        width=["100%", "100%", "320px"] if on_home else "320px",
        min_width="0",
        height="100dvh",
        padding="12px",
        border_right="1px solid var(--gray-a5)",
        display=["flex"] if on_home else ["none", "none", "flex"],
        flex_shrink="0",
        id="sidebar",
        aria_label="Conversations",
        role="navigation",
    )


def home_link() -> rx.Component:
    """Back to the list, for phones."""
    return rx.link(
        rx.icon_button(rx.icon("arrow-left"), variant="ghost", aria_label="Back to conversations"),
        href=routes.HOME,
        display=["inline-flex", "inline-flex", "none"],
    )
