"""One simulated tab, for either server, and what it records while the benchmark runs.

`Tab` wraps a client (`ReflexClient` for the app, `FloorClient` for the floor) and
records, for every presence entry received outside a page load, when it arrived and
the size of the message that carried it; it notes any entry of a user it must never
hear about, and tracks whether its map holds what it is expected to hold. For the
messages phase it also logs the chat entries it receives (`message_tabs.ChatLog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable

import socketio

from bench.load.message_tabs import ChatLog
from bench.reflex_client import PRESENCE_PREFIX, FailsWhenTransportCloses, ReflexClient
from chatapp import routes, wire

NAMESPACE = "/_event"
# A page load under a storm of a thousand can take long; that is measured, not failed.
LOAD_TIMEOUT = 120.0

# (receive time, user id, status, bytes of the message that carried it)
Arrival = tuple[float, int, str, int]


class FloorClient:
    """A tab of the floor (`bench.floor_server`), with `ReflexClient`'s interface.

    Args:
        url: The floor's address.
        auth_token: The user's login token.
        on_entries: Called with (receive time, {user id: entry}, message bytes, is snapshot).
        on_message: Called with (receive time, the forwarded message JSON, message bytes)
            for each chat message the floor forwards.
        on_receipt: The same for each read receipt it forwards.
        on_typing: The same for each typing entry it forwards.
    """

    def __init__(
        self,
        url: str,
        auth_token: str,
        on_entries: Callable[[float, dict, int, bool], None],
        on_message: Callable[[float, dict, int], None] | None = None,
        on_receipt: Callable[[float, dict, int], None] | None = None,
        on_typing: Callable[[float, dict, int], None] | None = None,
    ):
        self.url = url
        self.auth_token = auth_token
        self.token = str(uuid.uuid4())
        self.presence: dict[str, dict] = {}
        self.bytes_received = 0
        self._last_size = 0
        self._on_entries = on_entries
        self._on_message = on_message
        self._on_receipt = on_receipt
        self._on_typing = on_typing
        self._open = 0  # the conversation the tab shows (0: none)
        self._loaded = asyncio.Event()
        self.sio = self._new_socket()

    def _new_socket(self) -> socketio.AsyncClient:
        client = self

        class Counting(FailsWhenTransportCloses):
            async def _handle_eio_message(self, data):
                size = len(data.encode()) if isinstance(data, str) else len(data)
                client.bytes_received += size
                client._last_size = size
                await super()._handle_eio_message(data)

        sio = Counting(reconnection=False)
        sio.on("presence", self._on_presence, namespace=NAMESPACE)
        sio.on("snapshot", self._on_snapshot, namespace=NAMESPACE)
        sio.on("message", self._on_chat, namespace=NAMESPACE)
        sio.on("receipt", self._on_read_receipt, namespace=NAMESPACE)
        sio.on("typing", self._on_typing_entry, namespace=NAMESPACE)
        return sio

    async def connect(self, wait_timeout: float = 10.0) -> None:
        await self.sio.connect(
            self.url,
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=[NAMESPACE],
            wait_timeout=wait_timeout,
        )

    async def load(
        self, path: str = "/", query: dict | None = None, *, wait: bool = True, timeout: float = 10.0
    ) -> None:
        self._loaded.clear()
        self._open = routes.conversation_id_of(path)
        data = {"token": self.auth_token, "open": self._open}
        await self.sio.emit("load", data, namespace=NAMESPACE)
        if wait:
            await asyncio.wait_for(self._loaded.wait(), timeout)

    async def set_status(self, choice: str) -> None:
        await self.sio.emit("status", {"choice": choice}, namespace=NAMESPACE)

    async def send_message(self, payload: dict) -> None:
        await self.sio.emit("message", payload, namespace=NAMESPACE)

    async def set_seeing(self, seeing: bool, receipt: dict | None = None) -> None:
        """Whether the user sees the tab; with `receipt` ({"conversation_id", "receipt"}),
        the read receipt for the floor to forward (it keeps no reads to make one)."""
        await self.sio.emit("seeing", {"seeing": seeing, **(receipt or {})}, namespace=NAMESPACE)

    async def set_typing(self, typing: bool, cid: int, entry: list | None) -> None:
        """The user started (or stopped) typing in conversation `cid`; `entry`: the typing
        entry for the floor to forward (it keeps nothing to make one)."""
        data = {"typing": typing, "conversation_id": cid, "entry": entry}
        await self.sio.emit("typing", data, namespace=NAMESPACE)

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    async def reconnect(
        self, *, load_path: str | None = "/", wait: bool = True, timeout: float = 10.0
    ) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        self.sio = self._new_socket()
        await self.connect(wait_timeout=timeout)
        if load_path is not None:
            await self.load(load_path, wait=wait, timeout=timeout)

    async def _on_presence(self, entry: dict) -> None:
        now = time.perf_counter()
        self.presence[str(entry["user_id"])] = entry
        self._on_entries(now, {str(entry["user_id"]): entry}, self._last_size, False)

    async def _on_chat(self, data: dict) -> None:
        if self._on_message is not None:
            self._on_message(time.perf_counter(), data, self._last_size)

    async def _on_read_receipt(self, data: dict) -> None:
        if self._on_receipt is not None:
            self._on_receipt(time.perf_counter(), data, self._last_size)

    async def _on_typing_entry(self, data: dict) -> None:
        if self._on_typing is not None:
            self._on_typing(time.perf_counter(), data, self._last_size)

    async def _on_snapshot(self, snapshot: dict) -> None:
        now = time.perf_counter()
        self.presence.update(snapshot)
        self._loaded.set()
        self._on_entries(now, snapshot, self._last_size, True)


class Tab:
    """A simulated tab of one user, and its records.

    Args:
        index: The tab's index in the graph.
        user_id: Whose tab it is.
        allowed: The users whose presence it may receive (contacts and self).
        kind: "app" or "floor": which server, so which client.
        url: The server's address.
        login: The user's login token.
    """

    def __init__(self, index: int, user_id: int, allowed: frozenset[int], kind: str, url: str, login: str):
        self.index = index
        self.user_id = user_id
        self.allowed = {str(uid) for uid in allowed}
        self._kind, self._url, self._login = kind, url, login
        self.arrivals: list[Arrival] = []
        self.leaks: list[tuple[str, str]] = []  # (user id, status) it should never have received
        self.other_frames = 0  # messages received outside page loads that carried no presence
        self.other_bytes = 0
        self.loading = False
        self.connected = False
        self.expected: dict[str, str] | None = None
        self.wrong: set[str] = set()
        self.ready = True  # connected and loaded since the expectation was set
        self.correct_since: float | None = None
        self.connect_retries = 0  # connects of `reopen` that failed and were tried again
        self.chat = ChatLog()  # the messages phase's records
        self.client = self._new_client()

    def _new_client(self) -> ReflexClient | FloorClient:
        if self._kind == "app":
            return ReflexClient(
                self._url, self._login, on_update=self._on_reflex_update, record=False, auto_reconnect=True
            )
        chat = self.chat
        return FloorClient(
            self._url,
            self._login,
            self._on_entries,
            chat.on_floor,
            chat.on_floor_receipt,
            chat.on_floor_typing,
        )

    @property
    def presence(self) -> dict[str, dict]:
        """The presence entries the tab holds: user id → entry."""
        return self.client.presence

    def new_tokens(self) -> int:
        """How many times the server gave this tab a new token in place of its own (Reflex
        does when the old one is still recorded as connected: the tab's state is lost)."""
        return getattr(self.client, "new_tokens", 0)

    def reconnects(self) -> int:
        """How many times the tab's client reconnected by itself after its socket was lost."""
        return getattr(self.client, "reconnects", 0)

    def statuses(self) -> dict[str, str]:
        """User id → the status the tab shows."""
        return {uid: entry["status"] for uid, entry in self.presence.items()}

    # Connecting ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and load the page, as a tab does when it opens."""
        await self.connect()
        await self.load()

    async def connect(self, *, new_tab: bool = False) -> None:
        """Open the socket; with `new_tab`, as a new tab (a new client token, an empty map)."""
        if new_tab:
            self.client = self._new_client()
        await self.client.connect()
        self.connected = True

    async def load(self) -> None:
        """Load the page (the socket is already open)."""
        self.loading = True
        try:
            await self.client.load("/", wait=True, timeout=LOAD_TIMEOUT)
        finally:
            self.loading = False

    async def report_seeing(self, seeing: bool, cid: int, receipt: dict | None = None) -> None:
        """Report whether the user sees the tab, which shows conversation `cid`, as the
        page does when it becomes visible or hidden. The floor's tab also sends the
        receipt of its read (`receipt`: the entry), for the floor to forward."""
        if isinstance(self.client, ReflexClient):
            await self.client.set_seeing(seeing, routes.conversation(cid), {"cid": str(cid)})
        else:
            await self.client.set_seeing(
                seeing, {"conversation_id": cid, "receipt": receipt} if receipt else None
            )

    async def report_rows_in_view(self, ids: list[int]) -> None:
        """Report the conversations whose rows the tab's list shows on screen, as the
        list does (the app's tab only: the floor sends typing to every member's socket)."""
        await self.client.emit(wire.SET_ROWS_IN_VIEW, {"ids": ids[: wire.ROWS_IN_VIEW_MAX]})

    async def report_typing(self, typing: bool, cid: int, entry: list | None = None) -> None:
        """Report that the user started (or stopped) typing in conversation `cid`, which
        the tab shows, as its composer does. The floor's tab also sends the entry
        (`entry`) for the floor to forward."""
        if isinstance(self.client, ReflexClient):
            await self.client.set_typing(typing, routes.conversation(cid), {"cid": str(cid)})
        else:
            await self.client.set_typing(typing, cid, entry)

    async def close(self) -> None:
        """Close the socket, as a closing tab does."""
        self.connected = False
        await self.client.disconnect()

    async def reopen(self, deadline: float | None = None) -> None:
        """A new socket with the same tab token, and the page loaded again, as the
        browser's frontend does after a drop: it waits for the server to take the socket
        as long as the page may take to load, and a connect that fails is tried again
        after 200 ms more per failed attempt, at most 2 s (Reflex's state.js,
        `retryConnect`), until the page has loaded or `deadline` (`time.perf_counter()`;
        by default `LOAD_TIMEOUT` from now) has passed. The browser has no deadline: the
        storm passes its own end, so that a tab still loading is waited for as long as
        the storm is (a fixed 120 s counted tabs that a browser would have loaded at
        150 s as failed, at 5,000 tabs on two instances).

        Raises:
            socketio.exceptions.ConnectionError: No attempt connected in time.
            TimeoutError: The page had not loaded by the deadline.
        """
        self.loading = True
        if deadline is None:
            deadline = time.perf_counter() + LOAD_TIMEOUT
        failed = 0
        try:
            while True:
                try:
                    await self.client.reconnect(
                        load_path="/", wait=True, timeout=max(deadline - time.perf_counter(), 1.0)
                    )
                    break
                except socketio.exceptions.ConnectionError:
                    with contextlib.suppress(Exception):  # let the failed attempt's session go
                        await self.client.sio.eio.disconnect(abort=True)
                    failed = min(failed + 1, 10)
                    self.connect_retries += 1
                    if time.perf_counter() + 0.2 * failed >= deadline:
                        raise
                    await asyncio.sleep(0.2 * failed)
            self.connected = True
        finally:
            self.loading = False

    # Receiving -------------------------------------------------------------------------

    def _on_reflex_update(self, now: float, update: dict, size: int) -> None:
        self.chat.on_update(now, update, size, self.loading)
        entries = {
            key[len(PRESENCE_PREFIX) :]: value
            for delta in (update.get("delta") or {}).values()
            for key, value in delta.items()
            if key.startswith(PRESENCE_PREFIX)
        }
        self._on_entries(now, entries, size, self.loading)

    def _on_entries(self, now: float, entries: dict, size: int, snapshot: bool) -> None:
        for uid, entry in entries.items():
            if uid not in self.allowed:
                self.leaks.append((uid, entry["status"] if entry else "removed"))
        if not entries:
            if not (snapshot or self.loading):
                self.other_frames += 1
                self.other_bytes += size
            return
        if not (snapshot or self.loading):
            share = round(size / len(entries))  # a message may carry several changes
            for uid, entry in entries.items():
                if entry is not None:
                    self.arrivals.append((now, int(uid), entry["status"], share))
        if self.expected is not None:
            for uid in entries:
                self._judge(uid)
            self._update_correct(now)

    # Expectations ----------------------------------------------------------------------

    def expect(self, statuses: dict[str, str]) -> None:
        """From now on, track whether the map shows exactly these statuses."""
        self.expected = statuses
        self.wrong = set()
        for uid in set(statuses) | set(self.presence):
            self._judge(uid)
        self.correct_since = None
        self._update_correct(time.perf_counter())

    def _judge(self, uid: str) -> None:
        assert self.expected is not None
        held = self.presence.get(uid)
        if (held["status"] if held else None) == self.expected.get(uid):
            self.wrong.discard(uid)
        else:
            self.wrong.add(uid)

    def _update_correct(self, now: float) -> None:
        correct = self.ready and not self.wrong
        if correct and self.correct_since is None:
            self.correct_since = now
        elif not correct:
            self.correct_since = None

    def mark_ready(self, ready: bool) -> None:
        """Whether the tab has (re)loaded; a map is only correct once it has."""
        self.ready = ready
        if self.expected is not None:
            for uid in set(self.expected) | set(self.presence):
                self._judge(uid)
            self._update_correct(time.perf_counter())

    def take_records(self) -> dict:
        """What the tab recorded since the last call (and forget it)."""
        out = {
            "arrivals": self.arrivals,
            "leaks": self.leaks,
            "other_frames": self.other_frames,
            "other_bytes": self.other_bytes,
        }
        self.arrivals, self.leaks = [], []
        self.other_frames = self.other_bytes = 0
        return out
