"""The README's run command, as a newcomer uses it: `scripts/run` in a fresh copy of the
project, in development mode (the default) and with `--env prod`, each on a fresh database
with the demo seed (asked for explicitly in production: CHATAPP_SEED_DEMO=1). Two browsers
log in as alice and bob, see each other online and exchange a message both ways, clicking
Send with the mouse at phone and desktop width; the socket takes no page of another
origin. Without CHATAPP_SEED_DEMO=1, `--env prod` creates no demo accounts (their password
is public).

Development mode's reloader once restarted the backend on every database write, and a
production build once pinned a badge over the Send button; both broke the demo the README
promises while every other test passed, because no other test starts the app this way.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlmodel import Session, create_engine, select

from bench.app_server import ServerProcess, free_port
from chatapp.models import User
from tests.conftest import ROOT
from tests.integration.support import websocket_opens

# What a first start may print; anything else that looks like a warning fails the test.
NOISE = re.compile(r"warning|failed to connect|uv run|out of date|killing worker|error", re.IGNORECASE)
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


def _fresh_copy(dest: Path) -> Path:
    """The project's files as a clone has them, sharing this checkout's installed tools
    (.venv and .tools: the same requirements, so `scripts/run` installs nothing again)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for tool in (".venv", ".tools"):
        (dest / tool).symlink_to(ROOT / tool)
    return dest


