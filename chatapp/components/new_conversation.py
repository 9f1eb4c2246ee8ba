"""The dialogs that start a direct chat or create a group."""

from __future__ import annotations

import reflex as rx

from chatapp.states.chat_state import ChatState


def _error() -> rx.Component:
    return rx.cond(
        ChatState.dialog_error != "",
        rx.callout(ChatState.dialog_error, color_scheme="red", size="1", role="alert"),
    )


def direct_dialog() -> rx.Component:
    """Start (or open) a direct conversation by username."""
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("message-circle-plus", size=16), "Chat", size="2", variant="soft")
        ),
        rx.dialog.content(
            rx.dialog.title("New direct chat"),
            rx.form(
                rx.vstack(
                    rx.input(
                        name="username", placeholder="Username", auto_focus=True, required=True, width="100%"
                    ),
                    _error(),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Open chat", type="submit"),
                        justify="end",
                        width="100%",
                    ),
                ),
                on_submit=ChatState.start_direct,
                reset_on_submit=False,
            ),
            max_width="420px",
        ),
        open=ChatState.direct_open,
        on_open_change=ChatState.set_direct_open,
    )


def group_dialog() -> rx.Component:
    """Create a group with a title and members."""
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("users", size=16), "Group", size="2", variant="soft")),
        rx.dialog.content(
            rx.dialog.title("New group"),
            rx.form(
                rx.vstack(
                    rx.input(name="title", placeholder="Group title", required=True, width="100%"),
                    rx.input(
                        name="members", placeholder="Usernames, separated by spaces or commas", width="100%"
                    ),
                    _error(),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Create group", type="submit"),
                        justify="end",
                        width="100%",
                    ),
                ),
                on_submit=ChatState.create_group,
                reset_on_submit=False,
            ),
            max_width="420px",
        ),
        open=ChatState.group_open,
        on_open_change=ChatState.set_group_open,
    )
