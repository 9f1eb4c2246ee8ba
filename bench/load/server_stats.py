"""The server's side of a run: CPU and memory of its processes, errors in its log."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import psutil


class ServerSampler:
    """CPU time and resident memory of a server's processes, read with psutil."""

    def __init__(self, processes: Callable[[], list[psutil.Process]], worker_pid: int) -> None:
        self._processes = processes
        self.worker = psutil.Process(worker_pid)

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by every process of the server."""
        total = 0.0
        for proc in self._processes():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> tuple[int, int]:
        """Resident bytes of the worker, and of the whole tree."""
        tree = 0
        for proc in self._processes():
            with contextlib.suppress(psutil.Error):
                tree += proc.memory_info().rss
        return self.worker.memory_info().rss, tree


_ERROR_MARKS = ("Traceback (most recent call last)", " ERROR ", "ERROR:", "exception was never retrieved")


def logged_errors(path: Path | None, keep: int = 20) -> list[str]:
    """The lines of a server's log that report an error (the first `keep`)."""
    if path is None or not Path(path).exists():
        return []
    lines = Path(path).read_text(errors="replace").splitlines()
    return [line for line in lines if any(mark in line for mark in _ERROR_MARKS)][:keep]
