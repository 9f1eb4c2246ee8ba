"""End to end: accounts and live chat in real Chromium contexts against the real app."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from chatapp.services.login_throttle import login_throttle
from tests.support import PASSWORD, create_user, direct, group, on_backend, signed_in_context, unique_name


def _sign_up(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/signup")
    page.get_by_placeholder("Username (a-z, 0-9, _)").fill(username)
    page.get_by_placeholder("Display name").fill(username.title())
    page.get_by_placeholder("Password (8+ characters)").fill(password)
    page.get_by_placeholder("Repeat password").fill(password)
    page.get_by_role("button", name="Sign up").click()


def _log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_placeholder("Username").fill(username)
    page.get_by_placeholder("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _send(page, text: str) -> None:
    page.locator("#composer").fill(text)
    page.locator("#composer").press("Enter")


def test_sign_up_log_out_and_log_in_with_errors_for_bad_input(browser, base_url):
    page = browser.new_context().new_page()
    name = unique_name("sue")
    _sign_up(page, base_url, name)
    expect(page).to_have_url(f"{base_url}/")
    expect(page.locator("#status-menu-trigger")).to_contain_text(f"@{name}")

    page.locator("#status-menu-trigger").click()
    page.locator("#logout").click()
    expect(page).to_have_url(f"{base_url}/login")

    _sign_up(page, base_url, name.upper())  # usernames are case-insensitive
    expect(page.locator("#form-error")).to_contain_text("is taken")

    _log_in(page, base_url, name, "wrong password!")
    expect(page.locator("#form-error")).to_have_text("Wrong username or password.")
    _log_in(page, base_url, name, PASSWORD)
    expect(page).to_have_url(f"{base_url}/")


def test_logged_out_visit_redirects_to_login(browser, base_url):
    page = browser.new_context().new_page()
    page.goto(f"{base_url}/c/1")
    expect(page).to_have_url(f"{base_url}/login")


def test_direct_message_appears_live_and_moves_the_conversation_up(browser, base_url):
    a_id, a_name = create_user("ann")
    b_id, b_name = create_user("ben")
    _, c_name = create_user("cat")
    older = group(b_id, "Older group", [c_name])
    a = signed_in_context(browser, a_id).new_page()
    b = signed_in_context(browser, b_id).new_page()
    b.goto(f"{base_url}/")
    expect(b.locator(".conversation-row").first).to_contain_text("Older group")

    a.goto(f"{base_url}/")
    a.get_by_role("button", name="Chat").click()
    a.locator("#people-search").fill(b_name)  # found by username too
    a.locator(".person-result").filter(has_text=f"@{b_name}").click()
    expect(a).to_have_url(re.compile(rf"{base_url}/c/\d+"))
    expect(a.locator("#conversation-title")).to_have_text(b_name.title())
    _send(a, "Hello Ben, this is live")
    expect(a.locator(".message-body").last).to_have_text("Hello Ben, this is live")

    # B never reloads: the new conversation arrives on top, with its unread count.
    first = b.locator(".conversation-row").first
    expect(first).to_contain_text(a_name.title())
    expect(first.locator(".unread-badge")).to_have_text("1")
    expect(first.locator(".conv-preview")).to_have_text("Hello Ben, this is live")
    first.click()
    expect(b.locator(".message-body").last).to_have_text("Hello Ben, this is live")
    _send(b, "Hi Ann!")
    expect(a.locator(".message-body").last).to_have_text("Hi Ann!")
    assert older  # the group stays in B's list, below
    expect(b.locator(".conversation-row").nth(1)).to_contain_text("Older group")


def test_group_message_reaches_all_three_members(browser, base_url):
    ids = [create_user(p) for p in ("gia", "gus", "gwen")]
    cid = group(ids[0][0], "Trio", [ids[1][1], ids[2][1]])
    pages = [signed_in_context(browser, uid).new_page() for uid, _ in ids]
    for page in pages:
        page.goto(f"{base_url}/c/{cid}")
        expect(page.locator("#conversation-title")).to_have_text("Trio")
    _send(pages[1], "Message for the trio")
    for page in pages:
        expect(page.locator(".message-body").last).to_have_text("Message for the trio")


def test_non_member_opening_a_conversation_url_sees_an_error_not_the_messages(browser, base_url):
    a_id, _ = create_user("ida")
    _, b_name = create_user("ivo")
    x_id, _ = create_user("xen")
    cid = direct(a_id, b_name)
    owner = signed_in_context(browser, a_id).new_page()
    owner.goto(f"{base_url}/c/{cid}")
    _send(owner, "private words")
    expect(owner.locator(".message-body").last).to_have_text("private words")

    intruder = signed_in_context(browser, x_id).new_page()
    intruder.goto(f"{base_url}/c/{cid}")
    expect(intruder.locator("#chat-error")).to_contain_text("not a member")
    expect(intruder.get_by_text("private words")).to_have_count(0)
    intruder.goto(f"{base_url}/c/999999")
    expect(intruder.locator("#chat-error")).to_contain_text("not a member")


def test_empty_and_oversized_messages_are_refused_and_the_draft_is_kept(browser, base_url):
    a_id, _ = create_user("ola")
    _, b_name = create_user("oto")
    cid = direct(a_id, b_name)
    page = signed_in_context(browser, a_id).new_page()
    page.goto(f"{base_url}/c/{cid}")
    expect(page.locator("#conversation-title")).to_be_visible()
    box = page.locator("#composer")
    _send(page, "   ")  # nothing to send: nothing is, and the box keeps what it has
    expect(box).to_have_value("   ")
    too_long = "x" * 4001
    box.fill(too_long)
    box.press("Enter")
    expect(page.locator("#chat-error")).to_contain_text("at most 4,000 characters")
    expect(box).to_have_value(too_long)
    expect(page.locator(".message")).to_have_count(0)
    _send(page, "fine now")
    expect(page.locator(".message-body")).to_have_text(["fine now"])
    expect(page.locator("#chat-error")).to_have_count(0)
    expect(box).to_have_value("")
    whole = "   " + "y" * 4000  # at the limit once the spaces are trimmed: stored whole
    _send(page, whole)
    expect(page.locator(".message-body").last).to_have_text("y" * 4000)
    expect(page.locator(".message-body")).to_have_count(2)
    expect(page.locator("#chat-error")).to_have_count(0)


def test_failed_logins_slow_down_that_username_from_that_address_and_no_one_else(browser, base_url):
    _, name = create_user("brute")
    _, other = create_user("bystander")
    page = browser.new_context().new_page()
    for _ in range(3):  # the first failures are free
        _log_in(page, base_url, name, "not the password")
        expect(page.locator("#form-error")).to_have_text("Wrong username or password.")
    for _ in range(5):  # more, as a script sends them: each doubles the wait (1, 2, 4 … s)
        on_backend(login_throttle.failed(name, "127.0.0.1"))
    _log_in(page, base_url, name, PASSWORD)  # even the right password waits
    expect(page.locator("#form-error")).to_contain_text("Too many failed attempts. Try again in")
    _log_in(page, base_url, other, PASSWORD)  # another account from the same address
    expect(page).to_have_url(f"{base_url}/")


HOSTILE = [
    '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">',
    "**bold** [click](javascript:window.pwned=3) `code` # heading",
    "\u202egnp.exe and some text after the override",
    "W" * 3000,
]


def test_hostile_messages_and_names_render_as_plain_text_without_breaking_the_layout(browser, base_url):
    hostile_name = '<b onmouseover="x">Mallory</b> \u202eevil'
    a_id, _ = create_user("hos", display_name=hostile_name)
    b_id, b_name = create_user("vic")
    cid = direct(a_id, b_name)
    pages = []
    for uid in (a_id, b_id):
        page = signed_in_context(browser, uid).new_page()
        page.set_viewport_size({"width": 800, "height": 700})
        page.goto(f"{base_url}/c/{cid}")
        expect(page.locator("#conversation-title")).to_be_visible()
        pages.append(page)
    mallory, victim = pages
    for text in HOSTILE:
        _send(mallory, text)
    for page in pages:
        expect(page.locator(".message-body")).to_have_text(HOSTILE)
        assert page.evaluate("window.pwned") is None
        assert (
            page.locator(".message-body img, .message-body script, .message-body a, .message-body b").count()
            == 0
        )
        # Sent within seconds by one author: one header, on the first message.
        assert page.locator(".message").evaluate_all("els => els.map((e) => e.dataset.head)") == [
            "true",
            "false",
            "false",
            "false",
        ]
    # The name, as Mallory's peer sees it above her messages and in the header and list.
    author = victim.locator('.message[data-head="true"]').first.get_by_text("Mallory")
    expect(author).to_have_text(hostile_name)
    expect(victim.locator("#conversation-title")).to_have_text(hostile_name)
    expect(victim.locator(".conversation-row .conv-title")).to_have_text(hostile_name)
    assert victim.locator("#sidebar b, #conversation-title b, .message b").count() == 0
    for page in pages:
        # The long word wraps inside the column, the page never scrolls sideways, and a
        # right-to-left override stays inside its own message.
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        box = page.locator(".message-body").last.bounding_box()
        assert box["x"] + box["width"] <= 800
        assert (
            page.locator(".message-body").nth(2).evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
        )
