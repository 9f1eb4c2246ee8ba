"""Where the focus goes when a dialog closes: back where it was when the dialog opened.

Radix returns the focus to a dialog's trigger only, and a dialog opened by the state
(edit and delete from a message's buttons, the password and status dialogs from a menu
item) has none: the focus fell to the page's start, and a keyboard user had to find
their place again. `returns_focus()` gives a dialog's content two handlers:
- on open, it remembers what had the focus (still the button or the menu's trigger, as
  the dialog's own focus moves in only after this event) and the page's path; Radix
  sends this event only when nothing inside has the focus yet, so no field of such a
  dialog may take it by itself (`auto_focus`): Radix focuses the first one;
- on close, it puts the focus back there; where that element is gone (a deleted
  message's buttons), in the message box; where the dialog took the user to another
  conversation (a new chat, a new group), in that conversation's message box.
"""

from __future__ import annotations

import reflex as rx

from chatapp.reflex_adapter.js import js_function

_REMEMBER = js_function(
    "() => { window.chatappOpener = { el: document.activeElement, path: window.location.pathname }; }"
)

_RESTORE = js_function(
    """() => {
  const opener = window.chatappOpener;
  window.chatappOpener = null;
  const box = document.getElementById("composer");
  const moved = opener && opener.path !== window.location.pathname;
  const back = opener && opener.el && opener.el.isConnected && opener.el !== document.body ? opener.el : null;
  const to = moved ? box ?? back : back ?? box;
  if (to) to.focus();
}"""
)


def returns_focus() -> dict:
    """Props for a dialog's content (`rx.dialog.content(..., **returns_focus())`)."""
    return {"on_open_auto_focus": _REMEMBER, "on_close_auto_focus": [rx.prevent_default, _RESTORE]}
