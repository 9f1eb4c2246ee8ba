"""Reports a tab idle after a period without keyboard, mouse or touch input.

Only the transitions (idle, active again) go to the server. A hidden tab gets no input,
so it turns idle when the period runs out; input in it after it shows again brings
the user back at once.
"""

from __future__ import annotations

import reflex as rx

from chatapp.reflex_adapter.js import event_callback, js_var
from chatapp.settings import settings
from chatapp.states.app_state import AppState

_WATCHER_JS = """
function useChatappIdleWatcher(report, configuredMs) {
  const reportRef = useRef(report);
  reportRef.current = report;
  useEffect(() => {
    // Read here, in the browser: a production build also renders the page on the
    // server, where there is no window. It lets a test shorten the period.
    const idleMs = window.chatappIdleMs ?? configuredMs;
    let idle = false;
    let lastInput = Date.now();
    let timer = null;
    const set = (value) => {
      if (value !== idle) {
        idle = value;
        reportRef.current(value);
      }
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
      if (document.visibilityState !== "visible") return;
      lastInput = Date.now();
      if (idle) {
        set(false);
        clearTimeout(timer);
        timer = setTimeout(check, idleMs);
      }
    };
    const kinds = ["keydown", "mousemove", "mousedown", "wheel", "touchstart", "pointerdown"];
    kinds.forEach((k) => window.addEventListener(k, onInput, { passive: true }));
    document.addEventListener("visibilitychange", onInput);
    timer = setTimeout(check, idleMs);
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
        idle_ms = int(settings.idle_after * 1000)
        return [js_var(f"useChatappIdleWatcher({report}, {idle_ms})", None, report)]


def idle_watcher() -> rx.Component:
    """The idle watcher of a signed-in page."""
    return IdleWatcher.create()
