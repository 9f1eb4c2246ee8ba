"""Fixtures of the scale-out tests: the machine's Redis and PostgreSQL, a fresh database
migrated on PostgreSQL, a key prefix of their own in Redis, and two app instances.

Without Redis or PostgreSQL these tests skip, saying which one is missing; with
CHATAPP_REQUIRE_SERVICES=1 (CI) they fail instead: a green run that skipped them would
prove nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.scaleout.support import REDIS_URL, Cluster, People, fresh_postgres_database, services_problem


def pytest_collection_modifyitems(items):
    """Every test here needs the services."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def services() -> None:
    """Redis and PostgreSQL answer, or the test skips (fails when they are required)."""
    problem = services_problem()
    if problem is None:
        return
    if os.environ.get("CHATAPP_REQUIRE_SERVICES", "") == "1":
        pytest.fail(f"CHATAPP_REQUIRE_SERVICES=1 but {problem}", pytrace=False)
    pytest.skip(f"needs Redis and PostgreSQL: {problem} (CI sets CHATAPP_REQUIRE_SERVICES=1 to fail instead)")


@pytest.fixture(autouse=True)
def _needs_services(services) -> None:
    """Applies the check above to every test of this directory."""


@pytest.fixture(scope="session")
def postgres_url(services) -> Iterator[str]:
    """A fresh PostgreSQL database, migrated with the project's migrations."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def people(postgres_url) -> Iterator[People]:
    """Writes users and conversations into that database."""
    writer = People(postgres_url)
    yield writer
    writer.close()


@pytest.fixture(scope="session")
def redis_prefix(services) -> Iterator[str]:
    """A presence key prefix of this run's own (and, with "-limits", its rate limits'); their
    keys are deleted afterwards."""
    import redis

    prefix = f"chatapp-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = [*client.scan_iter(f"{prefix}:*"), *client.scan_iter(f"{prefix}-limits*")]
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def cluster(postgres_url, redis_prefix) -> Iterator[Cluster]:
    """Two instances of the app on two ports, sharing Redis and the database: the first
    with one worker, the second with two (a tab there may land on either). Their rate
    limits are this run's own too: each run's fresh database numbers its users from 1
    again, and the machine's Redis is shared with other runs (a benchmark, say)."""
    env = {
        "REFLEX_REDIS_URL": REDIS_URL,
        "CHATAPP_PRESENCE_PREFIX": redis_prefix,
        "CHATAPP_LIMITS_PREFIX": f"{redis_prefix}-limits",  # apart from the presence keys tests read
    }
    running = Cluster(postgres_url, env, workers=(1, 2))
    running.start_all()
    try:
        yield running
        # An exception inside an instance fails the module, whatever its tests saw.
        logs = [running.log(i) for i in range(len(running.servers))]
    finally:
        running.stop_all()
    failed = [log for log in logs if "Traceback (most recent call last)" in log or " ERROR " in log]
    assert not failed, "an instance logged an error:\n" + "\n---\n".join(log[-3000:] for log in failed)
