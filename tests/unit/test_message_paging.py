"""Paging through a conversation (`messages.page`) on a real SQLite database: the newest
page first, older pages by `before_id`, every message once, and a page of a long
conversation costing what a page of a short one does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event

from chatapp.services import conversations, messages
from chatapp.services.errors import NotFound
from tests.unit.service_helpers import NOT_A_MEMBER, insert_messages

PAGE = messages.PAGE_SIZE


def _walk_back(session, user_id: int, conversation_id: int) -> list[tuple[list, bool]]:
    """Every page from the newest back to the first message, as the list scrolls up."""
    pages = [messages.page(session, user_id=user_id, conversation_id=conversation_id)]
    while pages[-1][1]:
        oldest = pages[-1][0][0].id
        pages.append(
            messages.page(session, user_id=user_id, conversation_id=conversation_id, before_id=oldest)
        )
        assert len(pages) < 100, "paging does not end"
    return pages


def test_the_newest_page_is_the_last_50_oldest_first(session, people, chat):
    ids = insert_messages(session, chat, people["alice"], 250)
    page, has_older = messages.page(session, user_id=people["bob"], conversation_id=chat)
    assert PAGE == 50
    assert [m.id for m in page] == ids[-50:]
    assert [m.body for m in page] == [f"m{i}" for i in range(200, 250)]
    assert [m.seq for m in page] == list(range(201, 251))
    assert has_older is True


def test_paging_back_reaches_the_first_message_without_gaps_or_repeats(session, people, chat):
    ids = insert_messages(session, chat, people["alice"], 250)
    pages = _walk_back(session, people["bob"], chat)
    assert [len(p) for p, _ in pages] == [50] * 5
    assert [older for _, older in pages] == [True] * 4 + [False]
    walked = [m.id for p, _ in reversed(pages) for m in p]
    assert walked == ids  # each message once, in order, the first one included
    assert pages[-1][0][0].body == "m0"


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, [0]), (1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])]
)
def test_page_sizes_and_the_end_at_the_edges(session, people, chat, count, sizes):
    ids = insert_messages(session, chat, people["alice"], count)
    pages = _walk_back(session, people["bob"], chat)
    assert [len(p) for p, _ in pages] == sizes
    assert pages[-1][1] is False
    assert [m.id for p, _ in reversed(pages) for m in p] == ids


def test_a_page_holds_only_that_conversations_messages(session, people, chat):
    group = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob"]
    )
    for i in range(60):
        messages.send(session, author_id=people["alice"], conversation_id=chat, body=f"direct {i}")
        messages.send(session, author_id=people["bob"], conversation_id=group, body=f"group {i}")
    pages = _walk_back(session, people["alice"], chat)
    bodies = [m.body for p, _ in reversed(pages) for m in p]
    assert bodies == [f"direct {i}" for i in range(60)]
    assert {m.conversation_id for p, _ in pages for m in p} == {chat}


def test_a_page_includes_system_lines_in_their_place(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="hi")
    conversations.add_members(session, user_id=people["bob"], conversation_id=cid, usernames=["carol"])
    page, has_older = messages.page(session, user_id=people["carol"], conversation_id=cid)
    assert [(m.kind, m.author_name, m.body) for m in page] == [
        ("system", "Alice", "created the group"),
        ("text", "Bob", "hi"),
        ("system", "Bob", "added Carol"),
    ]
    assert has_older is False


def test_a_non_member_gets_not_found_for_any_page(session, people, chat):
    ids = insert_messages(session, chat, people["alice"], 60)
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.page(session, user_id=people["carol"], conversation_id=chat)
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.page(session, user_id=people["carol"], conversation_id=chat, before_id=ids[-1])
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.page(session, user_id=people["alice"], conversation_id=chat + 1000)


def test_a_member_who_left_can_no_longer_page(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="after you go")
    conversations.leave(session, user_id=people["bob"], conversation_id=cid)
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.page(session, user_id=people["bob"], conversation_id=cid)


# What a page costs --------------------------------------------------------------------


@dataclass
class Cost:
    """The statements a call ran and the SQLite virtual machine's work for them."""

    statements: list[tuple[str, tuple]] = field(default_factory=list)
    steps: int = 0  # in tens of VM instructions


@contextmanager
def measured(engine, session) -> Iterator[Cost]:
    cost = Cost()

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        cost.statements.append((statement, parameters))

    def step() -> int:
        cost.steps += 1
        return 0  # go on

    raw = session.connection().connection.driver_connection
    event.listen(engine, "before_cursor_execute", record)
    raw.set_progress_handler(step, 10)
    try:
        yield cost
    finally:
        raw.set_progress_handler(None, 0)
        event.remove(engine, "before_cursor_execute", record)


def _plans(session, cost: Cost) -> list[str]:
    raw = session.connection().connection.driver_connection
    return [
        detail
        for statement, parameters in cost.statements
        for *_, detail in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
    ]


@pytest.fixture
def short_and_long(session, people, chat) -> tuple[int, int, list[int]]:
    """alice and bob's direct chat of 50 messages and their group of 10,000; the
    group's message ids."""
    group = conversations.create_group(
        session, user_id=people["alice"], title="Long", member_usernames=["bob"]
    )
    insert_messages(session, chat, people["alice"], 50)
    long_ids = insert_messages(session, group, people["bob"], 10_000)
    return chat, group, long_ids


def test_a_page_of_10000_messages_costs_what_a_page_of_50_does(engine, session, people, short_and_long):
    short, long, _ = short_and_long
    with measured(engine, session) as small:
        short_page, _ = messages.page(session, user_id=people["alice"], conversation_id=short)
    with measured(engine, session) as big:
        long_page, has_older = messages.page(session, user_id=people["alice"], conversation_id=long)
    assert (len(short_page), len(long_page), has_older) == (50, 50, True)
    assert len(big.statements) == len(small.statements) == 2  # the membership check, the page
    assert big.steps <= small.steps * 1.5 + 5, (small.steps, big.steps)


def test_an_older_page_of_a_long_conversation_is_one_bounded_read(engine, session, people, short_and_long):
    short, long, long_ids = short_and_long
    with measured(engine, session) as small:
        messages.page(session, user_id=people["bob"], conversation_id=short)
    with measured(engine, session) as middle:
        page, has_older = messages.page(
            session, user_id=people["bob"], conversation_id=long, before_id=long_ids[5_000]
        )
    assert [m.id for m in page] == long_ids[4_950:5_000]
    assert has_older is True
    assert len(middle.statements) == len(small.statements)
    assert middle.steps <= small.steps * 1.5 + 5, (small.steps, middle.steps)


def test_a_page_reads_by_index_and_sorts_nothing(engine, session, people, short_and_long):
    _, long, long_ids = short_and_long
    with measured(engine, session) as newest:
        messages.page(session, user_id=people["alice"], conversation_id=long)
    with measured(engine, session) as older:
        messages.page(session, user_id=people["alice"], conversation_id=long, before_id=long_ids[100])
    for cost in (newest, older):
        plans = _plans(session, cost)
        assert plans, "no statements recorded"
        assert not [p for p in plans if p.startswith("SCAN") or "TEMP B-TREE" in p], plans
        assert any("ix_message_conversation_id_id" in p for p in plans), plans
