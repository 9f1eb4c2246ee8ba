"""`PeopleState`: the people picker's search results and the people picked in it.

Used by the dialogs that start a direct chat, create a group or add members (the UI is
`components.people_picker`). Other states read it with `await self.get_state(PeopleState)`:

- `picked_ids()` / `picked_usernames()`: whom the user picked (a group's members);
- `result(user_id)`: the person with this id among the results the tab was shown, or
  None. A handler given a user id by the browser (the picker's `on_choose`) looks it up
  here before acting on it: a raw id from a client must not reach anyone else's name;
- `reset_people`: an event that forgets everything; chain it when a dialog opens or
  closes (`return PeopleState.reset_people` from the dialog's open handler). From inside
  another state's handler call `clear_people()` instead: `people.reset_people()` there
  would only make a coroutine (the event is async), and nothing would be cleared.

Only `Person` rows (id, username, display name) ever travel to the browser.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from chatapp.services import limits, people
from chatapp.services.conversations import GROUP_MAX_MEMBERS
from chatapp.services.errors import ChatError
from chatapp.services.people import Person
from chatapp.states.app_state import AppState
from chatapp.states.session import signed_in

# The picker adds people to a group that has the user in it already.
PICK_MAX = GROUP_MAX_MEMBERS - 1


def _search(viewer_id: int, term: str) -> list[Person]:
    with rx.session() as session:
        return people.search(session, viewer_id=viewer_id, query=term)


class PeopleState(AppState):
    """The picker of one tab: the last search's results, the people picked, an error."""

    # The last search's results, best first (the people already picked left out).
    people_results: list[Person] = []
    # The people picked so far, in the order picked.
    people_picked: list[Person] = []
    # Why the last search or pick did nothing ("" when it worked).
    people_error: str = ""
    # The last search had a query and found no one ("No one found").
    people_none_found: bool = False

    @rx.event
    @signed_in
    async def search_people(self, query: str):
        """The search box changed (debounced by the browser): search again.

        An empty box clears the results without a search. A refused search (too long,
        too many) keeps the results shown and says why.
        """
        if not isinstance(query, str):
            return
        try:
            term = people.normalize_query(query)
            if not term:
                self._show_results([], searched=False)
                return
            await limits.take(limits.PEOPLE_SEARCH, self._limit_key())
        except ChatError as exc:
            self.people_error = str(exc)
            return
        # In a thread: the search reads every account (see `services.people`), and the
        # event loop serves every tab meanwhile.
        found = await asyncio.to_thread(_search, self.user_id, term)
        self._show_results(found, searched=True)

    def _show_results(self, found: list[Person], *, searched: bool) -> None:
        picked = set(self._picked_ids())
        self.people_results = [p for p in found if p.user_id not in picked]
        self.people_none_found = searched and not found
        self.people_error = ""

    @rx.event
    @signed_in
    async def pick_person(self, user_id: int):
        """Add one of the results to the people picked (a result it was shown, nobody else)."""
        person = self._result(user_id)
        if person is None:
            return
        if len(self.people_picked) >= PICK_MAX:
            self.people_error = f"A group has at most {GROUP_MAX_MEMBERS} members."
            return
        self.people_picked = [*self.people_picked, person]
        self.people_results = [p for p in self.people_results if p.user_id != person.user_id]
        self.people_error = ""

    @rx.event
    @signed_in
    async def unpick_person(self, user_id: int):
        """Remove someone from the people picked (the chip's remove button)."""
        self.people_picked = [p for p in self.people_picked if p.user_id != user_id]
        self.people_error = ""

    @rx.event
    @signed_in
    async def reset_people(self):
        """Forget the results, the people picked and the error (a dialog opened or closed)."""
        self._clear_people()

    def _clear_people(self) -> None:
        """Forget the results, the people picked and the error: `reset_people` for
        another state's handler (`(await self.get_state(PeopleState)).clear_people()`)."""
        self.people_results = []
        self.people_picked = []
        self.people_error = ""
        self.people_none_found = False

    def _result(self, user_id: object) -> Person | None:
        """The person with this id among the results shown, or None (also for an id
        that is not an int: whatever a client sent)."""
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return None
        return next((p for p in self.people_results if p.user_id == user_id), None)

    def _picked_ids(self) -> list[int]:
        """The user ids of the people picked, in the order picked."""
        return [p.user_id for p in self.people_picked]

    def _picked_usernames(self) -> list[str]:
        """The usernames of the people picked, in the order picked."""
        return [p.username for p in self.people_picked]

    async def _on_signed_out(self) -> None:
        """A tab whose login ended forgets whom it found and picked too."""
        await super()._on_signed_out()
        self._clear_people()
