"""What the app's instances published on their push channel, for telling a lost
delivery from a change that was never decided.

With Redis, the instance that decides a presence change publishes it once on the push
channel (`chatapp.push_bus`), and every instance makes it in the tabs whose sockets it
holds. When a receiving tab never gets a change, the channel says which half failed:
published (the presence service decided it; an instance did not deliver it) or not
(the change never got that far). The tap listens to the channel from its own thread
and records each published presence entry with the time it was seen.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import threading
import time
from collections import defaultdict

import redis

from chatapp.push_bus import channel_of
from chatapp.settings import PRESENCE_PREFIX

# The channel every instance listens to (the benchmark runs them with the default prefix).
CHANNEL = channel_of(PRESENCE_PREFIX)


class PushTap:
    """Listens to the push channel of one Redis while inside.

    Args:
        url: The Redis the instances share.
        channel: Their push channel.
    """

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        # (user id, status) → when each such entry was published (perf_counter, sorted).
        self._seen: dict[tuple[int, str], list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="push-tap", daemon=True)

    def __enter__(self) -> PushTap:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"could not subscribe to {self.channel} at {self.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def published(self, user_id: int, status: str, since: float, until: float = float("inf")) -> bool:
        """Whether an entry of this user with this status was published in [since, until]."""
        with self._lock:
            times = self._seen.get((user_id, status), [])
            i = bisect.bisect_left(times, since)
            return i < len(times) and times[i] <= until

    def _listen(self) -> None:
        client = redis.Redis.from_url(self.url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            self._ready.set()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.2)
                if message is not None and message.get("type") == "message":
                    self._record(time.perf_counter(), message["data"])
        finally:
            with contextlib.suppress(Exception):
                pubsub.close()
                client.close()

    def _record(self, at: float, data: bytes | str) -> None:
        try:
            name, args = json.loads(data)["recipe"]
            entry = args[0] if name == "presence" else None
            key = (int(entry["user_id"]), str(entry["status"])) if isinstance(entry, dict) else None
        except (ValueError, KeyError, TypeError, IndexError):
            return  # not a presence change (or from another version): not ours to judge
        if key is not None:
            with self._lock:
                self._seen[key].append(at)  # one thread appends, in arrival order


def unpublished(
    tap: PushTap, missing: list[tuple[int, int]], changes: dict, t0: dict[int, float], window: float
) -> list[int]:
    """The changes with a missing delivery whose presence entry was never published
    (within `window` seconds of being made, offline's grace included)."""
    ids = sorted({cid for cid, _tab in missing})
    out = []
    for cid in ids:
        change, start = changes.get(cid), t0.get(cid)
        if change is None or start is None:
            continue
        if not tap.published(change.user, change.status, start, start + window):
            out.append(cid)
    return out
