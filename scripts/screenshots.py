"""Take the README's screenshots of the real UI from a running app with the demo data.

Usage: start the app with `scripts/run` (it seeds the demo), then
`python scripts/screenshots.py [http://localhost:3000]`. Writes docs/screenshots/*.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from find_chromium import CHROMIUM_ARGS, find_chromium
from playwright.sync_api import expect, sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "chatapp-demo"


def log_in(browser, base: str, username: str, **context_args):
    """A new browser context logged in as a demo user, on the home page."""
    page = browser.new_context(**context_args).new_page()
    page.goto(f"{base}/login")
    page.get_by_placeholder("Username").fill(username)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#status-menu-trigger")).to_be_visible()
    return page


def main(base: str) -> None:
    """Take the screenshots."""
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        size = {"viewport": {"width": 1200, "height": 720}}
        alice = log_in(browser, base, "alice", **size)
        bob = log_in(browser, base, "bob", **size)
        carol = log_in(browser, base, "carol", **size)
        carol.close()  # carol is now offline, with a last-seen time
        alice.locator(".conv-title", has_text="Team").click()
        expect(alice.locator("#conversation-title")).to_have_text("Team")
        alice.locator("#composer").fill("Lunch at noon?")
        alice.locator("#composer").press("Enter")
        bob.locator(".conv-title", has_text="Alice Liddell").click()
        expect(bob.locator("#conversation-title")).to_have_text("Alice Liddell")
        alice.wait_for_timeout(2500)
        alice.screenshot(path=str(OUT / "group.png"))

        alice.locator("#status-menu-trigger").click()
        alice.locator("#status-away").click()
        expect(bob.locator("#header-presence")).to_have_text("Away")
        bob.screenshot(path=str(OUT / "direct-away.png"))
        alice.locator("#status-menu-trigger").click()
        alice.locator("#status-auto").click()
        expect(alice.locator("#status-auto")).to_be_hidden()
        expect(alice.locator("#my-status")).to_have_text("Online")

        # Read receipts and typing: bob writes to alice, who has their chat open.
        alice.locator(".conv-title", has_text="Bob").click()
        expect(alice.locator("#conversation-title")).to_contain_text("Bob")
        bob.locator("#composer").fill("Sure, give me five minutes.")
        bob.locator("#composer").press("Enter")
        expect(bob.locator(".seen-receipt")).to_have_text("Seen")
        alice.locator("#composer").press_sequentially("Great, I'll")
        expect(bob.locator("#typing-indicator")).to_contain_text("is typing")
        bob.screenshot(path=str(OUT / "direct-seen-typing.png"))
        alice.locator("#composer").fill("")
        alice.locator(".conv-title", has_text="Team").click()
        expect(alice.locator("#conversation-title")).to_have_text("Team")

        alice.locator('button[aria-label="Members"]').click()
        expect(alice.locator(".member-row").first).to_be_visible()
        alice.wait_for_timeout(500)
        alice.screenshot(path=str(OUT / "members.png"))
        alice.keyboard.press("Escape")

        phone = log_in(browser, base, "dave", viewport={"width": 390, "height": 760}, color_scheme="dark")
        phone.wait_for_timeout(1500)
        phone.screenshot(path=str(OUT / "phone-dark.png"))
        phone.locator(".conv-title", has_text="Carol Danvers").click()
        expect(phone.locator("#conversation-title")).to_have_text("Carol Danvers")
        expect(phone.locator("#request-banner")).to_be_visible()  # carol wrote first
        phone.screenshot(path=str(OUT / "phone-dark-request.png"))
        phone.locator("#composer").fill("See you tomorrow!")
        phone.locator("#composer").press("Enter")
        expect(phone.locator(".message-body").last).to_have_text("See you tomorrow!")
        phone.screenshot(path=str(OUT / "phone-dark-conversation.png"))
        browser.close()
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.png')))} to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3000")
