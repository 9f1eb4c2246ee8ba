"""The typing step, at the end of the messages phase: typing → shown at the others, and gone.

Round after round (`typing_plan`): the typers' tabs showing the conversations report
that their users started typing, paced at the messages' rate, each report stamped; once
every other member's tab has the entry (or the settle time has passed), they report
that their users stopped, paced the same way; once every such tab has seen the entry
go, the round's logs are taken. The app finds the receivers and sends the entries
itself; the floor forwards the entry each typer's tab sends with its report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.load.analysis import merge
from bench.load.config import LoadConfig
from bench.load.graph import ContactGraph
from bench.load.message_plan import MessagePlan
from bench.load.pool import ClientPool
from bench.load.typing_analysis import TypingStats, analyse
from bench.load.typing_plan import Typing

_LEAD = 0.2  # seconds between a command and the first thing it does on time
_QUIET = 0.3  # seconds for anything late of a round (a repeat, a leak) to land in its logs
# A round lasts at least this: the members type in turn, so a typer reports at most twice
# in two rounds, at most 24 times a minute: under the app's limit of 60 (then dropped).
_ROUND_MIN = 2.5


def run(
    pool: ClientPool,
    graph: ContactGraph,
    plan: MessagePlan,
    typings: list[Typing],
    config: LoadConfig,
    *,
    cpu: Callable[[], float],
    templates: dict | None = None,
) -> TypingStats:
    """Make the typings through the pool's tabs (their pages loaded) and analyse the arrivals.

    Args:
        pool: The client processes, every member's tab on its page.
        graph: The run's users and tabs.
        plan: The messages phase.
        typings: The step's typings.
        config: The workload.
        cpu: The server's CPU seconds so far.
        templates: The app's JSON as a tab received it (its "typing": an entry), for the
            floor to forward the same.
    """
    step = _Step(pool, config, dict(graph.tabs), (templates or {}).get("typing"))
    pool.all("chat_records")  # what came before is not this step's
    cpu0 = cpu()
    for rnd in sorted({t.round for t in typings}):
        step.round([t for t in typings if t.round == rnd])
    time.sleep(min(config.settle, 1.0))  # anything late (a repeat, a leak) arrives too
    step.rounds.append(([], merge(pool.all("chat_records"))))
    cpu_s = cpu() - cpu0
    stats = analyse(step.rounds, step.starts, step.stops, plan, step.users)
    stats.errors += step.errors
    stats.cpu_s = cpu_s
    return stats


@dataclass
class _Step:
    """The step under way: what it drives, and what it has stamped, logged and seen go wrong."""

    pool: ClientPool
    config: LoadConfig
    users: dict[int, int]  # tab index → its user
    template: list | None
    starts: dict[int, float] = field(default_factory=dict)
    stops: dict[int, float] = field(default_factory=dict)
    rounds: list[tuple[list[Typing], dict[int, dict]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def round(self, typings: list[Typing]) -> None:
        """Start typing, shown everywhere; stop, gone everywhere; the round's logs."""
        began = time.perf_counter()
        self.starts.update(self._report(typings, True))
        self._wait(typings, "t")
        self.stops.update(self._report(typings, False))
        self._wait(typings, "g")  # what did not come is missing (`typing_analysis`)
        time.sleep(_QUIET)
        self.rounds.append((typings, merge(self.pool.all("chat_records"))))
        time.sleep(max(0.0, began + _ROUND_MIN - time.perf_counter()))

    def _report(self, typings: list[Typing], typing: bool) -> dict[int, float]:
        """Each client process makes the reports of its tabs on time; when each was made."""
        per_proc: list[list] = [[] for _ in range(self.pool.count)]
        for t in typings:
            per_proc[self.pool.owner[t.typer]].append((t.id, t.at, t.typer_tab, typing, t.conversation))
        start = time.perf_counter() + _LEAD
        until = start + max(t.at for t in typings)
        args = [
            {"reports": mine, "start": start, "until": until, "template": self.template} for mine in per_proc
        ]
        stamps: dict[int, float] = {}
        for answer in self.pool.each("type", args):
            stamps.update(answer["t0"])
            self.errors += [f"typing {tid}: {err}" for tid, err in answer["errors"]]
        return stamps

    def _wait(self, typings: list[Typing], kind: str) -> None:
        """Wait until every receiving tab has the round's start (kind "t") or stop ("g")
        of its conversation's typer (at most the settle time)."""
        wanted: dict[int, list] = {}
        for t in typings:
            for tab in t.receivers:
                wanted.setdefault(tab, []).append((kind, str(t.typer), None))
        self.pool.all("wait_chat", wanted=wanted, timeout=self.config.settle)
