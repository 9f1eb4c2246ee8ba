"""The signed-in pages: the conversation list and an open conversation."""

from __future__ import annotations

import reflex as rx

from chatapp import routes
from chatapp.components.attention import attention
from chatapp.components.conversation import conversation_pane, skip_link
from chatapp.components.idle_watcher import idle_watcher
from chatapp.components.sidebar import sidebar
from chatapp.components.typing import typing_watcher
from chatapp.states.app_state import AppState


def _signed_in(*children: rx.Component) -> rx.Component:
    """Render only for a signed-in user (the on_load redirects the others, and a tab
    whose login ends while it is open goes to the log-in form)."""
    return rx.cond(
        AppState.tabs_full,
        rx.center(
            rx.callout(
                "You have as many chatapp tabs open as one person may. Close one, then reload this one.",
                icon="info",
                id="tabs-full",
            ),
            height="100dvh",
            padding="16px",
        ),
        _signed_in_or_waiting(*children),
    )


def _signed_in_or_waiting(*children: rx.Component) -> rx.Component:
    return rx.cond(
        AppState.user_id > 0,
        rx.hstack(
            idle_watcher(),
            attention(),
            typing_watcher(),
            *children,
            spacing="0",
            width="100%",
            height="100dvh",
            overflow="hidden",
        ),
        rx.center(
            rx.spinner(size="3"),
            rx.cond(AppState.signed_out, rx.box(on_mount=rx.redirect(routes.LOGIN))),
            height="100dvh",
        ),
    )


def home_page() -> rx.Component:
    """The list of conversations; on a desktop, a hint where the conversation goes."""
    return _signed_in(
        sidebar(on_home=True),
        rx.center(
            rx.vstack(
                rx.icon("messages-square", size=48, color="var(--gray-8)"),
                rx.text("Pick a conversation or start a new one.", color_scheme="gray"),
                align="center",
            ),
            flex="1",
            height="100dvh",
            display=["none", "none", "flex"],
            role="main",
        ),
    )


def conversation_page() -> rx.Component:
    """One conversation beside the list (the list hides on a phone)."""
    return _signed_in(skip_link(), sidebar(on_home=False), conversation_pane())
