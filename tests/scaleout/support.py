"""What the scale-out tests need: the machine's Redis and PostgreSQL (or a clear reason
why not), a fresh database, users written into it, and a cluster of app instances."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import uuid
from functools import partial
from unittest import mock

import bcrypt
import sqlalchemy as sa
from sqlmodel import Session, create_engine

from bench.app_server import AppServer, free_port
from bench.services import POSTGRES_URL, fresh_postgres_database

__all__ = ["POSTGRES_URL", "REDIS_URL", "Cluster", "People", "fresh_postgres_database", "services_problem"]
from chatapp.models import utcnow
from chatapp.services import accounts, conversations, logins
from tests.support import all_wrote, presence_key

REDIS_URL = os.environ.get("CHATAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


def services_problem() -> str | None:
    """Why Redis or PostgreSQL cannot be used (None when both answer)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is unreachable ({exc})"
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable ({str(exc).splitlines()[0]})"
    finally:
        engine.dispose()
    return None


class People:
    """Writes users, logins and conversations into the cluster's database, as the
    app's own services do (bcrypt at its lowest cost: nobody logs in by password)."""

    def __init__(self, db_url: str) -> None:
        self.engine = create_engine(db_url)

    def session(self) -> Session:
        """A session on the database."""
        return Session(self.engine)

    def user(self, prefix: str) -> tuple[int, str]:
        """A new account; returns (user id, username)."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with (
            mock.patch.object(bcrypt, "gensalt", partial(bcrypt.gensalt, rounds=4)),
            self.session() as session,
        ):
            user = accounts.sign_up(session, username=name, display_name=name.title(), password=PASSWORD)
            return user.id, name

    def login(self, user_id: int) -> str:
        """A fresh login session (what the browser keeps in localStorage)."""
        with self.session() as session:
            return logins.start(session, user_id=user_id, now=utcnow())[1]

    def direct(self, user_id: int, other_username: str) -> int:
        """The direct conversation of two users who have both written in it."""
        with self.session() as session:
            cid, _ = conversations.open_direct(session, user_id=user_id, other_username=other_username)
            return all_wrote(session, cid)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


class Cluster:
    """App instances (`reflex run --env prod --backend-only`) sharing one Redis and one
    database, each on its own port, each restartable on the same port.

    Args:
        db_url: The (migrated) database.
        env: The environment of every instance (Redis URL, presence prefix, ...).
        workers: Granian workers per instance (one entry per instance).
    """

    def __init__(self, db_url: str, env: dict[str, str], workers: tuple[int, ...] = (1, 1)) -> None:
        self.db_url = db_url
        self.env = env
        self.workers = workers
        self.ports = [free_port() for _ in workers]
        self.servers: list[AppServer | None] = [None] * len(workers)

    def _server(self, i: int) -> AppServer:
        env = {**self.env, "GRANIAN_WORKERS": str(self.workers[i])}
        return AppServer(env=env, port=self.ports[i], db_url=self.db_url, migrate=False, ready_timeout=60)

    def start(self, i: int) -> AppServer:
        """Start instance `i` (on its port) and wait until it answers."""
        server = self._server(i)
        server.__enter__()
        self.servers[i] = server
        return server

    def start_all(self) -> None:
        """Start every instance, side by side."""
        with concurrent.futures.ThreadPoolExecutor(len(self.workers)) as pool:
            list(pool.map(self.start, range(len(self.workers))))

    def url(self, i: int) -> str:
        """Where instance `i` answers."""
        return f"http://127.0.0.1:{self.ports[i]}"

    def kill(self, i: int) -> None:
        """SIGKILL every process of instance `i` at once: no clean shutdown at all."""
        server = self.servers[i]
        if server is None:
            return
        os.killpg(os.getpgid(server.pid), signal.SIGKILL)
        server.stop()
        self.servers[i] = None

    def stop(self, i: int) -> None:
        """Stop instance `i` cleanly (SIGTERM)."""
        server, self.servers[i] = self.servers[i], None
        if server is not None:
            server.stop()

    def log(self, i: int) -> str:
        """The output of instance `i` so far."""
        server = self.servers[i]
        return server.log_tail(200_000) if server is not None else ""

    def stop_all(self) -> None:
        """Stop every instance."""
        for i in range(len(self.servers)):
            self.stop(i)


def presence_keys(prefix: str) -> dict[str, object]:
    """Every presence key of a run in Redis, with its value (hashes as dicts, sets as
    sets, sorted sets as dicts of scores), to look for leftovers."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        out: dict[str, object] = {}
        for key in client.scan_iter(f"{prefix}:*"):
            kind = client.type(key)
            if kind == "hash":
                out[key] = client.hgetall(key)
            elif kind == "set":
                out[key] = client.smembers(key)
            elif kind == "zset":
                out[key] = dict(client.zrange(key, 0, -1, withscores=True))
            else:
                out[key] = client.get(key)
        return out
    finally:
        client.close()


def received(client, user_id: int, since: int = 0) -> list[dict]:
    """The presence entries about a user that a raw client received (in order), from
    its `since`-th update on."""
    key = presence_key(user_id)
    return [
        sub[key]
        for update in client.updates[since:]
        for sub in (update.get("delta") or {}).values()
        if sub.get(key) is not None
    ]


async def tab(url: str, people: People, user_id: int, path: str = "/", query=None):
    """A signed-in tab (a raw client) of the user on the instance at `url`, its page loaded."""
    from bench.reflex_client import ReflexClient

    client = ReflexClient(url, people.login(user_id))
    await client.connect()
    await client.load(path, query)
    return client
