"""Reports which conversation rows of the list are on screen, for typing to reach only
the tabs that show it (`TypingState.set_rows_in_view`).

An `IntersectionObserver` watches every row (`.conversation-row[data-conversation-id]`),
a `MutationObserver` on the sidebar brings in the rows the list adds as it changes; the set on screen is
sent when it differs from the last one sent, 250 ms after scrolling settles (a list
hidden on a phone, while a conversation is open there, has none on screen).
"""

from __future__ import annotations

import reflex as rx

from chatapp import wire
from chatapp.reflex_adapter.js import event_callback, js_var
from chatapp.states.typing import TypingState

_ROWS_JS = """
function useChatappRowsInView(report, max) {
  const reportRef = useRef(report);
  reportRef.current = report;
  useEffect(() => {
    if (typeof IntersectionObserver === "undefined") return;
    const onScreen = new Set();
    const watched = new Set();
    let sent = null;
    let timer = null;
    const flush = () => {
      timer = null;
      for (const el of [...onScreen]) if (!el.isConnected) onScreen.delete(el);
      const ids = [...new Set([...onScreen].map((el) => Number(el.dataset.conversationId)))]
        .filter((id) => id > 0)
        .sort((a, b) => a - b)
        .slice(0, max);
      const key = ids.join(",");
      if (key === sent) return;
      sent = key;
      reportRef.current(ids);
    };
    const soon = () => {
      if (timer === null) timer = setTimeout(flush, 250);
    };
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (e.isIntersecting) onScreen.add(e.target);
        else onScreen.delete(e.target);
      }
      soon();
    });
    const scan = () => {
      for (const el of [...watched]) {
        if (!el.isConnected) {
          watched.delete(el);
          io.unobserve(el);
          onScreen.delete(el);
        }
      }
      document.querySelectorAll(".conversation-row[data-conversation-id]").forEach((el) => {
        if (!watched.has(el)) {
          watched.add(el);
          io.observe(el);
        }
      });
      soon();
    };
    // Rows come and go as elements; the text written into them (typing lines, previews)
    // does not call for a new scan.
    const mo = new MutationObserver((records) => {
      if (records.some((r) => [...r.addedNodes, ...r.removedNodes].some((n) => n.nodeType === 1))) scan();
    });
    mo.observe(document.getElementById("sidebar") ?? document.body, { childList: true, subtree: true });
    scan();
    return () => {
      clearTimeout(timer);
      mo.disconnect();
      io.disconnect();
    };
  }, [max]);
}
"""


class RowsInView(rx.Fragment):
    """Renders nothing; reports the list's rows on screen."""

    def add_imports(self) -> dict:
        return {"react": [rx.ImportVar(tag="useEffect"), rx.ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        return [_ROWS_JS]

    def add_hooks(self) -> list[str | rx.Var]:
        report = event_callback(TypingState.set_rows_in_view, args_spec=lambda ids: [ids], key="on_rows")
        return [js_var(f"useChatappRowsInView({report}, {wire.ROWS_IN_VIEW_MAX})", None, report)]


def rows_in_view() -> rx.Component:
    """The reporter of a page with the conversation list."""
    return RowsInView.create()
