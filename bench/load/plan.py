"""The presence changes a run drives, decided in advance, and who must receive each.

The plan is made from the graph and the seed alone, so the app and the floor get the
very same changes at the very same moments. A user changes at most once every
`min_gap` seconds, so each change is delivered before the next of the same user and a
received entry is matched to its change without doubt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.load.config import KINDS, LoadConfig
from bench.load.graph import ContactGraph

CONNECTION_KINDS = ("connect", "disconnect")


@dataclass(frozen=True)
class Change:
    """One presence change.

    Attributes:
        id: Its number in the run.
        phase: "main" (random users) or "wide" (the hub, seen by every tab).
        at: Seconds after the start of its phase.
        user: Whose presence changes.
        kind: away, back, disconnect or connect.
        status: What its watchers are to see once it is delivered.
    """

    id: int
    phase: str
    at: float
    user: int
    kind: str
    status: str


@dataclass
class Plan:
    """The changes of a run, and the world they leave behind.

    Attributes:
        main: The main phase, at the configured rate.
        wide: The hub's changes.
        receivers: change id → the tab indexes that must receive it.
        final_status: user id → their status after both phases.
        reopened_status: user id → their status once every tab is open again (those who
            chose away stay away).
        connected: The users whose tabs are connected after both phases.
        main_span: Seconds from the main phase's start to its last change.
    """

    main: list[Change]
    wide: list[Change]
    receivers: dict[int, list[int]]
    final_status: dict[int, str]
    reopened_status: dict[int, str]
    connected: set[int]
    main_span: float


def make(graph: ContactGraph, config: LoadConfig) -> Plan:
    """The plan of a run."""
    rng = random.Random(config.seed + 1)
    connected = set(graph.users)
    away: set[int] = set()
    last: dict[int, float] = {}
    moves: dict[int, list[float]] = {}  # user → when their tabs connected or disconnected
    main: list[Change] = []
    pool = [uid for uid in graph.users if uid != graph.hub]
    weights = {kind: config.mix.get(kind, 0.0) for kind in KINDS}

    for i in range(config.changes):
        at = i / config.rate
        free = [uid for uid in pool if at - last.get(uid, -1e9) >= config.min_gap]
        candidates = {
            "away": [u for u in free if u in connected and u not in away],
            "back": [u for u in free if u in connected and u in away],
            "disconnect": [u for u in free if u in connected],
            "connect": [u for u in free if u not in connected],
        }
        kinds = [k for k in KINDS if candidates[k] and weights[k] > 0]
        if not kinds:
            continue
        kind = rng.choices(kinds, weights=[weights[k] for k in kinds])[0]
        user = rng.choice(candidates[kind])
        if kind == "away":
            away.add(user)
            status = "away"
        elif kind == "back":
            away.discard(user)
            status = "online"
        elif kind == "disconnect":
            connected.discard(user)
            status = "offline"
        else:
            connected.add(user)
            status = "away" if user in away else "online"
        if kind in CONNECTION_KINDS:
            moves.setdefault(user, []).append(at)
        last[user] = at
        main.append(Change(id=len(main), phase="main", at=at, user=user, kind=kind, status=status))

    receivers = {c.id: _receivers(graph, c, main, moves, config) for c in main}

    wide: list[Change] = []
    hub_away = False
    for i in range(config.wide_changes):
        hub_away = not hub_away
        kind, status = ("away", "away") if hub_away else ("back", "online")
        change = Change(
            id=len(main) + i, phase="wide", at=i * config.wide_gap, user=graph.hub, kind=kind, status=status
        )
        wide.append(change)
        receivers[change.id] = [
            t for uid in graph.watchers(graph.hub) if uid in connected for t in graph.tabs_of(uid)
        ]
    if hub_away:
        away.add(graph.hub)

    final = {uid: "offline" for uid in graph.names}
    for uid in connected:
        final[uid] = "away" if uid in away else "online"
    return Plan(
        main=main,
        wide=wide,
        receivers=receivers,
        final_status=final,
        reopened_status={
            uid: ("away" if uid in away else "online") if uid in graph.users else "offline"
            for uid in graph.names
        },
        connected=connected,
        main_span=main[-1].at if main else 0.0,
    )


def _receivers(
    graph: ContactGraph,
    change: Change,
    changes: list[Change],
    moves: dict[int, list[float]],
    config: LoadConfig,
) -> list[int]:
    """The tabs that are open, loaded and settled when the change happens, among its watchers.

    A tab whose user connected or disconnected close to the change may get it inside a
    snapshot instead of as a change: it is left out here and checked by the final maps.
    """
    window = (change.at - config.min_gap, change.at + config.grace + config.min_gap)
    out = []
    for uid in graph.watchers(change.user):
        if uid == change.user and change.kind in CONNECTION_KINDS:
            continue
        if not _connected_at(uid, change.at, changes):
            continue
        if any(window[0] <= t <= window[1] for t in moves.get(uid, ())):
            continue
        out += graph.tabs_of(uid)
    return out


def _connected_at(user: int, at: float, changes: list[Change]) -> bool:
    state = True
    for c in changes:
        if c.at > at:
            break
        if c.user == user and c.kind in CONNECTION_KINDS:
            state = c.kind == "connect"
    return state
