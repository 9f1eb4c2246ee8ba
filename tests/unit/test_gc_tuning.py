"""The app's processes collect garbage with the thresholds of `chatapp.gc_tuning` (short,
frequent young collections; the older ones rare), set when Reflex loads `rxconfig.py`;
CHATAPP_GC_DEFAULTS=1 keeps Python's own, to compare."""

from __future__ import annotations

import os
import subprocess
import sys

from chatapp import gc_tuning
from tests.conftest import ROOT

_SHOW = "import gc, rxconfig; print(*gc.get_threshold())"


def _thresholds(**env: str) -> tuple[int, ...]:
    done = subprocess.run(
        [sys.executable, "-c", _SHOW],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return tuple(int(x) for x in done.stdout.split())


def test_the_config_sets_the_tuned_thresholds():
    assert _thresholds(CHATAPP_GC_DEFAULTS="0") == gc_tuning.THRESHOLDS


def test_gc_defaults_keeps_pythons_own():
    defaults = subprocess.run(
        [sys.executable, "-c", "import gc; print(*gc.get_threshold())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert _thresholds(CHATAPP_GC_DEFAULTS="1") == tuple(int(x) for x in defaults)


def test_young_collections_are_more_frequent_and_the_middle_ones_as_rare_as_before():
    young, middle, _full = gc_tuning.THRESHOLDS
    # A young collection walks what was allocated since the last: at most ~2,000 objects
    # and what they hold, about a millisecond; the middle one comes every 500,000.
    assert young <= 2_000
    assert young * middle >= 500_000
