"""How the open conversation's messages are laid out, in the browser.

The tab holds the loaded messages as a keyed dict (one entry per message, see
`ChatState`); `chatappArrange` orders them by id and lays them out for the viewer: date
separators (Today, Yesterday, a weekday, a full date, in the viewer's zone and locale),
a "New messages" divider above the first message that was unread, consecutive messages
of one author within five minutes under one header, system lines ("Dave left"), links
split out of the text (http and https only: a `javascript:` URL stays text), and the
read receipt under the last of the viewer's messages someone has read ("Seen" in a
direct chat, with the time; "Seen by N" in a group, with the names).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import reflex as rx

from chatapp.reflex_adapter.js import js_var, merge_data
from chatapp.states.app_state import AppState
from chatapp.states.chat_state import MESSAGES, SEEN, ChatState

GROUP_WITHIN_MS = 5 * 60 * 1000

_ARRANGE_JS = """
const chatappClock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
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

function chatappSeen(out, receipts, members, isGroup) {
  const names = new Map((members || []).map((p) => [p.user_id, p.display_name]));
  const mine = out.filter((i) => i.kind === "message" && i.mine && i.seq > 0 && !i.deleted);
  for (let k = mine.length - 1; k >= 0; k--) {
    const readers = receipts.filter((r) => r.seq >= mine[k].seq);
    if (!readers.length) continue;
    if (isGroup) {
      mine[k].seen = "Seen by " + readers.length;
      mine[k].seen_detail = readers.map((r) => names.get(r.user_id) ?? "someone").sort().join(", ");
    } else {
      mine[k].seen = "Seen";
      mine[k].seen_detail = "Seen " + chatappFull.format(Math.max(...readers.map((r) => r.at_ms)));
    }
    return;
  }
}

function chatappArrange(messages, me, unreadFrom, groupMs, receipts, members, isGroup) {
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
      seq: m.seq ?? 0, seen: "", seen_detail: "",
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
  chatappSeen(out, receipts || [], members, isGroup);
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
    seq: int = 0
    # The read receipt under this message ("Seen", "Seen by 2"; "" for none) and its
    # detail (when, or who).
    seen: str = ""
    seen_detail: str = ""


class LayoutScript(rx.Fragment):
    """Renders nothing; brings the layout function to the page."""

    def add_custom_code(self) -> list[str]:
        return [_ARRANGE_JS]


def arranged() -> rx.Var[list[Item]]:
    """The loaded messages laid out for the viewer."""
    values, data = MESSAGES.js_values()
    receipts, receipts_data = SEEN.js_values()
    me, unread = AppState.user_id, ChatState.unread_from_seq
    members, is_group = ChatState.members, ChatState.current_kind == "group"
    return js_var(
        f"chatappArrange({values}, {me}, {unread}, {GROUP_WITHIN_MS}, {receipts}, {members}, {is_group})",
        list[Item],
        me,
        unread,
        members,
        is_group,
        data=merge_data(data, receipts_data),
    )
