"""End to end: the composer never loses or repeats text, however it is typed."""

from __future__ import annotations

import re
from datetime import timedelta

import reflex as rx
from playwright.sync_api import expect
from sqlmodel import select

from chatapp.models import Message
from tests.e2e.chat_ui import both_open, open_conversation, page_for, row, seed, send, today_start
from tests.support import create_user, direct, direct_pair


def _bodies(page):
    return page.locator(".message-body")


def test_fast_typing_double_enter_and_the_send_button_send_each_message_once(browser, base_url):
    a_id, b_id, cid = direct_pair("fay", "fin")
    a, b = both_open(browser, base_url, a_id, b_id, cid)
    box = a.locator("#composer")
    expect(box).to_be_focused()  # focus is in the composer as the conversation opens

    # Typed at full speed, no pause: the second message never holds the first's text.
    a.keyboard.type("first thought")
    a.keyboard.press("Enter")
    a.keyboard.type("second thought")
    a.keyboard.press("Enter")
    expect(box).to_have_value("")
    # Enter twice at once: the second finds the box empty, nothing is sent again.
    a.keyboard.type("double")
    a.keyboard.press("Enter")
    a.keyboard.press("Enter")
    expect(box).to_have_value("")
    # With the mouse: the button sends, the box empties, the focus stays in it.
    a.keyboard.type("by mouse")
    a.locator("#send-button").click()
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    # A last message, sent after the others: any repeat would be above it by now.
    a.keyboard.type("sentinel")
    a.keyboard.press("Enter")
    expected = ["first thought", "second thought", "double", "by mouse", "sentinel"]
    expect(_bodies(a)).to_have_text(expected)
    expect(_bodies(b)).to_have_text(expected)
    with rx.session() as session:
        stored = session.exec(select(Message.body).where(Message.conversation_id == cid)).all()
    assert sorted(stored) == sorted(expected)


def test_double_clicking_send_sends_once_and_the_typing_goes_on_in_the_box(browser, base_url):
    a_id, b_id, cid = direct_pair("dua", "dub")
    a, b = both_open(browser, base_url, a_id, b_id, cid)
    box = a.locator("#composer")
    a.keyboard.type("clicked twice")
    a.locator("#send-button").dblclick()
    expect(box).to_have_value("")
    for page in (a, b):
        expect(_bodies(page)).to_have_text(["clicked twice"])
    # As after one click, the next words go into the box.
    expect(box, "the focus must come back to the box after the second click").to_be_focused()
    a.keyboard.type("next words")
    a.keyboard.press("Enter")
    for page in (a, b):
        expect(_bodies(page)).to_have_text(["clicked twice", "next words"])


def test_shift_enter_starts_a_new_line_and_the_message_keeps_its_line_breaks(browser, base_url):
    a_id, b_id, cid = direct_pair("sal", "sid")
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    a.keyboard.type("line one")
    a.keyboard.press("Shift+Enter")
    a.keyboard.type("line two")
    a.keyboard.press("Shift+Enter")
    a.keyboard.type("line three")
    expect(a.locator("#composer")).to_have_value("line one\nline two\nline three")
    expect(a.locator(".message")).to_have_count(0)  # nothing sent yet
    a.keyboard.press("Enter")
    expect(_bodies(a)).to_have_count(1)
    expect(a.locator("#composer")).to_have_value("")
    b = page_for(browser, b_id)
    open_conversation(b, base_url, cid)
    for page in (a, b):
        body = _bodies(page).first
        assert body.evaluate("e => e.textContent") == "line one\nline two\nline three"
        assert body.inner_text() == "line one\nline two\nline three"  # shown on three lines


