"""Reading form submissions from the browser, which may be anything a client sends."""

from __future__ import annotations

from typing import Any


def field(form_data: Any, name: str, max_length: int) -> str:
    """A form field as a string cut to `max_length` ("" when missing or not text).

    A hostile client can send any JSON as a form: a list, null, a number in place of a
    field. Cutting before validating keeps huge values from costing anything further.
    """
    if not isinstance(form_data, dict):
        return ""
    value = form_data.get(name, "")
    return value[:max_length] if isinstance(value, str) else ""
