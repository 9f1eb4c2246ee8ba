"""The log-in and sign-up pages."""

from __future__ import annotations

import reflex as rx

from chatapp import routes
from chatapp.states.auth import AuthFormState


def _card(title: str, *children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                # The brand is not a heading: the page's one h1 says what it is for.
                rx.hstack(
                    rx.icon("messages-square", size=28, aria_hidden="true"),
                    rx.text("chatapp", size="6", weight="bold"),
                    align="center",
                ),
                rx.heading(title, size="4", weight="medium", as_="h1"),
                *children,
                spacing="4",
                width="100%",
            ),
            width="100%",
            max_width="380px",
            size="3",
        ),
        min_height="100dvh",
        padding="16px",
    )


def _error() -> rx.Component:
    return rx.cond(
        AuthFormState.form_error != "",
        rx.callout(
            AuthFormState.form_error, icon="triangle-alert", color_scheme="red", role="alert", id="form-error"
        ),
    )


def login_page() -> rx.Component:
    """Log in with username and password."""
    return _card(
        "Log in",
        rx.form(
            rx.vstack(
                rx.input(
                    name="username", placeholder="Username", auto_focus=True, required=True, width="100%"
                ),
                rx.input(
                    name="password", placeholder="Password", type="password", required=True, width="100%"
                ),
                _error(),
                rx.button("Log in", type="submit", width="100%"),
                width="100%",
            ),
            on_submit=AuthFormState.log_in,
            reset_on_submit=False,
        ),
        rx.text(
            "New here? ", rx.link("Create an account", href=routes.SIGNUP, class_name="inline-link"), size="2"
        ),
    )


def signup_page() -> rx.Component:
    """Create an account."""
    return _card(
        "Create an account",
        rx.form(
            rx.vstack(
                rx.input(
                    name="username",
                    placeholder="Username (a-z, 0-9, _)",
                    auto_focus=True,
                    required=True,
                    width="100%",
                ),
                rx.input(name="display_name", placeholder="Display name", width="100%"),
                rx.input(
                    name="password",
                    placeholder="Password (8+ characters)",
                    type="password",
                    required=True,
                    width="100%",
                ),
                rx.input(
                    name="confirm",
                    placeholder="Repeat password",
                    type="password",
                    required=True,
                    width="100%",
                ),
                _error(),
                rx.button("Sign up", type="submit", width="100%"),
                width="100%",
            ),
            on_submit=AuthFormState.sign_up,
            reset_on_submit=False,
        ),
        rx.text(
            "Have an account? ", rx.link("Log in", href=routes.LOGIN, class_name="inline-link"), size="2"
        ),
    )
