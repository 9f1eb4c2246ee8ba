"""Browser tests: every browser context a test opened is closed when it ends.

Contexts left open keep their pages running (timers, sockets, rendering) for the rest of
the session, on the same two cores as the tests that follow."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _close_contexts(request):
    yield
    if "browser" in request.fixturenames:
        browser = request.getfixturevalue("browser")
        for context in list(browser.contexts):
            context.close()
