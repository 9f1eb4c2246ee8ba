"""The dialogs that start a direct chat or create a group."""

from __future__ import annotations

import reflex as rx

from chatapp.states.chat_state import ChatState


def _dialog(
    *,
    trigger: rx.Component,
    title: str,
    fields: list[rx.Component],
    submit: str,
    on_submit,
    open_: rx.Var[bool],
    on_open_change,
) -> rx.Component:
    """A dialog with a form; the state's `dialog_error` shows under the fields."""
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(
            rx.dialog.title(title),
            rx.form(
                rx.vstack(
                    *fields,
                    rx.cond(
                        ChatState.dialog_error != "",
                        rx.callout(ChatState.dialog_error, color_scheme="red", size="1", role="alert"),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button(submit, type="submit"),
                        justify="end",
                        width="100%",
                    ),
                ),
                on_submit=on_submit,
                reset_on_submit=False,
            ),
            max_width="420px",
        ),
        open=open_,
        on_open_change=on_open_change,
    )


def direct_dialog() -> rx.Component:
    """Start (or open) a direct conversation by username."""
    return _dialog(
        trigger=rx.button(rx.icon("message-circle-plus", size=16), "Chat", size="2", variant="soft"),
        title="New direct chat",
        fields=[
            rx.input(name="username", placeholder="Username", auto_focus=True, required=True, width="100%")
        ],
        submit="Open chat",
        on_submit=ChatState.start_direct,
        open_=ChatState.direct_open,
        on_open_change=ChatState.set_direct_open,
    )


def group_dialog() -> rx.Component:
    """Create a group with a title and members."""
    return _dialog(
        trigger=rx.button(rx.icon("users", size=16), "Group", size="2", variant="soft"),
        title="New group",
        fields=[
            rx.input(name="title", placeholder="Group title", required=True, width="100%"),
            rx.input(name="members", placeholder="Usernames, separated by spaces or commas", width="100%"),
        ],
        submit="Create group",
        on_submit=ChatState.create_group,
        open_=ChatState.group_open,
        on_open_change=ChatState.set_group_open,
    )
