"""The signed-in user's own status and the menu to choose Away or automatic."""

from __future__ import annotations

import reflex as rx

from chatapp.components.avatar import avatar_with_presence
from chatapp.components.presence import iso_time, status_label, status_of
from chatapp.states.app_state import AppState


def status_menu() -> rx.Component:
    """Own avatar, name and status; a menu with the status choices, hiding last seen,
    the theme and log out."""
    me = AppState.user_id
    status = status_of(me)
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                avatar_with_presence(AppState.username, me, size="2"),
                rx.vstack(
                    rx.text("@", AppState.username, size="2", weight="medium"),
                    rx.text(
                        rx.cond(
                            AppState.manual_status == "invisible",
                            "Invisible: others see you offline",
                            status_label(status),
                        ),
                        rx.cond(
                            (AppState.manual_status == "away") | (AppState.manual_status == "dnd"),
                            " (set by you)",
                            "",
                        ),
                        rx.cond(
                            AppState.manual_until_ms > 0,
                            rx.fragment(
                                " until ", rx.moment(date=iso_time(AppState.manual_until_ms), format="HH:mm")
                            ),
                        ),
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
            rx.menu.sub(
                rx.menu.sub_trigger("Do not disturb", id="status-dnd-menu"),
                rx.menu.sub_content(
                    rx.menu.item("For 1 hour", on_click=AppState.set_status("dnd_1h"), id="status-dnd-1h"),
                    rx.menu.item("Until I turn it off", on_click=AppState.set_status("dnd"), id="status-dnd"),
                ),
            ),
            rx.menu.item("Appear offline", on_click=AppState.set_status("invisible"), id="status-invisible"),
            rx.menu.separator(),
            rx.menu.item(
                rx.hstack(
                    rx.cond(AppState.hide_last_seen, rx.icon("check", size=14), rx.box(width="14px")),
                    "Hide my last seen",
                    align="center",
                ),
                on_click=AppState.set_hide_last_seen(~AppState.hide_last_seen),
                id="hide-last-seen",
            ),
            rx.menu.separator(),
            rx.menu.item(
                rx.color_mode_cond("Dark mode", "Light mode"),
                on_click=rx.toggle_color_mode,
            ),
            rx.menu.item("Log out", on_click=AppState.logout, color="red", id="logout"),
        ),
    )
