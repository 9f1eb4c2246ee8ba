"""The app under test: a copy of the project to build and run it in, and its users."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.app_server import ROOT, reflex_executable
from bench.browser_latency import BenchError

PASSWORD = "correct horse battery"

# What the app run needs, copied from the checkout (`.web` separately, without its build).
PROJECT_FILES = ["rxconfig.py", "alembic.ini", "alembic", "chatapp", "assets"]
WEB_SKIP = {"build", ".react-router", "env.json", ".reflex_dev_backend_started", ".vite"}


def copy_project(dest: Path) -> Path:
    """A copy of the app's sources and its initialized `.web` to run a production build in."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, symlinks=True)
        elif src.exists():
            shutil.copy2(src, dest / name)
    web = ROOT / ".web"
    if not (web / "node_modules").is_dir():
        # A fresh checkout: let Reflex lay out and install the frontend once (what the
        # first `scripts/run` or test run would do); the copy below reuses it.
        print("[bench] the frontend is not installed yet: reflex export --frontend-only", flush=True)
        env = {**os.environ, "REFLEX_TELEMETRY_ENABLED": "false"}
        done = subprocess.run(
            [reflex_executable(), "export", "--frontend-only", "--no-zip"], cwd=ROOT, env=env, check=False
        )
        if done.returncode != 0 or not (web / "node_modules").is_dir():
            msg = f"could not initialize {web} (reflex export exited {done.returncode})"
            raise BenchError(msg)
    shutil.copytree(
        web,
        dest / ".web",
        symlinks=True,
        ignore=lambda _dir, names: [n for n in names if _dir == str(web) and n in WEB_SKIP],
    )
    return dest


@dataclass(frozen=True)
class Pair:
    """Two users who share a direct conversation, each with a login token."""

    a_id: int
    b_id: int
    conversation_id: int
    a_token: str
    b_token: str

    def url(self, base: str) -> str:
        """The conversation's page."""
        return f"{base}/c/{self.conversation_id}"


def create_pairs(count: int) -> list[Pair]:
    """Users and conversations, written with the app's own services into the bench's
    database (REFLEX_DB_URL must point at it before chatapp is first imported)."""
    import reflex as rx

    from chatapp.models import utcnow
    from chatapp.services import accounts, conversations, logins

    def user(session, prefix: str) -> tuple[int, str]:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        created = accounts.sign_up(session, username=name, display_name=name.title(), password=PASSWORD)
        return created.id, name

    def login(session, user_id: int) -> str:
        return logins.start(session, user_id=user_id, now=utcnow())[1]

    pairs = []
    with rx.session() as session:
        for i in range(count):
            a_id, _ = user(session, f"bench_a{i}")
            b_id, b_name = user(session, f"bench_b{i}")
            cid, _ = conversations.open_direct(session, user_id=a_id, other_username=b_name)
            pairs.append(Pair(a_id, b_id, cid, login(session, a_id), login(session, b_id)))
    return pairs
