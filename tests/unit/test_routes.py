"""Route strings and the URL builders."""

from __future__ import annotations

import pytest

from chatapp import routes


@pytest.mark.parametrize("cid", [1, 42, 1_000_000])
def test_conversation_id_of_reads_back_what_conversation_built(cid):
    assert routes.conversation_id_of(routes.conversation(cid)) == cid
    assert routes.conversation_id_of(routes.conversation(cid) + "/") == cid


@pytest.mark.parametrize("path", ["/", "/c/", "/c/abc", "/c/-3", "/c/1.5", "/x/12", "/c/12/x", "/c/١٢", ""])
def test_conversation_id_of_is_zero_for_anything_else(path):
    assert routes.conversation_id_of(path) == 0
