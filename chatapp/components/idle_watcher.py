"""Reports a tab idle after a period without keyboard, mouse or touch input, and
whether its user sees it (visible and not idle).

Only the transitions go to the server: idle / active again for presence, and seeing /
not seeing for reading (a message counts as read only while its conversation is open in
a tab its user sees). A hidden tab gets no input, so it turns idle when the period runs
out, and stops "seeing" at once; input in it after it shows again brings the user back
at once.
"""

from __future__ import annotations

import reflex as rx

from chatapp.reflex_adapter.js import event_callback, js_var
from chatapp.settings import settings
from chatapp.states.app_state import AppState
from chatapp.states.chat_state import ChatState

_WATCHER_JS = """
function useChatappIdleWatcher(report, reportSeeing, configuredMs) {
  const reportRef = useRef(report);
  reportRef.current = report;
  const seeingRef = useRef(reportSeeing);
  seeingRef.current = reportSeeing;
  useEffect(() => {
    // Read here, in the browser: a production build also renders the page on the
    // server, where there is no window. It lets a test shorten the period.
    const idleMs = window.chatappIdleMs ?? configuredMs;
    let idle = false;
    let lastInput = Date.now();
    let timer = null;
    let seeing = null;
    const see = () => {
      const now = document.visibilityState === "visible" && !idle;
      if (now !== seeing) {
        seeing = now;
        seeingRef.current(now);
      }
    };
    const set = (value) => {
      if (value !== idle) {
        idle = value;
        reportRef.current(value);
      }
      see();
    };
    const check = () => {
      const left = lastInput + idleMs - Date.now();
      if (left <= 0) {
        set(true);
      } else {
        timer = setTimeout(check, left);
      }
    };
    const onInput = () => {
      if (document.visibilityState !== "visible") return see();
      lastInput = Date.now();
      if (idle) {
        set(false);
        clearTimeout(timer);
        timer = setTimeout(check, idleMs);
      }
      see();
    };
    const kinds = ["keydown", "mousemove", "mousedown", "wheel", "touchstart", "pointerdown"];
    kinds.forEach((k) => window.addEventListener(k, onInput, { passive: true }));
    document.addEventListener("visibilitychange", onInput);
    timer = setTimeout(check, idleMs);
    see();
    return () => {
      clearTimeout(timer);
      kinds.forEach((k) => window.removeEventListener(k, onInput));
      document.removeEventListener("visibilitychange", onInput);
    };
  }, [configuredMs]);
}
"""


class IdleWatcher(rx.Fragment):
    """Renders nothing; watches input and reports idle transitions of this tab."""

    def add_imports(self) -> dict:
        return {"react": [rx.ImportVar(tag="useEffect"), rx.ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        return [_WATCHER_JS]

    def add_hooks(self) -> list[str | rx.Var]:
        report = event_callback(AppState.set_idle, args_spec=lambda idle: [idle], key="on_idle")
        seeing = event_callback(ChatState.set_seeing, args_spec=lambda seeing: [seeing], key="on_seeing")
        idle_ms = int(settings.idle_after * 1000)
        return [js_var(f"useChatappIdleWatcher({report}, {seeing}, {idle_ms})", None, report, seeing)]


def idle_watcher() -> rx.Component:
    """The idle watcher of a signed-in page."""
    return IdleWatcher.create()
