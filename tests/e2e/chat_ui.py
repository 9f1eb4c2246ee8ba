"""Helpers for the conversation e2e tests: pinned-locale browser contexts, seeding
messages with chosen times, reading what the conversation shows."""

from __future__ import annotations

from datetime import UTC, datetime

import reflex as rx
from playwright.sync_api import expect

from chatapp.services import messages as msgs
from tests.support import auth_token_for

# Every context reads dates the same way, whatever the machine: the tests compute the
# expected day labels and hover times in UTC, as en-US writes them.
LOCALE = {"locale": "en-US", "timezone_id": "UTC"}


def context(browser, user_id: int, **options):
    """A browser context signed in as the user (its own storage, like another browser),
    in en-US and UTC; `options` go to `browser.new_context` (e.g. `viewport`)."""
    ctx = browser.new_context(**{**LOCALE, **options})
    token = auth_token_for(user_id)
    ctx.add_init_script(f"window.localStorage.setItem('_auth_token', {token!r});")
    return ctx


def page_for(browser, user_id: int, **options):
    """A new page in a new signed-in context."""
    return context(browser, user_id, **options).new_page()


def open_conversation(page, base_url: str, cid: int) -> None:
    """Go to the conversation and wait until it is shown."""
    page.goto(f"{base_url}/c/{cid}")
    expect(page.locator("#conversation-title")).to_be_visible()


def both_open(browser, base_url: str, a_id: int, b_id: int, cid: int):
    """The pages of two users with their conversation open (b's first, then a's, which
    has the focus): (a's page, b's page)."""
    b = page_for(browser, b_id)
    open_conversation(b, base_url, cid)
    a = page_for(browser, a_id)
    open_conversation(a, base_url, cid)
    return a, b


def send(page, text: str) -> None:
    """Type a whole message into the composer and press Enter."""
    page.locator("#composer").fill(text)
    page.locator("#composer").press("Enter")


def seed(cid: int, items: list[tuple[int, str, datetime]]) -> list[int]:
    """Store messages (author id, text, when) as if sent then; returns their ids."""
    with rx.session() as session:
        return [
            msgs.send(session, author_id=author, conversation_id=cid, body=body, now=when).id
            for author, body, when in items
        ]


def today_start() -> datetime:
    """Midnight today in UTC (the contexts' zone)."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def long_day(day: datetime) -> str:
    """A day as the separators write one more than a week back (en-US)."""
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def full_time(moment: datetime) -> str:
    """A moment as the hover tooltips write it (en-US, dateStyle full, timeStyle short)."""
    hour = moment.hour % 12 or 12
    return f"{long_day(moment)} at {hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def items(page) -> list[str]:
    """What the open conversation shows, top to bottom: day separators as "[label]",
    the unread divider as "[New messages]", system lines as "(text)", messages by their
    text (a deleted one as "Message deleted")."""
    return page.locator("#messages").evaluate(
        """box => Array.from(
            box.querySelectorAll('.day-separator, #unread-divider, .system-line, .message'),
            (e) => e.matches('.message')
                ? (e.querySelector('.message-body, .message-deleted')?.textContent ?? '')
                : e.matches('.system-line') ? `(${e.textContent})` : `[${e.textContent}]`)"""
    )


def heads(page) -> list[str]:
    """The data-head attribute of every message, top to bottom ("true" or "false")."""
    return page.locator(".message").evaluate_all("els => els.map((e) => e.getAttribute('data-head'))")


def row(page, cid: int):
    """The conversation's row in the sidebar."""
    return page.locator(f'.conversation-row[data-conversation-id="{cid}"]')


def choose_status(page, item: str) -> None:
    """Choose a status in the menu ("away", "auto", "invisible", "dnd", "dnd-1h"), as a
    user does: each click once what it needs is on screen, done when the menu has closed
    (a click on the trigger while the last choice's menu was still closing went to the
    closing menu once in CI)."""
    menus = page.get_by_role("menu")
    expect(menus).to_have_count(0)
    page.locator("#status-menu-trigger").click()
    expect(menus.first).to_be_visible()
    if item.startswith("dnd"):
        page.locator("#status-dnd-menu").click()
    page.locator(f"#status-{item}").click()
    expect(menus).to_have_count(0)
