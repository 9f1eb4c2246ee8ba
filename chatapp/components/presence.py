"""Presence on screen: the indicator dot, the status word and the live last-seen text.

Every function takes a user id as a Var and reads that user's entry from the tab's
presence entries (see `AppState`: one key per user), so a change re-renders only text.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.vars.base import VarData

from chatapp.states.app_state import PRESENCE_KEY_PREFIX, AppState

COLORS = {
    "online": "var(--grass-9)",
    "away": "var(--amber-9)",
    "dnd": "var(--red-9)",
    "offline": "var(--gray-8)",
}


def status_label(status: rx.Var[str]) -> rx.Var[str]:
    """The words for a status."""
    return rx.match(status, ("online", "Online"), ("away", "Away"), ("dnd", "Do not disturb"), "Offline")


def _state_js() -> tuple[str, VarData | None]:
    probe = AppState.manual_status
    return str(probe).rsplit(".", 1)[0], probe._get_all_var_data()


def _js(expr: str, var_type: type, *vars_used: rx.Var) -> rx.Var:
    _, data = _state_js()
    return rx.Var(
        _js_expr=expr,
        _var_data=VarData.merge(data, *(v._get_all_var_data() for v in vars_used)),
    ).to(var_type)


def _entry_js(user_id: rx.Var) -> str:
    state, _ = _state_js()
    return f'{state}["{PRESENCE_KEY_PREFIX}" + ({user_id})]'


def status_of(user_id: rx.Var[int] | int) -> rx.Var[str]:
    """ "online", "away" or "offline" for a user."""
    uid = rx.Var.create(user_id)
    return _js(f'({_entry_js(uid)}?.status ?? "offline")', str, uid)


def last_seen_of(user_id: rx.Var[int] | int) -> rx.Var[int]:
    """When the user's last tab ended (epoch ms), clamped to the viewer's now; 0 if never.

    Clamped at render time so that a server clock ahead of the viewer's never reads
    "last seen in a few seconds".
    """
    uid = rx.Var.create(user_id)
    return _js(f"Math.min({_entry_js(uid)}?.last_seen_at ?? 0, Date.now())", int, uid)


def online_count(member_ids: rx.Var[list[int]]) -> rx.Var[int]:
    """How many of these users are online or away."""
    state, _ = _state_js()
    return _js(
        f'({member_ids}).filter((i) => ({state}["{PRESENCE_KEY_PREFIX}" + i]?.status ?? "offline")'
        ' !== "offline").length',
        int,
        member_ids,
    )


def iso_time(epoch_ms: rx.Var[int]) -> rx.Var[str]:
    """An epoch-ms Var as an ISO 8601 string, for `rx.moment`."""
    return _js(f"new Date({epoch_ms}).toISOString()", str, epoch_ms)


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
    absolute = _js(f"new Date({seen}).toLocaleString()", str, seen)
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
