"""Keyboard only: a user who never touches the mouse logs in, opens a conversation from
the list, sends, changes their status through the menu and closes it with Escape (focus
back on the menu's button), and logs out. Every step is a key press; the checks are on
what the page shows and where the focus is."""

from __future__ import annotations

import re

import reflex as rx
from playwright.sync_api import expect

from chatapp.models import User
from tests.e2e.chat_ui import LOCALE, page_for, row
from tests.support import PASSWORD, direct_pair


def _tab_until(page, locator, limit: int = 40) -> None:
    """Press Tab until `locator` has the focus (as a keyboard user moves through a page)."""
    for _ in range(limit):
        if locator.evaluate("(el) => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def _arrow_until(page, locator, limit: int = 30) -> None:
    """Press the down arrow until the menu item has the focus (menus are walked so)."""
    expect(locator).to_be_visible()
    for _ in range(limit):
        if locator.evaluate("(el) => el === document.activeElement"):
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"the arrows never reached {locator}")


def test_log_in_open_a_chat_send_change_status_and_log_out_with_the_keyboard_alone(browser, base_url):
    a_id, _, cid = direct_pair("kba", "kbb")
    with rx.session() as session:
        username = session.get(User, a_id).username
    page = browser.new_context(**LOCALE).new_page()
    page.goto(f"{base_url}/login")
    expect(page.locator("input[name=username]")).to_be_focused()  # the form starts there
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(row(page, cid)).to_be_visible()

    _tab_until(page, row(page, cid))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/c/{cid}$"))
    composer = page.locator("#composer")
    expect(composer).to_be_focused()
    page.keyboard.type("typed, never clicked")
    page.keyboard.press("Enter")
    expect(page.locator("#messages").get_by_text("typed, never clicked")).to_be_visible()
    expect(composer).to_have_value("")

    trigger = page.locator("#status-menu-trigger")
    _tab_until(page, trigger)
    page.keyboard.press("Enter")
    expect(page.get_by_role("menu")).to_be_visible()
    page.keyboard.press("Escape")  # closes, focus back where it was
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(trigger).to_be_focused()

    page.keyboard.press("Enter")
    _arrow_until(page, page.locator("#status-away"))
    page.keyboard.press("Enter")
    expect(page.locator("#my-status")).to_have_text("Away (set by you)")
    expect(trigger).to_be_focused()  # the chosen item closes the menu, focus back on its button

    page.keyboard.press("Enter")
    _arrow_until(page, page.locator("#logout"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_escape_closes_the_new_chat_dialog_and_the_members_popover_and_focus_returns(browser, base_url):
    a_id, _, cid = direct_pair("kea", "keb")
    page = page_for(browser, a_id)
    page.goto(f"{base_url}/c/{cid}")
    expect(page.locator("#composer")).to_be_focused()

    _opens_and_escapes(page, page.get_by_role("button", name="Chat"))
    _opens_and_escapes(page, page.locator("#members-button"))


def _opens_and_escapes(page, opener) -> None:
    """Tab to `opener`, open its dialog with Enter, close it with Escape: the focus is
    back on `opener`."""
    _tab_until(page, opener)
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(opener).to_be_focused()
