"""Sign-up and log-in forms (accounts and sessions are reflex-local-auth's)."""

from __future__ import annotations

import math

import reflex as rx
from reflex_local_auth import LocalAuthState

from chatapp import routes
from chatapp.services import accounts, limits
from chatapp.services.errors import ChatError
from chatapp.states.forms import field


class AuthFormState(LocalAuthState):
    """The log-in and sign-up forms."""

    form_error: str = ""

    @rx.event
    def redirect_if_signed_in(self):
        """on_load of the forms: a signed-in user goes straight to the chat."""
        self.form_error = ""
        if self.is_authenticated:
            return rx.redirect(routes.HOME)
        return None

    @rx.event
    def log_in(self, form_data: dict):
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
        with rx.session() as session:
            try:
                user = accounts.authenticate(session, username=username, password=password)
            except ChatError as exc:
                limits.login_failures_by_user.hit(username, now)
                limits.login_failures_by_address.hit(address, now)
                self.form_error = str(exc)
                return None
        limits.login_failures_by_user.forget(username)
        return self._start_session(user.id)

    @rx.event
    def sign_up(self, form_data: dict):
        """Create the account and sign in."""
        password = field(form_data, "password", accounts.PASSWORD_MAX + 1)
        if password != field(form_data, "confirm", accounts.PASSWORD_MAX + 1):
            self.form_error = "The passwords do not match."
            return None
        with rx.session() as session:
            try:
                user = accounts.sign_up(
                    session,
                    username=field(form_data, "username", 64),
                    display_name=field(form_data, "display_name", 200),
                    password=password,
                )
            except ChatError as exc:
                self.form_error = str(exc)
                return None
        return self._start_session(user.id)

    def _start_session(self, user_id: int):
        self.form_error = ""
        self._login(user_id)
        return rx.redirect(routes.HOME)
