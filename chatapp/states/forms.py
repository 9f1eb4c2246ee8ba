"""Reading form submissions from the browser, which may be anything a client sends."""

from __future__ import annotations

from typing import Any

from chatapp.services.errors import InvalidInput
from chatapp.settings import settings

# The longest field value read at all. Every field's own limit is checked by its service
# on the value as it will be stored; this one only keeps a hostile client's huge payload
# from costing anything further (the socket already refuses frames over 1 MB). Far above
# every field, and twice the message limit, so that a message a little too long gets the
# message's own error.
FIELD_MAX_LENGTH = max(64 * 1024, 2 * settings.message_max_length)


def field(form_data: Any, name: str) -> str:
    """A form field's text, whole ("" when missing or not text).

    Never cut: a cut value passes validation as something the user did not type (three
    spaces and 4,000 characters, cut to 4,001 and then stripped, were stored as 3,998
    characters without an error). The caller's service checks the length of exactly what
    it stores.

    Args:
        form_data: What the client sent as the form: any JSON (a list, null, a number).
        name: The field's name.

    Returns:
        The value as sent.

    Raises:
        InvalidInput: Longer than FIELD_MAX_LENGTH: refused, never cut.
    """
    if not isinstance(form_data, dict):
        return ""
    value = form_data.get(name, "")
    if not isinstance(value, str):
        return ""
    if len(value) > FIELD_MAX_LENGTH:
        msg = f"Too long: a field holds at most {FIELD_MAX_LENGTH:,} characters."
        raise InvalidInput(msg)
    return value
