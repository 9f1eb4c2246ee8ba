"""The people picker: a search box over display names and usernames, its results, and
the people picked so far (`PeopleState`).

Two uses:
- `people_picker(on_choose=ChatState.some_handler)`: choosing a result calls the handler
  with the person's user id ("start a direct chat"). The handler must look the id up
  with `(await self.get_state(PeopleState))._result(user_id)` before acting on it.
- `people_picker()`: choosing a result picks the person: they show as a chip above the
  box, with a button to remove them ("new group", "add members"); the state reads
  them with `PeopleState._picked_ids()`.

Reset the state when the dialog holding the picker opens or closes
(`PeopleState.reset_people`): the box itself empties by itself, as a closed dialog's
content is unmounted.

The box belongs to no form (its `form` attribute names none): Enter in it does not
submit the dialog's form, and its text is not among the form's fields.
"""

from __future__ import annotations

import reflex as rx

from chatapp.components.avatar import avatar
from chatapp.services.people import Person
from chatapp.states.people import PeopleState

SEARCH_ID = "people-search"
# An id no element has: the box's `form` attribute points at it, so the box has no form.
_NO_FORM = "people-search-no-form"
DEBOUNCE_MS = 250


def _name(text: rx.Var[str], **props) -> rx.Component:
    """A name someone chose: one line, and isolated, so that a direction mark in it
    cannot reorder what is around it."""
    return rx.text(text, class_name="one-line", unicode_bidi="isolate", **props)


def _result(p: rx.Var[Person], on_choose) -> rx.Component:
    return rx.el.li(
        rx.button(
            avatar(p.display_name, size="2"),
            rx.vstack(
                _name(p.display_name, size="2", weight="medium", color="var(--gray-12)", max_width="100%"),
                _name("@" + p.username, size="1", color_scheme="gray", max_width="100%"),
                spacing="0",
                align="start",
                min_width="0",
                flex="1",
            ),
            type="button",
            variant="ghost",
            color_scheme="gray",
            on_click=on_choose(p.user_id) if on_choose is not None else _pick(p.user_id),
            width="100%",
            height="auto",
            justify_content="flex-start",
            text_align="left",
            padding="6px 8px",
            margin="0",
            class_name="person-result",
            custom_attrs={"data-user-id": p.user_id},
        ),
        list_style="none",
    )


def _pick(user_id: rx.Var[int]) -> list:
    """Pick the person, then put the focus back in the search box: their button is gone
    from the results, and a keyboard user goes on to search for the next one."""
    focus_box = rx.call_script(f"document.getElementById('{SEARCH_ID}')?.focus()")
    return [PeopleState.pick_person(user_id), focus_box]


def _chip(p: rx.Var[Person]) -> rx.Component:
    return rx.badge(
        _name(p.display_name),
        rx.icon_button(
            rx.icon("x", size=12),
            type="button",
            size="1",
            variant="ghost",
            radius="full",
            aria_label="Remove " + p.display_name,
            on_click=PeopleState.unpick_person(p.user_id),
            class_name="remove-person",
        ),
        size="2",
        radius="full",
        variant="soft",
        max_width="100%",
        class_name="picked-person",
        custom_attrs={"data-user-id": p.user_id},
    )


def people_picker(*, on_choose=None, placeholder: str = "Search people by name or username") -> rx.Component:
    """A search box for people, its results as buttons, and (without `on_choose`) the
    people picked as removable chips above it.

    Args:
        on_choose: An event handler taking a user id, called when a result is chosen.
            None: a chosen result is picked instead (`PeopleState.pick_person`).
        placeholder: The box's placeholder, also its accessible name.

    Returns:
        The picker.
    """
    return rx.vstack(
        *([] if on_choose is not None else [_picked()]),
        rx.input(
            placeholder=placeholder,
            aria_label=placeholder,
            # Uncontrolled: the browser owns the text, so a slow answer never overwrites
            # what is being typed; the state gets the text after a pause in typing.
            on_change=PeopleState.search_people.debounce(DEBOUNCE_MS),
            type="search",
            auto_complete="off",
            spell_check=False,
            width="100%",
            id=SEARCH_ID,
            # Named (Reflex collects unnamed controls of a form by id, deprecated), yet in
            # no form: Enter here never submits a dialog's form.
            name="people_query",
            custom_attrs={"form": _NO_FORM},
        ),
        rx.cond(
            PeopleState.people_error != "",
            rx.text(
                PeopleState.people_error, size="1", color="var(--red-11)", role="alert", id="people-error"
            ),
        ),
        rx.cond(
            PeopleState.people_none_found & (PeopleState.people_error == ""),
            rx.text("No one found", size="2", color_scheme="gray", id="people-none-found"),
        ),
        rx.el.ul(
            rx.foreach(PeopleState.people_results, lambda p: _result(p, on_choose)),
            aria_label="People found",
            padding="0",
            margin="0",
            width="100%",
            id="people-results",
        ),
        spacing="2",
        width="100%",
    )


def _picked() -> rx.Component:
    return rx.cond(
        PeopleState.people_picked.length() > 0,
        rx.flex(
            rx.foreach(PeopleState.people_picked, _chip),
            wrap="wrap",
            gap="6px",
            width="100%",
            aria_label="People picked",
            role="group",
            id="people-picked",
        ),
    )
