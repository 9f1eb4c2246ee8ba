"""A trap between Reflex and Radix, pinned: Reflex wraps a child that has its own event
handler in a box (`RadixThemesFlex`) before handing it to a Radix part that renders its
child as itself (`asChild`). For the parts that take or give back the focus (a dialog's
Cancel and Close, which Radix focuses when a confirmation opens; every Trigger, which
gets the focus back when its menu or dialog closes) the box gets the focus, and a box
cannot hold it: it falls to the page's start, and Tab walks the page behind the dialog.

The delete confirmation's "Keep it" had this fault (its cancel button had its own
handler); closing calls the dialog's `on_open_change` instead. The second test keeps
every page of the app free of it."""

from __future__ import annotations

import pytest
import reflex as rx

from chatapp.pages.auth import login_page, signup_page
from chatapp.pages.chat import conversation_page, home_page
from chatapp.states.chat_state import ChatState

FOCUS_PARTS = (".Cancel", ".Close", ".Trigger")
# (A handler of the app's own: a state class defined here would join the app's tree, a
# handler a browser could call; tests/integration/test_one_door.py refuses it.)


def _parts(rendered: object, found: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Every Radix part in a rendered tree, with the names of its children."""
    if isinstance(rendered, dict):
        name = str(rendered.get("name") or "")
        if name.endswith((*FOCUS_PARTS, ".Action")):
            kids = [str(c.get("name")) for c in rendered.get("children", []) if isinstance(c, dict)]
            found.append((name, kids))
        for value in rendered.values():
            _parts(value, found)
    elif isinstance(rendered, (list, tuple)):
        for value in rendered:
            _parts(value, found)
    return found


@pytest.mark.parametrize(
    "part",
    [rx.alert_dialog.cancel, rx.dialog.close, rx.dialog.trigger, rx.menu.trigger, rx.popover.trigger],
    ids=lambda p: p.__self__.__name__,
)
def test_reflex_boxes_a_child_with_its_own_handler_and_only_then(part):
    with_handler = _parts(part(rx.button("Keep it", on_click=ChatState.cancel_delete)).render(), [])
    without = _parts(part(rx.button("Keep it")).render(), [])
    assert with_handler[0][1] == ["RadixThemesFlex"], (
        f"Reflex {rx.constants.Reflex.VERSION} no longer boxes a handler-bearing child of "
        f"{with_handler[0][0]}: this test and the note on 'Keep it' can go"
    )
    assert without[0][1] == ["RadixThemesButton"]


PAGES = [login_page, signup_page, home_page, conversation_page]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.__name__)
def test_no_part_of_a_page_that_takes_or_gives_back_the_focus_holds_a_box(page):
    parts = _parts(page().render(), [])
    boxed = [(name, kids) for name, kids in parts if name.endswith(FOCUS_PARTS) and "RadixThemesFlex" in kids]
    assert not boxed, f"give these buttons no handler of their own (use the dialog's on_open_change): {boxed}"
    if page in (home_page, conversation_page):
        assert any(name.endswith(".Trigger") for name, _ in parts)  # the walk reaches the parts
