"""The tabs' side of the read receipts step: looking away and back, and waiting for arrivals.

`ReceiptCommands` is the part of the client process (`bench.load.worker.Worker`) that
makes readers look away from their tabs and back on time, stamping each read, and that
waits until tabs have received what the step waits for. What arrives is logged by each
tab's `message_tabs.ChatLog` ("e" items: the receipts).
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING

from bench.load.schedule import reports_on_time

if TYPE_CHECKING:
    from bench.load.tabs import Tab

# (kind, key, seq): an item a tab waits for (seq None: any).
Wanted = tuple[str, str | None, int | None]


def floor_receipt(user_id: int, seq: int, now_ms: int, template: dict | None) -> dict:
    """The receipt the floor forwards for a read: the app's entry (`seen_map.<id>`).

    With `template` (one the app sent in the same run), exactly its fields, those of
    this read set; without, those of the app's wire contract.
    """
    receipt = {"user_id": user_id, "seq": seq, "at_ms": now_ms}
    if template:
        receipt = {k: receipt.get(k, v) for k, v in template.items()}
    return receipt


class ReceiptCommands:
    """The read receipts step's commands of a client process (mixed into its `Worker`)."""

    kind: str
    tabs: dict[int, Tab]

    async def do_look(
        self, looks: list[tuple], start: float, until: float, template: dict | None = None
    ) -> dict:
        """Report on time, from these tabs, whether their users see them; return at `until`.

        Args:
            looks: (read id or None, seconds after `start`, tab index, seeing, conversation
                id the tab shows) of each. Looking back (seeing) with a read id is a read:
                it is stamped, with the highest message number the tab has of the
                conversation (what it reads up to).
            start: When the step starts (perf_counter).
            until: When to return.
            template: A receipt as the app sent it, for the floor's (see `floor_receipt`).

        Returns:
            {"reads": read id → (when, seq), "errors": [(read id, error)]}.
        """
        reads: dict[int, tuple[float, int]] = {}

        async def one(read: int | None, tab: Tab, seeing: bool, cid: int) -> None:
            seq = tab.chat.latest.get(cid, 0)
            receipt = None
            if seeing and read is not None and self.kind == "floor":
                receipt = floor_receipt(tab.user_id, seq, int(time.time() * 1000), template)
            if read is not None and seeing:
                reads[read] = (time.perf_counter(), seq)
            await tab.report_seeing(seeing, cid, receipt)

        jobs = [
            (read, at, functools.partial(one, read, self.tabs[index], seeing, cid))
            for read, at, index, seeing, cid in looks
        ]
        errors = await reports_on_time(jobs, start, until, "a report did not finish")
        return {"reads": reads, "errors": errors}

    async def do_wait_chat(self, wanted: dict[int, list[Wanted]], timeout: float) -> dict:
        """Wait until each of these tabs has received each of its wanted items (or `timeout`).

        Returns:
            {"missing": [(tab index, item)]}: what had not arrived by then.
        """
        deadline = time.perf_counter() + timeout
        mine = {index: items for index, items in wanted.items() if index in self.tabs}

        def missing() -> list[tuple[int, Wanted]]:
            return [
                (index, item)
                for index, items in mine.items()
                for item in items
                if not self.tabs[index].chat.has(*item)
            ]

        while (left := missing()) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        return {"missing": left}
