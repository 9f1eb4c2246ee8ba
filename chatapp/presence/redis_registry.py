"""The presence registry shared by every instance of the app, in Redis.

Every change is one Lua script (`redis_scripts`), so it is atomic across instances.
Besides the records, the registry knows which instance holds each tab: each instance
beats (a key that expires unless renewed) and sweeps; the tabs of an instance whose
beat expired are ended by whichever sweeper claims it first (see `sweeper`).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from chatapp.presence import redis_scripts as lua
from chatapp.presence.closed_tabs import ClosedTabs
from chatapp.presence.logic import Status, Tab, dead_instances
from chatapp.presence.shared import Choices, Published, UserRecord

# The scripts this registry runs (names in `redis_scripts`).
_SCRIPTS = (
    "REGISTER",
    "UNREGISTER",
    "SET_IDLE",
    "COMMIT",
    "POSTPONE",
    "STORE_CHOICES",
    "SEED_CHOICES",
    "HEARTBEAT",
    "REAP",
    "FINISH_DUE",
    "TOKENS_OF",
    "KEEP_CLOSED",
)
# Names of the choice fields in a user's record.
_CHOICE_FIELDS = {"chosen": "cm", "until": "cu", "hide_last_seen": "ch"}


def new_instance_id() -> str:
    """A name for this process, unique across restarts, readable in Redis."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def to_us(moment: datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the epoch."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def from_us(raw: bytes | str | None) -> datetime | None:
    """The inverse of `to_us`, for a value read from Redis ('' or None: None)."""
    if raw in (None, b"", ""):
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(float(raw)))


def _text(raw: bytes | str | None) -> str:
    return raw.decode() if isinstance(raw, bytes) else (raw or "")


class OwnTabs:
    """The tabs whose sockets this instance holds, by token and by user (a change for a
    few users finds their tabs here without a look at every tab), and the tabs whose
    sockets it held until they closed less than a grace ago (or, a mass drop's, less than
    `MassDrops.longest`): those still get every change
    made here or published on the push channel (`tokens_of`), so that a tab taken back
    here holds a current state (`kept_current`)."""

    def __init__(self) -> None:
        self._tabs: dict[str, Tab] = {}
        self._by_user: dict[int, dict[str, None]] = {}
        # Closed tabs, until when each gets changes.
        self._closed = ClosedTabs()

    def put(self, tab: Tab) -> None:
        """Hold a tab (its token's earlier tab, of any user, is replaced; a closed tab is
        open again)."""
        self.drop(tab.token)
        self._tabs[tab.token] = tab
        self._by_user.setdefault(tab.user_id, {})[tab.token] = None

    def drop(self, token: str) -> Tab | None:
        """Stop holding a tab, open or closed; returns the open tab (None if not held)."""
        self._closed.drop(token)
        tab = self._tabs.pop(token, None)
        if tab is not None:
            tokens = self._by_user[tab.user_id]
            del tokens[token]
            if not tokens:
                del self._by_user[tab.user_id]
        return tab

    def close(self, token: str, *, now: datetime, until: datetime) -> None:
        """A tab's socket closed: the tab still gets changes until `until` (from `now`),
        unless it is taken back or dropped first."""
        tab = self.drop(token)
        self.forget_closed(now)
        if tab is not None:
            self._closed.add(token, tab.user_id, until)

    def keep_closed(self, token: str, until: datetime) -> None:
        """A closed tab gets changes until `until` at least."""
        self._closed.keep(token, until)

    def forget_closed(self, now: datetime | None = None) -> None:
        """Forget the closed tabs whose time is over by `now` (None: every closed tab)."""
        if now is None:
            self._closed.clear()
        else:
            self._closed.forget(lambda _user_id, until: until > now)

    def kept_current(self, token: str) -> bool:
        """Whether a tab closed here still gets changes (see the class)."""
        return token in self._closed

    def get(self, token: str) -> Tab | None:
        return self._tabs.get(token)

    def values(self) -> list[Tab]:
        """The open tabs."""
        return list(self._tabs.values())

    def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of these users' tabs, open and closed (each user once)."""
        ids = list(dict.fromkeys(user_ids))
        open_ = self._by_user
        return [token for uid in ids for token in open_.get(uid, ())] + self._closed.tokens_of(ids)

    def users(self) -> set[int]:
        """The users of the open tabs."""
        return set(self._by_user)

    def clear(self) -> None:
        self._tabs.clear()
        self._by_user.clear()
        self._closed.clear()

    def __len__(self) -> int:
        return len(self._tabs)


