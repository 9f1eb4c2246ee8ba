"""End to end: a message is read only when its conversation is seen (a visible, active
tab), unread counts follow in the user's other tabs, and the sender sees "Seen"."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.chat_ui import context, open_conversation, page_for, send
from tests.support import create_user, direct_pair, group

# Pretend the tab was hidden or shown again (what switching tabs or minimising does).
_VISIBILITY = """(state) => {
  Object.defineProperty(document, "visibilityState", { get: () => state, configurable: true });
  Object.defineProperty(document, "hidden", { get: () => state === "hidden", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def _unread(page, cid: int):
    return page.locator(f'[data-conversation-id="{cid}"] .unread-badge')


def test_a_hidden_tab_reads_nothing_until_shown_and_the_sender_then_sees_seen(browser, base_url):
    a_id, b_id, cid = direct_pair("hida", "hidb")
    b_ctx = context(browser, b_id)
    b_list = b_ctx.new_page()  # b's other tab, on the list
    b_list.goto(f"{base_url}/")
    b_chat = b_ctx.new_page()
    open_conversation(b_chat, base_url, cid)
    b_chat.evaluate(_VISIBILITY, "hidden")
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)

    for text in ("first", "second", "third"):
        send(a, text)
    expect(b_chat.locator(".message-body").last).to_have_text("third")
    expect(_unread(b_list, cid)).to_have_text("3")  # on screen in a hidden tab: not read
    expect(a.locator(".seen-receipt")).to_have_count(0)

    b_chat.evaluate(_VISIBILITY, "visible")  # b looks
    expect(_unread(b_list, cid)).to_have_count(0)  # read in every tab at once
    expect(b_chat.locator("#unread-divider")).to_be_visible()  # where reading starts
    receipt = a.locator(".message.mine").last.locator(".seen-receipt")
    expect(receipt).to_have_text("Seen")
    expect(receipt).to_have_attribute("data-detail", re.compile(r"^Seen \w+day, "))
    b_ctx.close()


def test_an_idle_tab_reads_nothing_until_its_user_is_back(browser, base_url):
    a_id, b_id, cid = direct_pair("idla", "idlb")
    b_ctx = context(browser, b_id)
    b_ctx.add_init_script("window.chatappIdleMs = 1500;")
    b = b_ctx.new_page()
    open_conversation(b, base_url, cid)
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    b.wait_for_timeout(2500)  # no input: idle

    send(a, "are you at your desk?")
    expect(b.locator(".message-body").last).to_have_text("are you at your desk?")
    a.wait_for_timeout(700)
    expect(a.locator(".seen-receipt")).to_have_count(0)

    b.mouse.move(200, 200)
    b.mouse.move(240, 260)
    expect(a.locator(".message.mine").last.locator(".seen-receipt")).to_have_text("Seen")
    b_ctx.close()


def test_a_group_shows_seen_by_how_many_with_their_names(browser, base_url):
    a_id, _ = create_user("gsa", "Ann Sender")
    b_id, b_name = create_user("gsb", "Ben Reader")
    c_id, c_name = create_user("gsc", "Cat Reader")
    cid = group(a_id, "Seen group", [b_name, c_name])
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    send(a, "did everyone get this?")
    b = page_for(browser, b_id)
    open_conversation(b, base_url, cid)
    receipt = a.locator(".message.mine").last.locator(".seen-receipt")
    expect(receipt).to_have_text("Seen by 1")
    c = page_for(browser, c_id)
    open_conversation(c, base_url, cid)
    expect(receipt).to_have_text("Seen by 2")
    expect(receipt).to_have_attribute("data-detail", "Ben Reader, Cat Reader")
    for p in (a, b, c):
        p.context.close()
