"""The line that says the tab lost its connection and is getting it back.

Shown while the frontend's connects fail (the server unreachable, or refusing sockets
while its Redis is down: `chatapp.outage`). A status region, so screen readers hear it
once when it appears. What the user types stays in the composer meanwhile; sending
waits until the connection is back (`components.composer`).
"""

from __future__ import annotations

import reflex as rx

from chatapp.reflex_adapter.js import connection_lost

LOST_TEXT = "Connection lost. Reconnecting… What you type stays here; send it once this goes away."


def connection_banner() -> rx.Component:
    """A bar over the page while the connection is lost (an empty live region otherwise)."""
    return rx.box(
        rx.cond(
            connection_lost(),
            rx.hstack(
                rx.spinner(size="1"),
                rx.text(LOST_TEXT, size="2"),
                align="center",
                spacing="2",
                class_name="connection-lost",
            ),
        ),
        id="connection-banner",
        role="status",
        aria_live="polite",
    )
