"""Action due soon: 09:00, 2 days before it is due (the working day before, if
that is a weekend or bank holiday), to the owner; free-text owners' actions to
the officers."""

from __future__ import annotations

from datetime import timedelta

from bot.jobs.notice import Notice, snoozed
from bot.jobs.timing import Run
from services.chasing import Chasing
from services.dates import format_date

DAYS_BEFORE = 2
# How far ahead a due date can be and still have its reminder due today: two
# days, moved back over the longest run of non-working days (Christmas).
LOOKAHEAD = timedelta(days=DAYS_BEFORE + 7)


def notices(run: Run, chasing: Chasing) -> list[Notice]:
    if not run.is_working_day:
        return []
    found = []
    for chased in chasing.actions:
        action = chased.action
        assert action.due is not None
        if action.due < run.today or snoozed(action, run.today):
            continue
        day = run.days.on_or_before(action.due - timedelta(days=DAYS_BEFORE))
        if not run.is_due_on(day):
            continue
        for person in chasing.chasers(chased):
            found.append(
                Notice(
                    key=f"due-soon:{action.ref}:{action.due.isoformat()}:{person.key}",
                    kind="due-soon",
                    person=person,
                    action=action,
                    detail=f"Due {format_date(action.due)}.",
                    for_owner=True,
                )
            )
    return found
