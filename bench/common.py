"""What every benchmark shares: its command line's common options, the results page's
scaffolding (machine, app version, marker, tables), the wait for a quiet machine and the
pool of client processes.

Used by `bench.load`, `bench.login_flood`, `bench.socket_memory` and `bench.browser_latency`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from bench.app_server import ROOT

# The help of --max-load of the tools that wait before each condition.
MAX_LOAD_EACH_CONDITION = (
    "before each condition, wait (up to 5 min) until the load average is at most this (0: never)"
)

MARKER = "<!-- Everything below this line is kept when the benchmark rewrites the page. -->"


# The machine and the app -----------------------------------------------------------------


def cpu_model() -> str | None:
    """The CPU's model name (from /proc/cpuinfo), or None where it cannot be read."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def machine() -> str:
    """The machine, in one line: CPU model, cores, memory, OS, Python."""
    model = cpu_model() or platform.processor() or "unknown CPU"
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB memory; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    )


def app_version(app_dir: str | None) -> str:
    """The commit of the app's checkout, and whether it has uncommitted changes."""
    where = Path(app_dir) if app_dir else ROOT
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(where)
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def now() -> datetime.datetime:
    """The current time in UTC."""
    return datetime.datetime.now(datetime.UTC)


def wait_for_quiet(max_load: float, *, timeout: float, log: Callable[[str], None]) -> float:
    """Wait until the 1-minute load average is at most `max_load` (or `timeout` passed);
    returns the load average. A `max_load` of 0 or less: never wait."""
    load = os.getloadavg()[0]
    if max_load <= 0:
        return load
    deadline = time.monotonic() + timeout
    while load > max_load and time.monotonic() < deadline:
        log(f"load average {load:.2f} > {max_load:g}: waiting")
        time.sleep(15)
        load = os.getloadavg()[0]
    return load


# The results page ------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, its first column left-aligned and the others right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def server_errors(results: Iterable[Any], heading: str, separator: str = ", ") -> list[str]:
    """The app's logged errors (`r.server_errors` of each result), each distinct line once,
    with the labels (`r.condition.label`) of the results it was seen in."""
    seen: dict[str, list[str]] = {}
    for r in results:
        for line in r.server_errors:
            where = seen.setdefault(line, [])
            if r.condition.label not in where:
                where.append(r.condition.label)
    if not seen:
        return []
    out = [heading, ""]
    out += [f"- `{line[:300]}` ({separator.join(where)})" for line, where in seen.items()]
    return [*out, ""]


def write(text: str, path: Path) -> None:
    """Write the generated text above the marker, keeping what is below it."""
    kept = ""
    if path.exists():
        old = path.read_text()
        if MARKER in old:
            kept = old.split(MARKER, 1)[1]
    path.write_text(text.rstrip() + "\n\n" + MARKER + (kept if kept else "\n"))


def publish(text: str, args: argparse.Namespace, *, plot: Callable[[Path], None] | None = None) -> None:
    """Write the page to `args.out` (the part above its marker) and say so, or with
    `--no-docs` print it. `plot`, if given, first draws the page's plot into `args.plot`."""
    if not args.docs:
        print(text)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if plot is not None:
        plot(args.plot)
    write(text, args.out)
    print(f"wrote {args.out}" + (f" and {args.plot}" if plot is not None else ""))


def write_json(path: Path | None, figures: Any, *, indent: int | None = None) -> None:
    """With `--json` (a path): every figure as JSON, what JSON cannot hold as text."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, default=str, indent=indent))


# The command line ------------------------------------------------------------------------


def command_line(prog: str, argv: Sequence[str] | None) -> str:
    """The command as the page shows it."""
    return (f"python -m {prog} " + shlex.join(argv if argv is not None else sys.argv[1:])).strip()


def app_env(items: Iterable[str]) -> dict[str, str]:
    """`--app-env KEY=VALUE` options as a mapping."""
    return dict(item.split("=", 1) for item in items)


def add_app_env(group: argparse._ArgumentGroup, help: str = "extra environment of the app") -> None:
    """--app-env KEY=VALUE (repeatable)."""
    group.add_argument("--app-env", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_app_label(group: argparse._ArgumentGroup) -> None:
    """--app-label."""
    group.add_argument("--app-label", default=None, help="what the page calls the app under test")


def add_max_load(group: argparse._ArgumentGroup, default: float, help: str) -> None:
    """--max-load: wait for a quiet machine before each run."""
    group.add_argument("--max-load", type=float, default=default, help=help)


def add_profile(group: argparse._ArgumentGroup, help: str) -> None:
    """--profile DIR and --profile-format: py-spy profiles of the app."""
    group.add_argument("--profile", type=Path, default=None, metavar="DIR", help=help)
    group.add_argument(
        "--profile-format",
        choices=["flamegraph", "raw", "speedscope"],
        default="flamegraph",
        help="py-spy's format",
    )


def add_output(
    parser: argparse.ArgumentParser, page: str, *, plot: str | None = None
) -> argparse._ArgumentGroup:
    """The "output" group: --out (docs/`page`), [--plot (docs/`plot`)], --json, --no-docs."""
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, default=ROOT / "docs" / page, help="the results page")
    if plot is not None:
        out.add_argument("--plot", type=Path, default=ROOT / "docs" / plot, help="the plot")
    out.add_argument("--json", type=Path, default=None, help="also write every figure as JSON here")
    out.add_argument("--no-docs", dest="docs", action="store_false", help="print the results, write no page")
    return out


# Client processes ------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A client process failed a command (its traceback is the message)."""


class ProcessPool:
    """Client processes (spawned: no copy of this process's state), one a spec, each running
    `target(conn, spec)`: it answers commands `(name, arguments)` on `conn` with `("ok",
    result)` or `("error", traceback)` until `exit_command`, which `close` sends.

    Subclasses set `error` (what a failed command raises), `exit_command` and how long
    `close` waits for each process (`join_timeout`, seconds) before it kills it.
    """

    error: type[WorkerError] = WorkerError
    exit_command = "close"
    join_timeout = 10.0

    def __init__(self, target: Callable[[Connection, dict], None], specs: list[dict]) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of this process's state
        self.count = len(specs)
        self._conns: list[Connection] = []
        self._procs = []
        for i, spec in enumerate(specs):
            ours, theirs = context.Pipe()
            proc = context.Process(target=target, args=(theirs, spec), daemon=True, name=f"bench-client-{i}")
            proc.start()
            theirs.close()
            self._conns.append(ours)
            self._procs.append(proc)

    @property
    def pids(self) -> list[int]:
        """The client processes' PIDs."""
        return [p.pid for p in self._procs]

    def all(self, name: str, **args) -> list:
        """Send a command to every process at once and return their answers, in order.

        Raises:
            WorkerError: A process failed the command (`error`, a subclass).
        """
        return self.each(name, [args] * self.count)

    def each(self, name: str, args: list[dict]) -> list:
        """Send each process its own arguments for a command; return the answers."""
        for conn, a in zip(self._conns, args, strict=True):
            conn.send((name, a))
        answers = []
        for conn in self._conns:
            status, value = conn.recv()
            if status != "ok":
                raise self.error(value)
            answers.append(value)
        return answers

    def close(self) -> None:
        """Close every tab and end the processes."""
        with contextlib.suppress(WorkerError, EOFError, OSError):
            self.all(self.exit_command)
        for proc in self._procs:
            proc.join(self.join_timeout)
            if proc.is_alive():
                proc.kill()
                proc.join()

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
