"""End to end: a login ends in every tab of it, and a password change ends the others."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.support import PASSWORD, create_user, direct, signed_in_context


def _menu(page, item: str) -> None:
    page.locator("#status-menu-trigger").click()
    page.locator(f"#{item}").click()


def test_logging_out_in_one_tab_sends_the_other_tab_of_that_browser_to_the_login(browser, base_url):
    a_id, _ = create_user("tabs")
    _, b_name = create_user("tabpeer")
    cid = direct(a_id, b_name)
    context = signed_in_context(browser, a_id)  # one browser: its tabs share the login
    one, two = context.new_page(), context.new_page()
    for page in (one, two):
        page.goto(f"{base_url}/c/{cid}")
        expect(page.locator("#conversation-title")).to_be_visible()
    other_browser = signed_in_context(browser, a_id).new_page()  # another login of A
    other_browser.goto(f"{base_url}/")
    expect(other_browser.locator("#status-menu-trigger")).to_be_visible()

    _menu(one, "logout")
    started = time.monotonic()
    expect(two).to_have_url(f"{base_url}/login")
    print(f"the other tab left for the login form {time.monotonic() - started:.2f} s after the click")
    expect(one).to_have_url(f"{base_url}/login")
    expect(two.locator(".message-body")).to_have_count(0)
    other_browser.reload()  # another browser's login is not this one: it stays
    expect(other_browser.locator("#status-menu-trigger")).to_be_visible()
    expect(other_browser).to_have_url(f"{base_url}/")


def test_changing_the_password_logs_out_the_other_browsers_and_keeps_this_one(browser, base_url):
    a_id, a_name = create_user("pwchange")
    here = signed_in_context(browser, a_id).new_page()
    elsewhere = signed_in_context(browser, a_id).new_page()
    for page in (here, elsewhere):
        page.goto(f"{base_url}/")
        expect(page.locator("#status-menu-trigger")).to_be_visible()

    _menu(here, "change-password")
    dialog = here.locator("#password-dialog")
    dialog.get_by_placeholder("Current password").fill("not my password")
    dialog.get_by_placeholder("New password (8+ characters)").fill("a new long secret")
    dialog.get_by_placeholder("Repeat the new password").fill("a new long secret")
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog.get_by_role("alert")).to_have_text("The current password is wrong.")
    dialog.get_by_placeholder("Current password").fill(PASSWORD)
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog).to_be_hidden()

    expect(elsewhere).to_have_url(f"{base_url}/login")
    here.reload()
    expect(here.locator("#status-menu-trigger")).to_contain_text(f"@{a_name}")
    elsewhere.get_by_placeholder("Username").fill(a_name)
    elsewhere.get_by_placeholder("Password").fill(PASSWORD)
    elsewhere.get_by_role("button", name="Log in").click()
    expect(elsewhere.locator("#form-error")).to_have_text("Wrong username or password.")
    elsewhere.get_by_placeholder("Password").fill("a new long secret")
    elsewhere.get_by_role("button", name="Log in").click()
    expect(elsewhere.locator("#status-menu-trigger")).to_contain_text(f"@{a_name}")
