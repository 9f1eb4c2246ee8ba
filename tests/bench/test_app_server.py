"""The app server the benchmarks start (`bench/app_server.py`)."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from bench import app_server


@pytest.mark.integration
def test_a_port_taken_before_the_app_binds_it_is_replaced_by_another(monkeypatch):
    """A port found free can be taken before the app binds it (a login flood's thousands of
    client connections take source ports from the same range): the app exits saying the
    port is in use, and the server starts it again on another port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        offered = iter([taken])
        free = app_server.free_port
        monkeypatch.setattr(app_server, "free_port", lambda host: next(offered, None) or free(host))
        with app_server.AppServer() as server:
            assert server.port != taken
            with urllib.request.urlopen(f"{server.backend_url}/ping", timeout=10) as answer:
                assert answer.status == 200
