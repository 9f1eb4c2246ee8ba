"""The axe-core audit (WCAG 2.0, 2.1 and 2.2, levels A and AA, colour contrast included)
on the pages and states a user reaches, at desktop and phone widths, in the light and
dark themes. A violation fails the test with axe's own description of it.

Covered: log-in, sign-up (and their error), the home list (empty and with rows), an open
direct chat with messages, an open group with its members popover, the status menu, the
new-chat, new-group, custom status and password dialogs, the edit, delete and leave
dialogs, and a message request with its banner.
Announcements, names, landmarks and the title: test_announcements.py; the keyboard:
test_keyboard.py; locale, reduced motion and 200 % zoom: test_user_settings.py."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.chat_ui import LOCALE, open_conversation, page_for, seed, send, today_start
from tests.support import create_user, direct, direct_pair, group

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE = Axe()
THEMES = ["light", "dark"]
WIDTHS = {"desktop": {"width": 1200, "height": 800}, "phone": {"width": 390, "height": 800}}


def violations(page) -> list[str]:
    """axe's WCAG A/AA violations on the page as it is now, one line per rule (once every
    animation ended: a dialog fading in reads as low contrast)."""
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    options = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
    result = AXE.run(page, options=options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}: "
        + " ".join((v["nodes"][0].get("failureSummary") or "").split())
        for v in result.response["violations"]
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_the_log_in_and_sign_up_forms_pass_the_audit(browser, base_url, theme, width):
    page = browser.new_context(**LOCALE, viewport=WIDTHS[width], color_scheme=theme).new_page()
    page.goto(f"{base_url}/login")
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("h1")).to_have_text(["Log in"])  # one h1, saying what the page is for
    assert violations(page) == []
    page.locator("input[name=username]").fill("nobody-here")
    page.locator("input[name=password]").fill("wrong password")
    page.keyboard.press("Enter")
    expect(page.locator("#form-error")).to_be_visible()
    assert violations(page) == []
    page.goto(f"{base_url}/signup")
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("h1")).to_have_text(["Create an account"])
    assert violations(page) == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_the_list_and_a_direct_chat_pass_the_audit(browser, base_url, theme, width):
    loner, _ = create_user("axe")
    page = page_for(browser, loner, viewport=WIDTHS[width], color_scheme=theme)
    page.goto(f"{base_url}/")
    expect(page.get_by_text("No conversations yet")).to_be_visible()
    assert violations(page) == []

    a_id, b_id, cid = direct_pair("axa", "axb")
    start = today_start()
    seed(cid, [(b_id, "Hello there", start), (a_id, "Hi! https://example.com", start)])
    seed(cid, [(b_id, "How are you?", start)])
    page = page_for(browser, a_id, viewport=WIDTHS[width], color_scheme=theme)
    page.goto(f"{base_url}/")
    expect(page.locator(".conversation-row")).to_have_count(1)
    assert violations(page) == []
    open_conversation(page, base_url, cid)
    expect(page.locator("#messages").get_by_text("How are you?")).to_be_visible()
    assert violations(page) == []  # the selected row's title included, on desktop
    # Under the pointer too: the selected row and a link in a message.
    if width == "desktop":
        page.locator(".conversation-row").first.hover()
        assert violations(page) == []
    page.locator("#messages a").first.hover()
    assert violations(page) == []


@pytest.mark.parametrize("theme", THEMES)
def test_a_group_its_popover_menus_and_every_dialog_pass_the_audit(browser, base_url, theme):
    a_id, a_name = create_user("axg")
    _, b_name = create_user("axh")
    _, c_name = create_user("axi")
    cid = group(a_id, "Audit group", [a_name, b_name, c_name])
    page = page_for(browser, a_id, viewport=WIDTHS["desktop"], color_scheme=theme)
    open_conversation(page, base_url, cid)
    assert violations(page) == []
    page.locator("#members-button").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert violations(page) == []
    page.locator("#leave-group").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    assert violations(page) == []
    page.keyboard.press("Escape")
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    page.keyboard.press("Escape")
    page.locator("#status-menu-trigger").click()
    expect(page.get_by_role("menu")).to_be_visible()
    assert violations(page) == []
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Chat").click()
    expect(page.locator("#people-search")).to_be_visible()
    assert violations(page) == []
    page.keyboard.press("Escape")
    # The form dialogs: a new group, a custom status, a new password.
    for opened_by, field in (
        ([page.get_by_role("button", name="Group")], "input[name=title]"),
        ([page.locator("#status-menu-trigger"), page.locator("#set-custom-status")], "#custom-text"),
        ([page.locator("#status-menu-trigger"), page.locator("#change-password")], "input[name=current]"),
    ):
        expect(page.get_by_role("dialog")).to_have_count(0)
        for control in opened_by:
            control.click()
        expect(page.locator(field)).to_be_visible()
        assert violations(page) == []
        page.keyboard.press("Escape")


@pytest.mark.parametrize("theme", THEMES)
def test_the_edit_and_delete_dialogs_and_a_message_request_pass_the_audit(browser, base_url, theme):
    a_id, a_name = create_user("axr")
    stranger, _ = create_user("axs")
    page = page_for(browser, a_id, viewport=WIDTHS["desktop"], color_scheme=theme)
    request = direct(stranger, a_name, answered=False)
    seed(request, [(stranger, "hello, we have not met", today_start())])
    open_conversation(page, base_url, request)
    expect(page.locator("#request-banner")).to_be_visible()
    assert violations(page) == []

    page.locator("#accept-request").click()
    expect(page.locator("#request-banner")).to_have_count(0)
    send(page, "nice to meet you")
    mine = page.locator(".message.mine").last
    mine.hover()
    mine.get_by_role("button", name="Edit message").click()
    expect(page.locator("#edit-body")).to_be_visible()
    assert violations(page) == []
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    mine.hover()
    mine.get_by_role("button", name="Delete message").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    assert violations(page) == []
