"""The floor: a bare python-socketio server that only forwards presence.

It does what the app's presence does, as cheaply as Python can: it keeps the contact
graph in memory (from a JSON file the benchmark writes), knows which sockets each user
has open, applies the same rules (online while a tab is connected, away when the user
chose it, offline a grace period after the last tab closed) and sends the same presence
JSON (`PresenceData.to_wire()`) to the same receivers: the user's contacts and the user
themself. One encoded packet per change, sent to every receiving socket. For messages it
stores nothing and forwards the JSON the app sends (the message's entry and the
conversation's list row) to every socket of every member: the entry and the row to the
sockets that show the conversation, the row alone to the others; and read receipts to
the sockets of the other members that show the conversation: for each member who sees it
in a tab when a message arrives (the app's readers), and for a tab whose user comes back
to it (the receipt comes with that report: the floor keeps no reads); and a member's
typing (the entry comes with the typing tab's report) to every socket of the other
members. It is served by Granian, like the app in production mode, with the same ping settings, so the
difference between the two is what the app and Reflex add.

Protocol (namespace and path `/_event`, as Reflex's):
- client → `load` {"token": login token, "open": conversation id shown (0: none)}:
  registers the socket; answered by `snapshot` {user id: entry} for the user and their
  contacts.
- client → `status` {"choice": "away" | "auto"}.
- client → `message` {"conversation_id": id, "entry": message entry, "row": list row}:
  from a member, forwarded as it is to the member sockets showing the conversation, and
  as {"conversation_id", "row"} to the other member sockets (`message` too).
- client → `seeing` {"seeing": bool, "conversation_id"?: id, "receipt"?: {"user_id",
  "seq", "at_ms"}}: whether the user sees the tab; with a receipt (the user now reads the
  conversation the socket shows), forwarded as `receipt` to the other members' sockets
  that show it.
- client → `typing` {"typing": bool, "conversation_id": id, "entry": [conversation id,
  user id, ms] (None when stopping)}: from a member's socket showing the conversation,
  forwarded as `typing` to every socket of the other members.
- server → `presence` entry: one change.
- server → `receipt` {"conversation_id", "receipt"}: a member read the conversation.
- server → `typing` {"key": "<conversation id>-<user id>", "entry": the entry or None}:
  a member started or stopped typing.

Run it with `python -m bench.floor_server --graph graph.json --port 8123`, or from
Python with the `FloorServer` context manager.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

import socketio

from bench.app_server import ROOT, ServerProcess, _end_group, free_port
from chatapp import gc_tuning

NAMESPACE = "/_event"
GRAPH_ENV = "CHATAPP_FLOOR_GRAPH"
GRACE_ENV = "CHATAPP_FLOOR_GRACE"


class FloorPresence:
    """The floor's presence: sockets per user, chosen statuses, and the fan-out.

    Args:
        sio: The socket.io server to send with.
        graph: {"users": {id: [username, display name]}, "contacts": {id: [ids]},
            "tokens": {login token: user id}, "conversations": {id: [member ids]}} (ids
            as strings, as JSON has them; "conversations" only those messaged, if any).
        grace: Seconds between the last socket of a user closing and offline.
    """

    def __init__(self, sio: socketio.AsyncServer, graph: dict, grace: float) -> None:
        self.sio = sio
        self.grace = grace
        self.names = {int(uid): tuple(names) for uid, names in graph["users"].items()}
        self.contacts = {int(uid): [int(c) for c in ids] for uid, ids in graph["contacts"].items()}
        self.tokens = {token: int(uid) for token, uid in graph["tokens"].items()}
        self.members = {int(c): {int(m) for m in ids} for c, ids in graph.get("conversations", {}).items()}
        self.sids: dict[int, set[str]] = {}
        self.open: dict[str, int] = {}  # sid → the conversation it shows
        self.seeing: set[str] = set()  # sockets whose user sees them
        self.user_of: dict[str, int] = {}
        self.away: set[int] = set()
        self.published: dict[int, dict] = {}
        self.last_seen: dict[int, int] = {}
        self.versions = itertools.count(time.time_ns() // 1000)
        self.pending: dict[int, asyncio.Task] = {}

    def status(self, uid: int) -> str:
        if not self.sids.get(uid):
            return "offline"
        return "away" if uid in self.away else "online"

    def entry(self, uid: int) -> dict:
        held = self.published.get(uid)
        if held is not None:
            return held
        return self._wire(uid, self.status(uid), 0)

    def _wire(self, uid: int, status: str, version: int) -> dict:
        """A presence entry as the app's `PresenceData.to_wire()` shapes it."""
        username, name = self.names[uid]
        return {
            "type": "presence",
            "user_id": uid,
            "username": username,
            "name": name,
            "status": status,
            "is_online": status != "offline",
            "last_seen_at": self.last_seen.get(uid),
            "v": version,
        }

    async def publish(self, uid: int) -> None:
        status = self.status(uid)
        held = self.published.get(uid)
        if (held["status"] if held else "offline") == status:
            return
        entry = self._wire(uid, status, next(self.versions))
        self.published[uid] = entry
        to = [sid for other in (uid, *self.contacts.get(uid, ())) for sid in self.sids.get(other, ())]
        if to:
            await self.sio.emit("presence", entry, to=to, namespace=NAMESPACE)

    async def load(self, sid: str, data: dict) -> None:
        uid = self.tokens.get((data or {}).get("token", ""))
        if uid is None:
            return
        self.user_of[sid] = uid
        self.open[sid] = int((data or {}).get("open") or 0)
        self.sids.setdefault(uid, set()).add(sid)
        task = self.pending.pop(uid, None)
        if task is not None:
            task.cancel()
        snapshot = {str(u): self.entry(u) for u in (uid, *self.contacts.get(uid, ()))}
        await self.sio.emit("snapshot", snapshot, to=sid, namespace=NAMESPACE)
        await self.publish(uid)

    async def set_status(self, sid: str, data: dict) -> None:
        uid = self.user_of.get(sid)
        choice = (data or {}).get("choice")
        if uid is None or choice not in ("away", "auto"):
            return
        if choice == "away":
            self.away.add(uid)
        else:
            self.away.discard(uid)
        await self.publish(uid)

    async def message(self, sid: str, data: dict) -> None:
        """Forward a member's message to every socket of every member (stores nothing)."""
        uid = self.user_of.get(sid)
        cid = (data or {}).get("conversation_id")
        members = self.members.get(cid if isinstance(cid, int) else -1, ())
        if uid not in members:
            return
        showing, listing = [], []
        for member in members:
            for other in self.sids.get(member, ()):
                (showing if self.open.get(other) == cid else listing).append(other)
        if showing:
            await self.sio.emit("message", data, to=showing, namespace=NAMESPACE)
        if listing:
            row = {"conversation_id": cid, "row": data.get("row")}
            await self.sio.emit("message", row, to=listing, namespace=NAMESPACE)
        seq = (data.get("entry") or {}).get("seq")
        readers = {self.user_of[other] for other in showing if other in self.seeing} - {uid}
        for reader in sorted(readers) if seq else ():
            at_ms = int(time.time() * 1000)
            await self._receipt(cid, {"user_id": reader, "seq": seq, "at_ms": at_ms})

    async def set_seeing(self, sid: str, data: dict) -> None:
        """A tab's user sees it (or no longer); with a receipt, they read what it shows."""
        data = data or {}
        if data.get("seeing") is not True:
            self.seeing.discard(sid)
            return
        self.seeing.add(sid)
        cid, receipt = data.get("conversation_id"), data.get("receipt")
        uid = self.user_of.get(sid)
        if (
            receipt
            and receipt.get("user_id") == uid
            and cid == self.open.get(sid)
            and uid in self.members.get(cid, ())
        ):
            await self._receipt(cid, receipt)

    async def _receipt(self, cid: int, receipt: dict) -> None:
        """A member's read receipt to the other members' sockets showing the conversation."""
        reader = receipt.get("user_id")
        to = [
            sid
            for member in self.members.get(cid, ())
            if member != reader
            for sid in self.sids.get(member, ())
            if self.open.get(sid) == cid
        ]
        if to:
            data = {"conversation_id": cid, "receipt": receipt}
            await self.sio.emit("receipt", data, to=to, namespace=NAMESPACE)

    async def typing(self, sid: str, data: dict) -> None:
        """A member's socket showing a conversation: they started or stopped typing there;
        the entry it sends (None: stopped) to every socket of the other members."""
        data = data or {}
        uid, cid = self.user_of.get(sid), data.get("conversation_id")
        if uid is None or cid != self.open.get(sid) or uid not in self.members.get(cid, ()):
            return
        entry = data.get("entry") if data.get("typing") is True else None
        to = [other for member in self.members[cid] if member != uid for other in self.sids.get(member, ())]
        if to:
            await self.sio.emit("typing", {"key": f"{cid}-{uid}", "entry": entry}, to=to, namespace=NAMESPACE)

    async def disconnect(self, sid: str, reason: object = None) -> None:
        self.open.pop(sid, None)
        self.seeing.discard(sid)
        uid = self.user_of.pop(sid, None)
        if uid is None:
            return
        sids = self.sids.get(uid, set())
        sids.discard(sid)
        if not sids and uid not in self.pending:
            self.pending[uid] = asyncio.get_running_loop().create_task(self._offline_after_grace(uid))

    async def _offline_after_grace(self, uid: int) -> None:
        await asyncio.sleep(self.grace)
        self.pending.pop(uid, None)
        if not self.sids.get(uid):
            self.last_seen[uid] = int(time.time() * 1000)
            await self.publish(uid)


