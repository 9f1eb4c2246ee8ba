"""The browser's settings are the user's: dates and times in their locale and zone,
no motion when they asked for less (`prefers-reduced-motion`), and the whole page
usable at 200 % zoom (and at 320 CSS pixels wide, WCAG's reflow) without scrolling
sideways or losing any control."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.chat_ui import context, open_conversation, seed, send
from tests.support import direct_pair

# What the user's browser says, and how it should then write one moment.
LOCALES = {
    "en-US": {
        "zone": "America/New_York",
        "time": "8:05 AM",  # 13:05 UTC in New York (winter, UTC-5)
        "day": "Thursday, January 15, 2026",
        "until": r"until \d{1,2}:\d{2}\s?[AP]M$",
    },
    "de-DE": {
        "zone": "Europe/Berlin",
        "time": "14:05",  # 13:05 UTC in Berlin (winter, UTC+1)
        "day": "Donnerstag, 15. Januar 2026",
        "until": r"until \d{2}:\d{2}$",
    },
}
MOMENT = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)

# Every element whose animation or transition would still move (a tenth of a second or
# more): none is left when the user asked for reduced motion.
MOVING = """() => [...document.querySelectorAll('*')].filter((el) => {
  const cs = getComputedStyle(el);
  const ms = (d) => parseFloat(d) * (d.trim().endsWith('ms') ? 1 : 1000);
  const long = (list) => list.split(',').some((d) => ms(d) >= 100);
  return (cs.animationName !== 'none' && long(cs.animationDuration)) || long(cs.transitionDuration);
}).map((el) => el.className.toString().slice(0, 60))"""


@pytest.mark.parametrize("locale", LOCALES)
def test_times_and_days_follow_the_browsers_locale_and_zone(browser, base_url, locale):
    want = LOCALES[locale]
    a_id, b_id, cid = direct_pair("loa", "lob")
    message_id = seed(cid, [(b_id, "from last winter", MOMENT)])[0]
    page = context(browser, a_id, locale=locale, timezone_id=want["zone"]).new_page()
    open_conversation(page, base_url, cid)
    message = page.locator(f'.message[data-message-id="{message_id}"]')
    expect(message.locator(".message-time")).to_have_text(want["time"])
    expect(page.locator(".day-separator")).to_have_text([want["day"]])

    page.locator("#status-menu-trigger").click()
    page.locator("#status-dnd-menu").click()
    page.locator("#status-dnd-1h").click()
    expect(page.locator("#my-status")).to_have_text(re.compile(want["until"]))


def test_reduced_motion_stops_the_animations_that_move_otherwise(browser, base_url):
    """Radix Themes animates dialogs, menus and tooltips only under
    `prefers-reduced-motion: no-preference`; this keeps every part of the app so (a new
    animation or transition must ask the same)."""
    a_id, b_id, cid = direct_pair("rma", "rmb")
    seed(cid, [(b_id, "a message with a time to hover", datetime.now(UTC))])

    def moving(reduced: str) -> list[str]:
        page = context(browser, a_id, reduced_motion=reduced).new_page()
        open_conversation(page, base_url, cid)
        found = []
        for open_it, shown in (
            (page.get_by_role("button", name="Chat").click, page.get_by_role("dialog")),
            (page.locator("#status-menu-trigger").click, page.get_by_role("menu")),
            (page.locator("#messages .message-time").first.hover, page.get_by_role("tooltip")),
        ):
            open_it()
            expect(shown.first).to_be_visible()
            found += page.evaluate(MOVING)
            page.keyboard.press("Escape")
            expect(shown).to_have_count(0)
        page.context.close()
        return found

    assert moving("no-preference") != []  # they do animate by default
    assert moving("reduce") == []


# 200 % zoom of a 1280 x 800 window lays the page out in 640 x 400 CSS pixels; 320 is
# WCAG's reflow width (1280 at 400 %).
ZOOMED = {"200 %": {"width": 640, "height": 400}, "reflow 320": {"width": 320, "height": 480}}
SIDEWAYS = "() => document.scrollingElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("size", ZOOMED)
def test_at_200_percent_zoom_nothing_is_cut_and_nothing_scrolls_sideways(browser, base_url, size):
    a_id, b_id, cid = direct_pair("zoa", "zob")
    long_word = "Supercalifragilisticexpialidocious" * 3
    seed(cid, [(b_id, f"a long line that has to wrap {long_word} and then ends", datetime.now(UTC))])
    page = context(browser, a_id, viewport=ZOOMED[size]).new_page()
    page.goto(f"{base_url}/")
    expect(page.locator(".conversation-row")).to_have_count(1)
    assert page.evaluate(SIDEWAYS) <= 0

    open_conversation(page, base_url, cid)
    assert page.evaluate(SIDEWAYS) <= 0
    for control in (
        page.locator("#conversation-title"),
        page.locator("#composer"),
        page.get_by_role("button", name="Send"),
        page.get_by_role("button", name="Back to conversations"),  # both widths lay out as a phone
    ):
        expect(control).to_be_in_viewport()
    body = page.locator(".message-body").last
    expect(body).to_contain_text("and then ends")
    box = body.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= ZOOMED[size]["width"]  # wrapped, not cut
    send(page, "typed at 200 %")
    expect(page.locator(".message-body").last).to_have_text("typed at 200 %")
    expect(page.locator(".message-body").last).to_be_in_viewport()
