"""The signed-in user's own status and the menu to choose Away or automatic."""

from __future__ import annotations

import reflex as rx

from chatapp.components.avatar import avatar_with_presence
from chatapp.components.presence import status_of
from chatapp.states.app_state import AppState


def status_menu() -> rx.Component:
    """Own avatar, name and status; a menu with Away, Automatic, theme and log out."""
    me = AppState.user_id
    status = status_of(me)
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                avatar_with_presence(AppState.username, me, size="2"),
                rx.vstack(
                    rx.text("@", AppState.username, size="2", weight="medium"),
                    rx.text(
                        rx.match(status, ("online", "Online"), ("away", "Away"), "Offline"),
                        rx.cond(AppState.manual_status == "away", " (set by you)", ""),
                        size="1",
                        color_scheme="gray",
                        id="my-status",
                    ),
                    spacing="0",
                    align="start",
                ),
                variant="ghost",
                color_scheme="gray",
                height="auto",
                padding="6px",
                aria_label="Status menu",
                id="status-menu-trigger",
            )
        ),
        rx.menu.content(
            rx.menu.item(
                "Automatic",
                on_click=AppState.set_status("auto"),
                id="status-auto",
            ),
            rx.menu.item("Away", on_click=AppState.set_status("away"), id="status-away"),
            rx.menu.separator(),
            rx.menu.item(
                rx.color_mode_cond("Dark mode", "Light mode"),
                on_click=rx.toggle_color_mode,
            ),
            rx.menu.item("Log out", on_click=AppState.logout, color="red", id="logout"),
        ),
    )
