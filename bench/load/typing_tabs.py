"""The tabs' side of the typing step: reporting typing and stopping on time.

`TypingCommands` is the part of the client process (`bench.load.worker.Worker`) that
makes typers' tabs report, on time, that their user started or stopped typing, stamping
each report. What arrives is logged by each tab's `message_tabs.ChatLog` ("t" and "g"
items); waiting for it is `receipt_tabs.ReceiptCommands.do_wait_chat`.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from bench.load.schedule import reports_on_time

if TYPE_CHECKING:
    from bench.load.tabs import Tab


def floor_typing(cid: int, user_id: int, now_ms: int, template: list | None) -> list:
    """The typing entry the floor forwards: the app's (`typing_map.<cid>-<user id>`).

    With `template` (one the app sent in the same run), its length, the values of this
    typing in the places the app's contract gives them; without, the app's contract:
    [conversation id, user id, server time in ms].
    """
    entry = [cid, user_id, now_ms]
    if template:
        entry = [entry[i] if i < len(entry) else v for i, v in enumerate(template)]
    return entry


class TypingCommands:
    """The typing step's commands of a client process (mixed into its `Worker`)."""

    kind: str
    tabs: dict[int, Tab]

    async def do_type(
        self, reports: list[tuple], start: float, until: float, template: list | None = None
    ) -> dict:
        """Report on time, from these tabs, that their users started (or stopped) typing;
        return at `until`.

        Args:
            reports: (typing id, seconds after `start`, tab index, typing, conversation id
                the tab shows) of each; each is stamped just before it is sent.
            start: When the step starts (perf_counter).
            until: When to return.
            template: A typing entry as the app sent it, for the floor's (see `floor_typing`).

        Returns:
            {"t0": typing id → when reported, "errors": [(typing id, error)]}.
        """
        t0: dict[int, float] = {}

        async def one(tid: int, tab: Tab, typing: bool, cid: int) -> None:
            entry = None
            if typing and self.kind == "floor":
                entry = floor_typing(cid, tab.user_id, int(time.time() * 1000), template)
            t0[tid] = time.perf_counter()
            await tab.report_typing(typing, cid, entry)

        jobs = [
            (tid, at, functools.partial(one, tid, self.tabs[index], typing, cid))
            for tid, at, index, typing, cid in reports
        ]
        errors = await reports_on_time(jobs, start, until, "a report did not finish")
        return {"t0": t0, "errors": errors}
