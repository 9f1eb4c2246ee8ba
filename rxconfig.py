"""Reflex configuration: every setting that differs per deployment comes from the environment."""

import os

import reflex as rx

from chatapp.settings import settings

# Reflex notices a silently lost client by its socket.io ping: with the defaults
# (25 s interval, 120 s timeout) a frozen browser stayed "online" for 144 s. These
# are read by Reflex from the environment, not from rx.Config, so set them before
# the socket server is created. 5 s + 5 s measured 8.8 s to offline.
os.environ.setdefault("REFLEX_SOCKET_INTERVAL", "5")
os.environ.setdefault("REFLEX_SOCKET_TIMEOUT", "5")

config = rx.Config(
    app_name="chatapp",
    db_url=settings.db_url,
    telemetry_enabled=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", radius="large", has_background=True)
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
