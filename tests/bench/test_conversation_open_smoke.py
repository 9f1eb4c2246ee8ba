"""Smoke test of the conversation-open benchmark: a quick run completes against the real
app and every open, short or long conversation alike, sent exactly one page of messages.

No time or byte figure is asserted: those are what the benchmark reports
(docs/conversation-open.md), never what a test checks.
"""

from __future__ import annotations

import pytest

from chatapp.services.messages import PAGE_SIZE
from tests.support import run_benchmark


@pytest.mark.integration
def test_a_quick_run_opens_short_and_long_conversations_with_one_page_each(tmp_path):
    page = tmp_path / "conversation-open.md"
    run_benchmark(
        [
            "-m",
            "bench.conversation_open",
            "--sizes",
            "20,300",
            "--trials",
            "2",
            "--out",
            str(page),
        ],
        timeout=170,
    )
    rows = {
        cells[0]: cells[-1]
        for line in page.read_text().splitlines()
        if line.startswith("| ")
        and (cells := [c.strip() for c in line.strip("|").split("|")])[0][:1].isdigit()
    }
    assert rows == {"20": "20", "300": str(PAGE_SIZE)}
