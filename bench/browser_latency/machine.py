"""The machine the run shared: its description, and how busy other work kept it."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import statistics
import threading
import time
from importlib import metadata
from typing import Any

import psutil

from bench.common import cpu_model

# A 1-minute load average above this before the run means other work shared the machine.
BUSY_LOAD = 1.5
# Other work using more than this many CPUs on average during the run.
BUSY_OTHER_CPUS = 0.25


class OtherWork:
    """Samples, in the background, how much CPU other work on the machine uses: the machine's
    busy CPU time minus that of this process and its children (the app, Chromium)."""

    def __init__(self, every: float = 2.0) -> None:
        self._psutil = psutil
        self.every = every
        self.samples: list[float] = []  # CPUs busy with other work, per interval
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="other-work", daemon=True)

    def __enter__(self) -> OtherWork:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _busy(self) -> float:
        times = self._psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0)

    def _ours(self, seen: dict[int, float]) -> float:
        """CPU seconds our processes used since the last call."""
        me = self._psutil.Process()
        used = 0.0
        current: dict[int, float] = {}
        for proc in [me, *me.children(recursive=True)]:
            with contextlib.suppress(self._psutil.Error):
                cpu = proc.cpu_times()
                current[proc.pid] = cpu.user + cpu.system
                used += current[proc.pid] - seen.get(proc.pid, 0.0)
        seen.clear()
        seen.update(current)
        return used

    def _run(self) -> None:
        seen: dict[int, float] = {}
        busy, _ = self._busy(), self._ours(seen)
        last = time.monotonic()
        while not self._stop.wait(self.every):
            now_busy, ours, now = self._busy(), self._ours(seen), time.monotonic()
            self.samples.append(max(0.0, (now_busy - busy - ours) / (now - last)))
            self.loads.append(os.getloadavg()[0])
            busy, last = now_busy, now

    def summary(self) -> dict[str, float]:
        """Mean and max CPUs other work kept busy, and the highest 1-minute load average."""
        return {
            "mean_cpus": statistics.fmean(self.samples) if self.samples else math.nan,
            "max_cpus": max(self.samples, default=math.nan),
            "max_load_1m": max(self.loads, default=math.nan),
            "every_s": self.every,
        }


def machine() -> dict[str, Any]:
    """nproc, CPU model, memory, load and versions."""
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 0
    return {
        "nproc": nproc,
        "cpu_model": cpu_model() or "unknown",
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "reflex": _version("reflex"),
        "playwright": _version("playwright"),
        "load_before": os.getloadavg(),
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
