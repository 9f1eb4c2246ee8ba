"""What every page shows over everything: Reflex's connection toast replaced by ours.

Reflex wraps each page in an "Overlay" (its `app_wraps`, keyed `(5, "Overlay")`) whose
toast says "Cannot connect to server … Check if server is reachable at ws://…" after two
failed connects. On a phone it covered the composer and took its taps, and it speaks to
developers. `replace(app, component)` puts the app's own in its place, on stateful
pages only, as Reflex does. A wrap receives the page as its children: the component goes
in a fragment beside them, never around them.
"""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

OVERLAY = (5, "Overlay")


def replace(app: rx.App, component: Callable[[], rx.Component]) -> None:
    """Show `component()` instead of Reflex's connection overlay."""
    app.app_wraps[OVERLAY] = lambda stateful: rx.fragment(component()) if stateful else None
