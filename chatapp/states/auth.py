"""The sign-up and log-in forms: the only way into an account from a browser."""

from __future__ import annotations

import reflex as rx

from chatapp import routes
from chatapp.services import accounts, limits, password_gate
from chatapp.services.errors import ChatError
from chatapp.services.login_throttle import login_throttle
from chatapp.states.forms import field
from chatapp.states.session import SessionState


def _authenticate(username: str, password: str) -> int:
    """The user id for these credentials (bcrypt: run through `password_gate`)."""
    with rx.session() as session:
        return accounts.authenticate(session, username=username, password=password).id


def _sign_up(username: str, display_name: str, password: str) -> int:
    """Create the account (bcrypt: run through `password_gate`); its user id."""
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
        """Check the credentials and start a session.

        Throttled per (username, address) with growing delays, and per address and per
        username overall (`login_throttle`): a stranger cannot lock the owner out. A
        request the busy server refuses (`password_gate.Busy`) counts nowhere.
        """
        try:
            username = accounts.normalize_username(field(form_data, "username"))
            password = field(form_data, "password")
            user_id = await login_throttle.check(username, self._address(), _authenticate, username, password)
        except ChatError as exc:  # a wrong password, "Too many failed attempts…", busy
            self.form_error = str(exc)
            return None
        return await self._start_session(user_id)

    @rx.event
    async def sign_up(self, form_data: dict):
        """Create the account and sign in."""
        try:
            username, display_name = field(form_data, "username"), field(form_data, "display_name")
            password = field(form_data, "password")
            if password != field(form_data, "confirm"):
                self.form_error = "The passwords do not match."
                return None
            accounts.validate_signup(username, display_name, password)  # a typo costs no sign-up
            await limits.take(limits.SIGNUPS, limits.address_key(self._address()))
            user_id = await password_gate.run(_sign_up, username, display_name, password)
        except ChatError as exc:
            self.form_error = str(exc)
            return None
        return await self._start_session(user_id)

    def _address(self) -> str:
        """The client's address (behind proxies: as `REFLEX_TRUSTED_PROXY_HOPS` says)."""
        return self.router.session.client_ip or "unknown"

    async def _start_session(self, user_id: int):
        self.form_error = ""
        await self._start_login(user_id)
        return rx.redirect(routes.HOME)
