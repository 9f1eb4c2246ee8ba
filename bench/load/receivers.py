"""How long the app takes to find who receives a change of a user in many conversations.

Calls the app's own `chatapp.services.audience.watchers_of` (what the presence service
runs for every change it publishes, with the user's audience: the default, "written")
against a database migrated and filled like the benchmark's, for the hub: the user in
`hub_contacts` conversations.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.app_server import migrate_database
from bench.load import graph as graph_mod
from bench.load import seed
from bench.load.analysis import percentile
from bench.load.config import LoadConfig


@dataclass
class ReceiversTiming:
    """The timing of the receivers query.

    Attributes:
        conversations: Conversations the user is in.
        receivers: Users found.
        repetitions: Calls timed (after a warm-up).
        median_ms: Median time of one call, with its own session from the engine's pool.
        p99_ms: 99th percentile.
    """

    conversations: int
    receivers: int
    repetitions: int
    median_ms: float
    p99_ms: float


def time_receivers(config: LoadConfig, repetitions: int = 1000) -> ReceiversTiming:
    """Fill a fresh SQLite database with the graph and time `watchers_of` for the hub."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from chatapp.services.audience import watchers_of

    graph = graph_mod.build(config)
    with tempfile.TemporaryDirectory(prefix="chatapp-receivers-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'receivers.db'}"
        migrate_database(url)
        seed.write_database(url, graph)
        engine = sa.create_engine(url)
        try:
            conversations = sum(1 for _, members in graph.conversations if graph.hub in members)
            found = set()
            for _ in range(20):  # warm-up: connection pool, statement cache
                with Session(engine) as session:
                    found = watchers_of(session, graph.hub, "written")
            times = []
            for _ in range(repetitions):
                start = time.perf_counter()
                with Session(engine) as session:
                    watchers_of(session, graph.hub, "written")
                times.append((time.perf_counter() - start) * 1000)
        finally:
            engine.dispose()
    return ReceiversTiming(
        conversations=conversations,
        receivers=len(found),
        repetitions=repetitions,
        median_ms=percentile(times, 50),
        p99_ms=percentile(times, 99),
    )