class RunCommand(ServerProcess):
    """`scripts/run ARGS` in `workdir`, with the environment a newcomer has, plus `env`
    (what a reader of the README sets on the command line)."""

    def __init__(
        self,
        workdir: Path,
        args: list[str],
        backend_port: int,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir, self.args, self.log_path = workdir, args, log_path
        self.backend_port = backend_port
        self.extra_env = dict(env or {})
        self.workers: set[int] = set()
        self._watching = False

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "CHATAPP_"))}
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
        env.update(self.extra_env)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["scripts/run", *self.args],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._watching = True
        threading.Thread(target=self._watch_workers, daemon=True).start()

    def _watch_workers(self) -> None:
        """Records every backend worker process the server ever runs (the reloader starts a
        new one on each restart): a process of the server holding a socket on the backend's
        port. Reflex's other children (the compile pool, bun, the frontend) hold none."""
        while self._watching and self.process is not None and self.process.poll() is None:
            for child in self.processes()[1:]:
                try:
                    if any(c.laddr and c.laddr.port == self.backend_port for c in child.net_connections()):
                        self.workers.add(child.pid)
                except psutil.Error:
                    pass
            time.sleep(0.1)

    def wait_ready(self, url: str, timeout: float = 420) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"scripts/run exited:\n{self.log()[-4000:]}"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        pytest.fail(f"scripts/run did not serve {url} within {timeout} s:\n{self.log()[-4000:]}")

    def wait_for_output(self, text: str, timeout: float = 180) -> None:
        """Wait until the command has printed `text`."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, f"scripts/run exited:\n{self.log()[-4000:]}"
            if time.monotonic() > deadline:
                pytest.fail(f"scripts/run did not print {text!r} within {timeout} s:\n{self.log()[-4000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        from bench.app_server import _end_group

        self._watching = False
        if self.process is not None:
            _end_group(self.process, timeout=15)
            self.process = None


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return _fresh_copy(tmp_path_factory.mktemp("clone"))


def _fresh_database(project: Path) -> None:
    for leftover in project.glob("chatapp.db*"):
        leftover.unlink()


def _users_in(project: Path) -> int:
    engine = create_engine(f"sqlite:///{project / 'chatapp.db'}")
    try:
        with Session(engine) as session:
            return session.exec(select(sa.func.count(User.id))).one()
    finally:
        engine.dispose()


def _log_in(page, base_url: str, username: str) -> float:
    """Logs in through the form; returns the seconds until the chat page showed the user."""
    page.goto(f"{base_url}/login")
    started = time.monotonic()
    page.get_by_placeholder("Username").fill(username)
    page.get_by_placeholder("Password").fill("chatapp-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#status-menu-trigger")).to_contain_text(f"@{username}")
    return time.monotonic() - started


def _send_with_the_mouse(page, text: str) -> None:
    page.locator("#composer").fill(text)
    # A real click: Playwright refuses it while another element covers the button.
    page.get_by_role("button", name="Send").click(timeout=5000)
    expect(page.locator("#composer")).to_have_value("")


@pytest.mark.parametrize("mode", ["development", "production"])
def test_the_readme_run_command_serves_the_demo_to_two_browsers(mode, project, browser, tmp_path):
    _fresh_database(project)  # each mode starts on a fresh database
    if mode == "development":
        frontend, backend = free_port(), free_port()
        args = ["--frontend-port", str(frontend), "--backend-port", str(backend)]
        env = {}  # the demo is seeded by default
    else:
        frontend = backend = free_port()
        args = ["--env", "prod", "--frontend-port", str(frontend), "--backend-port", str(backend)]
        env = {"CHATAPP_SEED_DEMO": "1"}  # production mode seeds only when asked
    base_url = f"http://localhost:{frontend}"
    server = RunCommand(project, args, backend, tmp_path / "run.log", env=env)
    server.start()
    try:
        server.wait_ready(f"http://127.0.0.1:{backend}/ping")
        server.wait_ready(f"{base_url}/login")

        alice = browser.new_context(viewport=DESKTOP).new_page()
        bob = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        seconds = {"alice": _log_in(alice, base_url, "alice"), "bob": _log_in(bob, base_url, "bob")}

        # The seeded direct chat: each sees the other online in the list, then inside.
        for page, peer in ((alice, "Bob Builder"), (bob, "Alice Liddell")):
            title = page.locator(".conv-title", has_text=re.compile(f"^{peer}$"))
            row = page.locator(".conversation-row", has=title)
            expect(row.locator(".presence-indicator").first).to_have_attribute("data-presence", "online")
            row.click()
            expect(page.locator("#conversation-title")).to_have_text(peer)
            expect(page.locator("#header-presence")).to_have_text("Online")

        # The site's icon (browser tabs, bookmarks; the unread badge is drawn over it) is
        # served, not a 404 or a page in its place.
        icon = alice.evaluate(
            "async () => { const r = await fetch('/favicon.ico');"
            " return [r.status, Array.from(new Uint8Array(await r.arrayBuffer()).slice(0, 4))]; }"
        )
        assert icon == [200, [0, 0, 1, 0]], f"/favicon.ico: {icon}"

        _send_with_the_mouse(alice, "Hello Bob, from the desktop")
        expect(bob.locator(".message-body").last).to_have_text("Hello Bob, from the desktop")
        _send_with_the_mouse(bob, "Hi Alice, from the phone")
        expect(alice.locator(".message-body").last).to_have_text("Hi Alice, from the phone")

        log = server.log()
        assert len(server.workers) >= 1, "the backend worker was never seen"
        restarts = len(server.workers) - 1
        assert restarts == 0, f"the backend restarted {restarts} time(s):\n{log[-4000:]}"
        noise = [line for line in log.splitlines() if NOISE.search(line)]
        assert noise == [], "scripts/run printed warnings:\n" + "\n".join(noise)

        # The default origin allowlist follows the ports given: the pages' own origin opens
        # the socket (as the browsers did), a page of another site cannot. (After reading the
        # log: socket.io logs each refusal.)
        backend_url = f"http://127.0.0.1:{backend}"
        assert websocket_opens(backend_url, base_url)
        assert not websocket_opens(backend_url, "https://evil.example")
        assert not websocket_opens(backend_url, f"http://localhost:{free_port()}")
        print(f"{mode}: seconds from clicking 'Log in' to the chat page: {seconds}")
    finally:
        server.stop()


def test_production_mode_without_the_seed_setting_creates_no_demo_accounts(project, tmp_path):
    # Cheap: `scripts/run --env prod` is stopped as soon as the seed has decided, before
    # the production build. The decision is made from scripts/run's own arguments.
    _fresh_database(project)
    port = free_port()
    args = ["--env=prod", "--frontend-port", str(port), "--backend-port", str(port)]
    server = RunCommand(project, args, port, tmp_path / "run.log")
    server.start()
    try:
        server.wait_for_output("[seed] no demo accounts in prod mode")
    finally:
        server.stop()
    assert _users_in(project) == 0
