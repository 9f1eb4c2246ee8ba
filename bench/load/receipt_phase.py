"""The read receipts step, at the end of the messages phase: read → receipt at the others.

Round after round (`receipt_plan`): the readers look away from their tabs showing the
conversations; the next members send a message each, paced at the messages' rate; once
every reader's tab has its message, the readers look back, paced the same way, each
look stamped (the read); the step waits until every receiving tab has its receipt, then
goes on to the next round. The app reads and sends the receipts itself; the floor
forwards the receipt each reader's tab sends with its look (it keeps no reads).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.load.analysis import merge
from bench.load.config import LoadConfig
from bench.load.graph import ContactGraph
from bench.load.message_phase import sends
from bench.load.message_plan import MessagePlan
from bench.load.pool import ClientPool
from bench.load.receipt_analysis import ReceiptStats, analyse
from bench.load.receipt_plan import Read

_LEAD = 0.2  # seconds between a command and the first thing it does on time
_QUIET = 0.3  # seconds for a look away, or what a round's messages cause, to land


def run(
    target: str,
    pool: ClientPool,
    graph: ContactGraph,
    plan: MessagePlan,
    reads: list[Read],
    config: LoadConfig,
    *,
    cpu: Callable[[], float],
    templates: dict | None = None,
) -> ReceiptStats:
    """Make the reads through the pool's tabs (their pages loaded) and analyse the receipts.

    Args:
        target: "app" or "floor".
        pool: The client processes, every member's tab on its page.
        graph: The run's users and tabs.
        plan: The messages phase.
        reads: The step's reads.
        config: The workload.
        cpu: The server's CPU seconds so far.
        templates: The app's JSON as a tab received it (`MessageStats.samples`), for the
            floor to forward the same.
    """
    step = _Step(target, pool, graph, plan, config, templates or {})
    pool.all("chat_records")  # what came before is not this step's
    cpu0 = cpu()
    for rnd in sorted({r.round for r in reads}):
        step.round([r for r in reads if r.round == rnd])
    time.sleep(min(config.settle, 1.0))  # anything late (a repeat, a leak) arrives too
    cpu_s = cpu() - cpu0
    stats = analyse(reads, step.stamps, merge(pool.all("chat_records")), plan, step.users)
    stats.errors += step.errors
    stats.cpu_s = cpu_s
    return stats


@dataclass
class _Step:
    """The step under way: what it drives, and what it has stamped and seen go wrong."""

    target: str
    pool: ClientPool
    graph: ContactGraph
    plan: MessagePlan
    config: LoadConfig
    templates: dict
    stamps: dict[int, tuple[float, int]] = field(default_factory=dict)  # read → (when, seq)
    errors: list[str] = field(default_factory=list)

    @property
    def users(self) -> dict[int, int]:
        """tab index → its user."""
        return dict(self.graph.tabs)

    def round(self, reads: list[Read]) -> None:
        """Look away, a message, look back, the receipts."""
        span = max(r.at for r in reads)
        self._look([(None, 0.0, r.reader_tab, False, r.conversation) for r in reads], 0.0)
        time.sleep(_QUIET)

        self._send(reads, span)
        missing = self._wait({r.reader_tab: [("m", r.message.key, None)] for r in reads})
        self.errors += [
            f"tab {tab}: the message to read ({key}) did not come" for tab, (_, key, _) in missing
        ]
        time.sleep(_QUIET)

        self._look([(r.id, r.at, r.reader_tab, True, r.conversation) for r in reads], span)
        wanted: dict[int, list] = {}
        for r in reads:
            if r.id in self.stamps:
                for tab in r.receivers:
                    wanted.setdefault(tab, []).append(("e", str(r.reader), self.stamps[r.id][1]))
        self._wait(wanted)  # what did not come is missing (`receipt_analysis`)

    def _send(self, reads: list[Read], span: float) -> None:
        """Each read's message, from its sender's tab, on time."""
        messages = [r.message for r in reads]
        per_proc = sends(self.target, self.pool, self.graph, self.plan, messages, self.templates)
        start = time.perf_counter() + _LEAD
        args = [{"sends": mine, "start": start, "until": start + span} for mine in per_proc]
        answers = self.pool.each("send", args)
        self.errors += [f"read message {mid}: {err}" for a in answers for mid, err in a["errors"]]

    def _look(self, looks: list[tuple], span: float) -> None:
        """Each client process makes the looks of its tabs on time; the reads are stamped."""
        per_proc: list[list] = [[] for _ in range(self.pool.count)]
        users = self.users
        for look in looks:
            per_proc[self.pool.owner[users[look[2]]]].append(look)
        start = time.perf_counter() + _LEAD
        template = self.templates.get("receipt")
        args = [
            {"looks": mine, "start": start, "until": start + span, "template": template} for mine in per_proc
        ]
        for answer in self.pool.each("look", args):
            self.stamps.update(answer["reads"])
            self.errors += [f"read {rid}: {err}" for rid, err in answer["errors"]]

    def _wait(self, wanted: dict[int, list]) -> list[tuple[int, tuple]]:
        """Wait until every tab has what it wants (at most the settle time); what did not come."""
        answers = self.pool.all("wait_chat", wanted=wanted, timeout=self.config.settle)
        return [(tab, tuple(item)) for a in answers for tab, item in a["missing"]]
