"""The signed-in user's own status and the menu to choose Away or automatic."""

from __future__ import annotations

import reflex as rx

from chatapp.components.avatar import avatar_with_presence
from chatapp.components.form_dialog import form_dialog
from chatapp.components.presence import iso_time, status_label, status_of
from chatapp.services.accounts import PASSWORD_MIN
from chatapp.states.account import AccountState
from chatapp.states.app_state import AppState


def _password_input(name: str, placeholder: str, autocomplete: str) -> rx.Component:
    return rx.input(
        name=name,
        placeholder=placeholder,
        type="password",
        required=True,
        min_length=PASSWORD_MIN if name != "current" else None,
        auto_complete=autocomplete,
        width="100%",
    )


def password_dialog() -> rx.Component:
    """Change the password (opened from the status menu)."""
    return form_dialog(
        title="Change password",
        fields=[
            _password_input("current", "Current password", "current-password"),
            _password_input("new", f"New password ({PASSWORD_MIN}+ characters)", "new-password"),
            _password_input("repeat", "Repeat the new password", "new-password"),
            rx.text("Your other devices will be logged out.", size="1", color_scheme="gray"),
        ],
        submit="Change password",
        on_submit=AccountState.change_password,
        error=AccountState.password_error,
        open_=AccountState.password_open,
        on_open_change=AccountState.set_password_open,
        dialog_id="password-dialog",
    )


def status_menu() -> rx.Component:
    """Own avatar, name and status; a menu with the status choices, hiding last seen,
    the theme and log out."""
    me = AppState.user_id
    status = status_of(me)
    return rx.fragment(_menu(me, status), password_dialog())


def _menu(me, status) -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                avatar_with_presence(AppState.username, me, size="2"),
                rx.vstack(
                    rx.text("@", AppState.username, size="2", weight="medium"),
                    rx.text(
                        rx.cond(
                            AppState.chosen_status == "invisible",
                            "Invisible: others see you offline",
                            status_label(status),
                        ),
                        rx.cond(
                            (AppState.chosen_status == "away") | (AppState.chosen_status == "dnd"),
                            " (set by you)",
                            "",
                        ),
                        rx.cond(
                            AppState.chosen_until_ms > 0,
                            rx.fragment(
                                " until ", rx.moment(date=iso_time(AppState.chosen_until_ms), format="HH:mm")
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
            rx.menu.item(
                "Change password…", on_click=AccountState.set_password_open(True), id="change-password"
            ),
            rx.menu.item("Log out", on_click=AppState.logout, color="red", id="logout"),
            rx.menu.item(
                "Log out everywhere", on_click=AppState.logout_everywhere, color="red", id="logout-everywhere"
            ),
        ),
    )
