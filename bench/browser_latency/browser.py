"""Driving the two browsers: signed-in pages, the observer of A's dot in B's page, clocks."""

from __future__ import annotations

import time

from bench.browser_latency import BenchError

TIMEOUT_MS = 15_000

# Installed in B's page: records every value A's dot takes, with the time the DOM changed
# and the time of the next animation frame (when the change is being painted).
OBSERVE_JS = """(uid) => {
  const now = () => performance.timeOrigin + performance.now();
  const seen = (window.__presenceSeen = []);
  let last;
  const read = () => {
    const dot = document.querySelector(`.presence-indicator[data-user-id="${uid}"]`);
    const status = dot ? dot.getAttribute("data-presence") : null;
    if (status !== last) {
      last = status;
      const entry = {status, t: now(), frame: null};
      seen.push(entry);
      requestAnimationFrame(() => { entry.frame = now(); });
    }
  };
  read();
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, attributes: true});
  return seen.length;
}"""

# B has shown `status` for A since entry `index` (exclusive) of its record.
SHOWN_SINCE_JS = "([i, status]) => window.__presenceSeen.slice(i).some((e) => e.status === status)"
CURRENT_JS = """() => { const s = window.__presenceSeen; return s.length ? s[s.length - 1].status : null; }"""

# In A's page: the time, then the click, with nothing in between.
CLICK_JS = """(selector) => {
  const item = document.querySelector(selector);
  if (!item) return null;
  const t0 = performance.timeOrigin + performance.now();
  item.click();
  return t0;
}"""

# Installed in A's page: records every text A's own status line ("Online", "Away (set by
# you)"...) takes. It first changes with the reply to A's own click: the event's round trip.
OWN_STATUS_JS = """() => {
  const now = () => performance.timeOrigin + performance.now();
  const seen = (window.__ownStatus = []);
  let last;
  const read = () => {
    const text = document.querySelector("#my-status")?.textContent ?? null;
    if (text !== last) {
      last = text;
      seen.push({text, t: now()});
    }
  };
  read();
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
  return seen.length;
}"""

CLOCKS_JS = "() => [Date.now(), performance.timeOrigin + performance.now()]"


def signed_in_context(browser, token: str):
    """A new browser context (like another browser) whose pages are signed in with `token`."""
    context = browser.new_context()
    context.add_init_script(f"window.localStorage.setItem('_auth_token', {token!r});")
    return context


def signed_in_page(browser, token: str, url: str):
    """A new browser context signed in with `token` (like another browser), open on `url`."""
    context = signed_in_context(browser, token)
    page = context.new_page()
    open_conversation(page, url)
    return context, page


def open_conversation(page, url: str) -> None:
    """Load a conversation page and wait until the tab is registered (its own status shows)."""
    page.goto(url)
    page.locator("#conversation-title").wait_for(state="visible", timeout=TIMEOUT_MS)
    wait_registered(page)


def wait_registered(page) -> None:
    """Wait until the page ran its on_load: it shows its own user online or away."""
    page.wait_for_function(
        """() => /^(Online|Away)/.test(document.querySelector("#my-status")?.textContent ?? "")""",
        timeout=TIMEOUT_MS,
    )


def observe(page, uid: int) -> None:
    """Start recording every value `uid`'s dot takes in `page`."""
    page.locator(f'.presence-indicator[data-user-id="{uid}"]').first.wait_for(
        state="attached", timeout=TIMEOUT_MS
    )
    page.evaluate(OBSERVE_JS, uid)


def seen(page) -> list[dict]:
    """What the observer recorded: [{status, t, frame}], oldest first."""
    return page.evaluate("() => window.__presenceSeen")


def wait_shown(page, index: int, status: str, what: str, timeout_ms: float = TIMEOUT_MS) -> dict:
    """Wait until the observer recorded `status` after entry `index`; returns that entry."""
    try:
        page.wait_for_function(SHOWN_SINCE_JS, arg=[index, status], timeout=timeout_ms)
    except Exception as error:
        msg = f"{what}: B never showed {status!r} (it shows {page.evaluate(CURRENT_JS)!r})"
        raise BenchError(msg) from error
    page.wait_for_timeout(20)  # let the next animation frame stamp the entry
    return next(e for e in seen(page)[index:] if e["status"] == status)


def clock_check(a_page, b_page, rounds: int = 20) -> dict[str, float]:
    """How the clocks compared agree: Python's time.time() vs the browser's Date.now(), and
    each page's timeOrigin + now() vs Date.now(). Each from the round with the shortest trip."""

    def probe(page) -> tuple[float, float, float]:
        best = None
        for _ in range(rounds):
            before = time.time() * 1000
            date_now, perf_now = page.evaluate(CLOCKS_JS)
            after = time.time() * 1000
            trip = after - before
            if best is None or trip < best[0]:
                best = (trip, date_now - (before + after) / 2, perf_now - date_now)
        return best

    a_trip, a_py, a_perf = probe(a_page)
    b_trip, b_py, b_perf = probe(b_page)
    return {
        "browser_minus_python_ms": (a_py + b_py) / 2,
        "python_roundtrip_ms": min(a_trip, b_trip),
        "a_perf_minus_date_ms": a_perf,
        "b_perf_minus_date_ms": b_perf,
        "a_minus_b_perf_ms": a_perf - b_perf,
    }
