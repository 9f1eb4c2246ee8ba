"""`AccountState`: the signed-in user's own account: password and logins."""

from __future__ import annotations

import reflex as rx

from chatapp.services import accounts, limits, logins, password_gate
from chatapp.services.errors import ChatError
from chatapp.states.app_state import AppState, end_tabs
from chatapp.states.forms import field


def _change_password(user_id: int, current: str, new: str) -> None:
    """bcrypt twice: run through `password_gate`."""
    with rx.session() as session:
        accounts.change_password(session, user_id=user_id, current=current, new=new)


class AccountState(AppState):
    """The "change password" dialog."""

    password_open: bool = False
    password_error: str = ""

    @rx.event
    def set_password_open(self, value: bool) -> None:
        """Open or close the dialog."""
        self.password_open = value is True
        self.password_error = ""

    @rx.event
    async def change_password(self, form_data: dict):
        """Replace the password; every other login of the user ends (this one stays)."""
        if not await self._signed_in():
            return None
        try:
            new = field(form_data, "new")
            if new != field(form_data, "repeat"):
                self.password_error = "The new passwords do not match."
                return None
            current = field(form_data, "current")
            await limits.take(limits.PASSWORD_CHECKS, self._limit_key())
            await password_gate.run(_change_password, self.user_id, current, new, known=True)
        except ChatError as exc:
            self.password_error = str(exc)
            return None
        with rx.session() as session:
            ended = logins.end_all(session, user_id=self.user_id, keep=self._login_id)
        await end_tabs(self.user_id, set(ended), except_token=self.router.session.client_token)
        self.password_open = False
        self.password_error = ""
        return rx.toast.success("Password changed. Your other devices were logged out.")