class RedisRegistry:
    """`shared.PresenceRegistry` in Redis, for one instance of the app.

    Args:
        redis: An asyncio Redis client (its own connection pool).
        prefix: The prefix of every key (one per deployment, or per test run).
        instance_id: This instance's name (a new one per process by default).
    """

    # How much longer than its grace a closed tab gets changes here: a tab is taken back
    # until its `closed` key expires, set a moment after the grace was counted from.
    CLOSED_MARGIN = timedelta(seconds=5)

    def __init__(self, redis: Redis, *, prefix: str, instance_id: str | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.instance_id = instance_id or new_instance_id()
        # This instance's own tabs, to register them again if it was declared dead
        # while alive (a stalled event loop) and to flush their users' last seen.
        self.own = OwnTabs()
        self._scripts = {name: redis.register_script(getattr(lua, name)) for name in _SCRIPTS}

    def key(self, *parts: object) -> str:
        """A key under this registry's prefix."""
        return ":".join([self.prefix, *map(str, parts)])

    async def _run(self, script: str, keys: list[str], args: list[object]):
        return await self._scripts[script](keys=keys, args=args)

    # Tabs ---------------------------------------------------------------------------

    def _encode(self, tab: Tab) -> str:
        return json.dumps({"sid": tab.sid, "idle": int(tab.idle), "inst": self.instance_id})

    @staticmethod
    def _decode(token: str, user_id: int | bytes | str, entry: bytes | str) -> Tab:
        data = json.loads(entry)
        return Tab(token=token, sid=data["sid"], user_id=int(user_id), idle=bool(data["idle"]))

    async def register(self, tab: Tab, *, now: datetime, grace: timedelta) -> Tab | None:
        args = [self.prefix, tab.token, tab.user_id, self._encode(tab), self.instance_id]
        old = await self._run("REGISTER", [], [*args, to_us(now), to_us(now + grace)])
        self.own.put(tab)
        return None if not old else self._decode(tab.token, old[0], old[1])

    async def unregister(
        self, token: str, sid: str | None, *, now: datetime, grace: timedelta, keep: timedelta | None = None
    ) -> Tab | None:
        # A socket closed: the tab is taken back and gets changes for `keep` (a mass
        # drop's: as long as its user's offline may be put off; the key cannot wait for
        # the put-off, decided when the grace ends, the moment it would expire).
        keep = max(grace, keep or grace)
        mine = self.own.get(token)
        if mine is not None and (sid is None or mine.sid == sid):
            if sid is None:  # a logout is not coming back
                self.own.drop(token)
            else:  # before the script: no change may find it in neither place
                self.own.close(token, now=now, until=now + keep + self.CLOSED_MARGIN)
        keep_ms = 0 if sid is None else max(1, int(keep.total_seconds() * 1000))
        args = [self.prefix, token, sid or "", to_us(now), to_us(now + grace), keep_ms]
        old = await self._run("UNREGISTER", [], args)
        return None if not old else self._decode(token, old[0], old[1])

    async def keep_closed(self, tokens: Iterable[str], *, now: datetime, keep: timedelta) -> None:
        tokens = list(tokens)
        for token in tokens:
            self.own.keep_closed(token, now + keep + self.CLOSED_MARGIN)
        keep_ms = max(1, int(keep.total_seconds() * 1000))
        await self._run("KEEP_CLOSED", [], [self.prefix, keep_ms, *tokens])

    async def recently_closed(self, token: str, *, now: datetime) -> int | None:
        # Not deleted here: the tab gets changes as a closed one until it is registered
        # again (`REGISTER` ends it as closed in the same step).
        uid = await self.redis.get(self.key("closed", token))
        return None if uid is None else int(_text(uid))

    def kept_current(self, token: str) -> bool:
        """Only a tab closed on this instance got every change while it was away: the
        portable changes of other instances reach only the tabs an instance holds."""
        return self.own.kept_current(token)

    def changes_lost(self) -> None:
        """Changes published may have been lost (Redis went away): no closed tab here is
        current any more (each loads everything when it comes back)."""
        self.own.forget_closed()

    async def set_idle(self, token: str, idle: bool) -> Tab | None:
        new = await self._run("SET_IDLE", [], [self.prefix, token, int(idle)])
        if not new:
            return None
        tab = self._decode(token, new[0], new[1])
        mine = self.own.get(token)
        if mine is not None:
            self.own.put(replace(mine, idle=idle))
        return tab

    async def tabs_of(self, user_id: int) -> list[Tab]:
        held = await self.redis.hgetall(self.key("t", user_id))
        return [self._decode(_text(token), user_id, entry) for token, entry in held.items()]

    async def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return []
        return [_text(token) for token in await self._run("TOKENS_OF", [], [self.prefix, *ids])]

    def local_tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        return self.own.tokens_of(user_ids)

    async def local_users(self) -> set[int]:
        return self.own.users()

    # Records ------------------------------------------------------------------------

    async def record(self, user_id: int) -> UserRecord:
        return (await self.records([user_id]))[user_id]

    async def records(self, user_ids: Iterable[int]) -> dict[int, UserRecord]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        # One MULTI per user: its record and its tabs as of the same moment.
        async with self.redis.pipeline(transaction=True) as pipe:
            for uid in ids:
                pipe.hgetall(self.key("u", uid))
                pipe.hgetall(self.key("t", uid))
            found = await pipe.execute()
        return {uid: self._record(uid, found[2 * i], found[2 * i + 1]) for i, uid in enumerate(ids)}

    def _record(self, user_id: int, fields: dict, tabs: dict) -> UserRecord:
        get = {_text(k): _text(v) for k, v in fields.items()}.get
        published = None
        if get("ps"):
            published = Published(
                status=Status(get("ps")), version=int(get("pv") or 0), last_seen_at=from_us(get("pl"))
            )
        choices = None
        if get("cl") == "1":
            choices = Choices(
                chosen=get("cm") or None, until=from_us(get("cu")), hide_last_seen=get("ch") == "1"
            )
        return UserRecord(
            user_id=user_id,
            rev=int(get("rev") or 0),
            tabs=tuple(self._decode(_text(t), user_id, e) for t, e in sorted(tabs.items())),
            published=published,
            ended_at=from_us(get("end")),
            grace_due=from_us(get("due")),
            choices=choices,
        )

    async def commit(self, record: UserRecord, published: Published) -> bool:
        last_seen = "" if published.last_seen_at is None else to_us(published.last_seen_at)
        args = [record.user_id, record.rev, record.version, published.status.value, published.version]
        keys = [self.key("u", record.user_id), self.key("due")]
        return bool(await self._run("COMMIT", keys, [*args, last_seen]))

    async def postpone(self, user_id: int, due: datetime, until: datetime) -> bool:
        # The closed tabs of a mass drop are taken back for as long as this can put off
        # their offline (`unregister`'s `keep`).
        keys = [self.key("u", user_id), self.key("due")]
        return bool(await self._run("POSTPONE", keys, [user_id, to_us(due), to_us(until)]))

    # Choices ------------------------------------------------------------------------

    @staticmethod
    def _choice_value(name: str, value: object) -> str:
        """A choice as stored in the record: '' for None, times in microseconds."""
        if isinstance(value, datetime):
            return str(to_us(value))
        if name == "hide_last_seen":
            return "1" if value else "0"
        return "" if value is None else str(value)

    async def choices(self, user_id: int) -> Choices | None:
        return (await self.record(user_id)).choices

    async def store_choices(self, user_id: int, **changes: object) -> None:
        args = [
            x
            for name, value in changes.items()
            for x in (_CHOICE_FIELDS[name], self._choice_value(name, value))
        ]
        await self._run("STORE_CHOICES", [self.key("u", user_id)], args)

    async def seed_choices(self, user_id: int, choices: Choices) -> Choices:
        args = [self._choice_value(name, getattr(choices, name)) for name in _CHOICE_FIELDS]
        chosen, until, hide = await self._run("SEED_CHOICES", [self.key("u", user_id)], args)
        return Choices(chosen=_text(chosen) or None, until=from_us(until), hide_last_seen=_text(hide) == "1")

    async def schedule_expiry(self, user_id: int, until: datetime | None) -> None:
        if until is None:
            await self.redis.zrem(self.key("due"), f"e:{user_id}")
        else:
            await self.redis.zadd(self.key("due"), {f"e:{user_id}": to_us(until)})

    # Instances ----------------------------------------------------------------------

    async def heartbeat(self, now: datetime, ttl: timedelta, *, first: bool = False) -> bool:
        """Renew this instance's heartbeat. False: it had been declared dead (its tabs
        were ended) and must register its tabs again (see `reclaim`)."""
        self.own.forget_closed(now)  # closed tabs whose time is over get no more changes
        keys = [self.key("alive", self.instance_id), self.key("inst")]
        ttl_ms = int(ttl.total_seconds() * 1000)
        return bool(await self._run("HEARTBEAT", keys, [self.instance_id, to_us(now), ttl_ms, int(first)]))

    async def reclaim(self, now: datetime, ttl: timedelta, grace: timedelta) -> set[int]:
        """Come back after being declared dead: beat again and register this instance's
        tabs again. Returns their users (to evaluate again)."""
        await self.heartbeat(now, ttl, first=True)
        for tab in list(self.own.values()):
            await self.register(tab, now=now, grace=grace)
        return await self.local_users()

    async def dead(self) -> dict[str, datetime]:
        """The instances whose heartbeat expired, with the time of their last beat."""
        beats = {
            _text(inst): int(score)
            for inst, score in await self.redis.zrange(self.key("inst"), 0, -1, withscores=True)
        }
        if not beats:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for inst in beats:
                pipe.exists(self.key("alive", inst))
            found = await pipe.execute()
        alive = {inst for inst, exists in zip(beats, found, strict=True) if exists}
        return {inst: from_us(beat) for inst, beat in dead_instances(beats, alive, self.instance_id).items()}

    async def reap(self, instance_id: str, grace: timedelta) -> set[int] | None:
        """End the tabs of a dead instance, unless another sweeper did. Returns the users
        left without a tab (offline due at once: the beat is older than the grace)."""
        return await self._end(instance_id, grace, force=False, now=None)

    async def release(self, *, now: datetime, grace: timedelta) -> dict[int, datetime]:
        users = await self._end(self.instance_id, grace, force=True, now=now) or set()
        self.own.clear()
        return dict.fromkeys(users, now)

    async def _end(
        self, instance_id: str, grace: timedelta, *, force: bool, now: datetime | None
    ) -> set[int] | None:
        keys = [self.key("inst"), self.key("alive", instance_id), self.key("own", instance_id)]
        grace_us = grace // timedelta(microseconds=1)
        args = [self.prefix, instance_id, grace_us, int(force), "" if now is None else to_us(now)]
        result = await self._run("REAP", keys, args)
        return None if not result else {int(uid) for uid in result[1:]}

    async def due(self, now: datetime) -> list[tuple[str, int, datetime]]:
        """The offlines ("g") and status ends ("e") due by `now`: (kind, user, time)."""
        found = await self.redis.zrangebyscore(
            self.key("due"), "-inf", to_us(now), start=0, num=500, withscores=True
        )
        out = []
        for member, score in found:
            kind, _, uid = _text(member).partition(":")
            out.append((kind, int(uid), from_us(score)))
        return out

    async def finish_due(self, kind: str, user_id: int, at: datetime) -> None:
        """Drop a due entry that was handled (unless it was moved meanwhile)."""
        keys = [self.key("due"), self.key("u", user_id)]
        await self._run("FINISH_DUE", keys, [f"{kind}:{user_id}", to_us(at), int(kind == "g")])
