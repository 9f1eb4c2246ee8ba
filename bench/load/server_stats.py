"""The server's side of a run: CPU and memory of its processes, errors in its log."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path

import psutil


class ServerSampler:
    """CPU time and resident memory of a server's processes, read with psutil (with
    several instances: every instance's, and the worker memory of all of them)."""

    def __init__(self, processes: Callable[[], list[psutil.Process]], worker_pids: int | list[int]) -> None:
        self._processes = processes
        pids = [worker_pids] if isinstance(worker_pids, int) else list(worker_pids)
        self.workers = [psutil.Process(pid) for pid in pids]
        self.worker = self.workers[0]

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by every process of the server."""
        total = 0.0
        for proc in self._processes():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> tuple[int, int]:
        """Resident bytes of the worker(s), and of the whole tree."""
        tree = 0
        for proc in self._processes():
            with contextlib.suppress(psutil.Error):
                tree += proc.memory_info().rss
        return sum(w.memory_info().rss for w in self.workers), tree

    def peak_rss(self) -> int:
        """The most resident bytes each worker has held since it started (Linux's VmHWM),
        summed: what a phase between two samples reached (a storm's backlog), which the
        resident bytes after it do not show."""
        return sum(peak_rss_of(w.pid) for w in self.workers)


def peak_rss_of(pid: int) -> int:
    """A process's peak resident bytes so far (`VmHWM` in /proc/PID/status, Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    msg = f"no VmHWM for process {pid} (not Linux?)"
    raise RuntimeError(msg)


# The line that ends a traceback: "redis.exceptions.ConnectionError: …", "KeyError: 'x'".
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Timeout|Refused|Found)\w*(:|$)")
_ERROR_MARKS = ("Traceback (most recent call last)", " ERROR ", "ERROR:", "exception was never retrieved")
# Reflex's token manager logs its failures with `logger.error` and no traceback, and the
# production log carries no level: they are known by their text ("Redis error checking
# token existence: No connection available.", thousands in a 10,000-tab storm that
# counted no error before).
_REFLEX_ERRORS = re.compile(r"^(Redis error [a-z ]+:|Token cleanup error:)")


def logged_errors(path: Path | None, keep: int = 20) -> list[str]:
    """The lines of a server's log that report an error (the first `keep`); a traceback is
    given with the exception that ends it ("Traceback … → RuntimeError: …")."""
    if path is None or not Path(path).exists():
        return []
    lines = Path(path).read_text(errors="replace").splitlines()
    found = []
    for i, line in enumerate(lines):
        if not any(mark in line for mark in _ERROR_MARKS) and not _REFLEX_ERRORS.match(line.strip()):
            continue
        if "Traceback (most recent call last)" in line:
            end = next((later.strip() for later in lines[i + 1 :] if _EXCEPTION.match(later.strip())), "")
            line = f"{line.strip()} → {end}"
        found.append(line)
        if len(found) >= keep:
            break
    return found


# `chatapp.loop_lag`'s line when a busy loop has caught up.
_CAUGHT_UP = re.compile(r"event loop caught up: refused (\d+) new sockets")


def refused_sockets(path: Path | None) -> int:
    """How many new sockets a server refused while its loop ran behind, by its log (the
    episodes that have ended)."""
    if path is None or not Path(path).exists():
        return 0
    text = Path(path).read_text(errors="replace")
    return sum(int(m.group(1)) for m in _CAUGHT_UP.finditer(text))
