"""Overdue nudges: 09:00 the day after due, then every 7 days, to the owner
(free-text owners' actions to the officers). A nudge on a weekend or bank
holiday waits for the next working day; the n-th nudge still belongs to the day
after due plus 7(n-1) days, however late the one before went out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.jobs.notice import Notice, days_overdue, snoozed
from bot.jobs.timing import Run
from services.chasing import Chasing
from services.dates import format_date
from storage.models import Action

EVERY = 7


@dataclass(frozen=True)
class Nudge:
    """The n-th overdue nudge about an action, and the day it belongs to."""

    number: int
    day: date  # due + 1 + 7(n-1): the key's date, whatever day it went out


def nudge_day(due: date, number: int) -> date:
    return due + timedelta(days=1 + EVERY * (number - 1))


def due_nudge(run: Run, action: Action) -> Nudge | None:
    """The latest nudge about the action that is due at this run, if any."""
    assert action.due is not None
    first = nudge_day(action.due, 1)
    if run.today < first:
        return None
    latest = (run.today - first).days // EVERY + 1  # the last nudge whose own day has come
    for number in range(latest, max(latest - 3, 0), -1):
        day = nudge_day(action.due, number)
        if run.is_due_on(run.days.on_or_after(day)):
            return Nudge(number, day)
    return None


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def notices(run: Run, chasing: Chasing) -> list[Notice]:
    if not run.is_working_day:
        return []
    found = []
    for chased in chasing.actions:
        action = chased.action
        if snoozed(action, run.today):
            continue
        nudge = due_nudge(run, action)
        if nudge is None:
            continue
        assert action.due is not None
        detail = (
            f"Due {format_date(action.due)}: {days_overdue(action.due, run.today)} "
            f"({ordinal(nudge.number)} reminder)."
        )
        for person in chasing.chasers(chased):
            found.append(
                Notice(
                    key=f"overdue:{action.ref}:{nudge.day.isoformat()}:{person.key}",
                    kind="overdue",
                    person=person,
                    action=action,
                    detail=detail,
                    for_owner=True,
                )
            )
    return found
