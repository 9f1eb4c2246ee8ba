"""The benchmark's view of the server's memory: psutil from outside, the probe from inside.

Outside: the worker's resident set (RSS: every page of it in RAM, shared library pages
included) and, where the kernel exposes it, its unique set (USS: the pages only it holds,
which is what ending it would give back). Inside: the read-only probe
(`probe_site/sitecustomize.py`), asked through files in a directory of the benchmark's.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SITE_DIR = Path(__file__).resolve().parent / "probe_site"


@dataclass
class Sample:
    """The server worker's memory at one moment.

    Attributes:
        label: What the moment is ("before", "2,000 open", "+5 s", ...).
        phase: Which part of the run ("before", "open", "closed", "open again",
            "closed again", "collected", "trimmed").
        seconds: Seconds since the tabs were closed (0 for moments with tabs open).
        rss: Resident bytes of the worker.
        uss: Unique bytes of the worker (None when the kernel does not say).
        inside: What the probe saw (empty without it): "states", "expiries", "sockets",
            "tasks", "blocks", "pymalloc" {...}, "malloc" {...}.
    """

    label: str
    phase: str
    seconds: float
    rss: int
    uss: int | None
    inside: dict = field(default_factory=dict)


class ServerProbe:
    """Asks the probe inside the server's worker for samples.

    Args:
        directory: Where requests and answers go (the server's environment names it);
            None: no probe, psutil alone.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._seq = 0

    def environment(self) -> dict[str, str]:
        """What the server's environment needs for the probe to run in it."""
        if self.directory is None:
            return {}
        path = [str(SITE_DIR), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        return {"PYTHONPATH": os.pathsep.join(path), "CHATAPP_BENCH_PROBE_DIR": str(self.directory)}

    def ask(self, pid: int, *, kind: str = "sample", timeout: float = 60.0) -> dict:
        """The probe's answer for the process `pid` (empty when there is no probe or no answer).

        Args:
            pid: The server worker's PID.
            kind: "sample"; "collect": a full gc.collect() on the event loop first; "trim":
                glibc's malloc_trim(0) first.
            timeout: Seconds to wait for the answer (a busy event loop does not delay a
                sample: the probe has a thread of its own, but the GIL may).
        """
        if self.directory is None:
            return {}
        self._seq += 1
        seq = str(self._seq)
        answer = self.directory / f"{pid}.{seq}.json"
        request = self.directory / f"{pid}.request"
        request.with_suffix(".tmp").write_text(f"{seq} {kind}")
        request.with_suffix(".tmp").replace(request)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                return json.loads(answer.read_text())
            time.sleep(0.05)
        return {}


def memory(pid: int) -> tuple[int, int | None]:
    """Resident and unique bytes of a process."""
    process = psutil.Process(pid)
    try:
        full = process.memory_full_info()
    except psutil.AccessDenied:
        return process.memory_info().rss, None
    return full.rss, getattr(full, "uss", None)


def take(
    probe: ServerProbe, pid: int, label: str, phase: str, seconds: float = 0.0, *, kind: str = "sample"
) -> Sample:
    """A sample: psutil's figures read right after the probe's, so both see one moment."""
    inside = probe.ask(pid, kind=kind)
    rss, uss = memory(pid)
    return Sample(label=label, phase=phase, seconds=seconds, rss=rss, uss=uss, inside=inside)
