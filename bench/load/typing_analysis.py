"""From the tabs' chat logs to the typing step's figures, and what went wrong.

A start reaches a receiving tab (any tab of another member) in the first frame of its
round that carries the typer's entry in the conversation; a stop in the first that
removes it. Each round's logs are taken at its end, so a typer who types again in a
later round is not matched with an earlier arrival. Any typing entry at a tab that may
not get it (a non-member's, the typer's own) is a leak; any other typing frame no start
or stop explains (a repeat) is counted too: neither should happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load.message_plan import MessagePlan
from bench.load.typing_plan import Typing

_KINDS = (("t", "start"), ("g", "stop"))  # the log's item kinds, and what they are


@dataclass
class TypingStats:
    """The figures of the typing step of one run.

    Attributes:
        rounds: Rounds of the step.
        typings: Typings planned (each a start and a stop).
        started: Starts reported (stamped).
        stopped: Stops reported (stamped).
        expected: (typing, receiving tab) pairs planned, for the starts and for the stops each.
        shown: Starts that arrived at a receiving tab.
        gone: Stops that arrived at a receiving tab.
        latency_ms: Start reported → its entry's arrival, at each receiving tab.
        latency_list_ms: The same, at the receiving tabs on the home page (the list).
        gone_ms: Stop reported → the entry's removal's arrival, at each receiving tab.
        fanout_ms: Per start, reported → arrival at its last receiving tab.
        bytes: Bytes of the socket.io message that brought each start or stop.
        other_frames: Typing frames at tabs that may get them that no start or stop of
            their round explains (repeats).
        missing: (typing id, tab index, "start" | "stop") that never arrived.
        duplicates: (typing id, tab index, "start" | "stop", times) that a tab received again.
        leaks: (tab index, conversation id, typer id) typing entries at a tab that may not
            get them.
        errors: Errors of the step's reports and waits.
        cpu_s: The server's CPU time during the step.
        sample: A typing entry as a tab received it (the app's), for the floor to forward.
    """

    rounds: int = 0
    typings: int = 0
    started: int = 0
    stopped: int = 0
    expected: int = 0
    shown: int = 0
    gone: int = 0
    latency_ms: list[float] = field(default_factory=list)
    latency_list_ms: list[float] = field(default_factory=list)
    gone_ms: list[float] = field(default_factory=list)
    fanout_ms: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    other_frames: int = 0
    missing: list[tuple[int, int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, int, str, int]] = field(default_factory=list)
    leaks: list[tuple[int, int | None, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    sample: list | None = None

    @property
    def complete(self) -> bool:
        """Every start and stop was made and reached every receiving tab once; nothing else."""
        return (
            self.started == self.stopped == self.typings
            and not self.missing
            and not self.duplicates
            and not self.leaks
            and not self.other_frames
            and not self.errors
        )


def analyse(
    rounds: list[tuple[list[Typing], dict[int, dict]]],
    starts: dict[int, float],
    stops: dict[int, float],
    plan: MessagePlan,
    tab_users: dict[int, int],
) -> TypingStats:
    """Match each start and stop with its arrival at every receiving tab.

    Args:
        rounds: (the round's typings, tab index → its `ChatLog.take()` at the round's end,
            for every tab of the run) of each round; the last may have no typings (what
            arrived after the last round).
        starts: typing id → when its start was reported.
        stops: typing id → when its stop was reported.
        plan: The messages phase (who may get which entry).
        tab_users: tab index → its user, for every tab of the run.
    """
    typings = [t for typed, _ in rounds for t in typed]
    stats = TypingStats(
        rounds=sum(bool(typed) for typed, _ in rounds),
        typings=len(typings),
        started=sum(t.id in starts for t in typings),
        stopped=sum(t.id in stops for t in typings),
        expected=sum(len(t.receivers) for t in typings),
    )
    for typed, logs in rounds:
        allowed = 0  # typing frames of the round at tabs that may get them
        for tab, log in logs.items():
            stats.sample = stats.sample or log["samples"].get("typing")
            for _, _, items in log["frames"]:
                mine = [(cid, typer or "") for kind, cid, typer, _ in items if kind in ("t", "g")]
                leaks = [
                    (tab, cid, typer)
                    for cid, typer in mine
                    if not plan.may_see_typing(tab_users[tab], cid, typer)
                ]
                stats.leaks += leaks
                allowed += bool(mine) and not leaks
        measured = set().union(*(_match(stats, t, logs, starts, stops, plan) for t in typed))
        stats.other_frames += allowed - len(measured)
    return stats


def _match(
    stats: TypingStats,
    typing: Typing,
    logs: dict[int, dict],
    starts: dict[int, float],
    stops: dict[int, float],
    plan: MessagePlan,
) -> set[tuple[int, int]]:
    """Add one typing's arrivals to the figures; return the frames that brought them
    (tab index, frame index)."""
    measured: set[tuple[int, int]] = set()
    for (kind, what), stamps in zip(_KINDS, (starts, stops), strict=True):
        if typing.id not in stamps:
            continue
        slowest = None
        for tab in typing.receivers:
            frames = logs.get(tab, {"frames": []})["frames"]
            hits = [i for i, f in enumerate(frames) if _brought(f, kind, typing)]
            if not hits:
                stats.missing.append((typing.id, tab, what))
                continue
            if len(hits) > 1:
                stats.duplicates.append((typing.id, tab, what, len(hits)))
            measured.update((tab, i) for i in hits)
            at, size, _ = frames[hits[0]]
            ms = (at - stamps[typing.id]) * 1000
            stats.bytes.append(size)
            if kind == "g":
                stats.gone += 1
                stats.gone_ms.append(ms)
                continue
            stats.shown += 1
            stats.latency_ms.append(ms)
            if tab in plan.list_tabs:
                stats.latency_list_ms.append(ms)
            slowest = ms if slowest is None else max(slowest, ms)
        if slowest is not None:
            stats.fanout_ms.append(slowest)
    return measured


def _brought(frame: tuple, kind: str, typing: Typing) -> bool:
    """Whether a frame carried this typer's start (kind "t") or stop ("g")."""
    return any(
        k == kind and cid == typing.conversation and typer == str(typing.typer)
        for k, cid, typer, _ in frame[2]
    )