def create_app(graph_path: str | None = None, grace: float | None = None):
    """The floor's ASGI app (a factory, for Granian)."""
    graph = json.loads(Path(graph_path or os.environ[GRAPH_ENV]).read_text())
    grace = float(os.environ.get(GRACE_ENV, "1.5")) if grace is None else grace
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins="*",
        ping_interval=float(os.environ.get("REFLEX_SOCKET_INTERVAL", "5")),
        ping_timeout=float(os.environ.get("REFLEX_SOCKET_TIMEOUT", "5")),
        transports=["websocket"],
        allow_upgrades=False,
        async_handlers=False,
    )
    presence = FloorPresence(sio, graph, grace)
    sio.on("load", presence.load, namespace=NAMESPACE)
    sio.on("status", presence.set_status, namespace=NAMESPACE)
    sio.on("message", presence.message, namespace=NAMESPACE)
    sio.on("seeing", presence.set_seeing, namespace=NAMESPACE)
    sio.on("typing", presence.typing, namespace=NAMESPACE)
    sio.on("disconnect", presence.disconnect, namespace=NAMESPACE)

    async def ping(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"pong"})

    app = socketio.ASGIApp(sio, other_asgi_app=ping, socketio_path="/_event")
    # The same collector settings as the app's (rxconfig.py), so that the two differ by
    # what the app does, not by how often Python stops to collect.
    gc.set_threshold(*gc_tuning.THRESHOLDS)
    gc.collect()
    gc.freeze()
    return app


