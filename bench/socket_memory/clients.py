"""Client processes holding the simulated tabs, opened and closed in waves.

The tabs are `bench.load.tabs.Tab`s (Reflex's protocol, `bench/reflex_client.py`): each
opens its socket and loads "/" with its user's login token, as a browser tab does. They
are spread over a few processes, each user's tabs in one, so that the clients' own work
(thousands of sockets on one machine of 2 cores) stays off the server's process and no
single client loop starves. Each wave opens new tabs (new client tokens, so new tab
states on the server), as a new visitor's tabs would.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from multiprocessing.connection import Connection

from bench.common import ProcessPool, WorkerError
from bench.load.tabs import Tab


class ClientError(WorkerError):
    """A client process failed a command (its traceback is the message)."""


class _Holder:
    """The tabs of one client process.

    Args:
        spec: {"url": server address, "tabs": [(tab index, user id, login token, contact ids)]}.
    """

    def __init__(self, spec: dict) -> None:
        self.url = spec["url"]
        self.specs = spec["tabs"]
        self.tabs: list[Tab] = []

    async def serve(self, conn: Connection) -> None:
        """Answer commands (name, arguments) with ("ok", result) or ("error", traceback)."""
        loop = asyncio.get_running_loop()
        while True:
            name, args = await loop.run_in_executor(None, conn.recv)
            if name == "exit":
                await self.do_close()
                conn.send(("ok", {}))
                return
            try:
                result = await getattr(self, f"do_{name}")(**args)
            except Exception:
                conn.send(("error", traceback.format_exc()))
            else:
                conn.send(("ok", result))

    async def do_open(self, concurrency: int) -> dict:
        """Open a new tab for every spec, `concurrency` at a time.

        Returns:
            {"seconds": time to open them all, "failed": [(tab index, error)], "connected":
            tabs whose socket is open, "loaded": tabs whose page finished loading, "signed_in":
            tabs whose page shows their user (the snapshot holds the user's own entry)}.
        """
        self.tabs = [
            Tab(index, uid, frozenset([uid, *contacts]), "app", self.url, login)
            for index, uid, login, contacts in self.specs
        ]
        gate = asyncio.Semaphore(concurrency)
        failed: list[tuple[int, str]] = []
        loaded: list[Tab] = []

        async def one(tab: Tab) -> None:
            async with gate:
                try:
                    await tab.open()
                except Exception as exc:
                    failed.append((tab.index, repr(exc)))
                else:
                    loaded.append(tab)

        start = time.perf_counter()
        await asyncio.gather(*(one(tab) for tab in self.tabs))
        return {
            "seconds": time.perf_counter() - start,
            "failed": failed,
            "connected": sum(tab.connected and tab.client.sio.connected for tab in self.tabs),
            "loaded": len(loaded),
            "signed_in": sum(str(tab.user_id) in tab.presence for tab in loaded),
        }

    async def do_count(self) -> dict:
        """How many tabs have their socket open now."""
        return {"connected": sum(tab.client.sio.connected for tab in self.tabs)}

    async def do_close(self) -> dict:
        """Close every tab's socket, as closing the tabs does, and forget the tabs."""
        start = time.perf_counter()
        results = await asyncio.gather(*(tab.close() for tab in self.tabs), return_exceptions=True)
        still = sum(tab.client.sio.connected for tab in self.tabs)
        self.tabs = []
        return {
            "seconds": time.perf_counter() - start,
            "errors": [repr(r) for r in results if isinstance(r, BaseException)][:10],
            "still_connected": still,
        }


def _main(conn: Connection, spec: dict) -> None:
    """A client process's entry point (a `multiprocessing` target)."""
    asyncio.run(_Holder(spec).serve(conn))


class ClientPool(ProcessPool):
    """`count` client processes sharing the tabs, each user's tabs in one process.

    Args:
        url: The server's address.
        tabs: (tab index, user id, login token, contact ids) of every tab.
        count: How many client processes.
    """

    error = ClientError
    exit_command = "exit"
    join_timeout = 30.0

    def __init__(self, url: str, tabs: list[tuple[int, int, str, list[int]]], count: int) -> None:
        users = sorted({uid for _, uid, _, _ in tabs})
        count = max(1, min(count, len(users)))
        owner = {uid: i % count for i, uid in enumerate(users)}
        super().__init__(
            _main, [{"url": url, "tabs": [t for t in tabs if owner[t[1]] == i]} for i in range(count)]
        )
