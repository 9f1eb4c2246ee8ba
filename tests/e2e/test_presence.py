"""End to end: presence as one user's browser changes and another user's browser shows it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from datetime import UTC, datetime

import psutil
import pytest
import reflex as rx
from playwright.sync_api import expect

from chatapp import runtime, wire
from chatapp.settings import settings
from chatapp.states.app_state import AppState
from tests.conftest import CHROMIUM_ARGS
from tests.e2e.chat_ui import choose_status, row, seed
from tests.support import (
    create_user,
    direct_pair,
    on_backend,
    presence_key,
    signed_in_context,
    wait_until,
)

# Records every presence state the watcher's screen shows for the watched user, so a
# test can check what was never displayed (a reload must never show "offline").
RECORD_JS = """(uid) => {
  window.seen = [];
  const read = () => {
    const dot = document.querySelector(`.presence-indicator[data-user-id="${uid}"]`);
    if (dot) {
      const s = dot.getAttribute("data-presence");
      if (window.seen[window.seen.length - 1] !== s) window.seen.push(s);
    }
  };
  read();
  new MutationObserver(read).observe(document.body, {subtree: true, attributes: true, childList: true});
}"""

# Records every text the conversation header's presence line shows, from the first paint.
RECORD_HEADER_JS = """
window.headerLines = [];
new MutationObserver(() => {
  const line = document.querySelector("#header-presence");
  const text = line ? line.textContent : null;
  const lines = window.headerLines;
  if (text !== null && lines[lines.length - 1] !== text) lines.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def _pair(browser, base_url, *, with_b_id: bool = False):
    """A and B share a direct conversation; B watches it. Returns (a_id, b_page, url)."""
    a_id, b_id, cid = direct_pair("pa", "pb")
    url = f"{base_url}/c/{cid}"
    b = signed_in_context(browser, b_id).new_page()
    b.goto(url)
    expect(b.locator("#conversation-title")).to_be_visible()
    return (a_id, b, url, b_id) if with_b_id else (a_id, b, url)


def _dot(page, uid: int):
    """The presence dot of `uid` in the conversation header."""
    return page.locator(f'.presence-indicator[data-user-id="{uid}"]').first


def test_away_choice_reaches_the_peer_and_automatic_brings_the_user_back(browser, base_url):
    a_id, b, url = _pair(browser, base_url)
    a = signed_in_context(browser, a_id).new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    expect(_dot(b, a_id)).to_have_attribute("aria-label", "Online")

    choose_status(a, "away")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "away")
    expect(b.locator("#header-presence")).to_have_text("Away")
    expect(a.locator("#my-status")).to_have_text("Away (set by you)")

    choose_status(a, "auto")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    expect(b.locator("#header-presence")).to_have_text("Online")


def test_a_choice_made_in_one_tab_shows_in_the_users_other_tab(browser, base_url):
    """Two tabs of one user: what is chosen in one (a status, "Hide my last seen") is what
    the other's header and menu show, without a reload."""
    a_id, _, url = _pair(browser, base_url)
    context = signed_in_context(browser, a_id)
    first, second = context.new_page(), context.new_page()
    for page in (first, second):
        page.goto(url)
        expect(page.locator("#conversation-title")).to_be_visible()

    choose_status(first, "away")
    expect(second.locator("#my-status")).to_have_text("Away (set by you)")
    first.locator("#status-menu-trigger").click()
    first.locator("#hide-last-seen").click()
    expect(first.get_by_role("menu")).to_have_count(0)
    second.locator("#status-menu-trigger").click()
    expect(second.locator("#hide-last-seen svg")).to_be_visible()  # the check mark
    second.keyboard.press("Escape")
    context.close()


def test_a_tab_without_input_turns_away_and_the_first_input_brings_it_back(browser, base_url):
    a_id, b, url = _pair(browser, base_url)
    context = signed_in_context(browser, a_id)
    context.add_init_script("window.chatappIdleMs = 1500;")
    a = context.new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "away", timeout=10_000)
    a.mouse.move(50, 50)
    a.mouse.move(80, 90)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")


def test_closing_shows_offline_with_last_seen_and_reopening_shows_online(browser, base_url):
    a_id, b, url = _pair(browser, base_url)
    context = signed_in_context(browser, a_id)
    a = context.new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    closed_at = time.time() * 1000
    a.close()
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline")
    last_seen = b.locator("#header-presence .last-seen")
    expect(last_seen).to_contain_text("Last seen")
    expect(last_seen).to_contain_text("ago")
    seen_ms = int(last_seen.get_attribute("data-last-seen"))
    assert closed_at - 5_000 < seen_ms <= time.time() * 1000

    again = context.new_page()
    again.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    expect(b.locator("#header-presence")).to_have_text("Online")


