"""Who is typing, shown where the conversation is: under its messages and in its row.

The tab holds typing entries (`TypingState.typing_map`, one per typer and
conversation). `useChatappTyping` turns them into text and writes it into every element
marked `data-typing-for="<conversation id>"` (`typing_line`): "Alice is typing…",
"Alice and Bob are typing…", "Several people are typing…". An entry shows for 6 s after
it last changed (a typing tab refreshes it every 3 s: a tab that died goes within 6 s),
and not once that person's message has arrived. It runs on a timer of its own in the
browser, outside React's rendering: an expiry costs no server traffic and no re-render.
"""

from __future__ import annotations

import reflex as rx

from chatapp.reflex_adapter.js import js_var, merge_data
from chatapp.states.app_state import PRESENCE, AppState
from chatapp.states.chat_state import ROWS
from chatapp.states.typing import TYPING

SHOW_FOR_MS = 6000

_TYPING_JS = """
function chatappTypingText(names) {
  if (!names.length) return "";
  if (names.length === 1) return names[0] + " is typing…";
  if (names.length === 2) return names[0] + " and " + names[1] + " are typing…";
  return "Several people are typing…";
}

function useChatappTyping(entries, rows, nameOf, me, showForMs) {
  const seen = useRef(new Map());
  const props = useRef(null);
  props.current = { entries, rows, nameOf, me };
  useEffect(() => {
    const render = () => {
      const { entries, rows, nameOf, me } = props.current;
      const now = Date.now();
      const last = new Map(rows.map((r) => [r.id, r]));
      const typers = new Map();
      const live = new Set();
      for (const [cid, uid, at_ms] of entries) {
        const e = { conversation_id: cid, user_id: uid, at_ms };
        const key = cid + "-" + uid;
        live.add(key);
        let s = seen.current.get(key);
        if (!s || s.at_ms !== e.at_ms) {
          s = { at_ms: e.at_ms, since: now };
          seen.current.set(key, s);
        }
        if (e.user_id === me || now - s.since > showForMs) continue;
        const row = last.get(e.conversation_id);
        if (row && row.preview_author_id === e.user_id && row.last_activity_ms >= e.at_ms) continue;
        if (!typers.has(e.conversation_id)) typers.set(e.conversation_id, []);
        typers.get(e.conversation_id).push(nameOf(e.user_id) ?? "Someone");
      }
      for (const key of seen.current.keys()) if (!live.has(key)) seen.current.delete(key);
      document.querySelectorAll("[data-typing-for]").forEach((el) => {
        const names = (typers.get(Number(el.dataset.typingFor)) ?? []).sort();
        const text = chatappTypingText(names);
        if (el.textContent !== text) el.textContent = text;
        el.classList.toggle("typing-on", text !== "");
      });
    };
    render();
    const timer = setInterval(render, 500);
    return () => clearInterval(timer);
  }, [entries, rows, nameOf, me]);
}
"""


class TypingScript(rx.Fragment):
    """Renders nothing; keeps every typing line of the page up to date."""

    def add_imports(self) -> dict:
        return {"react": [rx.ImportVar(tag="useEffect"), rx.ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        return [_TYPING_JS]

    def add_hooks(self) -> list[str | rx.Var]:
        entries, entries_data = TYPING.js_values()
        rows, rows_data = ROWS.js_values()
        name, name_data = PRESENCE.js_entry("id")
        me = AppState.user_id
        return [
            js_var(
                f"useChatappTyping({entries}, {rows}, (id) => {name}?.name, {me}, {SHOW_FOR_MS})",
                None,
                me,
                data=merge_data(entries_data, rows_data, name_data),
            )
        ]


def typing_watcher() -> rx.Component:
    """The typing script of a signed-in page."""
    return TypingScript.create()


def typing_line(conversation_id: rx.Var[int] | int, **props) -> rx.Component:
    """Where "Alice is typing…" shows for a conversation (empty when nobody is)."""
    return rx.text(
        "",
        size="1",
        color_scheme="gray",
        font_style="italic",
        custom_attrs={"data-typing-for": conversation_id},
        **props,
    )
