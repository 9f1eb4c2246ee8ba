"""A client process: many simulated tabs on one event loop, driven by commands.

The benchmark starts a few of these (`bench.load.pool`) so that the tabs' own work
does not run on the server's event loop or on one single client loop. Each command
arrives over a pipe as (name, arguments) and is answered with ("ok", result) or
("error", traceback). Every time is `time.perf_counter()` (CLOCK_MONOTONIC, one clock
for every process of the machine), so times from different processes compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import time
import traceback
from multiprocessing.connection import Connection

from bench.load.message_tabs import ChatCommands
from bench.load.receipt_tabs import ReceiptCommands
from bench.load.schedule import on_time, sleep_until
from bench.load.tabs import Tab
from bench.load.typing_tabs import TypingCommands
from chatapp.loop_lag import LoopLag

# Tries of the fresh tab that tells a user's truth at the end of a run.
PROBE_ATTEMPTS = 3


class Worker(ChatCommands, ReceiptCommands, TypingCommands):
    """The tabs of some users, and the commands that drive them (the messages phase's in
    `ChatCommands`, `ReceiptCommands` and `TypingCommands`).

    Args:
        spec: {"kind": "app" | "floor", "urls": server addresses (a tab takes the one
            its index picks),
            "tabs": [(tab index, user id, login token)], "allowed": {user id: [user ids]}}.
    """

    def __init__(self, spec: dict) -> None:
        self.kind = spec["kind"]
        urls = spec["urls"]
        self.tabs = {
            index: Tab(
                index, uid, frozenset(spec["allowed"][uid]), spec["kind"], urls[index % len(urls)], login
            )
            for index, uid, login in spec["tabs"]
        }
        self.by_user: dict[int, list[Tab]] = {}
        for tab in self.tabs.values():
            self.by_user.setdefault(tab.user_id, []).append(tab)
        # How far behind this process's loop runs: tabs that share the server's cores
        # may be the ones that are late (reported for the storm).
        self.lag = LoopLag(0)

    async def serve(self, conn: Connection) -> None:
        """Answer commands until `close`."""
        loop = asyncio.get_running_loop()
        monitor = loop.create_task(self.lag.run(), name="client_loop_lag")
        try:
            await self._answer(conn, loop)
        finally:
            monitor.cancel()

    async def _answer(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            name, args = await loop.run_in_executor(None, conn.recv)
            try:
                result = await getattr(self, f"do_{name}")(**args)
            except Exception:
                conn.send(("error", traceback.format_exc()))
            else:
                conn.send(("ok", result))
            if name == "close":
                return

    # Commands ------------------------------------------------------------------------

    async def do_open(self, concurrency: int) -> dict:
        """Open every tab, `concurrency` at a time."""
        gate = asyncio.Semaphore(concurrency)
        failed: list[tuple[int, str]] = []

        async def one(tab: Tab) -> None:
            async with gate:
                try:
                    await tab.open()
                except Exception as exc:
                    failed.append((tab.index, repr(exc)))

        start = time.perf_counter()
        await asyncio.gather(*(one(tab) for tab in self.tabs.values()))
        seconds = time.perf_counter() - start
        # The clients' objects live until the end: out of the collector's sight, a full
        # collection does not stall this loop (and the arrivals it stamps) for 100 ms.
        gc.collect()
        gc.freeze()
        return {"seconds": seconds, "failed": failed, "opened": len(self._open_tabs())}

    async def do_plan(self, changes: list[tuple[int, float, int, str]], start: float, until: float) -> dict:
        """Make these changes (id, seconds after `start`, user, kind) on time; return at `until`.

        Returns:
            {"t0": change id → when it was made, "errors": [(change id, error)]}.
        """
        t0: dict[int, float] = {}
        errors: list[tuple[int, str]] = []
        jobs = [
            (at, functools.partial(self._change, cid, user, kind, t0, errors))
            for cid, at, user, kind in changes
        ]
        pending = await on_time(jobs, start, until)
        return {"t0": t0, "errors": errors + [(-1, "a change did not finish")] * pending}

    async def _change(self, cid: int, user: int, kind: str, t0: dict, errors: list) -> None:
        tabs = self.by_user[user]
        try:
            if kind in ("away", "back"):
                tab = next(t for t in tabs if t.connected)
                t0[cid] = time.perf_counter()
                await tab.client.set_status("away" if kind == "away" else "auto")
            elif kind == "disconnect":
                t0[cid] = time.perf_counter()
                await asyncio.gather(*(tab.close() for tab in tabs))
            else:  # connect: new tabs open the page
                await asyncio.gather(*(tab.connect(new_tab=True) for tab in tabs))
                t0[cid] = time.perf_counter()
                await asyncio.gather(*(tab.load() for tab in tabs))
        except Exception as exc:
            errors.append((cid, repr(exc)))

    async def do_reopen(self, concurrency: int) -> dict:
        """Open again, as new tabs, every tab a disconnect closed."""
        gate = asyncio.Semaphore(concurrency)
        failed: list[tuple[int, str]] = []

        async def one(tab: Tab) -> None:
            async with gate:
                try:
                    await tab.connect(new_tab=True)
                    await tab.load()
                except Exception as exc:
                    failed.append((tab.index, repr(exc)))

        await asyncio.gather(*(one(tab) for tab in self.tabs.values() if not tab.connected))
        return {"failed": failed, "opened": len(self._open_tabs())}

    async def do_records(self) -> dict:
        """What every tab recorded since the last call."""
        return {index: tab.take_records() for index, tab in self.tabs.items()}

    async def do_expect(self, statuses: dict[int, str]) -> dict:
        """Compare each open tab's map with the statuses it must show now.

        Returns:
            {tab index: [(user id, held status, expected status)]} for the tabs that differ.
        """
        wrong = {}
        for tab in self._open_tabs():
            tab.expect({str(uid): statuses[uid] for uid in map(int, tab.allowed)})
            if tab.wrong:
                wrong[tab.index] = [
                    (uid, (tab.presence.get(uid) or {}).get("status"), tab.expected.get(uid))
                    for uid in sorted(tab.wrong)
                ]
        return wrong

    async def do_storm(self, at: float, quiet: float, timeout: float) -> dict:
        """At `at`, drop every open tab's socket at once and reconnect them all at once.

        Waits until every map has been right for `quiet` seconds (or `timeout`).

        Returns:
            {"correct_since": tab index → since when its map has been right (None: not
            right at the end), "reopened": when the last tab had loaded again,
            "errors": [(tab index, error)], "retries": connects tried again, "new_tokens":
            tabs Reflex gave a new token as they reconnected, "dropped_again": sockets
            lost again after their tab had reopened (and reconnected by the tab),
            "client_lag": the most this process's loop ran behind, in seconds}.
        """
        tabs = self._open_tabs()
        renewed_before = sum(tab.new_tokens() for tab in tabs)
        dropped_before = sum(tab.reconnects() for tab in tabs)
        await sleep_until(at)
        self.lag.peak = 0.0
        for tab in tabs:
            tab.mark_ready(False)
        await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)
        errors: list[tuple[int, str]] = []
        reopened = [at]

        deadline = at + timeout

        async def back(tab: Tab) -> None:
            try:
                await tab.reopen(deadline)
            except Exception as exc:
                errors.append((tab.index, repr(exc)))
                return
            reopened.append(time.perf_counter())
            tab.mark_ready(True)

        task = asyncio.gather(*(back(tab) for tab in tabs))
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
            if not task.done():
                continue
            since = [tab.correct_since for tab in tabs]
            if all(s is not None for s in since) and time.perf_counter() - max(since, default=at) >= quiet:
                break
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return {
            "correct_since": {tab.index: tab.correct_since for tab in tabs},
            "reopened": max(reopened),
            "errors": errors + [(tab.index, "still reloading at the end") for tab in tabs if tab.loading],
            "open": len(self._open_tabs()),
            "retries": sum(tab.connect_retries for tab in tabs),
            "new_tokens": sum(tab.new_tokens() for tab in tabs) - renewed_before,
            "dropped_again": sum(tab.reconnects() for tab in tabs) - dropped_before,
            "client_lag": self.lag.peak,
            "wrong": {
                tab.index: [
                    (uid, (tab.presence.get(uid) or {}).get("status"), (tab.expected or {}).get(uid))
                    for uid in sorted(tab.wrong)
                ]
                or "not reloaded"
                for tab in tabs
                if tab.correct_since is None
            },
        }

    async def do_truth(self, concurrency: int) -> dict:
        """Open a fresh tab for each user with open tabs and compare their maps with its snapshot.

        A probe whose socket drops while it loads (an overloaded server) is tried again
        (`PROBE_ATTEMPTS` in all); one that never loads is reported, not raised, so that
        one probe does not lose a whole run's figures.

        Returns:
            {"checked": tabs compared, "mismatches": [(tab index, user id, held, truth)],
            "failed": [(user id, last error)]}.
        """
        gate = asyncio.Semaphore(concurrency)
        mismatches: list[tuple[int, str, dict | None, dict | None]] = []
        failed: list[tuple[int, str]] = []  # users whose probe never loaded, and why
        checked = 0

        async def one(user: int, tabs: list[Tab]) -> None:
            nonlocal checked
            probe_allowed = frozenset(map(int, tabs[0].allowed))
            error = ""
            async with gate:
                truth = None
                for attempt in range(PROBE_ATTEMPTS):  # a probe dropped while loading: again
                    probe = Tab(-1, user, probe_allowed, self.kind, tabs[0]._url, tabs[0]._login)
                    try:
                        await probe.open()
                        await asyncio.sleep(0.05)  # what the probe's own load causes arrives too
                        truth = dict(probe.presence)
                    except Exception as exc:  # reported, not raised: one probe
                        error = f"{type(exc).__name__}: {exc}"
                    finally:
                        with contextlib.suppress(Exception):
                            await probe.close()
                    if truth is not None:
                        break
                    await asyncio.sleep(0.5 * (attempt + 1))
            if truth is None:
                failed.append((user, error))
                return
            for tab in tabs:
                checked += 1
                for uid in set(truth) | set(tab.presence):
                    if truth.get(uid) != tab.presence.get(uid):
                        mismatches.append((tab.index, uid, tab.presence.get(uid), truth.get(uid)))

        users = {}
        for tab in self._open_tabs():
            users.setdefault(tab.user_id, []).append(tab)
        await asyncio.gather(*(one(user, tabs) for user, tabs in users.items()))
        return {"checked": checked, "mismatches": mismatches, "failed": failed}

    async def do_close(self) -> dict:
        """Close every tab."""
        await asyncio.gather(*(tab.close() for tab in self._open_tabs()), return_exceptions=True)
        return {}

    def _open_tabs(self) -> list[Tab]:
        return [tab for tab in self.tabs.values() if tab.connected]


def main(conn: Connection, spec: dict) -> None:
    """The client process's entry point (a `multiprocessing` target)."""
    gc.set_threshold(10_000, 50, 100)  # fewer collections stalling the stamps of arrivals
    worker = Worker(spec)
    asyncio.run(worker.serve(conn))
