"""End to end: what gets a signed-in user's attention (components/attention.py): the
unread total in the title, the favicon badge, desktop notifications and their sound,
muting a conversation, Do not disturb.

The browser's `Notification` is replaced by a recorder (an init script) that keeps every
notification made in `window.__notes` and counts permission requests (and the sound's
beeps); the context grants the permission unless a test wants to ask for it. A test that
expects no notification for something also makes one that must come after it, so that it
fails if notifications stopped altogether.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.chat_ui import context, open_conversation, row, seed, send
from tests.support import create_user, direct, group, wait_until

# Replaces the Notification API before the app's scripts run. `permission` is the
# browser's (granted by the context, or not) until the app asks: then the user "allows".
RECORD_NOTIFICATIONS_JS = """
(() => {
  window.__notes = [];
  window.__permissionRequests = 0;
  window.__beeps = 0;
  const Real = window.Notification;
  class RecordedNotification {
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.tag = options.tag;
      this.closed = false;
      this.onclick = null;
      window.__notes.push(this);
    }
    close() { this.closed = true; }
    static get permission() { return window.__allowed ? "granted" : Real.permission; }
    static requestPermission() {
      window.__permissionRequests += 1;
      window.__allowed = true;
      return Promise.resolve("granted");
    }
  }
  window.Notification = RecordedNotification;
  // Counts the beeps of the notification sound.
  const oscillator = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.__beeps += 1;
    return oscillator.call(this);
  };
})();
"""

NOTES_JS = "() => window.__notes.map((n) => ({title: n.title, body: n.body, tag: n.tag, closed: n.closed}))"

# The favicon: its badge count, and whether a pixel inside the red dot (above its
# digits) is red, read back from the PNG data URL.
FAVICON_JS = """async () => {
  const link = document.querySelector('link[rel~="icon"]');
  const href = link?.getAttribute("href") ?? null;
  if (!href || !href.startsWith("data:image/png")) return {href, count: null, red: false};
  const img = new Image();
  img.src = href;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  const r = img.width * 0.3;
  const [red, green, blue] = g.getImageData(Math.round(img.width - r), Math.round(r * 0.3), 1, 1).data;
  return {href: "data", count: link.dataset.chatappBadge, red: red > 180 && green < 120 && blue < 120};
}"""


def watcher(browser, base_url: str, user_id: int, *, grant: bool = True):
    """A signed-in context of the user whose attention is sought, recording notifications
    (notification permission granted unless `grant` is False)."""
    ctx = context(browser, user_id)
    ctx.add_init_script(RECORD_NOTIFICATIONS_JS)
    if grant:
        ctx.grant_permissions(["notifications"], origin=base_url)
    return ctx


def home(ctx, base_url: str):
    """A new page of the context on the home page, its list loaded."""
    page = ctx.new_page()
    page.goto(f"{base_url}/")
    expect(page.locator("#status-menu-trigger")).to_be_visible()
    return page


def sender(browser, base_url: str, user_id: int, cid: int):
    """A page of a user who writes, with the conversation open."""
    page = context(browser, user_id).new_page()
    open_conversation(page, base_url, cid)
    return page


def favicon_badge(page, count: str) -> dict:
    """The favicon once its badge reads `count`. The badge is drawn over the site's icon
    once that image has loaded, a moment after the title shows the count."""
    page.wait_for_function(
        "(n) => document.querySelector('link[rel~=icon]')?.dataset.chatappBadge === n", arg=count
    )
    return page.evaluate(FAVICON_JS)


def seed_time() -> datetime:
    """A minute ago: a message stored before the page loads."""
    return datetime.now(UTC) - timedelta(minutes=1)


def notes(page) -> list[dict]:
    return page.evaluate(NOTES_JS)


def expect_notes(page, expected: list[tuple[str, str, int]]) -> None:
    """Exactly these notifications (title, body, conversation id) were made, in order."""
    want = [{"title": t, "body": b, "tag": f"chatapp-{cid}"} for t, b, cid in expected]
    page.wait_for_function(f"() => window.__notes.length >= {len(want)}")
    assert [{k: n[k] for k in ("title", "body", "tag")} for n in notes(page)] == want


def test_title_and_favicon_count_unread_messages_until_they_are_read(browser, base_url):
    a_id, a_name = create_user("tia")
    b_id, b_name = create_user("tib")
    cid = direct(a_id, b_name)
    seed(cid, [(a_id, "from before", seed_time())])  # read state at load: 1 unread
    b = home(watcher(browser, base_url, b_id), base_url)
    expect(row(b, cid).locator(".unread-badge")).to_have_text("1")
    expect(b).to_have_title("(1) Conversations · chatapp")
    assert favicon_badge(b, "1") == {"href": "data", "count": "1", "red": True}

    a = sender(browser, base_url, a_id, cid)
    send(a, "one more")
    expect(b).to_have_title("(2) Conversations · chatapp")
    assert favicon_badge(b, "2") == {"href": "data", "count": "2", "red": True}

    row(b, cid).click()  # read: back to the plain title and favicon
    expect(b.locator(".message-body").last).to_have_text("one more")
    expect(b).to_have_title(f"{a_name.title()} · chatapp")  # the conversation's, without a count
    expect(row(b, cid).locator(".unread-badge")).to_have_count(0)
    b.wait_for_function(
        "() => !document.querySelector('link[rel~=icon]')?.getAttribute('href')?.startsWith('data:')"
    )
    assert b.evaluate(FAVICON_JS)["count"] is None


def test_notification_for_a_conversation_not_open_and_its_click_opens_it(browser, base_url):
    a_id, a_name = create_user("nta")
    b_id, b_name = create_user("ntb")
    c_id, c_name = create_user("ntc")
    cid = direct(a_id, b_name)
    team = group(c_id, "Night shift", [b_name])
    seed(cid, [(a_id, "already there at load", seed_time())])
    b = home(watcher(browser, base_url, b_id), base_url)
    expect(row(b, cid).locator(".unread-badge")).to_have_text("1")

    a = sender(browser, base_url, a_id, cid)
    send(a, "are you there?")
    expect_notes(b, [(a_name.title(), "are you there?", cid)])  # not the one from before

    c = sender(browser, base_url, c_id, team)
    send(c, "shift starts now")
    expect_notes(
        b,
        [
            (a_name.title(), "are you there?", cid),
            (f"{c_name.title()} in Night shift", "shift starts now", team),
        ],
    )

    b.evaluate("() => window.__notes[0].onclick({preventDefault() {}})")
    expect(b).to_have_url(f"{base_url}/c/{cid}")
    expect(b.locator("#conversation-title")).to_have_text(a_name.title())
    expect(b.locator(".message-body").last).to_have_text("are you there?")
    assert notes(b)[0]["closed"] is True
    expect(b).to_have_title(f"(1) {a_name.title()} · chatapp")  # the group's message is still unread


def test_no_notification_for_the_conversation_open_in_a_visible_tab_and_one_per_browser(browser, base_url):
    a_id, a_name = create_user("ova")
    b_id, b_name = create_user("ovb")
    c_id, c_name = create_user("ovc")
    open_cid = direct(a_id, b_name)
    other_cid = direct(c_id, b_name)
    ctx = watcher(browser, base_url, b_id)
    reading = ctx.new_page()
    open_conversation(reading, base_url, open_cid)
    listing = home(ctx, base_url)  # another tab of the same browser, on the list
    assert reading.evaluate("document.visibilityState") == "visible"

    a = sender(browser, base_url, a_id, open_cid)
    send(a, "you are reading this")
    expect(reading.locator(".message-body").last).to_have_text("you are reading this")
    expect(row(listing, open_cid).locator(".conv-preview")).to_have_text("you are reading this")

    c = sender(browser, base_url, c_id, other_cid)
    send(c, "and this one is elsewhere")
    expect(row(listing, other_cid).locator(".unread-badge")).to_have_text("1")
    # One notification for the browser, from either tab; none for the open conversation.
    wait_until(lambda: notes(reading) + notes(listing), message="a notification")
    listing.wait_for_timeout(500)  # time for a second one, if the tabs did not agree
    made = notes(reading) + notes(listing)
    assert [(n["title"], n["body"], n["tag"]) for n in made] == [
        (c_name.title(), "and this one is elsewhere", f"chatapp-{other_cid}")
    ]
    expect(reading).to_have_title(f"(1) {a_name.title()} · chatapp")
    expect(listing).to_have_title("(1) Conversations · chatapp")


def test_no_notification_in_do_not_disturb(browser, base_url):
    a_id, a_name = create_user("dna")
    b_id, b_name = create_user("dnb")
    cid = direct(a_id, b_name)
    b = home(watcher(browser, base_url, b_id), base_url)
    b.locator("#status-menu-trigger").click()
    b.locator("#status-dnd-menu").click()
    b.locator("#status-dnd").click()
    expect(b.locator("#my-status")).to_contain_text("Do not disturb (set by you)")

    a = sender(browser, base_url, a_id, cid)
    send(a, "quiet please")
    expect(row(b, cid).locator(".unread-badge")).to_have_text("1")
    expect(b).to_have_title("(1) Conversations · chatapp")  # the count still shows

    b.locator("#status-menu-trigger").click()
    b.locator("#status-auto").click()
    expect(b.locator("#my-status")).not_to_contain_text("Do not disturb")
    send(a, "back to normal")
    expect(row(b, cid).locator(".unread-badge")).to_have_text("2")
    expect_notes(b, [(a_name.title(), "back to normal", cid)])  # only the second


def test_muted_conversation_never_notifies_and_does_not_count(browser, base_url):
    a_id, _ = create_user("mua")
    b_id, b_name = create_user("mub")
    c_id, c_name = create_user("muc")
    noisy = direct(a_id, b_name)
    quiet_ok = direct(c_id, b_name)
    seed(noisy, [(b_id, "hello", seed_time())])  # listed, nothing unread
    ctx = watcher(browser, base_url, b_id)
    b = ctx.new_page()
    open_conversation(b, base_url, noisy)
    mute = b.locator("#mute-button")
    expect(mute).to_have_attribute("aria-label", "Mute notifications")
    expect(row(b, noisy)).to_have_attribute("data-muted", "false")
    mute.click()
    expect(mute).to_have_attribute("aria-label", "Unmute")
    expect(row(b, noisy)).to_have_attribute("data-muted", "true")
    expect(row(b, noisy).locator(".muted-icon")).to_be_visible()

    b.goto(f"{base_url}/")  # a reload: the choice was kept
    expect(row(b, noisy)).to_have_attribute("data-muted", "true")
    a = sender(browser, base_url, a_id, noisy)
    send(a, "muted chatter")
    badge = row(b, noisy).locator(".unread-badge")
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("data-accent-color", "gray")
    expect(b).to_have_title("Conversations · chatapp")

    c = sender(browser, base_url, c_id, quiet_ok)
    send(c, "not muted")
    expect(row(b, quiet_ok).locator(".unread-badge")).not_to_have_attribute("data-accent-color", "gray")
    expect_notes(b, [(c_name.title(), "not muted", quiet_ok)])
    expect(b).to_have_title("(1) Conversations · chatapp")  # the muted one's message does not count
    expect(row(b, quiet_ok)).to_have_attribute("data-muted", "false")

    row(b, noisy).click()  # unmuting from the header again
    expect(b.locator("#mute-button")).to_have_attribute("aria-label", "Unmute")
    b.locator("#mute-button").click()
    expect(row(b, noisy)).to_have_attribute("data-muted", "false")
    expect(row(b, noisy).locator(".muted-icon")).to_have_count(0)


def test_permission_is_asked_only_from_the_menu_and_the_sound_is_a_choice(browser, base_url):
    a_id, a_name = create_user("pma")
    b_id, b_name = create_user("pmb")
    cid = direct(a_id, b_name)
    b = home(watcher(browser, base_url, b_id, grant=False), base_url)
    a = sender(browser, base_url, a_id, cid)
    send(a, "first")
    expect(row(b, cid).locator(".unread-badge")).to_have_text("1")
    b.locator("#status-menu-trigger").click()
    item = b.locator("#notifications")
    expect(item).to_have_text("Enable desktop notifications")
    # Nothing asked on load, nothing shown without permission, no sound by default.
    assert b.evaluate("[window.__permissionRequests, window.__notes.length, window.__beeps]") == [0, 0, 0]
    assert b.evaluate("localStorage.getItem('chatapp.sound')") is None

    b.locator("#notification-sound").click()  # on: it beeps once to say so
    expect(b.locator("#notification-sound")).to_be_hidden()
    assert b.evaluate("localStorage.getItem('chatapp.sound')") == "on"
    b.wait_for_function("() => window.__beeps === 1")
    send(a, "second")
    expect(row(b, cid).locator(".unread-badge")).to_have_text("2")
    b.wait_for_function("() => window.__beeps === 2")  # the sound plays without permission
    assert b.evaluate("[window.__permissionRequests, window.__notes.length]") == [0, 0]

    b.locator("#status-menu-trigger").click()
    expect(b.locator("#notification-sound svg")).to_have_count(1)  # the check mark
    item.click()
    expect(item).to_be_hidden()
    b.wait_for_function("() => window.__permissionRequests === 1")
    b.locator("#status-menu-trigger").click()
    expect(item).to_have_text("Desktop notifications on")
    b.locator("#notification-sound").click()  # sound off again
    assert b.evaluate("localStorage.getItem('chatapp.sound')") == "off"

    send(a, "third")
    expect_notes(b, [(a_name.title(), "third", cid)])
    assert b.evaluate("window.__beeps") == 2


def test_what_a_reconnect_brings_does_not_notify(browser, base_url):
    a_id, a_name = create_user("rca")
    b_id, b_name = create_user("rcb")
    cid = direct(a_id, b_name)
    ctx = watcher(browser, base_url, b_id)
    b = ctx.new_page()
    # B's websocket goes through the test, which can hold what the server sends and
    # then cut the connection (the page reconnects by itself and is sent a snapshot).
    link = {"hold": False, "routes": []}

    def route(ws) -> None:
        server = ws.connect_to_server()
        link["routes"].append((ws, server))
        server.on_message(lambda m: None if link["hold"] else ws.send(m))

    b.route_web_socket(re.compile(r".*/_event/.*"), route)
    b.goto(f"{base_url}/")
    expect(b.locator("#status-menu-trigger")).to_be_visible()

    a = sender(browser, base_url, a_id, cid)
    link["hold"] = True
    send(a, "sent while B was cut off")
    expect(a.locator(".message-body").last).to_have_text("sent while B was cut off")
    ws, server = link["routes"][-1]
    link["hold"] = False
    server.close()
    ws.close()
    expect(row(b, cid).locator(".unread-badge")).to_have_text("1")  # came with the snapshot
    expect(b).to_have_title("(1) Conversations · chatapp")
    assert len(link["routes"]) == 2

    send(a, "and after it")
    expect_notes(b, [(a_name.title(), "and after it", cid)])  # only the live one
