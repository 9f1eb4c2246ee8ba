"""End to end: finding people, starting chats and groups, live membership."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.e2e.chat_ui import items, page_for, row, send
from tests.support import create_user


def _token() -> str:
    """A word no other test's display names start with."""
    return "Zq" + uuid.uuid4().hex[:6]


def _search(page, text: str):
    """Type into the people picker; returns its results."""
    page.locator("#people-search").fill(text)
    return page.locator(".person-result")


def test_a_direct_chat_found_by_display_name_reaches_the_other_only_with_its_first_message(browser, base_url):
    a_id, _ = create_user("ada")
    token = _token()
    b_id, b_name = create_user("bo", display_name=f"Boris {token}")
    _, c_name = create_user("bo", display_name=f"Bella {token}")
    b = page_for(browser, b_id)
    b.goto(f"{base_url}/")
    expect(b.get_by_text("No conversations yet")).to_be_visible()
    a = page_for(browser, a_id)
    a.goto(f"{base_url}/")
    a.get_by_role("button", name="Chat").click()
    # The first letters of a display name, in any case (not of the username): one person.
    results = _search(a, "bori")
    expect(results).to_have_count(1)
    expect(results).to_contain_text(f"Boris {token}@{b_name}")
    # The first letters of a later word of the name: both people with it, by name.
    results = _search(a, token[:5].lower())
    expect(results).to_have_count(2)
    expect(results).to_have_text([re.compile(rf"Bella {token}\s*@{c_name}"), re.compile(f"Boris {token}")])
    results = _search(a, f"Boris {token[:4]}")  # words in order: one person again
    expect(results).to_have_count(1)
    expect(results).to_contain_text(f"Boris {token}")
    results.click()
    expect(a).to_have_url(re.compile(rf"{base_url}/c/\d+"))
    cid = int(a.url.rsplit("/", 1)[1])
    expect(a.locator("#conversation-title")).to_have_text(f"Boris {token}")
    expect(a.locator("#composer")).to_be_focused()

    # Opened without a word: nothing in B's list, not even after a reload.
    b.reload()
    expect(b.get_by_text("No conversations yet")).to_be_visible()
    expect(row(b, cid)).to_have_count(0)

    a.keyboard.type("Hello Boris")
    a.keyboard.press("Enter")
    expect(row(b, cid)).to_be_visible()  # live, with the first message
    expect(row(b, cid).locator(".conv-preview")).to_have_text("Hello Boris")
    expect(row(b, cid).locator(".unread-badge")).to_have_text("1")
    expect(row(a, cid).locator(".conv-preview")).to_have_text("You: Hello Boris")


def test_group_made_with_the_picker_counts_others_online_and_leaving_is_confirmed_and_live(browser, base_url):
    token = _token()
    a_id, _ = create_user("amy", display_name=f"Amy {token}")
    b_id, _ = create_user("bryn", display_name=f"Bryn {token}")
    c_id, _ = create_user("cato", display_name=f"Cato {token}")
    _, _ = create_user("dara", display_name=f"Dara {token}")
    b, c = page_for(browser, b_id), page_for(browser, c_id)
    for page in (b, c):
        page.goto(f"{base_url}/")
        expect(page.get_by_text("No conversations yet")).to_be_visible()
    a = page_for(browser, a_id)
    a.goto(f"{base_url}/")

    a.get_by_role("button", name="Group").click()
    a.get_by_placeholder("Group title").fill("Planning")
    results = _search(a, token)
    expect(results).to_have_count(3)  # never the searcher
    results.filter(has_text="Bryn").click()
    # Picked, Bryn leaves the results: the list moves up (wait, or the click lands on Dara).
    expect(a.locator(".picked-person")).to_have_text([f"Bryn {token}"])
    expect(results).to_have_count(2)
    results.filter(has_text="Cato").click()
    expect(a.locator(".picked-person")).to_have_text([f"Bryn {token}", f"Cato {token}"])
    expect(results).to_have_text([re.compile(f"Dara {token}")])  # the picked leave the results
    a.get_by_role("button", name="Create group").click()
    expect(a).to_have_url(re.compile(rf"{base_url}/c/\d+"))
    cid = int(a.url.rsplit("/", 1)[1])
    expect(a.locator("#conversation-title")).to_have_text("Planning")
    presence = a.locator("#header-presence")
    # Bryn and Cato were added by Amy: their presence is theirs to share, with the group
    # only once they write in it (the default audience); Amy reached out, they see her.
    expect(presence).to_have_text("3 members · no one else online")  # not counting oneself
    assert items(a) == ["[Today]", "(You created the group)"]

    row(b, cid).click()  # the group came into B's list live
    expect(b.locator("#header-presence")).to_have_text("3 members · 1 other online")
    expect(b.locator(".system-line")).to_have_text(f"Amy {token} created the group")
    send(b, "Hi both")
    row(c, cid).click()
    send(c, "Hello!")
    for page in (a, b, c):
        expect(page.locator("#header-presence")).to_have_text("3 members · 2 others online")
    expect(row(c, cid).locator(".group-online")).to_have_text("2 of 2 others online")
    c.context.close()
    for page in (a, b):
        expect(page.locator("#header-presence")).to_have_text("3 members · 1 other online")
    expect(row(a, cid).locator(".group-online")).to_have_text("1 of 2 others online")

    # Leaving asks first; "Stay" keeps B in.
    b.locator("#members-button").click()
    expect(b.locator(".member-row")).to_have_count(3)
    b.locator("#leave-group").click()
    b.get_by_role("button", name="Stay").click()
    expect(b.locator("#confirm-leave")).to_have_count(0)
    expect(b).to_have_url(f"{base_url}/c/{cid}")
    b.reload()
    expect(b.locator("#header-presence")).to_have_text("3 members · 1 other online")
    b.locator("#members-button").click()
    b.locator("#leave-group").click()
    b.locator("#confirm-leave").click()
    expect(b).to_have_url(f"{base_url}/")
    expect(row(b, cid)).to_have_count(0)

    # A, who never reloads: the line, the count, the member list.
    expect(a.locator(".system-line").last).to_have_text(f"Bryn {token} left")
    expect(presence).to_have_text("2 members · no one else online")
    a.locator("#members-button").click()
    expect(a.locator(".member-row")).to_have_count(2)
    expect(a.locator(f'.member-row[data-user-id="{b_id}"]')).to_have_count(0)

    # Adding someone with the picker in the members popover.
    added = _search(a, token)
    added.filter(has_text="Dara").click()
    expect(a.locator(".picked-person")).to_have_text([f"Dara {token}"])
    a.locator("#add-members").click()
    expect(a.locator(".system-line").last).to_have_text(f"You added Dara {token}")
    expect(presence).to_have_text("3 members · no one else online")
    expect(a.locator(".member-row")).to_have_count(3)

    # B back to the group's page by its address: no longer a member.
    open_b = page_for(browser, b_id)
    open_b.goto(f"{base_url}/c/{cid}")
    expect(open_b.locator("#chat-error")).to_contain_text("not a member")
    send(a, "after the changes")
    expect(a.locator(".message-body")).to_have_text(["Hi both", "Hello!", "after the changes"])
