"""Fixtures shared by every test: a throw-away database, the real app, Chromium, and
a guard that fails any test during which the app logged an error."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TMP = Path(tempfile.mkdtemp(prefix="chatapp-tests-"))
# Before anything imports chatapp.settings or rxconfig: the app under test uses its own
# database file, never the developer's chatapp.db.
os.environ["REFLEX_DB_URL"] = os.environ.get("CHATAPP_TEST_DB_URL", f"sqlite:///{_TMP / 'test.db'}")
os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"

import pytest  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from find_chromium import CHROMIUM_ARGS, find_chromium  # noqa: E402


class _ErrorCollector(logging.Handler):
    """Collects the ERROR records of the app and of Reflex, and Reflex's deprecation
    warnings about the app's code."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        ours = record.name.split(".")[0] in {"reflex", "chatapp"}
        if (ours and record.levelno >= logging.ERROR) or _deprecated_in_app(record):
            self.records.append(record)


def _deprecated_in_app(record: logging.LogRecord) -> bool:
    """Whether Reflex reported a deprecated feature used by the app's own code.

    Reflex reports deprecations through its `reflex.deprecation` logger, not Python's
    warnings, with the first caller outside Reflex as `location` (relative to the working
    directory): pytest's filterwarnings never sees them.
    """
    location = str(getattr(record, "location", "") or "")
    return record.name == "reflex.deprecation" and Path(location).parts[:1] == ("chatapp",)


_errors = _ErrorCollector()
logging.getLogger().addHandler(_errors)


# App code every event passes through on its way to its handler (nothing of its own).
_PASS_THROUGH = (os.path.join("chatapp", "reflex_adapter", "turns.py"),)


def _record_text(record: logging.LogRecord) -> str:
    """A log record's message with its exception's text and traceback."""
    text = record.getMessage() + "\n" + (record.exc_text or "")
    if record.exc_info and record.exc_info[2] is not None:
        text += "".join(traceback.format_tb(record.exc_info[2]))
    return text


def _raised_in_app(record: logging.LogRecord) -> bool:
    """Whether a logged exception passed through the app's own code (other than the
    wrapper every event passes through, `reflex_adapter.turns`)."""
    return any(
        f"{os.sep}chatapp{os.sep}" in line and not any(p in line for p in _PASS_THROUGH)
        for line in _record_text(record).splitlines()
    )


@pytest.fixture(autouse=True)
def fail_on_app_errors(request):
    """A test during which the app or Reflex logged an error fails, whatever it asserted.

    A test marked `hostile_client` sends malformed events on purpose, and Reflex logs
    each one it rejects; there only an exception raised inside the app's code fails. A
    test marked `app_error(text)` makes the app fail on purpose: errors that say `text`
    (in their message or traceback) are what it expects.
    """
    start = len(_errors.records)
    yield
    new = _errors.records[start:]
    if request.node.get_closest_marker("hostile_client"):
        new = [r for r in new if _raised_in_app(r) or _deprecated_in_app(r)]
    expected = request.node.get_closest_marker("app_error")
    if expected is not None:
        new = [r for r in new if expected.args[0] not in _record_text(r)]
    if new:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in new)
        pytest.fail(f"the app logged {len(new)} error(s):\n{lines}", pytrace=False)


def _migrate() -> None:
    reflex = Path(sys.executable).with_name("reflex")
    subprocess.run([str(reflex), "db", "migrate"], cwd=ROOT, env=os.environ, check=True)


@pytest.fixture(scope="session")
def app_harness():
    """The real app (database migrated with the project's migrations), served by Reflex's
    AppHarness: backend in this process, frontend dev server beside it."""
    from reflex.testing import AppHarness

    _migrate()
    with AppHarness.create(root=ROOT, app_name="chatapp") as harness:
        yield harness


@pytest.fixture(scope="session")
def base_url(app_harness) -> str:
    """The frontend's address (pytest-playwright's fixture name)."""
    return app_harness.frontend_url.rstrip("/")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch the system Chromium: Playwright cannot download its own here."""
    path = find_chromium()
    if path is None:
        pytest.fail("no Chromium found: run scripts/test, which installs one", pytrace=False)
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS}
