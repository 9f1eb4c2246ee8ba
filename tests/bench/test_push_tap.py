"""The benchmark's tap on the push channel tells a change that was published (and then
not delivered) from one that never was, on a real Redis, with messages in the form the
app publishes them."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import redis

from bench.load.push_tap import CHANNEL, PushTap, unpublished
from bench.services import RedisServer
from chatapp.settings import load_settings
from chatapp.states.app_state import presence_change


def _publish(url: str, recipe) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.publish(CHANNEL, json.dumps({"from": "i1", "users": [1, 2], "recipe": recipe, "skip": None}))
    finally:
        client.close()


def test_the_channel_is_the_apps_default_push_channel(monkeypatch):
    monkeypatch.delenv("CHATAPP_PRESENCE_PREFIX", raising=False)
    assert f"{load_settings().presence_prefix}:push" == CHANNEL


def test_a_published_presence_entry_is_told_from_one_never_published():
    server = RedisServer().start()
    try:
        with PushTap(server.url) as tap:
            start = time.perf_counter()
            _publish(server.url, presence_change({"user_id": 7, "status": "away", "v": 3}).recipe)
            _publish(server.url, ["typing", [1, 7, True]])  # not presence: ignored
            deadline = time.monotonic() + 5
            while not tap.published(7, "away", start) and time.monotonic() < deadline:
                time.sleep(0.02)
            end = time.perf_counter()
            assert tap.published(7, "away", start, end)
            assert not tap.published(7, "online", start)  # another status
            assert not tap.published(8, "away", start)  # another user
            assert not tap.published(7, "away", end + 1)  # before the change was made
            away, offline = SimpleNamespace(user=7, status="away"), SimpleNamespace(user=7, status="offline")
            changes = {1: away, 2: offline}
            missing = [(1, 10), (1, 11), (2, 10)]
            assert unpublished(tap, missing, changes, {1: start, 2: start}, window=5.0) == [2]
    finally:
        server.kill()
