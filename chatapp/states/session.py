"""`SessionState`: who a tab belongs to, taken from its login and checked at every event.

The login's token lives in the browser's localStorage (shared by the tabs of one
browser) and reaches the server with the tab's state; the database keeps only its digest
(`services.logins`). Identity never comes from an event's arguments: every handler that
acts for a user is decorated `@signed_in` (or, where it answers differently, starts with
`await self._signed_in()`), which looks the token up again, so a login that ended
(logged out here or elsewhere, revoked by a password change or "log out everywhere",
expired) is refused at its very next event.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import reflex as rx

from chatapp import routes
from chatapp.models import utcnow
from chatapp.services import logins

logger = logging.getLogger(__name__)

AUTH_TOKEN_KEY = "_auth_token"

Handler = Callable[..., Awaitable[Any]]


def arguments_check(handler: Handler) -> Callable[..., bool]:
    """A check that a call fits the handler's parameters: a browser can send an event
    any arguments, and a wrapper passes them on (a misfit is refused with a warning)."""
    signature = inspect.signature(handler)

    def fits(*args: Any, **kwargs: Any) -> bool:
        try:
            signature.bind(*args, **kwargs)
        except TypeError:  # a client that sent arguments the handler does not take
            logger.warning("%s refused: arguments %s do not fit", handler.__qualname__, sorted(kwargs)[:8])
            return False
        return True

    return fits


def signed_in(handler: Handler) -> Handler:
    """An event handler that acts for the tab's user: it runs only while the tab's login
    is valid (checked now, `SessionState._signed_in`); otherwise the tab goes to the
    log-in form and nothing is done. Put it under `@rx.event`."""

    fits = arguments_check(handler)

    @functools.wraps(handler)
    async def guarded(self: SessionState, *args: Any, **kwargs: Any) -> Any:
        if not fits(self, *args, **kwargs):
            return None
        if not await self._signed_in():
            return rx.redirect(routes.LOGIN)
        return await handler(self, *args, **kwargs)

    return guarded


class SessionState(rx.State):
    """The tab's login: the base of every state that acts for a signed-in user."""

    # The login's token, kept by the browser (the same for all its tabs).
    auth_token: str = rx.LocalStorage(name=AUTH_TOKEN_KEY)
    # The signed-in user (0 when signed out), as last checked.
    user_id: int = 0
    username: str = ""
    # The tab's login ended while it was open: the page leaves for the log-in form.
    signed_out: bool = False
    # The login this tab belongs to, as last checked (0: none).
    _login_id: int = 0
    # When that login expires (`AppState` signs the tab out then).
    _login_ends_at: datetime | None = None

    async def _signed_in(self) -> bool:
        """Check this tab's login against the database, and keep `user_id` in step.

        Returns:
            Whether the tab acts for a user now. When its login has ended, the tab is
            signed out here first (`_on_signed_out`), once.
        """
        with rx.session() as session:
            login = logins.check(session, self.auth_token, now=utcnow())
        if self._login_id and (login is None or login.id != self._login_id):
            await self._on_signed_out()  # the login this tab acted for is over
            self._clear_login()
        if login is None:
            return False
        self.signed_out = False
        self._login_id = login.id
        self._login_ends_at = login.expires_at
        self.user_id = login.user_id
        self.username = login.username
        return True

    def _clear_login(self) -> None:
        self.signed_out = self.user_id != 0
        self.user_id = 0
        self.username = ""
        self._login_id = 0
        self._login_ends_at = None

    async def _on_signed_out(self) -> None:
        """What ends with a tab's login besides its identity (presence: `AppState`)."""

    async def _start_login(self, user_id: int) -> None:
        """Log this browser in as the user, with a fresh token (never one used before)."""
        with rx.session() as session:
            if self.auth_token:  # a login this browser still held ends first
                old = logins.resolve(session.connection(), self.auth_token, now=utcnow())
                if old is not None:
                    logins.end(session, old.id)
            login_id, token = logins.start(session, user_id=user_id, now=utcnow())
        self.auth_token = token
        self._login_id = login_id
        self.user_id = user_id
        self.signed_out = False