def test_a_direct_chat_opened_from_its_row_never_shows_a_groups_line_in_its_header(browser, base_url):
    a_id, b_id, cid = direct_pair("hda", "hdb")
    seed(cid, [(a_id, "hello", datetime.now(UTC))])  # listed: a chat with a message
    a = signed_in_context(browser, a_id).new_page()
    a.goto(base_url)
    b = signed_in_context(browser, b_id).new_page()
    b.add_init_script(RECORD_HEADER_JS)
    b.goto(base_url)
    row(b, cid).click()
    expect(b.locator("#header-presence")).to_have_text("Online")
    shown = b.evaluate("window.headerLines")
    assert shown[-1] == "Online"
    assert not [line for line in shown if "members" in line or "no one" in line], shown


def test_a_user_with_two_tabs_stays_online_until_both_are_closed(browser, base_url):
    a_id, b, url = _pair(browser, base_url)
    context = signed_in_context(browser, a_id)
    first, second = context.new_page(), context.new_page()
    first.goto(url)
    second.goto(f"{url.rsplit('/c/', 1)[0]}/")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    b.evaluate(RECORD_JS, a_id)

    first.close()
    time.sleep(settings.presence_grace + 1.0)  # longer than the grace: offline would show by now
    assert b.evaluate("window.seen") == ["online"]

    second.close()
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline")


def test_reloading_never_shows_the_user_offline_to_the_peer(browser, base_url):
    a_id, b, url = _pair(browser, base_url)
    a = signed_in_context(browser, a_id).new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    b.evaluate(RECORD_JS, a_id)
    for _ in range(5):
        a.reload()
        expect(a.locator("#conversation-title")).to_be_visible()
    time.sleep(settings.presence_grace + 1.0)
    assert b.evaluate("window.seen") == ["online"]


def _chromium_processes(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _own_browser(playwright, browser_type_launch_args, tmp_path, a_id, url):
    """A's own Chromium process (so it can be frozen or killed), signed in, on `url`."""
    profile = tmp_path / "a-profile"
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=browser_type_launch_args["executable_path"],
        args=CHROMIUM_ARGS,
        headless=True,
    )
    from tests.support import auth_token_for

    context.add_init_script(f"window.localStorage.setItem('_auth_token', {auth_token_for(a_id)!r});")
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(url)
    expect(page.locator("#conversation-title")).to_be_visible()
    return context, _chromium_processes(str(profile))


@pytest.mark.parametrize("how", ["frozen", "killed"])
def test_a_frozen_or_killed_browser_goes_offline_at_the_peer_within_15_seconds(
    browser, base_url, playwright, browser_type_launch_args, tmp_path, how
):
    a_id, b, url = _pair(browser, base_url)
    _, processes = _own_browser(playwright, browser_type_launch_args, tmp_path, a_id, url)
    assert processes, "could not find A's Chromium processes"
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    sig = signal.SIGSTOP if how == "frozen" else signal.SIGKILL
    for proc in processes:
        os.kill(proc.pid, sig)
    try:
        expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline", timeout=15_000)
    finally:
        for proc in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)


async def _presence_map_of(token: str) -> dict:
    app = runtime.push().app
    root = await app.state_manager.get_state(rx.BaseStateToken(ident=token, cls=AppState))
    state = await root.get_state(AppState)
    return dict(state.presence_map)


def test_after_a_burst_of_changes_the_peer_holds_the_servers_truth(browser, base_url):
    a_id, b, url, b_id = _pair(browser, base_url, with_b_id=True)
    context = signed_in_context(browser, a_id)
    a = context.new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    extra = []
    for i in range(6):
        choose_status(a, "away" if i % 2 == 0 else "auto")
        tab = context.new_page()
        tab.goto(url)
        extra.append(tab)
    for tab in extra[:3]:
        tab.close()
    choose_status(a, "away")

    service = runtime.presence()
    b_token = b.evaluate("window.sessionStorage.getItem('token')")
    wait_until(lambda: on_backend(service.status_of(a_id)).value == "away", message="server sees A away")
    on_backend(service.drain())

    def statuses(entries: dict) -> dict:
        return {uid: (e["status"], e["last_seen_at"]) for uid, e in entries.items()}

    def agrees() -> bool:
        return statuses(on_backend(_presence_map_of(b_token))) == statuses(on_backend(service.snapshot(b_id)))

    wait_until(agrees, message="B's presence_map to equal the server's truth")
    assert on_backend(_presence_map_of(b_token))[str(a_id)]["status"] == "away"
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "away")


