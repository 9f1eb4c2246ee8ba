"""End to end: typing indicators in direct chats and groups, and message requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from chatapp import wire
from tests.e2e.chat_ui import open_conversation, page_for, seed
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


def test_typing_reaches_a_list_only_while_the_conversations_row_is_on_screen(browser, base_url):
    a_id, _ = create_user("tyfar", "Far Typist")
    b_id, b_name = create_user("tylong")
    cid = direct(a_id, b_name)  # the oldest of b's conversations: last in the list
    start = datetime.now(UTC) - timedelta(hours=1)
    seed(cid, [(a_id, "hi", start)])
    for i in range(20):
        other_id, _ = create_user(f"tyfill{i}")
        seed(direct(other_id, b_name), [(other_id, "hello", start + timedelta(minutes=i + 1))])
    b = page_for(browser, b_id, viewport={"width": 1200, "height": 600})
    frames: list[str] = []
    b.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    b.goto(f"{base_url}/")
    row = b.locator(f'[data-conversation-id="{cid}"]')
    expect(row).to_have_count(1)
    assert not row.is_visible() or row.bounding_box()["y"] > 600  # off screen, below
    watcher = page_for(browser, b_id)  # b's other tab, with the conversation open
    open_conversation(watcher, base_url, cid)
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    b.wait_for_timeout(500)  # the lists have reported their rows on screen

    box = a.locator("#composer")
    box.press_sequentially("are you th")
    expect(_indicator(watcher)).to_have_text("Far Typist is typing…")
    b.wait_for_timeout(300)
    key = f"{wire.keyed_prefix(wire.TYPING_MAP)}{cid}-{a_id}"
    assert not [f for f in frames if key in f]  # not a byte of it: the row is off screen

    row.scroll_into_view_if_needed()
    b.wait_for_timeout(600)  # the list reports the rows now on screen
    box.press_sequentially("ere?")
    expect(row.locator(".conv-typing")).to_have_text("Far Typist is typing…", timeout=5000)
    assert [f for f in frames if key in f]


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
