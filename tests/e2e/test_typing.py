"""End to end: typing indicators in direct chats and groups, and message requests."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.chat_ui import open_conversation, page_for
from tests.support import create_user, direct, group


def _indicator(page):
    return page.locator("#typing-indicator")


def _row_typing(page, cid: int):
    return page.locator(f'[data-conversation-id="{cid}"] .conv-typing')


def test_typing_shows_at_the_peer_and_goes_after_a_pause_a_send_or_an_emptied_draft(browser, base_url):
    a_id, _ = create_user("tya", "Ada Typist")
    b_id, b_name = create_user("tyb", "Ben Watcher")
    cid = direct(a_id, b_name)
    b = page_for(browser, b_id)
    open_conversation(b, base_url, cid)
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    box = a.locator("#composer")

    box.press_sequentially("hello the")
    expect(_indicator(b)).to_have_text("Ada Typist is typing…")
    expect(_row_typing(b, cid)).to_have_text("Ada Typist is typing…")
    expect(_indicator(b)).to_have_text("", timeout=2500)  # a pause: gone within a second or so

    box.press_sequentially("re")
    expect(_indicator(b)).to_have_text("Ada Typist is typing…")
    box.press("Enter")
    expect(b.locator(".message-body").last).to_have_text("hello there")
    expect(_indicator(b)).to_have_text("", timeout=1000)  # at once on send

    box.press_sequentially("oops")
    expect(_indicator(b)).to_have_text("Ada Typist is typing…")
    box.press("Control+a")
    box.press("Backspace")
    expect(_indicator(b)).to_have_text("", timeout=1000)  # the draft was emptied
    expect(_indicator(a)).to_have_text("")  # never one's own
    a.context.close()
    b.context.close()


def test_a_typer_whose_tab_dies_is_gone_within_six_seconds(browser, base_url):
    a_id, _ = create_user("tydie", "Dee Gone")
    b_id, b_name = create_user("tywait")
    cid = direct(a_id, b_name)
    b = page_for(browser, b_id)
    open_conversation(b, base_url, cid)
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    # Keep typing, then the tab dies mid-word (no "stopped" is ever sent).
    a.locator("#composer").press_sequentially("I am writing a long")
    expect(_indicator(b)).to_have_text("Dee Gone is typing…")
    a.context.close()
    # The last "typing" was at most 3 s old when it died, and shows 6 s after it came.
    expect(_indicator(b)).to_have_text("", timeout=7000)
    b.context.close()


def test_several_people_typing_in_a_group(browser, base_url):
    a_id, _ = create_user("tg1", "Amy One")
    b_id, b_name = create_user("tg2", "Bob Two")
    c_id, c_name = create_user("tg3", "Cy Three")
    d_id, d_name = create_user("tg4", "Di Four")
    cid = group(a_id, "Typing group", [b_name, c_name, d_name])
    watcher = page_for(browser, d_id)
    open_conversation(watcher, base_url, cid)
    typers = []
    for uid in (a_id, b_id, c_id):
        p = page_for(browser, uid)
        open_conversation(p, base_url, cid)
        typers.append(p)

    typers[0].locator("#composer").press_sequentially("one")
    expect(_indicator(watcher)).to_have_text("Amy One is typing…")
    typers[1].locator("#composer").press_sequentially("two")
    typers[0].locator("#composer").press_sequentially("x")
    expect(_indicator(watcher)).to_have_text("Amy One and Bob Two are typing…")
    typers[2].locator("#composer").press_sequentially("three")
    typers[1].locator("#composer").press_sequentially("y")
    typers[0].locator("#composer").press_sequentially("z")
    expect(_indicator(watcher)).to_have_text("Several people are typing…")
    for p in [watcher, *typers]:
        p.context.close()


def test_a_message_request_is_marked_and_answered_with_accept(browser, base_url):
    user_id, user_name = create_user("rqto", "Rae Receiver")
    stranger_id, _ = create_user("rqfrom", "Sam Stranger")
    cid = direct(stranger_id, user_name, answered=False)
    stranger = page_for(browser, stranger_id)
    open_conversation(stranger, base_url, cid)
    stranger.locator("#composer").fill("hi, we haven't met")
    stranger.locator("#composer").press("Enter")

    user = page_for(browser, user_id)
    user.goto(f"{base_url}/")
    row = user.locator(f'[data-conversation-id="{cid}"]')
    expect(row.locator(".request-badge")).to_have_text("Request")
    row.click()
    expect(user.locator("#request-banner")).to_contain_text("Sam Stranger wants to chat with you")
    # The stranger sees nothing of the user's presence meanwhile.
    expect(stranger.locator("#header-presence")).not_to_contain_text("Online")
    user.locator("#accept-request").click()
    expect(user.locator("#request-banner")).to_have_count(0)
    expect(row.locator(".request-badge")).to_have_count(0)
    expect(stranger.locator("#header-presence")).to_contain_text("Online")
    user.context.close()
    stranger.context.close()
