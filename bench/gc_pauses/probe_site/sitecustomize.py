"""A probe inside the app's processes, for `bench.gc_pauses` only: it logs every garbage
collection (when, which generation, how long, how many objects it freed) to a file per
process in CHATAPP_BENCH_GC_LOG, and does nothing unless that is set.

Python imports `sitecustomize` at start-up from the first directory on its path that has
one; run the benchmark with `--app-env PYTHONPATH=bench/gc_pauses/probe_site` (an absolute
path) `--app-env CHATAPP_BENCH_GC_LOG=DIR`. With CHATAPP_BENCH_GC_THRESHOLDS=a,b,c the app's
own thresholds are replaced by these (to compare settings without changing the code).
Forked processes inherit the probe (its callback and the replaced setter).
"""

from __future__ import annotations

import gc
import os
import time

_DIR = os.environ.get("CHATAPP_BENCH_GC_LOG", "")
_FORCED = os.environ.get("CHATAPP_BENCH_GC_THRESHOLDS", "")
_started = [0.0]


def _log(phase: str, info: dict) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = (time.perf_counter() - _started[0]) * 1000
    with open(os.path.join(_DIR, f"gc-{os.getpid()}.txt"), "a") as out:
        out.write(f"{time.time():.3f} {info['generation']} {took:.2f} {info['collected']}\n")


if _DIR:
    gc.callbacks.append(_log)
if _FORCED:
    _forced = tuple(int(x) for x in _FORCED.split(","))
    _set = gc.set_threshold
    gc.set_threshold = lambda *_ignored: _set(*_forced)
    _set(*_forced)
