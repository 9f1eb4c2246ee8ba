"""The sign-up and log-in forms: the only way into an account from a browser."""

from __future__ import annotations

import asyncio
import math

import reflex as rx

from chatapp import routes
from chatapp.services import accounts, limits
from chatapp.services.errors import ChatError
from chatapp.states.forms import field
from chatapp.states.session import SessionState


def _authenticate(username: str, password: str) -> int:
    """The user id for these credentials (bcrypt: run in a worker thread)."""
    with rx.session() as session:
        return accounts.authenticate(session, username=username, password=password).id


def _sign_up(username: str, display_name: str, password: str) -> int:
    """Create the account (bcrypt: run in a worker thread); its user id."""
    with rx.session() as session:
        return accounts.sign_up(session, username=username, display_name=display_name, password=password).id


class AuthFormState(SessionState):
    """The log-in and sign-up forms."""

    form_error: str = ""

    @rx.event
    async def redirect_if_signed_in(self):
        """on_load of the forms: a signed-in user goes straight to the chat."""
        self.form_error = ""
        if await self._signed_in():
            return rx.redirect(routes.HOME)
        return None

    @rx.event
    async def log_in(self, form_data: dict):
        """Check the credentials and start a session."""
        username = accounts.normalize_username(field(form_data, "username", 64))
        password = field(form_data, "password", accounts.PASSWORD_MAX + 1)
        address = self.router.session.client_ip or "unknown"
        now = limits.now()
        wait = max(
            limits.login_failures_by_user.retry_after(username, now),
            limits.login_failures_by_address.retry_after(address, now),
        )
        if wait > 0:
            self.form_error = f"Too many failed attempts. Try again in {math.ceil(wait)} s."
            return None
        try:
            user_id = await asyncio.to_thread(_authenticate, username, password)
        except ChatError as exc:
            limits.login_failures_by_user.hit(username, now)
            limits.login_failures_by_address.hit(address, now)
            self.form_error = str(exc)
            return None
        limits.login_failures_by_user.forget(username)
        return await self._start_session(user_id)

    @rx.event
    async def sign_up(self, form_data: dict):
        """Create the account and sign in."""
        password = field(form_data, "password", accounts.PASSWORD_MAX + 1)
        if password != field(form_data, "confirm", accounts.PASSWORD_MAX + 1):
            self.form_error = "The passwords do not match."
            return None
        try:
            user_id = await asyncio.to_thread(
                _sign_up, field(form_data, "username", 64), field(form_data, "display_name", 200), password
            )
        except ChatError as exc:
            self.form_error = str(exc)
            return None
        return await self._start_session(user_id)

    async def _start_session(self, user_id: int):
        self.form_error = ""
        await self._start_login(user_id)
        return rx.redirect(routes.HOME)
