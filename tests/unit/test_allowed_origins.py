"""Which origins may use the backend, from the environment a run has (the decision
behind rxconfig.py's `cors_allowed_origins`; tests/integration/test_allowed_origins.py
checks that the backend applies it)."""

from __future__ import annotations

import pytest

from chatapp.settings import ANY_ORIGIN, allowed_origins, origin_of

LOCAL_3000 = ("http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        # `reflex run` (development): the frontend's port, exported by Reflex.
        ({"REFLEX_ENV_MODE": "dev", "REFLEX_FRONTEND_PORT": "3000"}, LOCAL_3000),
        (
            {"REFLEX_ENV_MODE": "dev", "REFLEX_FRONTEND_PORT": "41001", "REFLEX_BACKEND_PORT": "41002"},
            ("http://localhost:41001", "http://127.0.0.1:41001", "http://[::1]:41001"),
        ),
        # `reflex run --env prod`: the single port, given or Reflex's default.
        (
            {"REFLEX_ENV_MODE": "prod", "REFLEX_FRONTEND_PORT": "8080"},
            tuple(f"http://{h}:8080" for h in ("localhost", "127.0.0.1", "[::1]")),
        ),
        ({"REFLEX_ENV_MODE": "prod"}, LOCAL_3000),
        # Told where the pages are: behind a proxy, Reflex hosting.
        ({"REFLEX_DEPLOY_URL": "https://chat.example.com/"}, ("https://chat.example.com",)),
        (
            {"REFLEX_DEPLOY_URL": "https://app.example.com", "REFLEX_API_URL": "https://api.example.com:443"},
            ("https://app.example.com", "https://api.example.com"),
        ),
        (
            {"REFLEX_API_URL": "http://localhost:8080", "REFLEX_BACKEND_ONLY": "true"},
            ("http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"),
        ),
        # A backend alone cannot know its pages: the port Reflex exports is its own.
        (
            {"REFLEX_ENV_MODE": "prod", "REFLEX_BACKEND_ONLY": "True", "REFLEX_FRONTEND_PORT": "8001"},
            ANY_ORIGIN,
        ),
        # Reflex's AppHarness: development, no port known yet.
        ({"REFLEX_ENV_MODE": "dev"}, ANY_ORIGIN),
        ({}, ANY_ORIGIN),
        # Configured: that, normalised, whatever Reflex knows.
        (
            {
                "CHATAPP_ALLOWED_ORIGINS": " https://Chat.Example.com/ ,http://b.test:80,",
                "REFLEX_FRONTEND_PORT": "3000",
            },
            ("https://chat.example.com", "http://b.test"),
        ),
        (
            {"CHATAPP_ALLOWED_ORIGINS": "http://127.0.0.1:8080", "REFLEX_DEPLOY_URL": "https://x.test"},
            ("http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"),
        ),
        ({"CHATAPP_ALLOWED_ORIGINS": "https://a.test,*"}, ANY_ORIGIN),
    ],
)
def test_allowed_origins(environ, expected):
    assert allowed_origins(environ) == expected


@pytest.mark.parametrize("value", ["chat.example.com", "ftp://chat.example.com", "https://", "http://a:port"])
def test_a_configured_value_that_is_no_origin_is_refused_at_start(value):
    with pytest.raises(ValueError):
        allowed_origins({"CHATAPP_ALLOWED_ORIGINS": value})


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://localhost:3000/", "http://localhost:3000"),
        ("https://chat.example.com:443/app", "https://chat.example.com"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("HTTP://EXAMPLE.com:8080", "http://example.com:8080"),
    ],
)
def test_origin_of_is_what_a_browser_sends(url, origin):
    assert origin_of(url) == origin
