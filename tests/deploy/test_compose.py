"""deploy/compose.yaml and deploy/Dockerfile, checked without a container engine.

No Docker daemon runs here: `docker compose config` validates the file where the compose
plugin exists; the wiring (services, ports, environment, build targets, restart policy)
is checked by reading the files themselves. That the image's files are enough to build
and run the app is shown by test_proxy.py and test_supervision.py, which run exactly the
files the Dockerfile copies.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.deploy.support import DEPLOY, DOCKERFILE, ROOT, dockerfile_stages, image_copies

COMPOSE = DEPLOY / "compose.yaml"
TEMPLATE = DEPLOY / "nginx" / "chatapp.conf.template"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"
PLACEHOLDERS = set(re.findall(r"\$\{(CHATAPP_[A-Z_]+)\}", TEMPLATE.read_text()))
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def _interpolate(value, env: dict[str, str]):
    """Compose's ${NAME}, ${NAME:-default} and ${NAME-default}, with `env` as the shell."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: env.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    return value


def _compose(env: dict[str, str] | None = None) -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it belongs in requirements-dev.txt)")
    return _interpolate(yaml.safe_load(COMPOSE.read_text()), env or {})


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_compose_file():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker compose plugin here: the file's wiring is checked by reading it (below)")
    done = subprocess.run(
        [*cli, "-f", str(COMPOSE), "config", "--quiet"],
        cwd=ROOT,
        env={**os.environ, "POSTGRES_PASSWORD": "checked"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_compose_runs_a_proxy_n_backends_redis_and_postgres_wired_together():
    compose = _compose({"POSTGRES_PASSWORD": "s3cret"})
    services = compose["services"]
    assert set(services) == {"proxy", "backend", "migrate", "redis", "postgres"}

    # Images from deploy/Dockerfile's stages, built from the repo root.
    stages = dockerfile_stages()
    for name in ("proxy", "backend", "migrate"):
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == ROOT, name
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE, name
        assert build["target"] in stages, name

    # What stops comes back by itself, as Restart=always does in the systemd unit; the
    # one-shot migration does not.
    for name in ("proxy", "backend", "redis", "postgres"):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"] == ["reflex", "db", "migrate"]

    # N backend-only instances, on the port nginx sends to; nginx follows the replicas.
    backend = services["backend"]
    assert int(backend["deploy"]["replicas"]) >= 2
    command = backend["command"]
    assert command[:4] == ["reflex", "run", "--env", "prod"] and "--backend-only" in command
    image_cmd = next(line for line in stages["backend"] if line.startswith("CMD "))
    assert command == json.loads(image_cmd[4:]), "compose runs the image's own command"
    port = command[command.index("--backend-port") + 1]
    proxy_env = services["proxy"]["environment"]
    assert proxy_env["CHATAPP_BACKENDS"] == f"server backend:{port} resolve;"
    assert set(proxy_env) >= PLACEHOLDERS, "a placeholder left to nginx would fail its start"
    listen = proxy_env["CHATAPP_LISTEN"]
    assert any(p.rsplit(":", 1)[1] == listen for p in services["proxy"]["ports"]), (
        "the proxy's port is published"
    )
    build_args = services["proxy"]["build"]["args"]
    assert build_args["REFLEX_API_URL"].startswith(("http://", "https://"))
    # Settings compiled into the pages are built with the backends' values.
    for key in ("CHATAPP_IDLE_AFTER", "CHATAPP_MESSAGE_MAX_LENGTH"):
        assert build_args[key] == backend["environment"][key], key
    declared = {line.split()[1].split("=")[0] for line in stages["frontend"] if line.startswith("ARG ")}
    assert set(build_args) <= declared, "a build argument the frontend stage does not declare is ignored"

    # Start order: databases healthy and migrations done before any instance.
    needs = backend["depends_on"]
    assert needs["migrate"]["condition"] == "service_completed_successfully"
    assert needs["redis"]["condition"] == needs["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]

    # Every app container talks to this file's Redis and PostgreSQL, with its credentials.
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"] == "s3cret"
    assert services["postgres"]["volumes"][0].split(":")[0] in compose["volumes"]
    # Redis keeps its data on a volume: a restart must not forget the login throttle.
    assert services["redis"]["volumes"][0] == "redis-data:/data"
    assert "redis-data" in compose["volumes"]
    assert services["redis"]["command"][1:3] == ["--appendonly", "yes"]
    settings = (ROOT / "chatapp" / "settings.py").read_text()
    for name in ("backend", "migrate"):
        env = services[name]["environment"]
        redis = urlsplit(env["REFLEX_REDIS_URL"])
        assert (redis.scheme, redis.hostname, redis.port or 6379) == ("redis", "redis", 6379), name
        db = urlsplit(env["REFLEX_DB_URL"])
        assert (db.scheme, db.hostname, db.port) == ("postgresql+psycopg", "postgres", 5432), name
        assert (db.username, db.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]), name
        assert db.path.lstrip("/") == postgres["POSTGRES_DB"], name
        assert env["CHATAPP_MIGRATE_ON_START"] == "0", name
        assert env["REFLEX_TRUSTED_PROXY_HOPS"] == "1", name
        # The app's settings are spelled as chatapp/settings.py reads them.
        for key in env:
            if key.startswith("CHATAPP_") and key != "CHATAPP_MIGRATE_ON_START":
                assert f'"{key}"' in settings, f"{name}: {key} is not a setting of the app"


def _in_build_context(path: str) -> bool:
    """Whether deploy/Dockerfile.dockerignore lets `path` into the build context."""
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.removeprefix("!").rstrip("/")
        if any(fnmatch(prefix, glob) for prefix in prefixes):
            included = negate
    return included


def test_the_dockerfile_stages_files_and_entry_point():
    text = DOCKERFILE.read_text()
    stages = dockerfile_stages()
    assert {"backend", "frontend", "proxy"} <= set(stages)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.MULTILINE)
    backend = stages["backend"]
    assert "RUN pip install -r requirements.txt" in backend  # the runtime set, nothing else
    assert any("reflex export --frontend-only" in line for line in stages["frontend"])
    assert any(".web/build/client" in line and "--from=frontend" in line for line in stages["proxy"])

    # Every file copied exists and is in the build context.
    for stage in stages:
        for sources, _ in image_copies(stage):
            for source in sources:
                assert (ROOT / source).exists(), source
                assert _in_build_context(source), f"{source} is left out by Dockerfile.dockerignore"
    assert not _in_build_context(".venv") and not _in_build_context(".web/build")

    # One backend-only instance on port 8000, as compose and its proxy expect.
    cmd = json.loads(next(line for line in backend if line.startswith("CMD "))[4:])
    assert cmd[:4] == ["reflex", "run", "--env", "prod"] and "--backend-only" in cmd
    assert cmd[cmd.index("--backend-port") + 1] == "8000"
    # The proxy image defines every placeholder of the template (its envsubst needs them).
    proxy_env = next(line for line in stages["proxy"] if line.startswith("ENV "))
    assert all(f"{name}=" in proxy_env for name in PLACEHOLDERS)

    # The entry point migrates first (unless told not to), then becomes the command.
    assert os.access(ENTRYPOINT, os.X_OK)
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=False).returncode == 0
    script = ENTRYPOINT.read_text()
    assert script.index("reflex db migrate") < script.index('exec "$@"')
    assert "CHATAPP_MIGRATE_ON_START" in script
