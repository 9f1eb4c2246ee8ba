"""The benchmark's side of the client processes: start them, command them all, stop them."""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection

from bench.load import worker
from bench.load.graph import ContactGraph


class WorkerError(RuntimeError):
    """A client process failed a command (its traceback is the message)."""


class ClientPool:
    """`count` client processes sharing the tabs of a graph, each user's tabs in one process.

    Args:
        kind: "app" or "floor".
        url: The server's address.
        graph: Whose tabs to simulate.
        count: How many client processes.
    """

    def __init__(self, kind: str, url: str, graph: ContactGraph, count: int) -> None:
        self.count = max(1, min(count, len(graph.users)))
        self.owner = {uid: i % self.count for i, uid in enumerate(graph.users)}
        context = multiprocessing.get_context("spawn")  # no copy of this process's state
        self._conns: list[Connection] = []
        self._procs = []
        for i in range(self.count):
            mine = [uid for uid, owner in self.owner.items() if owner == i]
            spec = {
                "kind": kind,
                "url": url,
                "tabs": [(t, uid, graph.login_tokens[uid]) for uid in mine for t in graph.tabs_of(uid)],
                "allowed": {uid: sorted(graph.watchers(uid)) for uid in mine},
            }
            ours, theirs = context.Pipe()
            proc = context.Process(
                target=worker.main, args=(theirs, spec), daemon=True, name=f"bench-client-{i}"
            )
            proc.start()
            theirs.close()
            self._conns.append(ours)
            self._procs.append(proc)

    @property
    def pids(self) -> list[int]:
        """The client processes' PIDs."""
        return [p.pid for p in self._procs]

    def all(self, name: str, **args) -> list:
        """Send a command to every process at once and return their answers, in order."""
        return self.each(name, [args] * self.count)

    def each(self, name: str, args: list[dict]) -> list:
        """Send each process its own arguments for a command; return the answers."""
        for conn, a in zip(self._conns, args, strict=True):
            conn.send((name, a))
        answers = []
        for conn in self._conns:
            status, value = conn.recv()
            if status != "ok":
                raise WorkerError(value)
            answers.append(value)
        return answers

    def close(self) -> None:
        """Close every tab and end the processes."""
        with contextlib.suppress(WorkerError, EOFError, OSError):
            self.all("close")
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
