"""A read-only probe inside the app's processes, for `bench.socket_memory` only.

Python imports `sitecustomize` at start-up from the first directory on its path that has
one; the benchmark puts this file's directory on the app's PYTHONPATH (and nothing else
does), so the app's code stays untouched. It does nothing unless CHATAPP_BENCH_PROBE_DIR
is set. Then a daemon thread in each process (restarted in every forked child: Granian
forks its worker, and threads do not survive a fork) waits for requests from the
benchmark, written as files into that directory, and answers each with what can only be
seen from inside: how many tab states Reflex's in-memory state manager holds, how many
sockets the event namespace knows, how many asyncio tasks exist, and how much memory
Python's allocator and glibc's malloc hold, live and free. Two kinds of request act
before answering, for the last samples of a run: `collect` runs a full `gc.collect()` on
the event loop (the app raises the collector's thresholds, so cyclic garbage can wait
long), `trim` calls glibc's `malloc_trim(0)` (what malloc keeps that the system could
have back).

Otherwise the probe only reads: sizes of dicts (atomic under the GIL), the list of asyncio
tasks; it wakes five times a second, and its own cost is a thread and a few system calls.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter

_DIR = os.environ.get("CHATAPP_BENCH_PROBE_DIR", "")
# The module Reflex imports the app from (app_name "chatapp" → chatapp/chatapp.py).
_APP_MODULE = "chatapp.chatapp"
_POLL = 0.2
_STAT = re.compile(r"^(#?\s*[\w ,*/]+?)\s*=\s*([\d,]+)\s*$")


class _MallInfo2(ctypes.Structure):
    """glibc's `struct mallinfo2` (glibc 2.33 and later), summed over all malloc arenas."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc():
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    return None  # not glibc, or one older than 2.33: no malloc figures


def _app():
    module = sys.modules.get(_APP_MODULE)
    return getattr(module, "app", None)


def _copy(items) -> list:
    """A list of what `items()` yields, taken while the event loop's thread may change it
    (a "changed size during iteration" error is retried, as asyncio.all_tasks does)."""
    for _ in range(100):
        with contextlib.suppress(RuntimeError):
            return list(items())
    return []


def _task_name(task) -> str:
    """What a task runs: its coroutine's qualified name (task names hold tokens and times)."""
    coro = task.get_coro()
    return getattr(coro, "__qualname__", None) or type(coro).__name__


def _pymalloc() -> dict:
    """pymalloc's own accounting, from `sys._debugmallocstats()`.

    That function prints to the C-level stderr only, so fd 2 points at a temporary file
    for the few milliseconds it takes. A line another thread writes to stderr in that
    window lands in the file and is lost from the app's log: a risk taken only when the
    benchmark asks for a sample.
    """
    with tempfile.TemporaryFile(mode="w+b") as out:
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    stats: dict[str, int] = {}
    for line in text.splitlines():
        match = _STAT.match(line)
        if match:
            stats.setdefault(match.group(1).strip("# ").strip(), int(match.group(2).replace(",", "")))
    unused = re.search(r"^(\d+) unused pools \* (\d+) bytes", text, re.MULTILINE)
    return {
        "arenas": stats.get("arenas allocated current", 0),
        "arena_bytes": stats.get("Total", 0),  # the first Total: the arenas' bytes
        "used": stats.get("bytes in allocated blocks", 0),
        "free_blocks": stats.get("bytes in available blocks", 0),
        "free_pools": int(unused.group(1)) * int(unused.group(2)) if unused else 0,
    }


