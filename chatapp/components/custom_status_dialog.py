"""The custom status dialog (from the status menu): an emoji, a short text and when it
clears."""

from __future__ import annotations

import reflex as rx

from chatapp.components.form_dialog import form_dialog
from chatapp.components.presence import custom_status_of
from chatapp.reflex_adapter.js import js_var
from chatapp.services.custom_status import TEXT_MAX
from chatapp.states.app_state import AppState

CLEAR_AFTER_LABELS = (
    ("30m", "30 minutes"),
    ("1h", "1 hour"),
    ("4h", "4 hours"),
    ("today", "Today"),
    ("week", "This week"),
    ("never", "Don't clear"),
)


def custom_status_dialog() -> rx.Component:
    """Set or clear the custom status; the text is refused whole over its limit, never cut."""
    emoji, text = custom_status_of(AppState.user_id)
    return form_dialog(
        title="Set a status",
        fields=[
            rx.hstack(
                rx.input(
                    name="emoji",
                    default_value=emoji,
                    placeholder="🙂",
                    aria_label="Status emoji",
                    id="custom-emoji",
                    width="64px",
                ),
                rx.input(
                    name="text",
                    default_value=text,
                    placeholder=f"What's your status? (up to {TEXT_MAX} characters)",
                    aria_label="Status text",
                    id="custom-text",
                    flex="1",
                ),
                width="100%",
            ),
            rx.hstack(
                rx.text("Clear after", size="2"),
                rx.el.select(
                    *(rx.el.option(label, value=value) for value, label in CLEAR_AFTER_LABELS),
                    name="clear_after",
                    default_value="today",
                    aria_label="Clear after",
                    id="custom-clear-after",
                ),
                align="center",
            ),
            # The browser's zone, for "today" and "this week" (read when the dialog opens).
            rx.el.input(
                type="hidden",
                name="utc_offset",
                value=js_var("String(-new Date().getTimezoneOffset())", str),
            ),
            rx.button(
                "Clear status",
                type="button",
                variant="ghost",
                color_scheme="gray",
                on_click=AppState.clear_custom_status,
                id="clear-custom-status",
            ),
        ],
        submit="Save",
        on_submit=AppState.set_custom_status,
        error=AppState.custom_error,
        open_=AppState.custom_open,
        on_open_change=AppState.set_custom_open,
        dialog_id="custom-status-dialog",
    )