class FloorServer(ServerProcess):
    """Runs the floor in a subprocess (Granian, one worker) for a `with` block.

    Args:
        graph_path: The contact graph (see `FloorPresence`).
        grace: Seconds before a user whose last socket closed is published offline.
        port: The port (a free one when None).
        host: The address to bind.
    """

    def __init__(self, graph_path: Path, *, grace: float, port: int | None = None, host: str = "127.0.0.1"):
        self.graph_path = Path(graph_path)
        self.grace = grace
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None

    @property
    def backend_url(self) -> str:
        """Where the socket answers."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> FloorServer:
        command = [sys.executable, "-m", "bench.floor_server", "--graph", str(self.graph_path)]
        command += ["--host", self.host, "--port", str(self.port), "--grace", str(self.grace)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ)
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"the floor exited with {self.process.returncode}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(f"{self.backend_url}/ping", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.__exit__(None, None, None)
        msg = "the floor did not start"
        raise RuntimeError(msg)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self.process = self.process, None
        if process is not None:
            _end_group(process, 10)


def main(argv: list[str] | None = None) -> None:
    """Serve the floor until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", required=True, help="the contact graph JSON written by the benchmark")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--grace", type=float, default=1.5, help="seconds before offline is published")
    args = parser.parse_args(argv)
    os.environ[GRAPH_ENV] = str(Path(args.graph).resolve())
    os.environ[GRACE_ENV] = str(args.grace)

    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        target="bench.floor_server:create_app",
        factory=True,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=1,
        log_level=LogLevels.warning,
    ).serve()


if __name__ == "__main__":
    main()
