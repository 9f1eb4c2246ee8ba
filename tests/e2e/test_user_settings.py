"""The browser's settings are the user's: dates and times in their locale and zone,
no motion when they asked for less (`prefers-reduced-motion`), and the whole page
usable at 200 % zoom (and at 320 CSS pixels wide, WCAG's reflow) without scrolling
sideways or losing any control."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.chat_ui import choose_status, context, open_conversation, seed, send
from tests.support import direct_pair

# What the user's browser says, and how it should then write moments: 13:05 and
# 08:05 UTC on a winter day, and the clock of any moment (its short time style: a
# 12-hour clock in the US, two-digit hours in Germany, "09:05" not "9:05").
LOCALES = {
    "en-US": {
        "zone": "America/New_York",
        "times": ["3:05 AM", "8:05 AM"],  # UTC-5 in winter
        "day": "Thursday, January 15, 2026",
        "clock": lambda t: f"{(t.hour - 1) % 12 + 1}:{t.minute:02d}\u202f{'AM' if t.hour < 12 else 'PM'}",
    },
    "de-DE": {
        "zone": "Europe/Berlin",
        "times": ["09:05", "14:05"],  # UTC+1 in winter
        "day": "Donnerstag, 15. Januar 2026",
        "clock": lambda t: f"{t.hour:02d}:{t.minute:02d}",
    },
}
MOMENTS = [datetime(2026, 1, 15, 8, 5, tzinfo=UTC), datetime(2026, 1, 15, 13, 5, tzinfo=UTC)]

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
    seed(cid, [(b_id, f"from last winter {n}", when) for n, when in enumerate(MOMENTS)])
    page = context(browser, a_id, locale=locale, timezone_id=want["zone"]).new_page()
    open_conversation(page, base_url, cid)
    expect(page.locator("#messages .message-time")).to_have_text(want["times"])
    expect(page.locator(".day-separator")).to_have_text([want["day"]])

    choose_status(page, "dnd-1h")
    until = page.locator("#my-status time")
    expect(until).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    moment = datetime.fromisoformat(until.get_attribute("datetime"))
    assert timedelta(minutes=59) < moment - datetime.now(UTC) <= timedelta(hours=1)
    expect(until).to_have_text(want["clock"](moment.astimezone(ZoneInfo(want["zone"]))))

    # The same moment where it is seven in the morning: the hour as the locale writes
    # one below ten (a fixed zone, whatever the hour the suite runs at).
    offset = (7 - moment.hour + 12) % 24 - 12  # hours east of UTC, -12..+11
    zone = f"Etc/GMT{-offset:+d}"  # the Etc names count west
    morning = context(browser, a_id, locale=locale, timezone_id=zone).new_page()
    morning.goto(f"{base_url}/")
    local = moment.astimezone(ZoneInfo(zone))
    assert local.hour == 7
    expect(morning.locator("#my-status time")).to_have_text(want["clock"](local))


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