def test_drafts_are_kept_per_conversation_across_switching_and_reload(browser, base_url):
    a_id, _ = create_user("dot")
    b_id, b_name = create_user("dan")
    c_id, c_name = create_user("dee")
    first, second = direct(a_id, b_name), direct(a_id, c_name)
    when = today_start() - timedelta(hours=3)
    seed(first, [(b_id, "hello from b", when)])
    seed(second, [(c_id, "hello from c", when)])
    a = page_for(browser, a_id)
    open_conversation(a, base_url, first)
    box = a.locator("#composer")
    a.keyboard.type("draft for b")

    row(a, second).click()  # switching within the page
    expect(a).to_have_url(f"{base_url}/c/{second}")
    expect(a.locator(".message-body")).to_have_text(["hello from c"])
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    a.keyboard.type("draft for c")
    row(a, first).click()
    expect(a).to_have_url(f"{base_url}/c/{first}")
    expect(box).to_have_value("draft for b")
    expect(box).to_be_focused()

    a.reload()
    expect(a.locator("#conversation-title")).to_be_visible()
    expect(box).to_have_value("draft for b")
    expect(box).to_be_focused()
    row(a, second).click()
    expect(box).to_have_value("draft for c")
    box.press("Enter")  # sent: no longer a draft
    expect(a.locator(".message-body").last).to_have_text("draft for c")
    a.reload()
    expect(a.locator(".message-body").last).to_have_text("draft for c")
    expect(box).to_have_value("")
    row(a, first).click()
    expect(box).to_have_value("draft for b")


def test_a_refused_message_stays_in_the_box_and_its_error_goes_when_typing(browser, base_url):
    a_id, _ = create_user("rae")
    _, b_name = create_user("rob")
    cid = direct(a_id, b_name)
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    box = a.locator("#composer")
    too_long = "z" * 4001
    box.fill(too_long)
    box.press("Enter")
    error = a.locator("#chat-error")
    expect(error).to_contain_text("at most 4,000 characters")
    expect(error).to_have_attribute("role", "alert")
    expect(box).to_have_value(too_long)  # the text came back into the box
    expect(a.locator(".message")).to_have_count(0)
    box.press("Backspace")  # typing: the error goes, the text stays
    expect(error).to_have_count(0)
    expect(box).to_have_value("z" * 4000)
    box.press("Enter")  # at the limit: sent
    expect(_bodies(a)).to_have_text(["z" * 4000])
    expect(box).to_have_value("")


OUTBOX = "JSON.parse(sessionStorage.getItem('chatapp.outbox') || '{}')"


def test_a_message_sent_just_before_a_reload_arrives_exactly_once(browser, base_url):
    a_id, b_id, cid = direct_pair("ora", "oli")
    a, b = both_open(browser, base_url, a_id, b_id, cid)
    a.locator("#composer").fill("said while leaving")
    # Enter and the reload in one task: the tab goes before it could hear back.
    with a.expect_navigation():
        a.evaluate("() => { window.chatappComposer.submit(); location.reload(); }")
    expect(a.locator("#conversation-title")).to_be_visible()
    for page in (a, b):
        expect(_bodies(page)).to_have_text(["said while leaving"])
    expect(a.locator("#composer")).to_have_value("")
    a.wait_for_function(f"Object.keys({OUTBOX}).length === 0")

    # The confirmation lost: the outbox still holds the sent message's key. Sent again
    # on reload, the server knows the key and stores nothing new.
    with rx.session() as session:
        key = session.exec(select(Message.client_key).where(Message.conversation_id == cid)).one()
    assert key and re.fullmatch(r"[0-9a-f]{32}", key)
    a.evaluate(
        "([key, cid]) => sessionStorage.setItem('chatapp.outbox',"
        " JSON.stringify({[key]: {cid, body: 'said while leaving'}}))",
        [key, cid],
    )
    a.reload()
    a.wait_for_function(f"Object.keys({OUTBOX}).length === 0")
    send(a, "after the retry")
    for page in (a, b):
        expect(_bodies(page)).to_have_text(["said while leaving", "after the retry"])


