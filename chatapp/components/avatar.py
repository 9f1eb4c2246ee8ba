"""Avatars with initials, and the presence dot on their corner."""

from __future__ import annotations

import reflex as rx

from chatapp.components.presence import presence_indicator
from chatapp.reflex_adapter.js import js_var


def initials(name: rx.Var[str]) -> rx.Var[str]:
    """Up to two initials of a name, in the browser."""
    return js_var(
        f'(({name}) || "?").split(/\\s+/).filter(Boolean).slice(0, 2)'
        '.map((w) => Array.from(w)[0]).join("").toUpperCase()',
        str,
        name,
    )


def avatar(name: rx.Var[str], *, size: str = "3") -> rx.Component:
    """A round avatar with the name's initials (hidden from screen readers: the name is
    always written beside it; initials read first made rows read "BB Bob Builder")."""
    return rx.el.span(
        rx.avatar(fallback=initials(name), size=size, radius="full", variant="soft"),
        custom_attrs={"aria-hidden": "true"},
        class_name="avatar",
        display="inline-flex",
    )


def avatar_with_presence(name: rx.Var[str], user_id: rx.Var[int], *, size: str = "3") -> rx.Component:
    """An avatar with the user's presence dot on its lower right."""
    return rx.box(
        avatar(name, size=size),
        rx.box(presence_indicator(user_id, size="12px"), position="absolute", right="-2px", bottom="-2px"),
        position="relative",
        display="inline-flex",
        flex_shrink="0",
    )
