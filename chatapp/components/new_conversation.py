"""The dialogs that start a direct chat or create a group, by searching for people."""

from __future__ import annotations

import reflex as rx

from chatapp.components.focus_return import returns_focus
from chatapp.components.form_dialog import form_dialog
from chatapp.components.people_picker import people_picker
from chatapp.states.groups import GroupsState


def direct_dialog() -> rx.Component:
    """Start (or open) a direct conversation with someone found by name or username."""
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("message-circle-plus", size=16), "Chat", size="2", variant="soft")
        ),
        rx.dialog.content(
            rx.dialog.title("New direct chat"),
            rx.vstack(
                people_picker(on_choose=GroupsState.start_direct_with),
                rx.cond(
                    GroupsState.dialog_error != "",
                    rx.callout(GroupsState.dialog_error, color_scheme="red", size="1", role="alert"),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                    justify="end",
                    width="100%",
                ),
                width="100%",
            ),
            max_width="420px",
            **returns_focus(),
        ),
        open=GroupsState.direct_open,
        on_open_change=GroupsState.set_direct_open,
    )


def group_dialog() -> rx.Component:
    """Create a group with a title and the people picked."""
    return form_dialog(
        trigger=rx.button(rx.icon("users", size=16), "Group", size="2", variant="soft"),
        title="New group",
        fields=[
            rx.input(name="title", placeholder="Group title", required=True, width="100%"),
            people_picker(placeholder="Search people to add"),
        ],
        submit="Create group",
        on_submit=GroupsState.create_group,
        error=GroupsState.dialog_error,
        open_=GroupsState.group_open,
        on_open_change=GroupsState.set_group_open,
    )
