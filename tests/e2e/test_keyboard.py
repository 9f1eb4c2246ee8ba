"""Keyboard only: a user who never touches the mouse signs up, logs in, opens a
conversation from the list, starts a direct chat, creates a group, sends, edits and
deletes a message, changes their status through the menu and logs out; Escape closes
every popover and dialog with the focus back where it was. Every step is a key press;
the checks are on what the page shows and where the focus is."""

from __future__ import annotations

import re
import warnings

import reflex as rx
from playwright.sync_api import expect

from chatapp.models import User
from tests.e2e.chat_ui import LOCALE, open_conversation, page_for, row, seed, today_start
from tests.support import PASSWORD, create_user, direct_pair, unique_name


def _tab_until(page, locator, limit: int = 40) -> None:
    """Press Tab until `locator` has the focus (as a keyboard user moves through a page)."""
    for _ in range(limit):
        if locator.evaluate("(el) => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def _arrows_reach(page, locator, limit: int = 30) -> bool:
    """Press the down arrow until the menu item has the focus (menus are walked so).

    Only once the opened menu has taken the focus (its first item, as a menu opened
    with the keyboard does; a keyboard user sees it highlighted): shown is not yet
    focused, and the menu's own move of the focus to its first item could come after
    an arrow had walked on and take the focus back there. A CI run once saw Enter on
    "Away" leave the status "Online"; that race is one way it happens (unconfirmed:
    not reproduced here, also with the CPU slowed 30x), so the step after Enter says
    where the focus was."""
    expect(locator).to_be_visible()
    page.wait_for_function("() => !!document.activeElement?.closest('[role=menu]')")
    for _ in range(limit):
        if locator.evaluate("(el) => el === document.activeElement"):
            return True
        page.keyboard.press("ArrowDown")
    return False


def _focus(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e ? `${e.tagName} #${e.id} role=${e.getAttribute('role')}` : 'none'; }"
    )


def _open_and_walk_to(page, trigger, item, name: str, attempts: int = 2) -> None:
    """With the focus on a menu's button: Enter opens the menu and the down arrow walks to
    `item`. Twice in CI (never when run here) the menu opened without the arrows reaching
    its items; a keyboard user then closes it (Escape), goes back to its button and opens
    it again, or types the item's name (the menu's typeahead). Each time it happens is
    recorded as a warning, with where the focus was (a CI run: on the item just before
    it, "Change password…", the arrows going no further)."""
    for attempt in range(attempts):
        page.keyboard.press("Enter")
        if _arrows_reach(page, item):
            return
        where = _focus(page)
        page.keyboard.type(name)
        if item.evaluate("(el) => el === document.activeElement"):
            warnings.warn(f"the arrows stopped at {where}; typing {name!r} reached {item}", stacklevel=2)
            return
        warnings.warn(
            f"attempt {attempt + 1}: the arrows never reached {item} (the focus: {where})", stacklevel=2
        )
        page.keyboard.press("Escape")
        expect(page.get_by_role("menu")).to_have_count(0)
        _tab_until(page, trigger)
    raise AssertionError(f"the arrows never reached {item} in {attempts} tries")


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

    _open_and_walk_to(page, trigger, page.locator("#status-away"), "Away")
    chosen = _focus(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("menu")).to_have_count(0)  # the chosen item closes the menu...
    expect(trigger).to_be_focused()  # ...and the focus is back on its button
    expect(page.locator("#my-status"), f"Enter pressed on {chosen}").to_have_text("Away (set by you)")

    _open_and_walk_to(page, trigger, page.locator("#logout"), "Log out")
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


def _focused(page, locator) -> bool:
    return locator.evaluate("(el) => el === document.activeElement")


def _shift_tab_until(page, locator, limit: int = 40) -> None:
    """Press Shift+Tab until `locator` has the focus (backwards through the page)."""
    for _ in range(limit):
        if _focused(page, locator):
            return
        page.keyboard.press("Shift+Tab")
    raise AssertionError(f"Shift+Tab never reached {locator}")


def test_sign_up_with_the_keyboard_alone(browser, base_url):
    page = browser.new_context(**LOCALE).new_page()
    page.goto(f"{base_url}/signup")
    expect(page.locator("input[name=username]")).to_be_focused()
    username = unique_name("kbs")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.locator("input[name=display_name]")).to_be_focused()
    page.keyboard.type("Keyboard Kim")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#status-menu-trigger")).to_contain_text(f"@{username}")


