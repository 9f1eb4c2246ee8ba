"""How the open conversation's messages are laid out, in the browser.

The tab holds the loaded messages as a keyed dict (one entry per message, see
`ChatState`); `chatappArrange` orders them by id and lays them out for the viewer: date
separators (Today, Yesterday, a weekday, a full date, in the viewer's zone and locale),
a "New messages" divider above the first message that was unread, consecutive messages
of one author within five minutes under one header, system lines ("Dave left"), links
split out of the text (http and https only: a `javascript:` URL stays text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import reflex as rx

from chatapp.reflex_adapter.js import js_var
from chatapp.states.app_state import AppState
from chatapp.states.chat_state import MESSAGES, ChatState

GROUP_WITHIN_MS = 5 * 60 * 1000

_ARRANGE_JS = """
const chatappClock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const chatappFull = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const chatappLongDay = new Intl.DateTimeFormat(undefined, {
  weekday: "long", day: "numeric", month: "long", year: "numeric",
});
const chatappWeekday = new Intl.DateTimeFormat(undefined, { weekday: "long" });

function chatappDayStart(ms) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function chatappDayLabel(ms, now) {
  const days = Math.round((chatappDayStart(now) - chatappDayStart(ms)) / 86400000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days > 1 && days < 7) return chatappWeekday.format(ms);
  return chatappLongDay.format(ms);
}

function chatappParts(body) {
  const parts = [];
  const link = /https?:\\/\\/[^\\s<>"']+/gi;
  let at = 0;
  for (const found of body.matchAll(link)) {
    let url = found[0].replace(/[.,;:!?)\\]]+$/, "");
    if (found.index > at) parts.push({ text: body.slice(at, found.index), href: "" });
    parts.push({ text: url, href: url });
    at = found.index + url.length;
  }
  if (at < body.length) parts.push({ text: body.slice(at), href: "" });
  return parts;
}

function chatappArrange(messages, me, unreadFrom, groupMs) {
  const now = Date.now();
  const out = [];
  let prev = null;
  let day = null;
  let divided = false;
  for (const m of [...messages].sort((a, b) => a.id - b.id)) {
    const start = chatappDayStart(m.created_ms);
    const base = {
      key: "m" + m.id, id: m.id, author_id: m.author_id, author_name: m.author_name,
      time: chatappClock.format(m.created_ms), full_time: chatappFull.format(m.created_ms),
      edited: m.edited_ms > 0, edited_time: m.edited_ms > 0 ? chatappFull.format(m.edited_ms) : "",
      deleted: m.deleted, mine: m.author_id === me, head: true, parts: [], text: "",
    };
    if (start !== day) {
      out.push({ ...base, kind: "day", key: "d" + start, text: chatappDayLabel(m.created_ms, now) });
      day = start;
      prev = null;
    }
    if (!divided && unreadFrom > 0 && m.kind === "text" && m.seq >= unreadFrom && m.author_id !== me) {
      out.push({ ...base, kind: "unread", key: "unread", text: "New messages" });
      divided = true;
      prev = null;
    }
    if (m.kind === "system") {
      const who = m.author_id === me ? "You" : m.author_name;
      out.push({ ...base, kind: "system", text: who + " " + m.body });
      prev = null;
      continue;
    }
    const head = !prev || prev.author_id !== m.author_id || m.created_ms - prev.created_ms > groupMs;
    out.push({ ...base, kind: "message", head, parts: m.deleted ? [] : chatappParts(m.body) });
    prev = m;
  }
  return out;
}
// Reflex may render the list from another module than this one (memoized components).
globalThis.chatappArrange = chatappArrange;
"""


@dataclass
class Part:
    """A piece of a message's text: plain, or a link (`href`)."""

    text: str = ""
    href: str = ""


@dataclass
class Item:
    """One line of the laid-out conversation (`kind`: day, unread, system, message)."""

    kind: str = ""
    key: str = ""
    id: int = 0
    author_id: int = 0
    author_name: str = ""
    time: str = ""
    full_time: str = ""
    edited: bool = False
    edited_time: str = ""
    deleted: bool = False
    mine: bool = False
    head: bool = False
    text: str = ""
    parts: list[Part] = field(default_factory=list)


class LayoutScript(rx.Fragment):
    """Renders nothing; brings the layout function to the page."""

    def add_custom_code(self) -> list[str]:
        return [_ARRANGE_JS]


def arranged() -> rx.Var[list[Item]]:
    """The loaded messages laid out for the viewer."""
    values, data = MESSAGES.js_values()
    me, unread = AppState.user_id, ChatState.unread_from_seq
    return js_var(
        f"chatappArrange({values}, {me}, {unread}, {GROUP_WITHIN_MS})", list[Item], me, unread, data=data
    )
