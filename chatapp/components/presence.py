"""Presence on screen: the indicator dot, the status word and the live last-seen text.

Every function takes a user id as a Var and reads that user's entry from the tab's
presence entries (see `AppState`: one key per user), so a change re-renders only text.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from chatapp.reflex_adapter.js import js_var
from chatapp.states.app_state import CUSTOM, PRESENCE

COLORS = {
    "online": "var(--grass-9)",
    "away": "var(--amber-9)",
    "dnd": "var(--red-9)",
    "offline": "var(--gray-8)",
}


def status_label(status: rx.Var[str]) -> rx.Var[str]:
    """The words for a status."""
    return rx.match(status, ("online", "Online"), ("away", "Away"), ("dnd", "Do not disturb"), "Offline")


def status_words(status: rx.Var[str]) -> rx.Var[str]:
    """A status inside a sentence: "online", "away", "on do not disturb", "offline"."""
    return rx.match(
        status, ("online", "online"), ("away", "away"), ("dnd", "on do not disturb"), "offline"
    ).to(str)


def status_of(user_id: rx.Var[int] | int) -> rx.Var[str]:
    """ "online", "away", "dnd" (do not disturb) or "offline" for a user (a user who
    appears offline reads "offline")."""
    uid = rx.Var.create(user_id)
    entry, data = PRESENCE.js_entry(str(uid))
    return js_var(f'({entry}?.status ?? "offline")', str, uid, data=data)


def last_seen_of(user_id: rx.Var[int] | int) -> rx.Var[int]:
    """When the user's last tab ended (epoch ms), clamped to the viewer's now; 0 if never.

    Clamped at render time so that a server clock ahead of the viewer's never reads
    "last seen in a few seconds".
    """
    uid = rx.Var.create(user_id)
    entry, data = PRESENCE.js_entry(str(uid))
    return js_var(f"Math.min({entry}?.last_seen_at ?? 0, Date.now())", int, uid, data=data)


def online_count(member_ids: rx.Var[list[int]], *, besides: rx.Var[int] | None = None) -> rx.Var[int]:
    """How many of these users are online, away or busy (not counting `besides`: the
    viewer, who knows they are here)."""
    entry, data = PRESENCE.js_entry("i")
    skip = besides if besides is not None else rx.Var.create(0)
    return js_var(
        f"({member_ids} ?? []).filter((i) => i !== {skip}"
        f' && ({entry}?.status ?? "offline") !== "offline").length',
        int,
        member_ids,
        skip,
        data=data,
    )


def locale_time(epoch_ms: rx.Var[int], options: str) -> rx.Var[str]:
    """A moment as the viewer's locale and zone write it, with these `Intl` options
    (a JS object literal)."""
    return js_var(f"new Date({epoch_ms}).toLocaleString(undefined, {options})", str, epoch_ms)


def full_time(epoch_ms: rx.Var[int]) -> rx.Var[str]:
    """A full date and time ("Thursday, January 15, 2026 at 8:05 AM"): the messages'
    hover times' format, one clock across the app."""
    return locale_time(epoch_ms, '{ dateStyle: "full", timeStyle: "short" }')


def clock_time(epoch_ms: rx.Var[int]) -> rx.Var[str]:
    """A time of day ("2:30 PM", "09:30"): the locale's short time style, as the
    messages' times (a fixed `hour: "numeric"` would write German's "09:30" as "9:30")."""
    return locale_time(epoch_ms, '{ timeStyle: "short" }')


def iso_time(epoch_ms: rx.Var[int]) -> rx.Var[str]:
    """An epoch-ms Var as an ISO 8601 string, for `rx.moment`."""
    return js_var(f"new Date({epoch_ms}).toISOString()", str, epoch_ms)


def presence_indicator(user_id: rx.Var[int] | int, *, size: str = "10px", **props: Any) -> rx.Component:
    """A dot: green online, amber away, red do not disturb, grey offline, with a label
    for screen readers and a tooltip."""
    status = status_of(user_id)
    label = status_label(status)
    return rx.tooltip(
        rx.box(
            width=size,
            height=size,
            min_width=size,
            border_radius="50%",
            background=rx.match(
                status,
                ("online", COLORS["online"]),
                ("away", COLORS["away"]),
                ("dnd", COLORS["dnd"]),
                COLORS["offline"],
            ),
            border="2px solid var(--color-panel-solid)",
            role="img",
            aria_label=label,
            custom_attrs={"data-presence": status, "data-user-id": rx.Var.create(user_id)},
            class_name="presence-indicator",
            **props,
        ),
        content=label,
    )


def last_seen_text(user_id: rx.Var[int] | int) -> rx.Component:
    """ "Online", "Away", "Last seen 5 minutes ago" (live, with the date on hover) or "Offline"."""
    status = status_of(user_id)
    seen = last_seen_of(user_id)
    absolute = full_time(seen)
    return rx.match(
        status,
        ("online", rx.text("Online", size="1", color_scheme="grass", class_name="presence-text")),
        ("away", rx.text("Away", size="1", color_scheme="amber", class_name="presence-text")),
        ("dnd", rx.text("Do not disturb", size="1", color_scheme="red", class_name="presence-text")),
        rx.cond(
            seen > 0,
            rx.tooltip(
                rx.text(
                    "Last seen ",
                    rx.moment(date=iso_time(seen), from_now=True, interval=15_000),
                    size="1",
                    color_scheme="gray",
                    class_name="presence-text last-seen",
                    custom_attrs={"data-last-seen": seen},
                ),
                content=absolute,
            ),
            rx.text("Offline", size="1", color_scheme="gray", class_name="presence-text"),
        ),
    )


def custom_status_of(user_id: rx.Var[int] | int) -> tuple[rx.Var[str], rx.Var[str]]:
    """A user's custom status as (emoji, text), "" when none or ended (an ended one is
    hidden in the browser at once, before the server's sweep clears it)."""
    uid = rx.Var.create(user_id)
    entry, data = CUSTOM.js_entry(str(uid))
    live = f"(({entry}) && (!({entry})[2] || ({entry})[2] > Date.now()))"
    emoji = js_var(f'({live} ? ({entry})[0] : "")', str, uid, data=data)
    text = js_var(f'({live} ? ({entry})[1] : "")', str, uid, data=data)
    return emoji, text


def custom_status(user_id: rx.Var[int] | int, *, with_text: bool = False, **props: Any) -> rx.Component:
    """A user's custom status beside their name: the emoji (the text on hover), or emoji
    and text. The text is the user's own words: rendered as text, never as markup."""
    emoji, text = custom_status_of(user_id)
    shown = rx.text.span(emoji, " ", text) if with_text else rx.text.span(emoji)
    return rx.cond(
        (emoji != "") | (text != ""),
        rx.text(
            shown,
            size="1",
            class_name="custom-status one-line",
            custom_attrs={"title": text, "data-user-id": user_id},
            **props,
        ),
    )
