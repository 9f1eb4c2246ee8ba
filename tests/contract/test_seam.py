"""Reflex's internals are touched only in chatapp/reflex_adapter/: no other module
imports Reflex's submodules or names a private attribute of Reflex's. (import-linter,
run by scripts/test, checks the packages; this checks what it cannot see: submodules
of `reflex` and attribute names.)"""

from __future__ import annotations

import ast
from pathlib import Path

from chatapp.reflex_adapter import internals

ROOT = Path(__file__).resolve().parents[2] / "chatapp"
ADAPTER = ROOT / "reflex_adapter"

# Every private or internal name of Reflex the adapter uses (from its list of internals),
# and a few more that belong there if ever needed.
REFLEX_PRIVATE = {
    "_js_expr",
    "_var_data",
    "_get_all_var_data",
    "_states_locks",
    "_token_manager",
    "token_to_socket",
    "_token_expires_at",
    "_expiration_task",
    "_ensure_expiration_task",
    "_build_static_router_data",
    "sid_to_token",
    "token_to_sid",
    "get_substate",
    "event_namespace",
    "state_manager",
    "get_delta",
    "FIELD_MARKER",
    "EventChain",
    "VarData",
    "StateUpdate",
}


def _outside_adapter() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if ADAPTER not in p.parents]


def test_no_module_outside_the_adapter_imports_a_submodule_of_reflex():
    found = []
    for path in _outside_adapter():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(("reflex.", "reflex_"))]
    assert found == []


def test_no_module_outside_the_adapter_names_a_reflex_internal():
    found = []
    for path in _outside_adapter():
        for node in ast.walk(ast.parse(path.read_text())):
            name = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.id
                if isinstance(node, ast.Name)
                else None
            )
            keyword = node.arg if isinstance(node, ast.keyword) else None
            for n in (name, keyword):
                if n in REFLEX_PRIVATE:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {n}")
    assert found == []


def test_every_internal_in_the_adapters_list_says_what_needs_it_and_what_happens_without_it():
    assert len(internals.INTERNALS) >= 10
    for internal in internals.INTERNALS:
        assert internal.needed_by and internal.if_missing in {"refuse", "public path", "skip"}
