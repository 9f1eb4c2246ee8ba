"""What a user who cannot see the screen (or its colours) gets: new messages and the
peer's presence announced through live regions, names that read well, landmarks, a skip
link, and presence shapes besides colours. Checked through the accessibility tree
(roles, accessible names) where Playwright exposes it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.chat_ui import (
    both_open,
    choose_status,
    open_conversation,
    page_for,
    row,
    seed,
    send,
    today_start,
)
from tests.support import create_user, direct, direct_pair, group

SETTLE_S = 2.0  # the announcer's "the list is open" (components/announcer.py), with margin


def test_a_new_message_is_announced_alone_and_history_and_own_messages_are_not(browser, base_url):
    a_id, b_id, cid = direct_pair("ana", "anb")
    seed(cid, [(b_id, "old news from before", today_start())])
    a, b = both_open(browser, base_url, a_id, b_id, cid)
    region = a.get_by_role("log")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(a.locator("#messages").get_by_text("old news from before")).to_be_visible()
    a.wait_for_timeout(SETTLE_S * 1000)
    expect(region).to_have_text("")  # opening the conversation announces nothing

    send(b, "fresh from b")
    expect(region).to_have_text(re.compile(r"^.+: fresh from b$"))
    announced = region.text_content()
    assert "old news" not in announced  # the new message only, not the list

    send(a, "my own words")
    expect(a.locator("#messages").get_by_text("my own words")).to_be_visible()
    a.wait_for_timeout(500)
    expect(region).to_have_text(announced)  # one's own message is not read back


def test_the_peers_presence_is_announced_on_a_change_of_status(browser, base_url):
    a_id, b_id, cid = direct_pair("apa", "apb")
    a, b = both_open(browser, base_url, a_id, b_id, cid)
    region = a.locator("#peer-presence-announcer")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_have_text(re.compile(r" is online$"))
    choose_status(b, "away")
    expect(region).to_have_text(re.compile(r" is away$"))
    choose_status(b, "dnd")
    expect(region).to_have_text(re.compile(r" is on do not disturb$"))
    b.context.close()
    expect(region).to_have_text(re.compile(r" is offline$"), timeout=15_000)
    # What it holds is the status's words: the ticking "last seen" never changes it.
    expect(a.locator("#header-presence")).to_contain_text("Last seen")
    expect(region).not_to_contain_text("Last seen")


def test_rows_read_as_name_status_unread_and_last_message_without_the_initials(browser, base_url):
    a_id, b_id, cid = direct_pair("ara", "arb")
    seed(cid, [(b_id, "see you at six", today_start())])
    b = page_for(browser, b_id)
    b.goto(f"{base_url}/")
    a = page_for(browser, a_id)
    a.goto(f"{base_url}/")
    title = row(a, cid).locator(".conv-title").text_content()
    expect(row(a, cid)).to_have_accessible_name(f"{title}, online, 1 unread, last message: see you at six")
    expect(a.get_by_role("navigation", name="Conversations")).to_be_visible()
    expect(a.get_by_role("main")).to_have_count(1)
    open_conversation(a, base_url, cid)
    expect(a.get_by_role("main")).to_have_accessible_name(title)
    initials = a.locator("#conversation-title").locator("xpath=ancestor::*[3]").locator(".rt-AvatarRoot")
    expect(initials).to_have_count(1)
    expect(a.locator('[aria-hidden="true"] .rt-AvatarRoot').first).to_be_attached()
    assert a.locator(".rt-AvatarRoot:not([aria-hidden=true] *)").count() == 0  # every one hidden


def test_the_skip_link_is_the_first_stop_of_the_tab_key_and_lands_in_the_message_box(browser, base_url):
    a_id, _, cid = direct_pair("asa", "asb")
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    # The first element the Tab key reaches from the top of the page, in document order.
    first = a.evaluate(
        """() => Array.from(document.querySelectorAll(
              'a[href], button:not([disabled]), input, textarea, select, [tabindex]:not([tabindex="-1"])'))
            .find((el) => el.tabIndex >= 0)?.textContent"""
    )
    assert first == "Skip to the message box"
    skip = a.get_by_role("link", name="Skip to the message box")
    skip.focus()
    expect(skip).to_be_visible()  # shown while focused
    a.keyboard.press("Enter")
    expect(a.locator("#composer")).to_be_focused()


def test_each_presence_status_has_its_own_shape_not_only_a_colour(browser, base_url):
    a_id, b_id, cid = direct_pair("aha", "ahb")
    a, b = both_open(browser, base_url, a_id, b_id, cid)
    dot = a.locator(f'.presence-indicator[data-user-id="{b_id}"]').first

    def shape() -> dict:
        return dot.evaluate(
            """(el) => {
                 const mark = getComputedStyle(el, "::after");
                 const size = [parseFloat(mark.width), parseFloat(mark.height)];
                 return {mark: mark.content !== "none" ? size : null,
                         ring: getComputedStyle(el).boxShadow.includes("inset")};
               }"""
        )

    expect(dot).to_have_attribute("data-presence", "online")
    online = shape()
    choose_status(b, "away")
    expect(dot).to_have_attribute("data-presence", "away")
    away = shape()
    choose_status(b, "dnd")
    expect(dot).to_have_attribute("data-presence", "dnd")
    dnd = shape()
    b.context.close()
    expect(dot).to_have_attribute("data-presence", "offline", timeout=15_000)
    offline = shape()
    assert online == {"mark": None, "ring": False}
    assert away["mark"] is not None and away["mark"][1] > away["mark"][0]  # an upright notch
    assert dnd["mark"] is not None and dnd["mark"][0] > dnd["mark"][1]  # a bar across
    assert offline == {"mark": None, "ring": True}


# Every non-empty text the typing line is given, as a screen reader would hear it.
HEARD = """(el) => {
  window.heard = [];
  new MutationObserver(() => el.textContent && window.heard.push(el.textContent))
    .observe(el, { childList: true, characterData: true, subtree: true });
}"""


def test_typing_is_announced_once_per_burst_not_on_every_refresh(browser, base_url):
    a_id, _ = create_user("tba", "Tia Burst")
    b_id, b_name = create_user("tbb")
    cid = direct(a_id, b_name)
    a, b = both_open(browser, base_url, a_id, b_id, cid)
    line = b.locator("#typing-indicator")
    expect(line).to_have_attribute("aria-live", "polite")
    line.evaluate(HEARD)
    # Eight seconds of steady typing: the typer's tab refreshes its "typing" twice.
    a.locator("#composer").press_sequentially("one steady burst of typing, longer than a refresh", delay=160)
    expect(line).to_have_text("Tia Burst is typing…")
    assert b.evaluate("window.heard") == ["Tia Burst is typing…"]
    expect(line).to_have_text("", timeout=3000)  # a pause ends the burst, silently
    a.locator("#composer").press_sequentially(" and a second one")
    expect(line).to_have_text("Tia Burst is typing…")
    assert b.evaluate("window.heard") == ["Tia Burst is typing…"] * 2


def test_the_page_title_says_which_conversation_is_open(browser, base_url):
    a_id, _ = create_user("tta")
    _, b_name = create_user("ttb", "Tess Title")
    cid = direct(a_id, b_name)
    gid = group(a_id, "Title club", [b_name])
    page = page_for(browser, a_id)
    page.goto(f"{base_url}/")
    expect(page).to_have_title("Conversations · chatapp")
    open_conversation(page, base_url, cid)
    expect(page).to_have_title("Tess Title · chatapp")
    row(page, gid).click()
    expect(page).to_have_title("Title club · chatapp")
    page.go_back()
    expect(page).to_have_title("Tess Title · chatapp")
