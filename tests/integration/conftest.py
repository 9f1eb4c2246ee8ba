"""Fixtures for tests that talk to the running app over its websocket."""

from __future__ import annotations

import pytest
from reflex.config import get_config


@pytest.fixture(scope="session")
def backend_url(app_harness) -> str:
    """The backend's address (where the socket lives)."""
    return get_config().api_url.rstrip("/")
