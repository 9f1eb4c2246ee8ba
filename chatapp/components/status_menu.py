"""The signed-in user's own status and the menu to choose Away or automatic."""

from __future__ import annotations

import reflex as rx

from chatapp.components.attention import notifications_item, sound_item
from chatapp.components.avatar import avatar_with_presence
from chatapp.components.custom_status_dialog import custom_status_dialog
from chatapp.components.form_dialog import form_dialog
from chatapp.components.presence import clock_time, custom_status, iso_time, status_label, status_of
from chatapp.services.accounts import PASSWORD_MIN
from chatapp.states.account import AccountState
from chatapp.states.app_state import AppState
from chatapp.states.chat_state import ChatState


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


# "Who can see my presence" (services/audience.py): the choice and its words.
AUDIENCE_CHOICES = (
    ("everyone", "Everyone I share a conversation with"),
    ("written", "Only people I have written to"),
    ("nobody", "Nobody"),
)


def _toggle(label: str, on: rx.Var[bool], on_click, item_id: str) -> rx.Component:
    """A menu item with a check mark when `on`."""
    return rx.menu.item(
        rx.hstack(rx.cond(on, rx.icon("check", size=14), rx.box(width="14px")), label, align="center"),
        on_click=on_click,
        id=item_id,
    )


def status_menu() -> rx.Component:
    """Own avatar, name and status; a menu with the status choices, hiding last seen,
    read receipts, desktop notifications and their sound, the theme and log out."""
    me = AppState.user_id
    status = status_of(me)
    return rx.fragment(_menu(me, status), password_dialog(), custom_status_dialog())


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
                                " until ",
                                rx.el.time(
                                    clock_time(AppState.chosen_until_ms),
                                    date_time=iso_time(AppState.chosen_until_ms),
                                ),
                            ),
                        ),
                        size="1",
                        color_scheme="gray",
                        id="my-status",
                    ),
                    custom_status(me, with_text=True, id="my-custom-status"),
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
            _toggle(
                "Hide my last seen",
                AppState.hide_last_seen,
                AppState.set_hide_last_seen(~AppState.hide_last_seen),
                "hide-last-seen",
            ),
            _toggle(
                "Send read receipts",
                AppState.read_receipts,
                ChatState.set_read_receipts(~AppState.read_receipts),
                "read-receipts",
            ),
            _toggle(
                "Let others see when I'm typing",
                AppState.share_typing,
                AppState.set_share_typing(~AppState.share_typing),
                "share-typing",
            ),
            rx.menu.sub(
                rx.menu.sub_trigger("Who can see my presence", id="audience-menu"),
                rx.menu.sub_content(
                    *(
                        _toggle(
                            label,
                            AppState.presence_audience == choice,
                            AppState.set_presence_audience(choice),
                            f"audience-{choice}",
                        )
                        for choice, label in AUDIENCE_CHOICES
                    )
                ),
            ),
            rx.menu.separator(),
            notifications_item(),
            sound_item(),
            rx.menu.separator(),
            rx.menu.item(
                rx.color_mode_cond("Dark mode", "Light mode"),
                on_click=rx.toggle_color_mode,
            ),
            rx.menu.item("Set a status…", on_click=AppState.set_custom_open(True), id="set-custom-status"),
            rx.menu.item(
                "Change password…", on_click=AccountState.set_password_open(True), id="change-password"
            ),
            rx.menu.item("Log out", on_click=AppState.logout, color_scheme="red", id="logout"),
            rx.menu.item(
                "Log out everywhere",
                on_click=AppState.logout_everywhere,
                color_scheme="red",
                id="logout-everywhere",
            ),
        ),
        # Not modal: a modal menu hides the rest of the page from assistive technology
        # with aria-hidden while its links stay focusable (axe: aria-hidden-focus). Focus
        # still moves into the menu, and Escape closes it and returns focus to the button.
        modal=False,
    )
