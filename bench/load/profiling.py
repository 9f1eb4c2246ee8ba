"""py-spy profiles of the app's backend worker during chosen phases of a run."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

EXTENSIONS = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        msg = "py-spy is not installed: pip install py-spy"
        raise RuntimeError(msg)
    return found


@contextlib.contextmanager
def profiled(directory: Path | None, name: str, pid: int, fmt: str = "flamegraph") -> Iterator[Path | None]:
    """Record the process `pid` with py-spy while the block runs (nothing when `directory` is None).

    Yields:
        The profile's path (written once the block ends), or None.
    """
    if directory is None:
        yield None
        return
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}.{EXTENSIONS[fmt]}"
    spy = subprocess.Popen(
        [
            _py_spy(),
            "record",
            "--pid",
            str(pid),
            "-o",
            str(out),
            "--format",
            fmt,
            "--nonblocking",
            "-r",
            "200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield out
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
