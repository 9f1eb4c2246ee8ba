"""A dict var whose entries travel as one-key deltas, and its accessor in JavaScript.

Reflex resends a dict var whole on every change (for a map of 1,000 entries, the whole
map for each change of one).
A keyed dict is an ordinary `dict[str, …]` var of a state, declared with `install`, whose
entries travel under keys of their own (`wire.keyed_entry(field, key)`): a full snapshot
(hydration) carries every entry, and each delta only the entries that changed or went
(`None`). The browser's state holds them as flat keys; components read one with
`js_entry`. What the browser holds is kept in a backend var (`shadow`) so that a delta
sends only what differs from it.

Reflex's `get_delta` and `dict` are meant to be overridden (`reflex.istate.delta.
build_delta` calls `get_delta` "so an override applies to it"), but Reflex takes every
method in a state's body for an event handler, so `install` wraps them after the class
is made. `get_value` reads a var without Reflex's change-tracking proxy (the proxy made
the diff of a large map slow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx
from reflex_base.constants.state import FIELD_MARKER

from chatapp import wire
from chatapp.reflex_adapter.js import state_js
from chatapp.reflex_adapter.tabs import TabChange


@dataclass(frozen=True)
class KeyedDict:
    """One keyed dict var of a state class.

    Attributes:
        state: The state class that has the var.
        field: The var's name (a `dict[str, ...]`).
        shadow: A backend var (`_…`, a `dict[str, ...]`) of the same class, holding what
            the browser has.
    """

    state: type
    field: str
    shadow: str

    def delta(self, key: str, value: Any) -> dict[str, dict[str, Any]]:
        """The delta a tab gets when the entry `key` becomes `value` (None: removed)."""
        return {self.state.get_full_name(): {wire.keyed_entry(self.field, key): value}}

    def entries(self, items: dict[str, Any]) -> dict[str, Any]:
        """The wire keys of several entries ({"field.key": value}), to merge into one
        delta with other vars of the same state (`{state.get_full_name(): {...}}`)."""
        return {wire.keyed_entry(self.field, k): v for k, v in items.items()}

    def get(self, state: Any, key: str) -> Any:
        """The entry held for `key` (None if none), read without change tracking."""
        return state.get_value(self.field).get(key)

    def set_in_place(self, state: Any, key: str, value: Any) -> None:
        """Set an entry without Reflex's tracking, as already sent to the browser (by
        `tabs.push` with `delta(key, value)`)."""
        state.get_value(self.field)[key] = value
        state.get_value(self.shadow)[key] = value

    def remove_in_place(self, state: Any, key: str) -> None:
        """Remove an entry without Reflex's tracking, as already sent to the browser (by
        `tabs.push` with `delta(key, None)`)."""
        state.get_value(self.field).pop(key, None)
        state.get_value(self.shadow).pop(key, None)

    def entry_change(self, key: str, value: Any) -> TabChange:
        """A change that sets one entry (None: removes it) in each tab it is sent to, one
        key on the wire; a tab that holds it already is sent nothing."""

        def change(state: Any, in_place: bool) -> bool:
            if self.get(state, key) == value:
                return False
            if in_place:
                if value is None:
                    self.remove_in_place(state, key)
                else:
                    self.set_in_place(state, key, value)
            elif value is None:
                getattr(state, self.field).pop(key, None)
            else:
                getattr(state, self.field)[key] = value
            return True

        return TabChange(
            self.state,
            apply=lambda state: change(state, False),
            in_place=lambda state: change(state, True),
            delta=self.delta(key, value),
        )

    def js_entry(self, key_js: str) -> tuple[str, Any]:
        """A JS expression for one entry in the browser (undefined if none), and the
        VarData it needs; `key_js` is a JS expression of the key."""
        name, data = state_js(getattr(self.state, self.field))
        return f'{name}["{wire.keyed_prefix(self.field)}" + ({key_js})]', data

    def js_values(self) -> tuple[str, Any]:
        """A JS expression for every entry the browser holds (an array, in no order),
        and the VarData it needs."""
        name, data = state_js(getattr(self.state, self.field))
        prefix = wire.keyed_prefix(self.field)
        return (
            f'Object.keys({name}).filter((k) => k.startsWith("{prefix}"))'
            f".map((k) => {name}[k]).filter((v) => v != null)",
            data,
        )


_installed: dict[type, list[KeyedDict]] = {}


def install(state: type, field: str, shadow: str) -> KeyedDict:
    """Make `field` of `state` a keyed dict (idempotent per field).

    Args:
        state: The state class.
        field: Its `dict[str, ...]` var.
        shadow: Its backend `dict[str, ...]` var for what the browser has.

    Returns:
        The keyed dict, for building deltas and JS accessors.
    """
    keyed = KeyedDict(state, field, shadow)
    fields = _installed.setdefault(state, [])
    if keyed in fields:
        return keyed
    if not fields:
        _wrap(state, fields)
    fields.append(keyed)
    return keyed


def _wrap(state: type, fields: list[KeyedDict]) -> None:
    base_get_delta = state.get_delta
    base_dict = state.dict

    def get_delta(self: rx.State):
        delta = base_get_delta(self)
        name = self.get_full_name()
        sub = delta.get(name)
        if sub is None:
            return delta
        for keyed in fields:
            marked = keyed.field + FIELD_MARKER
            if marked not in sub:
                continue
            current = sub.pop(marked) or {}
            sent = self.get_value(keyed.shadow)
            sub.update({wire.keyed_entry(keyed.field, k): v for k, v in current.items() if sent.get(k) != v})
            sub.update({wire.keyed_entry(keyed.field, k): None for k in sent if k not in current})
            setattr(self, keyed.shadow, dict(current))
        if not sub:
            del delta[name]
        return delta

    def as_dict(self: rx.State, include_computed: bool = True, initial: bool = False, **kwargs):
        out = base_dict(self, include_computed=include_computed, initial=initial, **kwargs)
        sub = out.get(self.get_full_name())
        if sub is not None:
            for keyed in fields:
                current = sub.pop(keyed.field + FIELD_MARKER, {}) or {}
                sub.update({wire.keyed_entry(keyed.field, k): v for k, v in current.items()})
        return out

    state.get_delta = get_delta
    state.dict = as_dict