def test_start_a_direct_chat_and_create_a_group_with_the_keyboard_alone(browser, base_url):
    me, _ = create_user("kdm")
    _, peer = create_user("kdp", "Penny Keys")
    _, third = create_user("kdt", "Tom Keys")
    page = page_for(browser, me)
    page.goto(f"{base_url}/")
    expect(page.get_by_text("No conversations yet")).to_be_visible()

    _tab_until(page, page.get_by_role("button", name="Chat"))
    page.keyboard.press("Enter")
    expect(page.locator("#people-search")).to_be_focused()
    page.keyboard.type(peer)
    found = page.locator(".person-result").first
    expect(found).to_contain_text("Penny Keys")
    _tab_until(page, found)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    expect(page.locator("#conversation-title")).to_have_text("Penny Keys")
    expect(page.locator("#composer")).to_be_focused()

    _tab_until(page, page.get_by_role("button", name="Group"))
    page.keyboard.press("Enter")
    expect(page.locator("input[name=title]")).to_be_focused()
    page.keyboard.type("Keys club")
    page.keyboard.press("Tab")
    expect(page.locator("#people-search")).to_be_focused()
    for name, shown in ((peer, "Penny Keys"), (third, "Tom Keys")):
        page.keyboard.press("Control+a")
        page.keyboard.type(name)
        found = page.locator(".person-result").first
        expect(found).to_contain_text(shown)
        _tab_until(page, found)
        page.keyboard.press("Enter")  # picks them: a chip above the box, the focus back in it
        expect(page.locator("#people-picked")).to_contain_text(shown)
        expect(page.locator("#people-search")).to_be_focused()
    _tab_until(page, page.get_by_role("button", name="Create group"))
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-title")).to_have_text("Keys club")
    expect(page.locator("#composer")).to_be_focused()


def test_edit_and_delete_a_message_with_the_keyboard_alone(browser, base_url):
    a_id, _, cid = direct_pair("kxa", "kxb")
    page = page_for(browser, a_id)
    page.goto(f"{base_url}/c/{cid}")
    composer = page.locator("#composer")
    expect(composer).to_be_focused()
    page.keyboard.type("first draft of it")
    page.keyboard.press("Enter")
    mine = page.locator(".message.mine").last
    expect(mine.locator(".message-body")).to_have_text("first draft of it")

    edit = mine.get_by_role("button", name="Edit message")
    _shift_tab_until(page, edit)
    expect(edit).to_be_visible()  # shown while it has the focus, not only under the pointer
    page.keyboard.press("Enter")
    box = page.locator("#edit-body")
    expect(box).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("second thoughts")
    _tab_until(page, page.locator("#save-edit"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(mine.locator(".message-body")).to_have_text(re.compile(r"^second thoughts"))
    expect(mine.locator(".edited")).to_be_visible()
    expect(edit).to_be_focused()  # back where it was

    page.keyboard.press("Enter")  # Escape leaves the message as it was
    expect(box).to_be_focused()
    page.keyboard.type(" and more")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(mine.locator(".message-body")).to_have_text(re.compile(r"^second thoughts"))
    expect(edit).to_be_focused()

    delete = mine.get_by_role("button", name="Delete message")
    _tab_until(page, delete)
    page.keyboard.press("Enter")
    confirm = page.get_by_role("alertdialog")
    expect(confirm.get_by_role("button", name="Keep it")).to_be_focused()  # the safe choice first
    page.keyboard.press("Tab")
    expect(page.locator("#confirm-delete")).to_be_focused()
    page.keyboard.press("Tab")  # the focus stays in the dialog
    expect(confirm.get_by_role("button", name="Keep it")).to_be_focused()
    page.keyboard.press("Escape")  # keeps it
    expect(confirm).to_have_count(0)
    expect(mine.locator(".message-body")).to_have_text(re.compile(r"^second thoughts"))
    expect(delete).to_be_focused()

    page.keyboard.press("Enter")
    expect(confirm.get_by_role("button", name="Keep it")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(mine).to_contain_text("Message deleted")
    expect(composer).to_be_focused()  # its buttons are gone: the focus goes to the message box


# How the focused element and its three nearest ancestors look; called at each Tab, it
# says whether the element focused before looked different while it had the focus (a
# ring, a shadow, a colour): {"what": its name, "shown": bool}.
FOCUS_SHOWN = """() => {
  const look = (el) => {
    const parts = [];
    for (let e = el, i = 0; e && i < 4; e = e.parentElement, i++) {
      const cs = getComputedStyle(e);
      parts.push(cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow, cs.backgroundColor,
                 cs.borderColor, cs.textDecorationLine, cs.opacity);
    }
    return parts.join("|");
  };
  const before = window.focusWas;
  const el = document.activeElement;
  window.focusWas = { el, look: look(el) };
  if (!before || before.el === document.body) return null;
  const was = before.el;
  const name = was.id || was.getAttribute("aria-label") || was.textContent.trim().slice(0, 40);
  return { what: `${was.tagName.toLowerCase()} ${name}`, shown: look(was) !== before.look };
}"""


def test_every_stop_of_the_tab_key_shows_where_the_focus_is(browser, base_url):
    a_id, b_id, cid = direct_pair("kfa", "kfb")
    seed(cid, [(b_id, "a link: https://example.com", today_start()), (a_id, "and my answer", today_start())])
    page = page_for(browser, a_id)
    open_conversation(page, base_url, cid)
    page.locator("#composer").blur()
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUS_SHOWN)
        if found:
            stops.append(found)
    assert len({s["what"] for s in stops}) >= 12  # the list, the header, the messages, the box
    assert [s["what"] for s in stops if not s["shown"]] == []
