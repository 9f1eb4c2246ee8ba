"""The tabs' side of the messages phase: what each tab records, and the commands.

`ChatLog` notes every message a tab receives (outside page loads) that carries chat
entries: the receive time, the size of the socket.io message, and what it held, as
items `(kind, conversation id, client key, seq)`:

- "m": a message entry (`message_map.<id>`, or the floor's "entry"),
- "r": a conversation's list row (`conversation_rows.<id>`, or the floor's "row"),
- "s" and "w": the user's read position and a row's member ids (`read_seq.<id>`,
  `row_members.<id>`), which only the app sends,
- "x": a message entry removed,
- "e": a read receipt (`seen_map.<reader id>`, or the floor's "receipt"), as (kind,
  the conversation it is about, the reader's id as text, seq read up to); the app's
  entry does not name its conversation: it is the one the tab shows (None: none).
- "t" and "g": someone typing, and stopped (`typing_map.<conversation id>-<user id>`,
  or the floor's "typing"), as (kind, conversation id, the typer's id as text, the
  entry's server time in ms; None when stopped).

`ChatCommands` is the part of the client process (`bench.load.worker.Worker`) that
moves tabs to their pages, sends the messages on time and hands over the logs.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING

from bench.load.schedule import on_time
from chatapp import wire

if TYPE_CHECKING:
    from bench.load.tabs import Tab

# (kind, conversation id, client key, seq)
Item = tuple[str, int | None, str | None, int | None]

_MESSAGE = wire.keyed_prefix(wire.MESSAGE_MAP)
_ROW = wire.keyed_prefix(wire.CONVERSATION_ROWS)
_RECEIPT = wire.keyed_prefix(wire.SEEN_MAP)
_TYPING = wire.keyed_prefix(wire.TYPING_MAP)
_OTHER = {wire.keyed_prefix(wire.READ_SEQ): "s", wire.keyed_prefix(wire.ROW_MEMBERS): "w"}
_FIELD_MARKER = "_rx_state_"  # Reflex's suffix of a var's name on the wire
_HYDRATED = "is_hydrated" + _FIELD_MARKER  # False when a page load starts, True when done


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class ChatLog:
    """The chat entries one tab received, and what it holds.

    Attributes:
        frames: (receive time, bytes of the message, items) of each message received
            outside a page load that held chat entries.
        errors: Non-empty error texts the tab was shown (a refused message, say).
        rows: The conversation rows the tab holds (ids).
        messages: The message entries the tab holds (ids).
        samples: The app's JSON as received: {"entry": a message entry, "rows":
            {conversation id: its latest row}, "receipt": a read receipt, "typing": a
            typing entry}, for the floor to forward the same.
        showing: The conversation the tab shows (0: none), as its page was loaded.
        latest: conversation id → the highest message number the tab received for it.
        reloads: Page loads the tab made by itself (a dropped socket reconnecting and
            hydrating its page again); what they bring is not logged as frames.
    """

    def __init__(self) -> None:
        self.frames: list[tuple[float, int, list[Item]]] = []
        self.errors: list[str] = []
        self.rows: set[str] = set()
        self.messages: set[str] = set()
        self.samples: dict = {"entry": None, "rows": {}, "receipt": None, "typing": None}
        self.showing = 0
        self.latest: dict[int, int] = {}
        self.reloads = 0
        self._reloading = False

    def on_update(self, now: float, update: dict, size: int, loading: bool) -> None:
        """A Reflex state update arrived (`size` bytes on the wire)."""
        items: list[Item] = []
        delta = update.get("delta") or {}
        hydrated = next((s[_HYDRATED] for s in delta.values() if _HYDRATED in s), None)
        if hydrated is False and not loading:
            self.reloads += 1
            self._reloading = True
        for substate in delta.values():
            for key, value in substate.items():
                if key.startswith(_MESSAGE):
                    _hold(self.messages, key[len(_MESSAGE) :], value)
                    if value is None:
                        items.append(("x", None, key[len(_MESSAGE) :], None))
                    else:
                        items.append(
                            ("m", value.get("conversation_id"), value.get("client_key"), value.get("seq"))
                        )
                        self.samples["entry"] = value
                elif key.startswith(_ROW):
                    cid = _int(key[len(_ROW) :])
                    _hold(self.rows, key[len(_ROW) :], value)
                    items.append(("r", cid, None, (value or {}).get("seq")))
                    if value is not None and not loading:
                        self.samples["rows"][cid] = value
                elif key.startswith(_RECEIPT):
                    items.append(("e", self.showing or None, key[len(_RECEIPT) :], (value or {}).get("seq")))
                    self.samples["receipt"] = value or self.samples["receipt"]
                elif key.startswith(_TYPING):
                    items.append(_typing_item(key[len(_TYPING) :], value))
                    self.samples["typing"] = value or self.samples["typing"]
                elif (kind := _OTHER.get(key.split(".", 1)[0] + ".")) is not None:
                    items.append((kind, _int(key.split(".", 1)[1]), None, None))
                elif _is_error(key, value):
                    self.errors.append(value)
        if items and not (loading or self._reloading or hydrated is not None):
            self._add(now, size, items)
        if hydrated:
            self._reloading = False

    def on_floor(self, now: float, data: dict, size: int) -> None:
        """The floor forwarded a message ({"conversation_id", "entry"?, "row"})."""
        cid = data.get("conversation_id")
        items: list[Item] = []
        if data.get("entry") is not None:
            entry = data["entry"]
            items.append(("m", cid, entry.get("client_key"), entry.get("seq")))
        items.append(("r", cid, None, (data.get("row") or {}).get("seq")))
        self._add(now, size, items)

    def on_floor_receipt(self, now: float, data: dict, size: int) -> None:
        """The floor forwarded a read receipt ({"conversation_id", "receipt"})."""
        receipt = data.get("receipt") or {}
        reader = receipt.get("user_id")
        self._add(now, size, [("e", data.get("conversation_id"), str(reader), receipt.get("seq"))])

    def on_floor_typing(self, now: float, data: dict, size: int) -> None:
        """The floor forwarded someone's typing ({"key": "<conversation>-<user>", "entry"})."""
        self._add(now, size, [_typing_item(str(data.get("key")), data.get("entry"))])

    def _add(self, now: float, size: int, items: list[Item]) -> None:
        self.frames.append((now, size, items))
        for kind, cid, _, seq in items:
            if kind in ("m", "r") and cid is not None and seq is not None:
                self.latest[cid] = max(seq, self.latest.get(cid, 0))

    def has(self, kind: str, key: str | None, seq: int | None) -> bool:
        """Whether a frame since the last `take` carried this item (any conversation;
        `seq` None: any)."""
        return any(
            k == kind and got_key == key and (seq is None or got_seq == seq)
            for _, _, items in self.frames
            for k, _, got_key, got_seq in items
        )

    def take(self) -> dict:
        """What was recorded since the last call (and forget it), and what is held."""
        out = {
            "frames": self.frames,
            "errors": self.errors,
            "rows": len(self.rows),
            "messages": len(self.messages),
            "samples": self.samples,
            "reloads": self.reloads,
        }
        self.frames, self.errors = [], []
        self.reloads = 0
        return out


