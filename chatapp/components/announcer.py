"""What a screen reader is told without looking: new messages in the open conversation,
and a change of the open direct chat's peer's presence.

- Messages: a visually hidden polite live region (`#message-announcer`) gets the new
  message only ("Bob Builder: see you at 6"), never the list. A script watches the list
  for message ids it has not shown before; what a conversation shows when it opens (its
  history, older messages loaded on scrolling up) and the viewer's own messages are not
  announced. The list counts as opened once it stayed still for `SETTLE_MS`.
- Presence: a second polite region says "Bob Builder is away" when the peer's status
  changes: it holds the status's words, not the ticking "last seen 5 minutes ago", so
  it speaks once per change.
"""

from __future__ import annotations

import reflex as rx

from chatapp.components.presence import status_of, status_words
from chatapp.reflex_adapter.js import js_var
from chatapp.states.chat_state import ChatState

SETTLE_MS = 1500

_ANNOUNCER_JS = f"""
function useChatappAnnouncer(cid) {{
  useEffect(() => {{
    const region = document.getElementById("message-announcer");
    let list = null, newest = null, settle = null, observer = null;
    const ids = (root) => Array.from(root.querySelectorAll("[data-message-id]"))
      .map((el) => [Number(el.getAttribute("data-message-id")), el]);
    const opened = () => {{ newest = Math.max(0, ...ids(list).map(([id]) => id)); }};
    const changed = () => {{
      if (newest === null) {{  // still opening: wait until the list stays still
        clearTimeout(settle);
        settle = setTimeout(opened, {SETTLE_MS});
        return;
      }}
      const fresh = ids(list).filter(([id]) => id > newest);
      if (!fresh.length) return;
      newest = Math.max(newest, ...fresh.map(([id]) => id));
      const words = fresh.filter(([, el]) => !el.classList.contains("mine")).map(([, el]) => {{
        const body = el.querySelector(".message-body");
        return `${{el.getAttribute("data-author-name")}}: ${{body ? body.textContent : ""}}`;
      }});
      if (words.length && region) region.textContent = words.join(" ");
    }};
    const attach = () => {{
      list = document.getElementById("messages");
      if (!list) return false;
      observer = new MutationObserver(changed);
      observer.observe(list, {{ childList: true, subtree: true, characterData: true }});
      changed();
      return true;
    }};
    const retry = attach() ? null : setInterval(() => attach() && clearInterval(retry), 200);
    if (region) region.textContent = "";
    return () => {{ observer && observer.disconnect(); clearTimeout(settle); clearInterval(retry); }};
  }}, [cid]);
}}
"""


class AnnouncerScript(rx.Fragment):
    """Renders nothing; watches the message list for new messages."""

    def add_imports(self) -> dict:
        return {"react": [rx.ImportVar(tag="useEffect")]}

    def add_custom_code(self) -> list[str]:
        return [_ANNOUNCER_JS]

    def add_hooks(self) -> list[str | rx.Var]:
        cid = ChatState.current_id
        return [js_var(f"useChatappAnnouncer({cid})", None, cid)]


def message_announcer() -> rx.Component:
    """The live region for new messages (and the script that fills it)."""
    return rx.fragment(
        AnnouncerScript.create(),
        rx.box(
            id="message-announcer", role="log", aria_live="polite", aria_atomic="true", class_name="sr-only"
        ),
    )


def peer_presence_announcer() -> rx.Component:
    """The live region for the open direct chat's peer's status ("Bob is away")."""
    return rx.box(
        ChatState.current_title,
        " is ",
        status_words(status_of(ChatState.current_peer_id)),
        id="peer-presence-announcer",
        role="status",
        aria_live="polite",
        aria_atomic="true",
        class_name="sr-only",
    )
