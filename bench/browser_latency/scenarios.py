"""The scenarios: away toggle, tab close, reloads (each on one pair of users)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench.browser_latency import BenchError
from bench.browser_latency.app import Pair
from bench.browser_latency.browser import (
    CLICK_JS,
    CURRENT_JS,
    OWN_STATUS_JS,
    TIMEOUT_MS,
    clock_check,
    observe,
    open_conversation,
    seen,
    signed_in_context,
    signed_in_page,
    wait_registered,
    wait_shown,
)


@dataclass
class Context:
    """What every scenario needs."""

    browser: Any
    base_url: str
    trials: int
    grace_s: float


class RatePacer:
    """Keeps one tab's status changes under the app's rate limit (so many per window).

    The app refuses a user's changes beyond `limit` per `window` seconds
    (`chatapp.services.limits.STATUS_CHANGES`), as it should a script's.
    """

    def __init__(self, limit: int, window: float, margin: float = 0.5) -> None:
        self.limit = limit
        self.window_s = window
        self._window = window + margin
        self._allowed = max(1, limit - 1)  # one spare, against timing differences
        self.times: list[float] = []

    @classmethod
    def for_presence_changes(cls) -> RatePacer:
        """The pacer for the app's limit on presence changes (none if the app has no limit)."""
        try:
            from chatapp.services.limits import STATUS_CHANGES
        except ImportError:
            return cls(limit=1_000_000, window=0.0, margin=0.0)
        return cls(limit=STATUS_CHANGES.amount, window=STATUS_CHANGES.seconds)

    def wait(self) -> None:
        """Wait until one more change stays under the limit (one spare), then count it."""
        now = time.monotonic()
        self.times = [t for t in self.times if t > now - self._window]
        if len(self.times) >= self._allowed:
            time.sleep(max(0.0, self.times[-self._allowed] + self._window - now))
        self.times.append(time.monotonic())


@contextlib.contextmanager
def watched_pair(ctx: Context, pair: Pair) -> Iterator[tuple[Any, Any]]:
    """A's and B's pages (A, B) on their conversation, B watching A's dot, which shows online."""
    url = pair.url(ctx.base_url)
    b_context, b = signed_in_page(ctx.browser, pair.b_token, url)
    try:
        a_context, a = signed_in_page(ctx.browser, pair.a_token, url)
        try:
            observe(b, pair.a_id)
            wait_shown(b, 0, "online", "A's first page")
            yield a, b
        finally:
            a_context.close()
    finally:
        b_context.close()


def away_toggle(ctx: Context, pair: Pair) -> dict:
    """A alternates Away / Automatic; B's screen shows each change."""
    with watched_pair(ctx, pair) as (a, b):
        clocks = clock_check(a, b)
        a.evaluate(OWN_STATUS_JS)
        samples, frames, own, trials = [], [], [], []
        pace = RatePacer.for_presence_changes()
        for i in range(ctx.trials):
            pace.wait()
            choice, expected = ("away", "away") if i % 2 == 0 else ("auto", "online")
            a.locator("#status-menu-trigger").click()
            item = a.locator(f"#status-{choice}")
            item.wait_for(state="visible", timeout=TIMEOUT_MS)
            a.wait_for_timeout(50)  # the menu's opening animation; the click must not race it
            index = len(seen(b))
            own_index = a.evaluate("() => window.__ownStatus.length")
            t0 = a.evaluate(CLICK_JS, f"#status-{choice}")
            if t0 is None:
                msg = f"trial {i}: the menu item #status-{choice} was not in the page"
                raise BenchError(msg)
            try:
                entry = wait_shown(b, index, expected, f"away toggle, trial {i} ({choice})")
            except BenchError as error:
                own_log = a.evaluate("(n) => window.__ownStatus.slice(n)", own_index)
                msg = f"{error}; A's own status line since the click: {own_log}"
                raise BenchError(msg) from error
            samples.append(entry["t"] - t0)
            if entry["frame"] is not None:
                frames.append(entry["frame"] - t0)
            a.wait_for_function("(n) => window.__ownStatus.length > n", arg=own_index, timeout=TIMEOUT_MS)
            own.append(a.evaluate("(n) => window.__ownStatus[n].t", own_index) - t0)
            trials.append({"choice": choice, "expected": expected, "observed": entry["status"]})
            item.wait_for(state="hidden", timeout=TIMEOUT_MS)
            a.wait_for_timeout(100)
        final = b.evaluate(CURRENT_JS)
    expected_final = trials[-1]["expected"] if trials else "online"
    return {
        "trials": ctx.trials,
        "samples_ms": samples,
        "next_frame_ms": frames,
        "own_status_ms": own,
        "away_ms": [s for s, t in zip(samples, trials, strict=True) if t["choice"] == "away"],
        "auto_ms": [s for s, t in zip(samples, trials, strict=True) if t["choice"] == "auto"],
        "per_trial": trials,
        "final_status": final,
        "expected_final_status": expected_final,
        "clocks": clocks,
        "rate_limit": {"limit": pace.limit, "window_s": pace.window_s},
    }


