"""A dialog holding a form, with the form's error under its fields."""

from __future__ import annotations

import reflex as rx

from chatapp.components.focus_return import returns_focus


def form_dialog(
    *,
    title: str,
    fields: list[rx.Component],
    submit: str,
    on_submit,
    error: rx.Var[str],
    open_: rx.Var[bool],
    on_open_change,
    trigger: rx.Component | None = None,
    dialog_id: str | None = None,
) -> rx.Component:
    """A controlled dialog: `open_` and `on_open_change` belong to a state; `error` is
    shown under the fields ("" for none). Without a trigger, something else opens it."""
    return rx.dialog.root(
        *([rx.dialog.trigger(trigger)] if trigger is not None else []),
        rx.dialog.content(
            rx.dialog.title(title),
            rx.form(
                rx.vstack(
                    *fields,
                    rx.cond(error != "", rx.callout(error, color_scheme="red", size="1", role="alert")),
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
            id=dialog_id,
            **returns_focus(),
        ),
        open=open_,
        on_open_change=on_open_change,
    )
