"""End to end: a custom status set from the status menu shows beside the name wherever
the peer sees the user, as text, and goes when cleared."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.chat_ui import open_conversation, page_for
from tests.support import create_user, direct

HOSTILE = "<b>bold?</b> & <script>alert(1)</script>"


def test_a_custom_status_shows_to_the_peer_as_text_and_clears(browser, base_url):
    a_id, _ = create_user("csa", "Cass Status")
    b_id, b_name = create_user("csb", "Bea Peer")
    cid = direct(a_id, b_name)
    a = page_for(browser, a_id)
    a.goto(f"{base_url}/")
    b = page_for(browser, b_id)
    open_conversation(b, base_url, cid)

    a.locator("#status-menu-trigger").click()
    a.locator("#set-custom-status").click()
    a.locator("#custom-emoji").fill("🌴")
    a.locator("#custom-text").fill("x" * 101)
    a.get_by_role("button", name="Save").click()
    expect(a.locator("#custom-status-dialog")).to_contain_text("at most 100 characters")
    expect(a.locator("#custom-text")).to_have_value("x" * 101)  # kept whole, not cut
    a.locator("#custom-text").fill(HOSTILE)
    a.locator("#custom-clear-after").select_option("4h")
    a.get_by_role("button", name="Save").click()
    expect(a.locator("#custom-status-dialog")).to_have_count(0)
    expect(a.locator("#my-custom-status")).to_have_text(f"🌴 {HOSTILE}")

    header = b.locator("#header-custom-status")
    expect(header).to_have_text(f"🌴 {HOSTILE}")  # the markup is text, nothing ran
    row = b.locator(f'[data-conversation-id="{cid}"] .custom-status')
    expect(row).to_have_text("🌴")
    expect(row).to_have_attribute("title", HOSTILE)
    assert b.locator("script", has_text="alert(1)").count() == 0

    a.locator("#status-menu-trigger").click()
    a.locator("#set-custom-status").click()
    a.locator("#clear-custom-status").click()
    expect(header).to_have_count(0)
    expect(row).to_have_count(0)
    a.context.close()
    b.context.close()
