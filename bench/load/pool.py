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
        url: The server's address, or the addresses of several instances (a tab goes to
            the one its index picks: a user's tabs spread over them).
        graph: Whose tabs to simulate.
        count: How many client processes.
    """

    def __init__(self, kind: str, url: str | list[str], graph: ContactGraph, count: int) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        count = max(1, min(count, len(graph.users)))
        self.owner = {uid: i % count for i, uid in enumerate(graph.users)}
        specs = []
        for i in range(count):
            mine = [uid for uid, owner in self.owner.items() if owner == i]
            specs.append(
                {
                    "kind": kind,
                    "urls": urls,
                    "tabs": [(t, uid, graph.login_tokens[uid]) for uid in mine for t in graph.tabs_of(uid)],
                    "allowed": {uid: sorted(graph.watchers(uid)) for uid in mine},
                }
            )
        super().__init__(worker.main, specs)