def tab_close(ctx: Context, pair: Pair) -> dict:
    """A's only tab on the conversation closes; B shows A offline once the grace is over."""
    url = pair.url(ctx.base_url)
    b_context, b = signed_in_page(ctx.browser, pair.b_token, url)
    a_context = signed_in_context(ctx.browser, pair.a_token)
    try:
        observe(b, pair.a_id)
        samples, frames, observed = [], [], []
        clocks = None
        for i in range(ctx.trials):
            index = len(seen(b))
            a = a_context.new_page()
            open_conversation(a, url)
            wait_shown(b, index, "online", f"tab close, trial {i}: A's tab opening")
            if clocks is None:
                clocks = clock_check(a, b)
            a.wait_for_timeout(200)
            index = len(seen(b))
            t0 = time.time() * 1000
            a.close()
            entry = wait_shown(
                b, index, "offline", f"tab close, trial {i}", timeout_ms=ctx.grace_s * 1000 + TIMEOUT_MS
            )
            samples.append(entry["t"] - t0)
            if entry["frame"] is not None:
                frames.append(entry["frame"] - t0)
            observed.append(entry["status"])
        final = b.evaluate(CURRENT_JS)
    finally:
        a_context.close()
        b_context.close()
    grace_ms = ctx.grace_s * 1000
    return {
        "trials": ctx.trials,
        "grace_s": ctx.grace_s,
        "samples_ms": samples,
        "minus_grace_ms": [s - grace_ms for s in samples],
        "next_frame_ms": frames,
        "observed": observed,
        "final_status": final,
        "clocks": clocks,
    }


def reloads(ctx: Context, pair: Pair) -> dict:
    """A reloads its tab N times; B records every blink (offline, then online again)."""
    with watched_pair(ctx, pair) as (a, b):
        start = len(seen(b))
        blinks, reload_ms, per_reload = [], [], []
        for _ in range(ctx.trials):
            index = len(seen(b))
            t0 = time.monotonic()
            a.reload()
            wait_registered(a)
            reload_ms.append((time.monotonic() - t0) * 1000)
            # Any blink of this reload has ended once B shows A online again.
            b.wait_for_function(f"() => ({CURRENT_JS})() === 'online'", timeout=TIMEOUT_MS)
            b.wait_for_timeout(100)
            entries = seen(b)[index:]
            mine = _blinks(entries)
            blinks.extend(mine)
            per_reload.append({"statuses": [e["status"] for e in entries], "blinks_ms": mine})
            a.wait_for_timeout(100)
        # Long enough for an offline held back by the grace to show, if it were coming.
        b.wait_for_timeout(int(ctx.grace_s * 1000) + 1000)
        after = seen(b)[start:]
        final = b.evaluate(CURRENT_JS)
    return {
        "trials": ctx.trials,
        "grace_s": ctx.grace_s,
        "reloads": len(per_reload),
        "reload_ms": reload_ms,
        "blink_ms": blinks,
        "reloads_that_blinked": sum(1 for r in per_reload if r["blinks_ms"]),
        "offline_shown": sum(1 for e in after if e["status"] == "offline"),
        "statuses_seen": [e["status"] for e in after],
        "per_reload": per_reload,
        "final_status": final,
    }


def _blinks(entries: list[dict]) -> list[float]:
    """The lengths of the offline spells in a record (offline until the next online)."""
    out, since = [], None
    for entry in entries:
        if entry["status"] == "offline" and since is None:
            since = entry["t"]
        elif entry["status"] == "online" and since is not None:
            out.append(entry["t"] - since)
            since = None
    return out
