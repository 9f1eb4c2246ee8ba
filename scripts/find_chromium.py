"""Locate a Chromium binary for Playwright.

Playwright cannot download its own browsers on this network, so the tests
drive a system Chromium through ``executable_path``. This module is the one
place that decides which binary that is, so ``scripts/bootstrap.sh`` and the
test suite agree.

Search order:
1. ``$CHATAPP_CHROMIUM`` if set (a path or a command name). When it is set
   but unusable we return ``None`` rather than silently picking another
   browser, so a typo is noticed instead of hidden.
2. ``/usr/bin/chromium`` (Debian's ``chromium`` package).
3. ``chromium``, ``chromium-browser``, ``google-chrome``,
   ``google-chrome-stable`` on ``PATH``.

Stdlib only: it runs before (and independently of) the virtualenv.

Usage: ``python scripts/find_chromium.py`` prints the path and exits 0, or
explains on stderr and exits 1.
"""

from __future__ import annotations

import os
import shutil
import sys

ENV_VAR = "CHATAPP_CHROMIUM"
# How every headless Chromium of the project starts (tests, benchmarks, screenshots):
# root needs --no-sandbox, and the background-networking flags stop Chromium from
# calling home on a machine with no network but the package registries.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_PATH = "/usr/bin/chromium"
PATH_CANDIDATES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)


def _usable(candidate: str) -> str | None:
    """Return the absolute path of ``candidate`` if it is an executable file.

    ``shutil.which`` handles both bare command names (searched on PATH) and
    explicit paths (checked for the executable bit).
    """
    found = shutil.which(candidate)
    return os.path.abspath(found) if found else None


def find_chromium() -> str | None:
    """Return the path of a usable Chromium/Chrome binary, or ``None``."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return _usable(override)
    for candidate in (DEFAULT_PATH, *PATH_CANDIDATES):
        found = _usable(candidate)
        if found:
            return found
    return None


def main() -> int:
    """Print the Chromium path (exit 0) or explain on stderr (exit 1)."""
    path = find_chromium()
    if path:
        print(path)
        return 0
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        print(f"{ENV_VAR}={override!r} is not an executable file", file=sys.stderr)
    else:
        names = ", ".join((DEFAULT_PATH, *PATH_CANDIDATES))
        print(f"no Chromium found (looked for {names})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
