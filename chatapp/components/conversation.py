"""The open conversation: header, members, messages and the composer."""

from __future__ import annotations

import reflex as rx

from chatapp.components.avatar import avatar, avatar_with_presence
from chatapp.components.presence import iso_time, last_seen_text, online_count, presence_indicator
from chatapp.components.sidebar import home_link
from chatapp.services.conversations import Member
from chatapp.services.messages import MessageView
from chatapp.states.chat_state import ChatState


def _member(m: rx.Var[Member]) -> rx.Component:
    return rx.hstack(
        avatar_with_presence(m.display_name, m.user_id, size="2"),
        rx.vstack(
            rx.text(m.display_name, size="2", weight="medium"),
            rx.hstack(rx.text("@", m.username, size="1", color_scheme="gray"), last_seen_text(m.user_id)),
            spacing="0",
        ),
        align="center",
        class_name="member-row",
        custom_attrs={"data-user-id": m.user_id},
    )


def members_popover() -> rx.Component:
    """Who is in the conversation, with presence; adding members to a group."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("users", size=16),
                ChatState.members.length(),
                variant="soft",
                size="2",
                aria_label="Members",
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Members", weight="bold"),
                rx.foreach(ChatState.members, _member),
                rx.cond(
                    ChatState.current_kind == "group",
                    rx.vstack(
                        rx.form(
                            rx.hstack(
                                rx.input(name="usernames", placeholder="Add by username", size="2"),
                                rx.button("Add", type="submit", size="2"),
                            ),
                            on_submit=ChatState.add_members,
                            reset_on_submit=True,
                        ),
                        rx.button(
                            "Leave group",
                            on_click=ChatState.leave_group,
                            color_scheme="red",
                            variant="soft",
                            size="1",
                        ),
                    ),
                ),
                spacing="2",
            ),
            max_height="60vh",
            overflow_y="auto",
        ),
    )


def header() -> rx.Component:
    """Title, presence of the other person (direct) or how many are online (group)."""
    return rx.hstack(
        home_link(),
        rx.cond(
            ChatState.current_kind == "direct",
            avatar_with_presence(ChatState.current_title, ChatState.current_peer_id),
            avatar(ChatState.current_title),
        ),
        rx.vstack(
            rx.heading(ChatState.current_title, size="4", id="conversation-title"),
            rx.cond(
                ChatState.current_kind == "direct",
                rx.box(last_seen_text(ChatState.current_peer_id), id="header-presence"),
                rx.text(
                    online_count(ChatState.current_member_ids),
                    " of ",
                    ChatState.current_member_ids.length(),
                    " members online",
                    size="1",
                    color_scheme="gray",
                    id="header-presence",
                ),
            ),
            spacing="0",
            min_width="0",
        ),
        rx.spacer(),
        members_popover(),
        padding="10px 16px",
        border_bottom="1px solid var(--gray-a5)",
        align="center",
        width="100%",
    )


def _message(m: rx.Var[MessageView]) -> rx.Component:
    return rx.hstack(
        avatar_with_presence(m.author_name, m.author_id, size="2"),
        rx.vstack(
            rx.hstack(
                rx.text(m.author_name, weight="medium", size="2"),
                rx.moment(
                    date=iso_time(m.created_ms),
                    format="HH:mm",
                    size="1",
                    color="var(--gray-10)",
                    font_size="12px",
                ),
                align="baseline",
            ),
            rx.text(
                m.body,
                size="2",
                white_space="pre-wrap",
                overflow_wrap="anywhere",
                class_name="message-body",
            ),
            spacing="1",
            min_width="0",
        ),
        align="start",
        width="100%",
        class_name="message",
        custom_attrs={"data-message-id": m.id, "data-author-id": m.author_id},
    )


def messages() -> rx.Component:
    """The messages, newest at the bottom, kept scrolled to the end."""
    return rx.auto_scroll(
        rx.vstack(
            rx.foreach(ChatState.messages, _message),
            rx.cond(
                ChatState.messages.length() == 0,
                rx.text("No messages yet. Say hello!", color_scheme="gray", size="2"),
            ),
            spacing="3",
            padding="16px",
            width="100%",
        ),
        flex="1",
        width="100%",
        id="messages",
    )


def composer() -> rx.Component:
    """The message input: Enter sends."""
    return rx.form(
        rx.vstack(
            rx.cond(
                ChatState.error != "",
                rx.callout(
                    ChatState.error, color_scheme="red", size="1", role="alert", id="chat-error", width="100%"
                ),
            ),
            rx.hstack(
                rx.input(
                    value=ChatState.draft,
                    on_change=ChatState.set_draft,
                    placeholder="Write a message…",
                    aria_label="Message",
                    name="body",
                    id="composer",
                    size="3",
                    flex="1",
                    auto_complete="off",
                ),
                rx.button(rx.icon("send", size=16), type="submit", size="3", aria_label="Send"),
                width="100%",
            ),
            width="100%",
            spacing="2",
        ),
        on_submit=ChatState.send_message,
        reset_on_submit=False,
        padding="12px 16px",
        border_top="1px solid var(--gray-a5)",
        width="100%",
    )


def not_found() -> rx.Component:
    """Shown for a conversation that does not exist or is not the user's."""
    return rx.center(
        rx.vstack(
            home_link(),
            rx.callout(
                ChatState.error, icon="triangle-alert", color_scheme="red", role="alert", id="chat-error"
            ),
            align="center",
        ),
        flex="1",
        height="100dvh",
    )


def conversation_pane() -> rx.Component:
    """The right column of a conversation page."""
    return rx.cond(
        ChatState.not_found,
        not_found(),
        rx.vstack(header(), messages(), composer(), spacing="0", flex="1", height="100dvh", min_width="0"),
    )


__all__ = ["conversation_pane", "presence_indicator"]
