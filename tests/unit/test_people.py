"""Finding people by name (`chatapp/services/people.py`), on a real SQLite database and,
when the machine's PostgreSQL answers, on PostgreSQL too: LIKE's case rules, escaping and
collations differ between the two, and the search must mean the same on both."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.engine import Engine

from chatapp.models import User
from chatapp.services import people
from chatapp.services.errors import InvalidInput
from chatapp.services.people import QUERY_MAX, Person


@pytest.fixture
def engine(either_engine) -> Engine:
    """Every test of this module runs on SQLite and on PostgreSQL."""
    return either_engine


def _usernames(session, viewer_id: int, query: str, **kwargs) -> list[str]:
    return [p.username for p in people.search(session, viewer_id=viewer_id, query=query, **kwargs)]


@pytest.fixture
def viewer(make_user) -> int:
    """Who searches (matches none of the queries below)."""
    return make_user("viewer", "Vera Viewer")


def test_a_username_prefix_finds_the_user(session, make_user, viewer):
    alice = make_user("alice", "Alice Liddell")
    make_user("bob", "Bob Builder")
    found = people.search(session, viewer_id=viewer, query="ali")
    assert found == [Person(user_id=alice, username="alice", display_name="Alice Liddell")]


def test_a_display_name_finds_by_its_start_and_by_any_of_its_words(session, make_user, viewer):
    make_user("robert", "Bob Builder")
    make_user("alice", "Alice Liddell")
    assert _usernames(session, viewer, "bob") == ["robert"]
    assert _usernames(session, viewer, "bui") == ["robert"]
    assert _usernames(session, viewer, "bob bu") == ["robert"]
    assert _usernames(session, viewer, "uil") == []  # inside a word: no match


def test_the_search_ignores_case_on_both_sides(session, make_user, viewer):
    make_user("robert", "Bob Builder")
    make_user("alice", "alice in lower case")
    assert _usernames(session, viewer, "ROB") == ["robert"]
    assert _usernames(session, viewer, "bUI") == ["robert"]
    assert _usernames(session, viewer, "IN LOWER") == ["alice"]


def test_the_query_is_normalized_before_the_search(session, make_user, viewer):
    make_user("robert", "Bob Builder")
    assert _usernames(session, viewer, "   bob    builder  ") == ["robert"]
    assert _usernames(session, viewer, "@rob") == ["robert"]  # as usernames are shown


@pytest.mark.parametrize("query", ["", "   ", "@", " @ "])
def test_an_empty_query_finds_no_one(session, make_user, viewer, query):
    make_user("alice", "Alice")
    assert people.search(session, viewer_id=viewer, query=query) == []


def test_the_searcher_is_never_among_the_results(session, make_user):
    alice = make_user("alice", "Alice")
    make_user("alicia", "Alicia")
    assert _usernames(session, alice, "ali") == ["alicia"]
    assert _usernames(session, alice, "alice") == []


def test_an_account_that_cannot_log_in_is_not_found(session, make_user, viewer):
    make_user("alice", "Alice")
    off = session.get(User, make_user("alicia", "Alicia"))
    off.enabled = False
    session.add(off)
    session.commit()
    assert _usernames(session, viewer, "ali") == ["alice"]


def test_like_wildcards_in_the_query_match_only_themselves(session, make_user, viewer):
    make_user("a_b", "Underscore")
    make_user("axb", "Xavier")
    make_user("pct", "%off Deals")
    make_user("slash", "/dev Null")
    make_user("back", "\\o Wave")
    assert _usernames(session, viewer, "a_") == ["a_b"]  # "_" unescaped would find axb too
    assert _usernames(session, viewer, "_") == []
    assert _usernames(session, viewer, "%") == ["pct"]  # "%" unescaped would find everyone
    assert _usernames(session, viewer, "%o") == ["pct"]
    assert _usernames(session, viewer, "/") == ["slash"]  # the escape character itself
    assert _usernames(session, viewer, "\\") == ["back"]


def test_at_most_limit_people_are_returned_the_first_in_order(session, make_user, viewer):
    for i in range(12):
        make_user(f"user{i:02}", f"Member {i:02}")
    assert _usernames(session, viewer, "user") == [f"user{i:02}" for i in range(people.LIMIT_DEFAULT)]
    assert _usernames(session, viewer, "user", limit=3) == ["user00", "user01", "user02"]
    with pytest.raises(ValueError, match="limit"):
        people.search(session, viewer_id=viewer, query="user", limit=0)


def test_exact_username_then_username_prefixes_then_display_names_alphabetically(session, make_user, viewer):
    make_user("zed", "Annie Hall")
    make_user("annette", "Zoe Annette")
    make_user("xavier", "Bob Annwyn")
    make_user("ann", "Ann Zimmer")
    make_user("kbb", "Annika")
    make_user("aaron", "Ann Aaron")
    make_user("annabel", "Belle")
    make_user("kaa", "Annika")
    make_user("bob", "Bob Builder")  # no match
    assert _usernames(session, viewer, "ann", limit=20) == [
        "ann",  # the exact username
        "annabel",  # usernames that start with it, by username
        "annette",
        "aaron",  # display names (or a word of them), by display name: "Ann Aaron",
        "zed",  # "Annie Hall",
        "kaa",  # "Annika" twice: by username
        "kbb",
        "xavier",  # "Bob Annwyn"
    ]


def test_a_query_longer_than_the_maximum_is_refused_not_cut(session, make_user, viewer):
    make_user("alice", "A" * 64)
    at_most = "a" * QUERY_MAX
    assert _usernames(session, viewer, "  " + at_most + "  ") == ["alice"]
    with pytest.raises(InvalidInput, match=f"at most {QUERY_MAX} characters"):
        people.search(session, viewer_id=viewer, query=at_most + "a")


def test_a_person_holds_only_what_the_picker_shows():
    assert [f.name for f in dataclasses.fields(Person)] == ["user_id", "username", "display_name"]


def test_a_name_beyond_ascii_is_found_as_written(session, make_user, viewer):
    make_user("elodie", "Élodie Ørsted")
    assert _usernames(session, viewer, "Él") == ["elodie"]
    assert _usernames(session, viewer, "Ør") == ["elodie"]