def _collect_on_loop(tasks) -> dict:
    """Run a full collection on the event loop's own thread (finalizers of asyncio objects
    must not run in this one).

    Returns:
        {"collected": unreachable objects found, "garbage_kinds": the most common types
        among them, "collect_ms": how long it held the loop}; empty when no loop was found.
    """
    running = [task for task in _copy(lambda: tasks or ()) if not task.done()]
    if not running:
        return {}
    out: dict = {}
    done = threading.Event()

    def collect() -> None:
        # Keep what is found in gc.garbage for as long as it takes to count its types,
        # then let it go and collect again.
        start = time.perf_counter()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            out["collected"] = gc.collect()
            kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
            # The commonest, and the server's own (whose native buffers are not in RSS's
            # Python part: Granian's Rust side has its own allocator).
            top = dict(kinds.most_common(15))
            out["garbage_kinds"] = top | {k: n for k, n in kinds.items() if k.startswith("granian")}
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.collect()
            # The event loop stood still this long (an upper bound for one plain collection:
            # this one ran twice, and counted types in between).
            out["collect_ms"] = (time.perf_counter() - start) * 1000
            done.set()

    running[0].get_loop().call_soon_threadsafe(collect)
    done.wait(60)
    return out


def _sample(libc, kind: str) -> dict:
    out: dict = {"pid": os.getpid(), "time": time.time()}
    import asyncio.tasks

    tasks = getattr(asyncio.tasks, "_all_tasks", None) or getattr(asyncio.tasks, "_scheduled_tasks", None)
    if kind == "collect":
        out.update(_collect_on_loop(tasks))
    if kind == "trim" and libc is not None:
        out["trimmed"] = bool(libc.malloc_trim(0))
    app = _app()
    manager = getattr(app, "_state_manager", None)
    states = getattr(manager, "states", None)
    if isinstance(states, dict):
        out["states"] = len(states)
        deadlines = getattr(manager, "_token_expires_at", None) or {}
        out["expiries"] = len(deadlines)
        soonest = min((entry[0] for entry in _copy(deadlines.values)), default=None)
        # Negative while states remain: a deadline passed and nothing purged it (yet).
        out["next_expiry"] = None if soonest is None else soonest - time.time()
        task = getattr(manager, "_expiration_task", None)
        out["expiry_task"] = "none" if task is None else ("done" if task.done() else "pending")
    namespace = getattr(app, "event_namespace", None)
    with contextlib.suppress(Exception):  # the namespace's maps are properties in Reflex
        out["sockets"] = len(namespace.sid_to_token)
    if tasks is not None:
        # Unfinished ones only: a finished task stays in the set until the collector
        # frees it, which the app's raised GC thresholds make rare.
        running = [task for task in _copy(lambda: tasks) if not task.done()]
        out["tasks"] = len(running)
        out["task_kinds"] = dict(Counter(map(_task_name, running)).most_common(8))
    out["blocks"] = sys.getallocatedblocks()
    with contextlib.suppress(Exception):
        out["pymalloc"] = _pymalloc()
    if libc is not None:
        info = libc.mallinfo2()
        out["malloc"] = {
            "heap": info.arena,  # the arenas' heaps: brk for the main one, mmap for the others
            "mmapped": info.hblkhd,  # large blocks, each its own mmap: unmapped when freed
            "used": info.uordblks,
            "free": info.fordblks,
            "top": info.keepcost,  # free at the top of the heap: what a trim returns at once
        }
    return out


def _serve() -> None:
    libc = _libc()
    pid = os.getpid()
    request = os.path.join(_DIR, f"{pid}.request")
    done = None
    while True:
        time.sleep(_POLL)
        try:
            with open(request) as f:
                seq, _, kind = f.read().strip().partition(" ")
        except OSError:
            continue
        if not seq or seq == done:
            continue
        done = seq
        try:
            answer = _sample(libc, kind)
        except Exception as exc:  # an answer all the same: the benchmark must not hang
            answer = {"pid": pid, "error": repr(exc)}
        answer["seq"] = seq
        path = os.path.join(_DIR, f"{pid}.{seq}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(answer, f)
        os.replace(path + ".tmp", path)  # the benchmark never reads half a file


def _start() -> None:
    threading.Thread(target=_serve, name="chatapp-bench-probe", daemon=True).start()


if _DIR:
    _start()
    os.register_at_fork(after_in_child=_start)
