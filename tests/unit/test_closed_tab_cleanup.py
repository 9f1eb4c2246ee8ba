"""A full garbage collection runs once most tabs have closed, never while many stay open."""

from __future__ import annotations

import asyncio
import logging

from chatapp.presence.cleanup import ClosedTabCleanup
from tests.support import run_async


def _closes(open_tabs: int, closes: int, caplog) -> tuple[bool, int]:
    """(whether a collection ran, closes still counted) after `closes` with `open_tabs` open."""

    async def scenario():
        cleanup = ClosedTabCleanup(lambda: open_tabs, delay=0.01, min_closed=3)
        for _ in range(closes):
            cleanup.tab_closed()
        await asyncio.sleep(0.1)
        return cleanup.closed

    with caplog.at_level(logging.INFO, logger="chatapp.presence.cleanup"):
        left = run_async(scenario())
    return any("collected" in r.getMessage() for r in caplog.records), left


def test_enough_closed_tabs_with_few_open_bring_one_collection(caplog):
    assert _closes(open_tabs=1, closes=5, caplog=caplog) == (True, 0)


def test_a_few_closed_tabs_bring_none(caplog):
    assert _closes(open_tabs=0, closes=2, caplog=caplog) == (False, 2)


def test_many_open_tabs_hold_it_off_however_many_closed(caplog):
    assert _closes(open_tabs=100, closes=50, caplog=caplog) == (False, 50)
