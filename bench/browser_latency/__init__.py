"""Presence latency measured browser to browser: from user A's change to user B's screen.

    python -m bench.browser_latency [--quick] [--trials 50] [--out docs/presence-latency.md] [--json FILE]

Starts the real app itself (`reflex run --env prod`, frontend and backend on one free port,
one worker, no Redis) on a fresh SQLite database, drives two users in one headless Chromium
(two browser contexts, i.e. two separate "browsers" sharing the machine's clock) and measures:

1. away toggle: A picks "Away" (then "Automatic") in the status menu; B's screen shows A's
   dot change. t0 is taken in A's page just before the menu item is clicked, t1 by a
   MutationObserver in B's page when the dot's `data-presence` attribute changes; both are
   `performance.timeOrigin + performance.now()`, the machine's wall clock in ms.
2. tab close: A's only tab on the conversation closes (`page.close()`); B shows A offline.
   t0 is Python's `time.time()` just before the close. Reported raw and minus the grace.
3. reload gap: on a second app run with `CHATAPP_PRESENCE_GRACE=0`, A reloads N times; B
   records every offline -> online blink and its length. That is the gap the grace must hide,
   and so what to choose the grace from. The same reloads on the first run (default grace)
   must show no blink at all.

The results go to stdout and to a Markdown report (`docs/presence-latency.md` by default).

The app is run from a temporary copy of the project (its sources and `.web`, with
`node_modules`): a production build rewrites `.web` (the compiled pages, `env.json` with the
server's address), which a development server or a test run of this checkout also uses.

The package, one concern a module: `app` (the project copy and the users), `browser` (driving
the pages), `scenarios`, `stats` (the figures), `machine` (the machine and other work on it),
`run` (a whole run), `report` (the page) and `__main__` (the command line).
"""

from __future__ import annotations


class BenchError(RuntimeError):
    """The benchmark could not run (the app did not start, a change never showed...)."""
