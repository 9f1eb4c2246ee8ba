"""The message composer: Enter sends, Shift+Enter starts a new line, nothing typed is
lost or sent twice.

The text area is the browser's own (uncontrolled): typing never waits for the server,
and a keystroke can't be overwritten by a late reply. At send time the script reads the
text, gives it an idempotency key, clears the box at once and sends (text, key): a
second Enter finds the box empty, and the server stores a key once, so a retry is safe.
Until the server confirms, the message waits in the tab's outbox (sessionStorage): a
reload resends it, and so does every page load (`resend`, asked by the server after a
reconnect: a send that reached a server that could not store it is not lost). While
the connection is lost (`components.connection`), Enter keeps the text in the box. A
refusal puts the text back in the box. Drafts are kept per conversation for the tab's
life (sessionStorage), and the box is focused on open.

The server answers through `window.chatappComposer` (`sent(key)`, `restore(cid, text,
key)`; see `states.chat_state.composer_call`); the list's rows call `leave(cid)` when
another conversation is clicked: until it has loaded, the box takes no typing (it would
belong to neither conversation). It also reports typing (`chatappTypingReporter`).
"""

from __future__ import annotations

import reflex as rx

from chatapp.reflex_adapter.js import connection_lost, event_callback, js_var
from chatapp.states.chat_state import ChatState
from chatapp.states.typing import TypingState

_COMPOSER_JS = """
const chatappOutbox = {
  read() {
    try { return JSON.parse(sessionStorage.getItem("chatapp.outbox") || "{}"); } catch (e) { return {}; }
  },
  write(box) { sessionStorage.setItem("chatapp.outbox", JSON.stringify(box)); },
  add(key, cid, body) { const box = this.read(); box[key] = { cid, body }; this.write(box); },
  take(key) {
    const box = this.read();
    delete box[key];
    this.write(box);
  },
};

function chatappNewKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function chatappFit(box) {
  box.style.height = "auto";
  box.style.height = Math.min(box.scrollHeight, 200) + "px";
}

// "Typing" is reported when typing starts and at most every 3 s while it goes on;
// "stopped" 800 ms after the last keystroke, at once when the draft is emptied, on
// send and on leaving the conversation (states/typing.py).
const CHATAPP_TYPING_EVERY_MS = 3000;
const CHATAPP_TYPING_PAUSE_MS = 800;

function chatappTypingReporter(reportRef) {
  const t = { on: false, lastSent: 0, timer: null };
  const stop = () => {
    clearTimeout(t.timer);
    if (t.on) {
      t.on = false;
      reportRef.current(false);
    }
  };
  const typed = (text) => {
    clearTimeout(t.timer);
    if (!text.trim()) return stop();
    const now = Date.now();
    if (!t.on || now - t.lastSent >= CHATAPP_TYPING_EVERY_MS) {
      t.on = true;
      t.lastSent = now;
      reportRef.current(true);
    }
    t.timer = setTimeout(stop, CHATAPP_TYPING_PAUSE_MS);
  };
  return { typed, stop };
}

function useChatappComposer(send, clearError, reportTyping, conversationId, hasError, offline) {
  const offlineRef = useRef(offline);
  offlineRef.current = offline;
  const sendRef = useRef(send);
  sendRef.current = send;
  const typingRef = useRef(reportTyping);
  typingRef.current = reportTyping;
  const clearRef = useRef(clearError);
  clearRef.current = clearError;
  const errorRef = useRef(hasError);
  errorRef.current = hasError;
  useEffect(() => {
    const box = document.getElementById("composer");
    if (!box) return;
    // Until the conversation has loaded the box takes no typing: what was typed would
    // belong to no conversation (or to the one being left) and be lost.
    box.readOnly = !conversationId;
    if (!conversationId) return;
    const draftKey = "chatapp.draft." + conversationId;
    const keep = () => {
      if (box.value) sessionStorage.setItem(draftKey, box.value);
      else sessionStorage.removeItem(draftKey);
    };
    box.value = sessionStorage.getItem(draftKey) ?? "";
    const typing = chatappTypingReporter(typingRef);
    chatappFit(box);
    box.focus({ preventScroll: true });
    const submit = () => {
      const body = box.value;
      box.focus({ preventScroll: true }); // after a click on Send too: typing goes on here
      if (!body.trim()) return;
      // No connection: the text stays in the box (the connection line says why).
      if (offlineRef.current) return;
      const key = chatappNewKey();
      typing.stop();
      chatappOutbox.add(key, conversationId, body);
      box.value = "";
      keep();
      chatappFit(box);
      const list = document.getElementById("messages");
      if (list) list.scrollTop = list.scrollHeight;
      sendRef.current(body, key);
      box.focus({ preventScroll: true });
    };
    const onKey = (e) => {
      if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      submit();
    };
    const onInput = () => {
      keep();
      typing.typed(box.value);
      chatappFit(box);
      if (errorRef.current) {
        errorRef.current = false;
        clearRef.current();
      }
    };
    box.addEventListener("keydown", onKey);
    box.addEventListener("input", onInput);
    window.chatappComposer = {
      submit,
      leave(target) {
        // Another conversation is opening: keep this draft, take no typing until it has.
        if (String(target) === String(conversationId)) return;
        typing.stop();
        keep();
        box.readOnly = true;
      },
      sent(key) { chatappOutbox.take(key); },
      resend() {
        for (const [key, item] of Object.entries(chatappOutbox.read())) {
          if (String(item.cid) === String(conversationId)) sendRef.current(item.body, key);
        }
      },
      restore(cid, body, key) {
        chatappOutbox.take(key);
        if (String(cid) === String(conversationId)) {
          box.value = box.value ? body + "\\n" + box.value : body;
          keep();
          chatappFit(box);
          box.focus({ preventScroll: true });
        } else {
          const other = "chatapp.draft." + cid;
          const was = sessionStorage.getItem(other);
          sessionStorage.setItem(other, was ? body + "\\n" + was : body);
        }
      },
    };
    // Messages sent just before a reload, never confirmed: the server stores each key once.
    window.chatappComposer.resend();
    return () => {
      typing.stop();
      box.removeEventListener("keydown", onKey);
      box.removeEventListener("input", onInput);
    };
  }, [conversationId]);
}
"""