def test_phone_width_list_conversation_send_and_back(browser, base_url):
    a_id, _ = create_user("pip")
    b_id, b_name = create_user("pam", display_name="Pam Phone")
    cid = direct(a_id, b_name)
    seed(cid, [(b_id, "are you there?", today_start())])
    a = page_for(browser, a_id, viewport={"width": 390, "height": 800}, has_touch=True)
    a.goto(f"{base_url}/")
    expect(row(a, cid)).to_be_visible()
    expect(row(a, cid).locator(".conv-preview")).to_have_text("are you there?")
    row(a, cid).click()
    expect(a).to_have_url(f"{base_url}/c/{cid}")
    expect(a.locator("#conversation-title")).to_have_text("Pam Phone")
    expect(a.locator("#sidebar")).to_be_hidden()  # the conversation takes the screen
    a.locator("#composer").fill("on my phone")
    a.locator("#send-button").click()
    expect(_bodies(a)).to_have_text(["are you there?", "on my phone"])
    expect(a.locator("#composer")).to_have_value("")
    assert a.evaluate("document.documentElement.scrollWidth <= 390")
    a.get_by_role("button", name="Back to conversations").click()
    expect(a).to_have_url(f"{base_url}/")
    expect(row(a, cid).locator(".conv-preview")).to_have_text("You: on my phone")
    expect(row(a, cid).locator(".unread-badge")).to_have_count(0)


def _hold_server_messages(page) -> dict:
    """Route the page's websocket through the test: while `held["on"]`, what the server
    sends waits in `held["queue"]` (a slow network); `_release(held)` delivers it."""
    held = {"on": False, "queue": [], "ws": None}

    def route(ws) -> None:
        server = ws.connect_to_server()
        held["ws"] = ws
        server.on_message(lambda m: held["queue"].append(m) if held["on"] else ws.send(m))

    page.route_web_socket(re.compile(r".*/_event/.*"), route)
    return held


def _release(held: dict) -> None:
    while held["queue"]:
        held["ws"].send(held["queue"].pop(0))
    held["on"] = False
    while held["queue"]:
        held["ws"].send(held["queue"].pop(0))


def _type_while_loading(page, held: dict, to_row, text: str) -> str:
    """Open a conversation from the list on a slow network and type at once into the box;
    returns what the box then holds (the box may also wait, taking nothing yet)."""
    held["on"] = True  # the server's answers now take a while
    to_row.click()
    page.locator("#composer").click()
    page.keyboard.type(text)
    typed = page.locator("#composer").input_value()
    assert typed in ("", text)
    _release(held)
    return typed


def test_text_typed_while_a_conversation_loads_is_kept(browser, base_url):
    a_id, _ = create_user("lou")
    b_id, b_name = create_user("lia", display_name="Lia Late")
    c_id, c_name = create_user("lex", display_name="Lex Later")
    first, second = direct(a_id, b_name), direct(a_id, c_name)
    seed(first, [(b_id, "write back soon", today_start())])
    seed(second, [(c_id, "and to me", today_start())])
    a = page_for(browser, a_id)
    held = _hold_server_messages(a)
    a.goto(f"{base_url}/")
    expect(row(a, first)).to_be_visible()
    box = a.locator("#composer")

    # From the list into a conversation.
    typed = _type_while_loading(a, held, row(a, first), "typed while it loads")
    expect(a.locator("#conversation-title")).to_have_text("Lia Late")
    expect(a.locator(".message-body")).to_have_text(["write back soon"])
    expect(box).to_have_value(typed)
    box.fill("")

    # From one conversation to another: what is typed stays where it was typed.
    typed = _type_while_loading(a, held, row(a, second), "meant for Lex")
    expect(a.locator("#conversation-title")).to_have_text("Lex Later")
    expect(a.locator(".message-body")).to_have_text(["and to me"])
    expect(box).to_have_value(typed)
    row(a, first).click()
    expect(a.locator("#conversation-title")).to_have_text("Lia Late")
    expect(box).to_have_value("")
