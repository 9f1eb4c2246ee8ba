"""Fill in deploy/nginx/chatapp.conf.template for a host without containers (and the tests).

In compose, the nginx image fills the template in by itself (envsubst of the
`CHATAPP_*` variables, see deploy/compose.yaml). This does the same substitution:

    # A directory to run nginx from by hand (no root needed for a port above 1024):
    python deploy/render_nginx.py /tmp/chatapp-nginx --listen 127.0.0.1:8080 \\
        --backend 127.0.0.1:8001 --backend 127.0.0.1:8002 --static .web/build/client
    nginx -e stderr -p /tmp/chatapp-nginx -c /tmp/chatapp-nginx/nginx.conf -g 'daemon off;'

    # Only the site file, for the system's nginx:
    python deploy/render_nginx.py --conf-only --listen 80 --backend 127.0.0.1:8001 \\
        --backend 127.0.0.1:8002 --static /opt/chatapp/.web/build/client \\
        > /etc/nginx/conf.d/chatapp.conf

Standard library only: it runs with any Python 3.11, inside or outside the app's venv.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

NGINX_DIR = Path(__file__).resolve().parent / "nginx"
SITE_TEMPLATE = NGINX_DIR / "chatapp.conf.template"
MAIN_CONFIG = NGINX_DIR / "nginx.conf"
# The run directory's layout, as deploy/nginx/nginx.conf names it (relative to `nginx -p`).
SITE_FILE = "chatapp.conf"
RUN_SUBDIRS = ("logs", "tmp")
# Where the template's access_log and error_log directives write: the directory the
# distribution's nginx and the nginx image keep their logs in (the image links the files
# to the container's stdout and stderr). A run directory keeps them in its logs/ instead.
SYSTEM_LOG_DIR = "/var/log/nginx"
RUN_DIR_LOG_DIR = "logs"
_LOG_DIRECTIVE_RE = re.compile(rf"^(\s*(?:access|error)_log\s+){re.escape(SYSTEM_LOG_DIR)}/", re.MULTILINE)

_BACKEND_RE = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$")
_PLACEHOLDER_RE = re.compile(r"\$\{?CHATAPP_[A-Z_]+\}?")


def upstream_servers(backends: Sequence[str]) -> str:
    """The value of CHATAPP_BACKENDS for backend addresses ("host:port"), on one line.

    Raises:
        ValueError: No backend, or one that is not host:port.
    """
    if not backends:
        msg = "at least one backend (host:port) is needed"
        raise ValueError(msg)
    for backend in backends:
        if not _BACKEND_RE.fullmatch(backend):
            msg = f"a backend must be host:port, not {backend!r}"
            raise ValueError(msg)
    return " ".join(f"server {backend};" for backend in backends)


def render_site(
    *, listen: str, static_root: Path | str, backends: Sequence[str], log_dir: str | None = None
) -> str:
    """The site configuration (for nginx's http{} context) with the three values filled in.

    Args:
        listen: What to listen on (CHATAPP_LISTEN).
        static_root: The exported frontend (CHATAPP_STATIC_ROOT).
        backends: The backend instances, host:port (CHATAPP_BACKENDS).
        log_dir: The directory of the site's logs; None keeps the template's
            SYSTEM_LOG_DIR. Not a placeholder: the image's envsubst would need a value for
            it, and the image keeps the template's.

    Raises:
        ValueError: A value is missing or malformed, or the template has a placeholder
            this function does not know (the two would then disagree with compose), or
            no log directive to move.
    """
    if not str(listen).strip():
        msg = "listen must say what to listen on, e.g. 8080 or 127.0.0.1:8080"
        raise ValueError(msg)
    values = {
        "CHATAPP_LISTEN": str(listen).strip(),
        "CHATAPP_STATIC_ROOT": str(Path(static_root).resolve()),
        "CHATAPP_BACKENDS": upstream_servers(backends),
    }
    text = SITE_TEMPLATE.read_text()
    for name, value in values.items():
        placeholder = "${" + name + "}"
        if placeholder not in text:
            msg = f"{SITE_TEMPLATE} lacks {placeholder}"
            raise ValueError(msg)
        text = text.replace(placeholder, value)
    if log_dir is not None:
        text = _move_logs(text, log_dir)
    left = sorted(set(_PLACEHOLDER_RE.findall(text)))
    if left:
        msg = f"{SITE_TEMPLATE} has placeholders render_site does not fill: {', '.join(left)}"
        raise ValueError(msg)
    return text


def _move_logs(text: str, log_dir: str) -> str:
    """The site configuration with its access and error logs in `log_dir` instead."""
    if not log_dir.strip() or any(c.isspace() or c in ";{}'\"" for c in log_dir):
        msg = f"the log directory must be a plain path, not {log_dir!r}"
        raise ValueError(msg)
    moved, count = _LOG_DIRECTIVE_RE.subn(lambda m: f"{m.group(1)}{log_dir.rstrip('/')}/", text)
    if not count:
        msg = f"{SITE_TEMPLATE} has no access_log or error_log in {SYSTEM_LOG_DIR}/ to move"
        raise ValueError(msg)
    return moved


def write_run_dir(
    directory: Path | str, *, listen: str, static_root: Path | str, backends: Sequence[str]
) -> Path:
    """Write a directory nginx runs from with `-p DIR -c DIR/nginx.conf`.

    Returns:
        The path of the main configuration file (DIR/nginx.conf).
    """
    run_dir = Path(directory).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for sub in RUN_SUBDIRS:
        (run_dir / sub).mkdir(exist_ok=True)
    site = render_site(listen=listen, static_root=static_root, backends=backends, log_dir=RUN_DIR_LOG_DIR)
    (run_dir / SITE_FILE).write_text(site)
    main_config = run_dir / MAIN_CONFIG.name
    main_config.write_text(MAIN_CONFIG.read_text())
    return main_config


def nginx_command(main_config: Path, nginx: str = "nginx") -> list[str]:
    """The command that runs nginx in the foreground from a directory made by write_run_dir."""
    return [nginx, "-e", "stderr", "-p", str(main_config.parent), "-c", str(main_config), "-g", "daemon off;"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", help="where to write nginx.conf, chatapp.conf, logs/, tmp/")
    parser.add_argument("--listen", required=True, help="port or address:port, e.g. 127.0.0.1:8080")
    parser.add_argument(
        "--backend",
        action="append",
        required=True,
        metavar="HOST:PORT",
        help="a backend instance (repeat for each)",
    )
    parser.add_argument("--static", required=True, help="the exported frontend (.web/build/client)")
    parser.add_argument(
        "--conf-only", action="store_true", help="print the site file only (for the system's conf.d)"
    )
    parser.add_argument(
        "--log-dir",
        metavar="DIR",
        help=f"with --conf-only: where the site's access and error logs go (default {SYSTEM_LOG_DIR})",
    )
    args = parser.parse_args(argv)
    try:
        if args.conf_only:
            site = render_site(
                listen=args.listen, static_root=args.static, backends=args.backend, log_dir=args.log_dir
            )
            sys.stdout.write(site)
            return 0
        if not args.directory:
            parser.error("a directory is needed (or --conf-only)")
        if args.log_dir:
            parser.error("--log-dir goes with --conf-only (a run directory logs to its logs/)")
        main_config = write_run_dir(
            args.directory, listen=args.listen, static_root=args.static, backends=args.backend
        )
    except ValueError as error:
        parser.error(str(error))
    if not Path(args.static, "index.html").is_file():
        print(
            f"warning: {args.static}/index.html does not exist yet (reflex export --frontend-only --no-zip)"
        )
    command = " ".join(f"'{part}'" if " " in part else part for part in nginx_command(main_config))
    print(f"wrote {main_config.parent}; run nginx with:\n  {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