class ComposerScript(rx.Fragment):
    """Renders nothing; runs the composer's script for the open conversation."""

    def add_imports(self) -> dict:
        return {"react": [rx.ImportVar(tag="useEffect"), rx.ImportVar(tag="useRef")]}

    def add_custom_code(self) -> list[str]:
        return [_COMPOSER_JS]

    def add_hooks(self) -> list[str | rx.Var]:
        send = event_callback(ChatState.send_message, args_spec=lambda body, key: [body, key], key="on_send")
        clear = event_callback(ChatState.clear_error, args_spec=lambda: [], key="on_clear")
        typing = event_callback(TypingState.set_typing, args_spec=lambda typing: [typing], key="on_typing")
        has_error = ChatState.error != ""
        cid = ChatState.current_id
        offline = connection_lost()
        return [
            js_var(
                f"useChatappComposer({send}, {clear}, {typing}, {cid}, {has_error}, {offline})",
                None,
                send,
                clear,
                typing,
                cid,
                has_error,
                offline,
            )
        ]


def composer() -> rx.Component:
    """The message box and its Send button, with the open conversation's error above."""
    return rx.vstack(
        rx.cond(
            ChatState.error != "",
            rx.callout(
                ChatState.error, color_scheme="red", size="1", role="alert", id="chat-error", width="100%"
            ),
        ),
        rx.hstack(
            rx.text_area(
                placeholder="Write a message…",
                aria_label="Message",
                id="composer",
                rows="1",
                size="3",
                flex="1",
                resize="none",
                enter_key_hint="send",
            ),
            rx.icon_button(
                rx.icon("send", size=16),
                type="button",
                size="3",
                aria_label="Send",
                id="send-button",
                on_click=rx.call_script("window.chatappComposer?.submit()"),
            ),
            width="100%",
            align="end",
        ),
        ComposerScript.create(),
        width="100%",
        spacing="2",
        padding="12px 16px",
        border_top="1px solid var(--gray-a5)",
    )
