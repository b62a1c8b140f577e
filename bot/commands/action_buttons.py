"""The buttons every message that shows a person's actions carries: Done, Snooze a
week, New due date. One place, so `/action list`, the Home tab and the scheduled
nudges offer the same buttons, and a press is the typed command (checked and
audited the same way)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from typing import TypeVar

from bot.commands.lines import action_line
from bot.commands.shapes import Button, Section
from services import actions
from services.dates import format_date

# Slack allows 50 blocks in a message and 100 in a Home tab; an action with its
# buttons takes two (its text and its buttons), and a message has a headline and
# an "and N more" line besides.
MESSAGE_ACTIONS = 20
HOME_ACTIONS = 40

A = TypeVar("A", bound=actions.Shown)


def action_buttons(action: actions.Shown) -> tuple[Button, ...]:
    """Done, Snooze a week, New due date, for an open action; none for a closed one."""
    return _open_action_buttons(action.ref) if action.status == "open" else ()


@lru_cache(maxsize=4096)
def _open_action_buttons(ref: str) -> tuple[Button, ...]:
    """An open action's buttons depend on its ref alone, and buttons never change:
    made once a ref (made afresh, they took 24 µs of `/action list`'s 164 µs for
    eleven actions; bench/README.md)."""
    return (
        Button("Done", command=f"/action done {ref}", style="primary"),
        Button("Snooze a week", command=f"/action snooze {ref}"),
        Button("New due date", command=f"/action due {ref}"),
    )


def action_section(action: actions.Shown, today: date, *, buttons: bool = True) -> Section:
    """One action, as a line with its buttons (`buttons`: for someone who may change it)."""
    text = action_line(action, today)
    if action.status == "open" and action.snoozed_until and actions.is_snoozed(action, today):
        text += f" — reminders snoozed until {format_date(action.snoozed_until)}"
    return Section(text, buttons=action_buttons(action) if buttons else ())


def action_sections(
    listed: Sequence[A],
    today: date,
    *,
    total: int,
    limit: int = MESSAGE_ACTIONS,
    more_hint: str = "",
    buttons_for: Callable[[A], bool] | None = None,
) -> tuple[Section, ...]:
    """Up to `limit` actions with their buttons (those `buttons_for` allows, if
    given: a button its reader may not press is only a refusal), then "and N
    more" for the rest of `total`."""
    shown = listed[:limit]
    sections = tuple(action_section(a, today, buttons=buttons_for is None or buttons_for(a)) for a in shown)
    if total > len(shown):
        hint = f": {more_hint}" if more_hint else ""
        sections += (Section(f"…and {total - len(shown)} more{hint}"),)
    return sections
