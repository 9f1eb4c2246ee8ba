"""A browser tab without the browser: Reflex's socket.io protocol spoken from Python.

It connects like a tab (its own client token), hydrates a page with a login token as
the browser's localStorage would send it, sends events, and keeps what it receives:
each update's raw size on the wire and the presence entries, merged the way the
frontend merges them. Used by the integration tests and the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import socketio

from chatapp import wire

PRESENCE_PREFIX = wire.keyed_prefix(wire.PRESENCE_MAP)
# Reflex's socket.io namespace; the browser reaches it at path /_event too.
NAMESPACE = "/_event"
# How long a reconnect of `auto_reconnect` waits for the server to take its socket.
RETRY_WAIT = 30.0


class FailsWhenTransportCloses(socketio.AsyncClient):
    """A socket.io client whose connect fails as soon as its transport closes before the
    server has taken the socket, as the frontend's does (state.js: "connection closed
    before connecting", tried again at once). python-socketio's waits out its whole
    `wait_timeout` instead: at 10,000 tabs, clients whose loops ran 7 s behind missed the
    server's pings, their transports closed, and each such tab waited for the rest of its
    120 s and was counted as failed."""

    async def _handle_eio_disconnect(self, reason):  # python-socketio's hook
        waiting = [
            n
            for n in getattr(self, "connection_namespaces", None) or []
            if n not in self.namespaces and n not in self.failed_namespaces
        ]
        await super()._handle_eio_disconnect(reason)
        if waiting and not self.connected and self._connect_event is not None:
            self.failed_namespaces.extend(waiting)
            self._connect_event.set()


class _CountingClient(FailsWhenTransportCloses):
    """A socket.io client that reports the size of every raw message it receives."""

    def __init__(self, on_raw: Callable[[str | bytes], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_raw = on_raw

    async def _handle_eio_message(self, data):  # python-socketio's hook for each message
        self._on_raw(data)
        await super()._handle_eio_message(data)


class ReflexClient:
    """One simulated tab.

    Receive times are `time.perf_counter()`, which on Linux is CLOCK_MONOTONIC, the
    same clock as `time.monotonic()` in every process of the machine.

    Args:
        backend_url: The backend's address, e.g. http://127.0.0.1:8000.
        auth_token: The login token (what the browser keeps in localStorage).
        on_presence: Called with (receive time, entry) for every presence entry received.
        on_update: Called with (receive time, update, size in bytes of the raw message
            that carried it) after each update is applied.
        record: Keep every raw message and update (`raw_frames`, `updates`). A load
            generator with many clients turns it off and relies on the callbacks and
            on `bytes_received`.
        auto_reconnect: When the connection drops (not closed by this client), open a
            new one and hydrate the last page loaded again, as the browser's frontend
            does, whether the transport was lost or the server closed it (a Redis
            outage): each attempt waits for the server to take the socket (up to
            `RETRY_WAIT`; the browser waits as long as its transport lives), and one that
            fails is tried again with the frontend's back-off (200 ms more per failed
            attempt, at most 2 s). python-socketio's own reconnection waited 1 s for the
            server, then gave up and started over: an overloaded server got a new socket
            per tab every few seconds while it still held the old ones. Off by default:
            most tests want a drop to stay a drop.
    """

    def __init__(
        self,
        backend_url: str,
        auth_token: str | None = None,
        on_presence: Callable[[float, dict], None] | None = None,
        *,
        on_update: Callable[[float, dict, int], None] | None = None,
        record: bool = True,
        auto_reconnect: bool = False,
    ) -> None:
        self.backend_url = backend_url.rstrip("/")
        self.auto_reconnect = auto_reconnect
        self._page: tuple[str, dict | None] | None = None  # the last page loaded
        self.auth_token = auth_token
        self.token = str(uuid.uuid4())
        self.raw_frames: list[str | bytes] = []
        self.updates: list[dict] = []
        self.presence: dict[str, dict] = {}
        self.hydrated = False
        self._on_presence = on_presence
        self._on_update = on_update
        self._record = record
        self._bytes = 0
        self._last_size = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._retrying: asyncio.Task | None = None
        self.reconnects = 0
        self.new_tokens = 0  # tokens Reflex gave this tab in place of its own
        self.sio = self._new_socket()

    def _new_socket(self) -> _CountingClient:
        sio = _CountingClient(self._on_raw, reconnection=False)
        sio.on("event", self._on_event, namespace=NAMESPACE)
        sio.on("new_token", self._on_new_token, namespace=NAMESPACE)
        sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        return sio

    async def _on_disconnect(self, reason: str = "") -> None:
        # The frontend retries after a lost transport and after the server closed it
        # (state.js, "disconnect"), never after its own close.
        retry = self.auto_reconnect and not self._closing and reason != self.sio.reason.CLIENT_DISCONNECT
        if retry and (self._retrying is None or self._retrying.done()):
            self._retrying = asyncio.get_running_loop().create_task(self._retry())

    async def _retry(self) -> None:
        attempts = 0
        while not self._closing:
            attempts = min(attempts + 1, 10)
            await asyncio.sleep(0.2 * attempts)
            self.sio = self._new_socket()
            try:
                await self.connect(wait_timeout=RETRY_WAIT)
            except socketio.exceptions.ConnectionError:
                continue
            self.reconnects += 1
            return

    async def _on_new_token(self, token: str) -> None:
        # Reflex gives a reconnecting tab a new token when its old one is still
        # recorded as connected elsewhere (e.g. on an instance that died); the browser
        # keeps the new one for its next connection, and so does this client.
        self.token = token
        self.new_tokens += 1

    def _on_raw(self, data: str | bytes) -> None:
        size = len(data.encode()) if isinstance(data, str) else len(data)
        self._bytes += size
        self._last_size = size
        if self._record:
            self.raw_frames.append(data)

    @property
    def bytes_received(self) -> int:
        """Bytes of all raw socket.io messages received so far."""
        return self._bytes

    async def connect(
        self, *, load_path: str | None = None, query: dict | None = None, wait_timeout: float = 10.0
    ) -> None:
        """Open the websocket, as a tab does on load.

        With `load_path`, the page's hydrate travels in the CONNECT packet, as the
        browser's frontend sends it (Reflex then records the new socket on the state
        while hydrating, not in a state modification of its own); `hydrated` tells when
        it is done. `wait_timeout`: how long to wait for the server to take the socket
        (the browser's socket.io waits for it without a limit).
        """
        if load_path is not None:
            self.hydrated = False
            self._page = (load_path, query)
        await self.sio.connect(
            f"{self.backend_url}?token={self.token}",
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=[NAMESPACE],
            wait_timeout=wait_timeout,
            auth=self._boot_auth if load_path is not None or self.auto_reconnect else None,
        )

    def _boot_auth(self) -> dict | None:
        """The CONNECT packet's payload: the hydrate of the page this tab shows (python-
        socketio asks again at every reconnection, as the frontend builds it again)."""
        if self._page is None:
            return None
        path, query = self._page
        return {"event": self._event(wire.HYDRATE, self._hydrate_payload(), path, query)}

    async def disconnect(self) -> None:
        """Close the websocket cleanly, as a closing tab does."""
        self._closing = True
        if self._retrying is not None:
            self._retrying.cancel()
        await self.sio.disconnect()

    async def reconnect(
        self, *, load_path: str | None = "/", wait: bool = True, timeout: float = 10.0
    ) -> None:
        """Open a new websocket with the same tab token, as the frontend does after a drop,
        and (unless `load_path` is None) hydrate the page again.
        """
        if self._retrying is not None:  # this reconnect replaces a retry under way
            self._retrying.cancel()
        if self.sio.connected:
            await self.sio.disconnect()
        self._closing = False  # a tab closed earlier is open again: drops are retried
        self.sio = self._new_socket()
        await self.connect(load_path=load_path, wait_timeout=timeout)
        if load_path is not None and wait:
            await self.wait_for(lambda: self.hydrated, timeout)

    async def emit(self, name: str, payload: dict | None = None, path: str = "/", query=None) -> None:
        """Send an event by its full handler name."""
        await self.sio.emit("event", self._event(name, payload, path, query), namespace=NAMESPACE)

    @staticmethod
    def _event(name: str, payload: dict | None, path: str, query: dict | None) -> dict:
        return {
            "name": name,
            "payload": payload or {},
            "router_data": {"pathname": path, "asPath": path, "query": query or {}},
        }

    def _hydrate_payload(self) -> dict:
        """The browser storage a page's hydrate sends: the login token."""
        return {"vars": {wire.AUTH_TOKEN: self.auth_token} if self.auth_token else {}}

    async def load(
        self, path: str = "/", query: dict | None = None, *, wait: bool = True, timeout: float = 10.0
    ) -> None:
        """Hydrate a page (sending the login token) and so run its on_load handlers.

        With `wait`, return once they have run, as a person sees a loaded page before
        clicking: an event sent earlier would be superseded by the page's loading.
        """
        self.hydrated = False
        self._page = (path, query)
        await self.emit(wire.HYDRATE, self._hydrate_payload(), path=path, query=query)
        if wait:
            await self.wait_for(lambda: self.hydrated, timeout)

    async def set_status(self, choice: str, path: str = "/") -> None:
        """The status menu: "away" or "auto"."""
        await self.emit(wire.SET_STATUS, {"choice": choice}, path=path)

    async def set_idle(self, idle: bool, path: str = "/") -> None:
        """The idle watcher's report."""
        await self.emit(wire.SET_IDLE, {"idle": idle}, path=path)

    async def set_seeing(self, seeing: bool, path: str = "/", query: dict | None = None) -> None:
        """The page's report of whether its user sees it (visible and active)."""
        await self.emit(wire.SET_SEEING, {"seeing": seeing}, path=path, query=query)

    async def set_typing(self, typing: bool, path: str = "/", query: dict | None = None) -> None:
        """The composer's report that its user started (goes on) typing, or stopped."""
        await self.emit(wire.SET_TYPING, {"typing": typing}, path=path, query=query)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until predicate() holds after some update.

        Raises:
            TimeoutError: It did not hold within the timeout.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                msg = "condition not met in time"
                if not self.sio.connected:
                    # A socket closed meanwhile (by its server after missed pongs, say)
                    # receives nothing more: saying so keeps a bare timeout from being
                    # read as a slow server.
                    msg += " (this client's socket is not connected)"
                raise TimeoutError(msg)
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                continue

    def latest(self, state: str, var: str) -> Any:
        """The last value the server sent this tab for a var of a state (its full name),
        None if it never sent one (kept updates only)."""
        for update in reversed(self.updates):
            sub = (update.get("delta") or {}).get(state) or {}
            if f"{var}_rx_state_" in sub:
                return sub[f"{var}_rx_state_"]
        return None

    def status_of(self, user_id: int) -> str | None:
        """The status this tab holds for a user (None if it holds nothing)."""
        entry = self.presence.get(str(user_id))
        return entry["status"] if entry else None

    async def _on_event(self, update: dict) -> None:
        now = time.perf_counter()
        size = self._last_size
        if self._record:
            self.updates.append(update)
        for substate in (update.get("delta") or {}).values():
            if substate.get("is_hydrated_rx_state_") is not None:
                self.hydrated = substate["is_hydrated_rx_state_"]
            for key, value in substate.items():
                if key.startswith(PRESENCE_PREFIX):
                    uid = key[len(PRESENCE_PREFIX) :]
                    if value is None:
                        self.presence.pop(uid, None)
                    else:
                        self.presence[uid] = value
                        if self._on_presence is not None:
                            self._on_presence(now, value)
        if self._on_update is not None:
            self._on_update(now, update, size)
        self._changed.set()


def dumps(value: Any) -> str:
    """JSON as the tests compare it."""
    return json.dumps(value, sort_keys=True)
