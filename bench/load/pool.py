"""The benchmark's side of the client processes: start them, command them all, stop them."""

from __future__ import annotations

from bench.common import ProcessPool, WorkerError
from bench.load import worker
from bench.load.graph import ContactGraph

__all__ = ["ClientPool", "WorkerError"]


class ClientPool(ProcessPool):
    """`count` client processes sharing the tabs of a graph, each user's tabs in one process.

    Args:
        kind: "app" or "floor".
        url: The server's address.
        graph: Whose tabs to simulate.
        count: How many client processes.
    """

    def __init__(self, kind: str, url: str, graph: ContactGraph, count: int) -> None:
        count = max(1, min(count, len(graph.users)))
        self.owner = {uid: i % count for i, uid in enumerate(graph.users)}
        specs = []
        for i in range(count):
            mine = [uid for uid, owner in self.owner.items() if owner == i]
            specs.append(
                {
                    "kind": kind,
                    "url": url,
                    "tabs": [(t, uid, graph.login_tokens[uid]) for uid in mine for t in graph.tabs_of(uid)],
                    "allowed": {uid: sorted(graph.watchers(uid)) for uid in mine},
                }
            )
        super().__init__(worker.main, specs)
