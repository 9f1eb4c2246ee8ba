"""Fixtures of the deploy tests: the app copied as the image holds it, its frontend built
for the proxy, a backend instance, and nginx from Debian in front of them, on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.app_server import migrate_database, reflex_executable
from deploy.render_nginx import nginx_command, write_run_dir
from tests.deploy.support import (
    User,
    app_environment,
    copy_app_as_image,
    create_pair,
    end_group,
    free_port,
    start_group,
    tail,
    wait_for_http,
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A directory for one module's app copy, databases, logs and nginx run directory.

    Not pytest's tmp_path: that one is private to root (0700), and nginx's workers run as
    `nobody` when nginx is started by root, so they could not read the frontend there.
    """
    path = Path(tempfile.mkdtemp(prefix="chatapp-deploy-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def app_dir(workdir: Path) -> Path:
    """The app's files as deploy/Dockerfile copies them into /app."""
    return copy_app_as_image(workdir / "app")


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    """Debian's nginx; installed with apt-get when missing and running as root.

    The project's set-up scripts do not install nginx (only these tests need it), so the
    fixture does, the way scripts/bootstrap.sh installs Chromium for the e2e tests.
    """
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("nginx is not installed, and installing it needs root and apt-get: apt-get install nginx")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:  # stale package lists: refresh once and retry
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (
        f"apt-get install nginx failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
    return shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def proxy_port() -> int:
    """The port nginx will listen on (known before the frontend is built: it is compiled in)."""
    return free_port()


@pytest.fixture(scope="module")
def frontend(app_dir: Path, workdir: Path, proxy_port: int) -> Path:
    """The compiled frontend, built as the image's `frontend` stage builds it.

    REFLEX_API_URL names "localhost" and the proxy's port, as the image's default does:
    the browser replaces "localhost" with the page's own host name.
    """
    if shutil.which("bun") is None:
        pytest.skip("bun is not on PATH (scripts/test puts it there): the frontend cannot be built")
    log = workdir / "export.log"
    env = app_environment(
        f"sqlite:///{workdir / 'export.db'}",
        REFLEX_API_URL=f"http://localhost:{proxy_port}",
        REFLEX_USE_SYSTEM_BUN="true",
    )
    with open(log, "wb") as out:
        done = subprocess.run(
            [reflex_executable(), "export", "--frontend-only", "--no-zip"],
            cwd=app_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    static = app_dir / ".web" / "build" / "client"
    assert done.returncode == 0, f"reflex export failed:\n{tail(log)}"
    assert (static / "index.html").is_file(), f"no index.html in {static}:\n{tail(log)}"
    return static


@dataclass(frozen=True)
class Backend:
    """A running backend instance and the two users in its database."""

    url: str
    users: tuple[User, User]
    log: Path


@pytest.fixture(scope="module")
def backend(app_dir: Path, workdir: Path) -> Iterator[Backend]:
    """One backend instance, `reflex run --env prod --backend-only`, from the image's files.

    One process, no Redis: two instances without Redis would not share presence.
    """
    db_url = f"sqlite:///{workdir / 'app.db'}"
    env = app_environment(db_url, CHATAPP_PRESENCE_GRACE="0.3", REFLEX_TRUSTED_PROXY_HOPS="1")
    migrate_database(db_url, workdir=app_dir, env=env)
    users = create_pair(db_url)
    port = free_port()
    log = workdir / "backend.log"
    command = [reflex_executable(), "run", "--env", "prod", "--backend-only"]
    command += ["--backend-host", "127.0.0.1", "--backend-port", str(port)]
    process = start_group(command, cwd=app_dir, env=env, log=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/ping", process=process, log=log)
        yield Backend(url, users, log)
    finally:
        end_group(process)


@dataclass(frozen=True)
class Proxy:
    """nginx running the repo's configuration, and where its files are."""

    url: str
    port: int
    run_dir: Path

    @property
    def access_log(self) -> str:
        return (self.run_dir / "logs" / "access.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def proxy(
    nginx_binary: str, frontend: Path, backend: Backend, proxy_port: int, workdir: Path
) -> Iterator[Proxy]:
    """nginx with deploy/nginx rendered for loopback: the frontend, and the backend behind it."""
    run_dir = workdir / "nginx"
    backend_address = backend.url.removeprefix("http://")
    main_config = write_run_dir(
        run_dir, listen=f"127.0.0.1:{proxy_port}", static_root=frontend, backends=[backend_address]
    )
    log = workdir / "nginx.log"
    check = subprocess.run(
        [*nginx_command(main_config, nginx_binary)[:-2], "-t"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, f"nginx -t refused the rendered configuration:\n{check.stderr}"
    process = start_group(nginx_command(main_config, nginx_binary), cwd=run_dir, env=os.environ, log=log)
    try:
        url = f"http://127.0.0.1:{proxy_port}"
        wait_for_http(f"{url}/ping", process=process, log=log, timeout=30)
        yield Proxy(url, proxy_port, run_dir)
    finally:
        end_group(process, 10)