def test_a_user_sharing_no_conversation_receives_nothing_about_them_on_the_wire(browser, base_url):
    a_id, b, url = _pair(browser, base_url)
    c_id, _ = create_user("pc")
    frames: dict[str, list[str]] = {"b": [], "c": []}
    c_context = signed_in_context(browser, c_id)
    c = c_context.new_page()
    c.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames["c"].append(str(payload))))
    b.reload()
    b.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames["b"].append(str(payload))))
    c.goto(f"{base_url}/")
    expect(c.locator("#status-menu-trigger")).to_be_visible()
    b.goto(url)
    expect(b.locator("#conversation-title")).to_be_visible()

    context = signed_in_context(browser, a_id)
    a = context.new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    choose_status(a, "away")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "away")
    a.close()
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline")

    key = f'"{wire.keyed_entry(wire.PRESENCE_MAP, a_id)}"'
    assert any(key in f for f in frames["b"]), "control: B must have received A's presence"
    assert frames["c"], "control: C's socket must have carried frames"
    assert not any(key in f for f in frames["c"])
    assert not any(f'"user_id": {a_id},' in f or f'"user_id":{a_id},' in f for f in frames["c"])


def test_a_group_row_counts_the_other_members_online(browser, base_url):
    from tests.support import group

    ids = [create_user(p) for p in ("ga", "gb", "gc")]
    cid = group(ids[0][0], "Counted", [ids[1][1], ids[2][1]])
    watcher = signed_in_context(browser, ids[0][0]).new_page()
    watcher.goto(f"{base_url}/")
    row = watcher.locator(f'.conversation-row[data-conversation-id="{cid}"] .group-online')
    expect(row).to_have_text("0 of 2 others online")  # the watcher is not counted
    other = signed_in_context(browser, ids[1][0]).new_page()
    other.goto(f"{base_url}/")
    expect(row).to_have_text("1 of 2 others online")
    other.close()
    expect(row).to_have_text("0 of 2 others online")


def test_logging_out_shows_offline_at_once_and_stops_updates_to_that_tab(browser, base_url):
    a_id, b, url, b_id = _pair(browser, base_url, with_b_id=True)
    a = signed_in_context(browser, a_id).new_page()
    frames: list[str] = []
    a.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    expect(_dot(a, b_id)).to_have_attribute("data-presence", "online")
    b.evaluate(RECORD_JS, a_id)

    a.locator("#status-menu-trigger").click()
    clicked = time.monotonic()
    a.locator("#logout").click()
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline")
    # A logout skips the grace (which hides reloads): offline shows before it runs out.
    assert time.monotonic() - clicked < settings.presence_grace
    assert b.evaluate("window.seen") == ["online", "offline"]
    expect(a).to_have_url(f"{base_url}/login")

    mark = len(frames)
    choose_status(b, "away")
    b.wait_for_timeout(1000)
    assert not any(presence_key(b_id) in f for f in frames[mark:])


def test_appear_offline_do_not_disturb_and_hidden_last_seen_as_the_peer_sees_them(browser, base_url):
    a_id, b, url = _pair(browser, base_url)
    frames: list[str] = []
    b.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    b.reload()
    a = signed_in_context(browser, a_id).new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")

    choose_status(a, "dnd-1h")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "dnd")
    expect(b.locator("#header-presence")).to_have_text("Do not disturb")
    expect(a.locator("#my-status")).to_contain_text("Do not disturb (set by you) until")

    choose_status(a, "invisible")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline")
    expect(b.locator("#header-presence .last-seen")).to_contain_text("Last seen")
    expect(a.locator("#my-status")).to_have_text("Invisible: others see you offline")
    # A keeps using the app and still sees B; nothing of it reaches B.
    mark = len(frames)
    a.reload()
    expect(a.locator("#conversation-title")).to_be_visible()
    a.locator("#composer").fill("typing while invisible")
    b.wait_for_timeout(settings.presence_grace * 1000 + 500)
    assert not any(presence_key(a_id) in f for f in frames[mark:])

    choose_status(a, "auto")
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    a.locator("#status-menu-trigger").click()
    a.locator("#hide-last-seen").click()
    expect(a.locator("#hide-last-seen")).to_be_hidden()
    a.locator("#status-menu-trigger").click()
    expect(a.locator("#hide-last-seen svg")).to_be_visible()  # the check mark
    a.keyboard.press("Escape")
    a.close()
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline")
    expect(b.locator("#header-presence")).to_have_text("Offline")  # no "Last seen"


def test_an_expiring_login_signs_the_tab_out_and_ends_its_presence(browser, base_url):
    from datetime import timedelta

    import reflex as rx

    from chatapp.models import utcnow
    from chatapp.services import logins

    a_id, b, url = _pair(browser, base_url)
    context = browser.new_context()
    with rx.session() as session:
        _, token = logins.start(session, user_id=a_id, now=utcnow(), lifetime=timedelta(seconds=6))
    context.add_init_script(f"window.localStorage.setItem('_auth_token', {token!r});")
    a = context.new_page()
    a.goto(url)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "online")
    b.evaluate(RECORD_JS, a_id)
    expect(a).to_have_url(f"{base_url}/login", timeout=15_000)
    expect(_dot(b, a_id)).to_have_attribute("data-presence", "offline")
    assert b.evaluate("window.seen") == ["online", "offline"]