def _typing_item(key: str, entry: list | None) -> Item:
    """A typing entry ("<conversation id>-<user id>" → [conversation, user, ms] or None)."""
    cid, _, typer = key.partition("-")
    if entry is None:
        return ("g", _int(cid), typer, None)
    return ("t", _int(cid), typer, entry[2] if len(entry) > 2 else None)


def _hold(held: set[str], key: str, value: object) -> None:
    if value is None:
        held.discard(key)
    else:
        held.add(key)


def _is_error(key: str, value: object) -> bool:
    name = key.removesuffix(_FIELD_MARKER)
    return isinstance(value, str) and bool(value) and (name.startswith("error") or name.endswith("_error"))


class ChatCommands:
    """The messages phase's commands of a client process (mixed into its `Worker`)."""

    kind: str
    tabs: dict[int, Tab]

    async def do_navigate(self, pages: dict[int, tuple[str, int]], concurrency: int) -> dict:
        """Load these pages (tab index → (path, conversation id or 0)) in the tabs here;
        those showing a conversation then report that their user sees them, those
        showing the list which rows are on screen (every row: a run's users have few).

        Returns:
            {"failed": [(tab index, error)], "held": {tab index: (rows, messages)}}.
        """
        from bench.load.tabs import LOAD_TIMEOUT

        gate = asyncio.Semaphore(concurrency)
        failed: list[tuple[int, str]] = []

        async def one(tab: Tab, path: str, cid: int) -> None:
            async with gate:
                tab.loading = True
                tab.chat.showing = cid
                try:
                    query = {"cid": str(cid)} if cid else None
                    await tab.client.load(path, query, wait=True, timeout=LOAD_TIMEOUT)
                    if cid:  # the page reports that its user sees it, as a browser's does at mount
                        await tab.report_seeing(True, cid)
                    elif self.kind == "app":  # a list reports the rows on screen: all of them
                        await tab.report_rows_in_view(sorted(int(r) for r in tab.chat.rows))
                except Exception as exc:
                    failed.append((tab.index, repr(exc)))
                finally:
                    tab.loading = False

        mine = {index: page for index, page in pages.items() if index in self.tabs}
        await asyncio.gather(*(one(self.tabs[index], *page) for index, page in mine.items()))
        await asyncio.sleep(0.2)  # what the loads cause arrives too
        held = {
            index: (len(self.tabs[index].chat.rows), len(self.tabs[index].chat.messages)) for index in mine
        }
        return {"failed": failed, "held": held}

    async def do_send(self, sends: list[tuple], start: float, until: float) -> dict:
        """Send these messages on time; return at `until`.

        Args:
            sends: (message id, seconds after `start`, tab index, conversation id, key,
                body, the floor's JSON) of each.
            start: When the phase starts (perf_counter).
            until: When to return.

        Returns:
            {"t0": message id → when it was sent, "errors": [(message id, error)]}.
        """
        t0: dict[int, float] = {}
        errors: list[tuple[int, str]] = []
        jobs = [
            (at, functools.partial(self._send, mid, self.tabs[index], cid, key, body, payload, t0, errors))
            for mid, at, index, cid, key, body, payload in sends
        ]
        pending = await on_time(jobs, start, until)
        return {"t0": t0, "errors": errors + [(-1, "a send did not finish")] * pending}

    async def _send(
        self, mid: int, tab: Tab, cid: int, key: str, body: str, payload: dict, t0, errors
    ) -> None:
        try:
            t0[mid] = time.perf_counter()
            if self.kind == "app":
                path = f"/c/{cid}"
                await tab.client.emit(wire.SEND_MESSAGE, {"body": body, "key": key}, path, {"cid": str(cid)})
            else:
                await tab.client.send_message(payload)
        except Exception as exc:
            errors.append((mid, repr(exc)))

    async def do_chat_records(self) -> dict:
        """Every tab's chat log since the last call."""
        return {index: tab.chat.take() for index, tab in self.tabs.items()}
