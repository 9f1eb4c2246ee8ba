"""The sidebar: own status, new-conversation buttons and the conversation list."""

from __future__ import annotations

import reflex as rx

from chatapp import routes
from chatapp.components.avatar import avatar, avatar_with_presence
from chatapp.components.new_conversation import direct_dialog, group_dialog
from chatapp.components.presence import online_count
from chatapp.components.status_menu import status_menu
from chatapp.services.inbox import ConversationSummary
from chatapp.states.chat_state import ChatState


def _row(c: rx.Var[ConversationSummary]) -> rx.Component:
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
                    rx.spacer(),
                    rx.cond(
                        c.unread > 0,
                        rx.badge(c.unread, radius="full", variant="solid", class_name="unread-badge"),
                    ),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    is_direct,
                    rx.fragment(),
                    rx.text(
                        online_count(c.member_ids),
                        " of ",
                        c.member_ids.length(),
                        " online",
                        size="1",
                        color_scheme="grass",
                        class_name="group-online",
                    ),
                ),
                rx.text(c.preview, size="1", color_scheme="gray", class_name="one-line", width="100%"),
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
        underline="none",
        color="inherit",
        width="100%",
        class_name="conversation-row",
        custom_attrs={"data-conversation-id": c.id},
    )


def sidebar(*, on_home: bool) -> rx.Component:
    """The left column; full width on a phone's home page, hidden there in a conversation."""
    return rx.vstack(
        rx.hstack(status_menu(), rx.spacer(), width="100%", align="center"),
        rx.hstack(direct_dialog(), group_dialog(), width="100%"),
        rx.separator(),
        rx.scroll_area(
            rx.vstack(
                rx.foreach(ChatState.conversations, _row),
                rx.cond(
                    ChatState.conversations.length() == 0,
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
