"""From what the tabs recorded to figures: latencies, fan-out, bytes, and what went wrong."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.load.plan import Change


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, p99 and max of some values."""
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


@dataclass
class PhaseStats:
    """The figures of one phase (a list of changes).

    Attributes:
        changes: Changes planned.
        made: Changes the clients made (a t0 was recorded).
        deliveries: (change, receiving tab) pairs that arrived.
        missing: (change id, tab index) pairs that never arrived.
        superseded: (change id, tab index) pairs that never arrived as such because the tab
            went straight to the user's next change (sent together when the tab lagged):
            its map was right, it only skipped a state that no longer held.
        late: (change id, tab index) pairs of a user's last change of the phase that
            arrived after the window (counted as deliveries, with their latency): at
            10,000 tabs the hub's change reached some tabs after the phase's 4.5 s, and a
            fixed window had reported them as never arrived.
        latency_ms: Change to arrival, every delivery (offline: minus the grace).
        latency_by_kind: The same, per kind of change.
        fanout_ms: Per change, change to arrival at its last receiver.
        bytes_per_delivery: Size of the message that carried each delivery.
        hub_bytes: The same, for deliveries to the hub's tab (a watcher of 1,000 users).
        other_frames: Messages tabs received outside page loads with no presence in them.
        other_bytes: Their bytes.
        leaks: (tab index, user id, status) entries of a user the tab shares nothing with.
        errors: Errors the clients reported while making changes.
        unpublished: Of the changes with a missing delivery, those that no instance
            published on the push channel (None: not known, the target has no Redis).
    """

    changes: int = 0
    made: int = 0
    deliveries: int = 0
    missing: list[tuple[int, int]] = field(default_factory=list)
    superseded: list[tuple[int, int]] = field(default_factory=list)
    late: list[tuple[int, int]] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    latency_by_kind: dict[str, list[float]] = field(default_factory=dict)
    fanout_ms: list[float] = field(default_factory=list)
    bytes_per_delivery: list[int] = field(default_factory=list)
    hub_bytes: list[int] = field(default_factory=list)
    other_frames: int = 0
    other_bytes: int = 0
    leaks: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unpublished: list[int] | None = None

    @property
    def complete(self) -> bool:
        """Every change was made and reached every receiver, and nothing leaked."""
        return self.made == self.changes and not self.missing and not self.leaks and not self.errors


def analyse(
    changes: Iterable[Change],
    receivers: dict[int, list[int]],
    t0: dict[int, float],
    records: dict[int, dict],
    *,
    grace: float,
    hub_tab: int,
    window: float,
) -> PhaseStats:
    """Match every change with its arrival at each of its receivers.

    A change of user u to status s reaches tab r at the first entry of u with status s
    that r received after the change was made (and within `window` seconds: the next
    change of u comes later than that). The last change of u in the phase has no next
    one to be mistaken for: an entry that came after the window is its delivery, late.
    """
    index: dict[tuple[int, int], list[tuple[float, str, int]]] = defaultdict(list)
    stats = PhaseStats()
    for tab, rec in records.items():
        for at, uid, status, size in rec["arrivals"]:
            index[tab, uid].append((at, status, size))
        stats.leaks += [(tab, uid, status) for uid, status in rec["leaks"]]
        stats.other_frames += rec["other_frames"]
        stats.other_bytes += rec["other_bytes"]
    for arrivals in index.values():
        arrivals.sort()

    changes = list(changes)
    later = _next_change_of_same_user(changes)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for change in changes:
        stats.changes += 1
        start = t0.get(change.id)
        if start is None:
            continue
        stats.made += 1
        offset = grace if change.kind == "disconnect" else 0.0
        slowest = -math.inf
        for tab in receivers[change.id]:
            arrivals = index.get((tab, change.user), [])
            found = _first(arrivals, start, start + offset + window, change.status)
            following = later.get(change.id)
            if found is None and following is None:
                found = _first(arrivals, start, math.inf, change.status)
                if found is not None:
                    stats.late.append((change.id, tab))
            if found is None:
                if following is not None and _first(arrivals, start, math.inf, following.status) is not None:
                    stats.superseded.append((change.id, tab))
                else:
                    stats.missing.append((change.id, tab))
                continue
            at, size = found
            ms = (at - start - offset) * 1000
            stats.deliveries += 1
            stats.latency_ms.append(ms)
            by_kind[change.kind].append(ms)
            stats.bytes_per_delivery.append(size)
            if tab == hub_tab:
                stats.hub_bytes.append(size)
            slowest = max(slowest, ms)
        if receivers[change.id] and slowest > -math.inf:
            stats.fanout_ms.append(slowest)
    stats.latency_by_kind = dict(by_kind)
    return stats


def _next_change_of_same_user(changes: list[Change]) -> dict[int, Change]:
    """change id → the next change of the same user, for the changes that have one."""
    out, last = {}, {}
    for change in sorted(changes, key=lambda c: c.at):
        if change.user in last:
            out[last[change.user].id] = change
        last[change.user] = change
    return out


def _first(
    arrivals: list[tuple[float, str, int]], start: float, end: float, status: str
) -> tuple[float, int] | None:
    i = bisect.bisect_left(arrivals, (start,))
    while i < len(arrivals) and arrivals[i][0] <= end:
        at, got, size = arrivals[i]
        if got == status:
            return at, size
        i += 1
    return None


def extend(records: dict, more: dict) -> None:
    """Add the records tabs took since (`more`, by tab) to `records`, in place."""
    for tab, rec in more.items():
        held = records.setdefault(tab, {"arrivals": [], "leaks": [], "other_frames": 0, "other_bytes": 0})
        held["arrivals"] = [*held["arrivals"], *rec["arrivals"]]
        held["leaks"] = [*held["leaks"], *rec["leaks"]]
        held["other_frames"] += rec["other_frames"]
        held["other_bytes"] += rec["other_bytes"]


def merge(answers: list[dict]) -> dict:
    """One dict from the per-process answers keyed by tab."""
    out: dict = {}
    for answer in answers:
        out.update(answer)
    return out
