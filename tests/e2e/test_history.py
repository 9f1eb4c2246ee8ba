"""End to end: history without limit, dates, grouping, the unread divider, edits."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from chatapp.services.messages import PAGE_SIZE
from tests.e2e.chat_ui import (
    full_time,
    heads,
    items,
    long_day,
    open_conversation,
    page_for,
    row,
    seed,
    send,
    today_start,
)
from tests.support import create_user, direct

TOTAL = 250

# Scroll the list to the top and say where a message is then, in the window.
TO_TOP = """(box, id) => {
  box.scrollTop = 0;
  return box.querySelector(`.message[data-message-id="${id}"]`).getBoundingClientRect().top;
}"""


def _history(a_id: int, b_id: int, cid: int):
    """250 messages over four days: 100 ten days back, 50 three days back, 50 yesterday
    and 50 today; every fifth by A (the last too: nothing unread for A)."""
    midnight = today_start()
    now = midnight.now(midnight.tzinfo)
    times = (
        [midnight - timedelta(days=10) + timedelta(hours=9, minutes=i) for i in range(1, 101)]
        + [midnight - timedelta(days=3) + timedelta(hours=14, minutes=i) for i in range(1, 51)]
        + [midnight - timedelta(days=1) + timedelta(hours=20, minutes=i) for i in range(1, 51)]
        + [midnight + (now - midnight) * k / 51 for k in range(1, 51)]
    )
    plan = [(a_id if n % 5 == 0 else b_id, f"message {n}", when) for n, when in enumerate(times, 1)]
    return seed(cid, plan), times


def test_250_messages_load_a_page_at_a_time_on_scrolling_up_without_a_jump(browser, base_url):
    a_id, _ = create_user("hal")
    b_id, b_name = create_user("hil", display_name="Hilde Story")
    cid = direct(a_id, b_name)
    ids, times = _history(a_id, b_id, cid)
    a = page_for(browser, a_id, viewport={"width": 1000, "height": 700})
    open_conversation(a, base_url, cid)
    messages = a.locator(".message")
    expect(messages).to_have_count(PAGE_SIZE)  # the newest page only
    expect(messages.last).to_contain_text(f"message {TOTAL}")
    expect(a.locator(".loading-older")).to_be_visible()
    expect(a.locator(".conversation-start")).to_have_count(0)
    expect(a.locator(".day-separator")).to_have_text(["Today"])
    box = a.locator("#messages")
    # Opened at the bottom, on the newest message.
    expect(messages.last).to_be_in_viewport()

    for loaded in range(PAGE_SIZE, TOTAL, PAGE_SIZE):
        oldest = ids[TOTAL - loaded]
        top_before = box.evaluate(TO_TOP, oldest)
        expect(messages).to_have_count(loaded + PAGE_SIZE)
        top_after = a.locator(f'.message[data-message-id="{oldest}"]').bounding_box()["y"]
        # The message the reader was looking at stays where it was.
        assert abs(top_after - top_before) <= 3, (loaded, top_before, top_after)

    expect(a.locator(".conversation-start")).to_have_text("Beginning of the conversation")
    expect(a.locator(".loading-older")).to_have_count(0)
    shown = [t for t in items(a) if not t.startswith("[")]
    assert shown == [f"message {n}" for n in range(1, TOTAL + 1)]  # none missing, none twice
    ten_days, three_days = times[0], times[100]
    expect(a.locator(".day-separator")).to_have_text(
        [long_day(ten_days), f"{three_days:%A}", "Yesterday", "Today"]
    )
    # Hovering a message's time gives the full date and time, in the viewer's zone.
    first = a.locator(f'.message[data-message-id="{ids[0]}"]')
    expect(first.locator(".message-time")).to_have_text("9:01 AM")
    expect(_tooltip_of(a, first.locator(".message-time"))).to_have_text(full_time(ten_days))
    # A message under a header shows its time on hover, with the full date too.
    second = a.locator(f'.message[data-message-id="{ids[1]}"]')
    assert second.get_attribute("data-head") == "false"
    a.keyboard.press("Escape")  # the first tooltip goes
    a.locator("#composer").hover()
    second.hover()
    expect(_tooltip_of(a, second.locator(".side-time"))).to_have_text(full_time(times[1]))


def _tooltip_of(page, trigger):
    """Hover `trigger` and return the tooltip it opens (the one it is described by)."""
    trigger.hover()
    expect(trigger).to_have_attribute("aria-describedby", re.compile(r".+"))
    return page.locator(f'[role="tooltip"][id="{trigger.get_attribute("aria-describedby")}"]')


def test_grouping_own_messages_and_the_new_messages_divider(browser, base_url):
    a_id, _ = create_user("gil")
    b_id, b_name = create_user("gry", display_name="Greta Group")
    cid = direct(a_id, b_name)
    noon = today_start() - timedelta(hours=12)  # yesterday noon
    at = [noon + timedelta(minutes=m) for m in (0, 1, 2, 3, 4, 5, 12)]
    seed(
        cid,
        [
            (b_id, "b1", at[0]),
            (b_id, "b2", at[1]),
            (a_id, "a1", at[2]),
            (a_id, "a2", at[3]),  # A has read everything up to here
            (b_id, "b3", at[4]),
            (b_id, "b4", at[5]),
            (b_id, "b5", at[6]),  # seven minutes later: a header again
        ],
    )
    a = page_for(browser, a_id)
    a.goto(f"{base_url}/")
    expect(row(a, cid).locator(".unread-badge")).to_have_text("3")
    expect(row(a, cid).locator(".conv-preview")).to_have_text("b5")  # a direct chat: no name
    row(a, cid).click()
    expect(a.locator("#unread-divider")).to_have_text("New messages")
    assert items(a) == ["[Yesterday]", "b1", "b2", "a1", "a2", "[New messages]", "b3", "b4", "b5"]
    assert heads(a) == ["true", "false", "true", "false", "true", "false", "true"]
    mine = a.locator(".message.mine")
    expect(mine.locator(".message-body")).to_have_text(["a1", "a2"])
    heads_ = a.locator('.message[data-head="true"]')
    expect(heads_.nth(0)).to_contain_text("Greta Group")
    expect(heads_.nth(1)).to_contain_text("You")
    expect(heads_.nth(1)).not_to_contain_text("Greta Group")
    expect(row(a, cid).locator(".unread-badge")).to_have_count(0)  # read now

    send(a, "a3")
    expect(a.locator(".message-body").last).to_have_text("a3")
    assert items(a)[-2:] == ["[Today]", "a3"]
    expect(a.locator(".message").last).to_have_class(re.compile(r"\bmessage mine\b"))
    assert heads(a)[-1] == "true"
    expect(row(a, cid).locator(".conv-preview")).to_have_text("You: a3")


def test_edit_and_delete_show_live_to_the_other_member_and_links_are_safe(browser, base_url):
    a_id, _ = create_user("eve")
    b_id, b_name = create_user("eli", display_name="Eli Reader")
    cid = direct(a_id, b_name)
    b = page_for(browser, b_id)
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    open_conversation(b, base_url, cid)
    send(a, "original words")
    link_text = "see https://example.com/page?x=1, not javascript:alert(1) nor www.example.org"
    send(a, link_text)
    expect(b.locator(".message-body")).to_have_text(["original words", link_text])
    links = b.locator(".message-body a")
    expect(links).to_have_count(1)
    expect(links).to_have_text("https://example.com/page?x=1")
    expect(links).to_have_attribute("href", "https://example.com/page?x=1")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_attribute("target", "_blank")
    expect(b.get_by_role("button", name="Edit message")).to_have_count(0)  # not B's messages
    expect(b.get_by_role("button", name="Delete message")).to_have_count(0)

    first = a.locator(".message", has_text="original words")
    first.hover()
    first.get_by_role("button", name="Edit message").click()
    editor = a.locator("#edit-body")
    expect(editor).to_have_value("original words")
    editor.fill("better words")
    a.locator("#save-edit").click()
    expect(editor).to_have_count(0)
    for page in (a, b):
        expect(page.locator(".message-body").first).to_have_text("better words (edited)")
    expect(b.locator(".message .edited")).to_have_count(1)

    last = a.locator(".message", has_text="example.com")
    last.hover()
    last.get_by_role("button", name="Delete message").click()
    a.get_by_role("button", name="Keep it").click()  # changed their mind: nothing happens
    expect(a.locator("#confirm-delete")).to_have_count(0)
    expect(b.locator(".message-body")).to_have_count(2)
    last.hover()
    last.get_by_role("button", name="Delete message").click()
    a.locator("#confirm-delete").click()
    for page in (a, b):
        expect(page.locator(".message-body")).to_have_text(["better words (edited)"])
        expect(page.locator(".message-deleted")).to_have_text("Message deleted")
        expect(page.get_by_text("example.com")).to_have_count(0)
    expect(row(b, cid).locator(".conv-preview")).to_have_text("Message deleted")
    expect(row(a, cid).locator(".conv-preview")).to_have_text("You: Message deleted")
    b.reload()  # as stored, not only as pushed
    expect(b.locator(".message-body")).to_have_text(["better words (edited)"])
    expect(b.locator(".message-deleted")).to_have_count(1)
