"""Vars made from JavaScript expressions, and event callbacks for custom hooks.

Reflex's public Var operations cover most of the UI; a few expressions need raw JS
(initials of a name, the idle watcher's hook call, entries of a keyed dict). A Var made
from raw JS must carry the `VarData` of the vars it uses (their hooks and imports), or
the page fails to compile or reads an undefined state; these helpers merge it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex_base.event import EventChain
from reflex_base.vars.base import VarData


def var_data(*used: rx.Var) -> VarData | None:
    """The merged VarData of the vars an expression uses."""
    return VarData.merge(*(v._get_all_var_data() for v in used))


def merge_data(*data: Any) -> VarData | None:
    """Several VarData (from `state_js`, keyed dicts' accessors) as one."""
    return VarData.merge(*data)


def js_var(expr: str, var_type: type | None, *used: rx.Var, data: Any = None) -> rx.Var:
    """A Var whose value is the JS expression `expr`.

    Args:
        expr: The expression; vars it uses are interpolated with `str(var)` / f-strings.
        var_type: The Python type of its value (None: untyped, e.g. a hook's call).
        used: Every Var interpolated into `expr` (their VarData goes with it).
        data: Extra VarData (from `state_js`).
    """
    var = rx.Var(_js_expr=expr, _var_data=VarData.merge(data, var_data(*used)))
    return var if var_type is None else var.to(var_type)


def js_function(expr: str) -> rx.Var:
    """A JS function (`expr`, e.g. `() => {…}`) to put in an event chain: it runs in the
    browser at once, in the event's own call (before the page reacts to it)."""
    from reflex.vars import FunctionVar

    return rx.Var(_js_expr=f"({expr})").to(FunctionVar)


def state_js(field_var: rx.Var) -> tuple[str, VarData | None]:
    """The JS expression of the state object that holds `field_var` (a state's var), and
    the VarData that makes it available in a component.

    Reflex renders a state var as `<state object>.<name>`; the state object is what is
    left of it without the last name.
    """
    return str(field_var).rsplit(".", 1)[0], field_var._get_all_var_data()


def event_callback(handler: Any, args_spec: Callable[..., list], key: str) -> rx.Var:
    """A JS function that sends `handler` with the arguments `args_spec` maps, for use in
    a custom hook (`add_hooks`): `useHook(${callback})`."""
    return rx.Var.create(EventChain.create(value=handler, args_spec=args_spec, key=key))


def connection_lost() -> rx.Var:
    """True while the tab has no connection and its last attempts failed (Reflex's
    frontend keeps the errors of its failed connects until one succeeds)."""
    from reflex.components.core.banner import has_connection_errors

    return has_connection_errors
