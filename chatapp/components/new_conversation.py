"""The dialogs that start a direct chat or create a group."""

from __future__ import annotations

import reflex as rx

from chatapp.components.form_dialog import form_dialog
from chatapp.states.chat_state import ChatState


def direct_dialog() -> rx.Component:
    """Start (or open) a direct conversation by username."""
    return form_dialog(
        trigger=rx.button(rx.icon("message-circle-plus", size=16), "Chat", size="2", variant="soft"),
        title="New direct chat",
        fields=[
            rx.input(name="username", placeholder="Username", auto_focus=True, required=True, width="100%")
        ],
        submit="Open chat",
        on_submit=ChatState.start_direct,
        error=ChatState.dialog_error,
        open_=ChatState.direct_open,
        on_open_change=ChatState.set_direct_open,
    )


def group_dialog() -> rx.Component:
    """Create a group with a title and members."""
    return form_dialog(
        trigger=rx.button(rx.icon("users", size=16), "Group", size="2", variant="soft"),
        title="New group",
        fields=[
            rx.input(name="title", placeholder="Group title", required=True, width="100%"),
            rx.input(name="members", placeholder="Usernames, separated by spaces or commas", width="100%"),
        ],
        submit="Create group",
        on_submit=ChatState.create_group,
        error=ChatState.dialog_error,
        open_=ChatState.group_open,
        on_open_change=ChatState.set_group_open,
    )
