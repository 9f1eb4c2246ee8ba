"""The reading service (`chatapp/services/reading.py`) on a real SQLite database: read
positions, what receipts reveal and to whom, mute; and the coalescing of a burst of
receipts (`Push.latest`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from chatapp.delivery import Push
from chatapp.services import inbox, messages, reading
from chatapp.services.errors import NotFound
from tests.support import run_async

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _send(session, cid: int, author: int, count: int) -> None:
    for i in range(count):
        messages.send(session, author_id=author, conversation_id=cid, body=f"m{i}")


def _read(session, cid: int, user_id: int, upto: int, *, reveal: bool, now: datetime):
    revealed = [user_id] if reveal else []
    return reading.mark_read(
        session, user_ids=[user_id], conversation_id=cid, upto_seq=upto, revealed=revealed, now=now
    )


def test_a_revealed_read_moves_the_receipt_with_its_time(session, people, chat):
    _send(session, chat, people["alice"], 2)
    bob = people["bob"]
    (receipt,) = _read(session, chat, bob, 2, reveal=True, now=NOW)
    assert (receipt.user_id, receipt.seq, receipt.at_ms) == (bob, 2, int(NOW.timestamp() * 1000))
    seen = reading.receipts_for(session, viewer_id=people["alice"], conversation_id=chat)
    assert seen[bob].to_wire() == {"user_id": bob, "seq": 2, "at_ms": int(NOW.timestamp() * 1000)}
    # Read again no further: no new receipt.
    assert _read(session, chat, bob, 2, reveal=True, now=NOW) == []


def test_an_unrevealed_read_counts_for_the_reader_only(session, people, chat):
    _send(session, chat, people["alice"], 3)
    bob, alice = people["bob"], people["alice"]
    assert _read(session, chat, bob, 3, reveal=False, now=NOW) == []
    assert reading.receipts_for(session, viewer_id=alice, conversation_id=chat) == {}
    assert inbox.inbox_of(session, user_id=bob).read_seq[chat] == 3  # read, for bob himself
    # The next read made while visible shows, at its own time.
    _send(session, chat, alice, 1)
    later = NOW + timedelta(minutes=5)
    _read(session, chat, bob, 4, reveal=True, now=later)
    assert reading.receipts_for(session, viewer_id=alice, conversation_id=chat)[bob].to_wire() == {
        "user_id": bob,
        "seq": 4,
        "at_ms": int(later.timestamp() * 1000),
    }


def test_receipts_are_mutual(session, people, chat):
    _send(session, chat, people["alice"], 1)
    _send(session, chat, people["bob"], 1)
    alice, bob = people["alice"], people["bob"]
    _read(session, chat, bob, 2, reveal=True, now=NOW)
    _read(session, chat, alice, 2, reveal=True, now=NOW)
    reading.set_read_receipts(session, bob, False)
    # Off: nobody sees bob's reads, and bob sees nobody's.
    assert bob not in reading.receipts_for(session, viewer_id=alice, conversation_id=chat)
    assert reading.receipts_for(session, viewer_id=bob, conversation_id=chat) == {}
    assert reading.receipt_audience(session, chat) == [alice]
    _send(session, chat, alice, 1)
    assert _read(session, chat, bob, 3, reveal=True, now=NOW) == []
    reading.set_read_receipts(session, bob, True)
    # Back on: what he read while off was not revealed.
    assert reading.receipts_for(session, viewer_id=alice, conversation_id=chat)[bob].seq == 2


def test_mute_is_per_member_and_members_only(session, people, chat):
    reading.set_muted(session, user_id=people["alice"], conversation_id=chat, muted=True)
    assert reading.muted_ids(session, people["alice"]) == [chat]
    assert reading.muted_ids(session, people["bob"]) == []
    with pytest.raises(NotFound):
        reading.set_muted(session, user_id=people["carol"], conversation_id=chat, muted=True)
    reading.set_muted(session, user_id=people["alice"], conversation_id=chat, muted=False)
    assert reading.muted_ids(session, people["alice"]) == []


def test_a_burst_on_one_key_runs_the_first_and_then_only_the_newest():
    ran: list[int] = []

    async def scenario():
        push = Push(app=None, directory=None)  # type: ignore[arg-type]
        gate = asyncio.Event()

        def delivery(n: int):
            async def run():
                if n == 1:
                    await gate.wait()  # the first is still under way while the rest come
                ran.append(n)

            return run

        for n in range(1, 6):
            push.latest("key", delivery(n))
        push.latest("other", delivery(9))
        await asyncio.sleep(0.01)
        gate.set()
        await push.drain()

    run_async(scenario())
    assert sorted(ran) == [1, 5, 9]
    assert ran.index(1) < ran.index(5)
