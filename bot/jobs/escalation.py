"""Escalation: with the 3rd overdue nudge, the workstream's leads (else the
officers) hear that the action is still open."""

from __future__ import annotations

from bot.jobs.notice import Notice, days_overdue, due_text, snoozed
from bot.jobs.overdue import due_nudge
from bot.jobs.timing import Run
from services.chasing import Chasing

WITH_NUDGE = 3


def notices(run: Run, chasing: Chasing) -> list[Notice]:
    if not run.is_working_day:
        return []
    found = []
    for chased in chasing.actions:
        action = chased.action
        if snoozed(action, run.today):
            continue
        nudge = due_nudge(run, action)
        if nudge is None or nudge.number != WITH_NUDGE:
            continue
        assert action.due is not None
        detail = (
            f"Escalated: {due_text(action.due)}, {days_overdue(action.due, run.today)}; "
            f"its owner has now had {WITH_NUDGE} reminders."
        )
        for person in chasing.leads_for(chased):
            if person.id == action.owner_id:
                continue  # an owner who leads the workstream already has the nudge
            found.append(
                Notice(
                    key=f"escalation:{action.ref}:{action.due.isoformat()}:{person.key}",
                    kind="escalation",
                    person=person,
                    action=action,
                    detail=detail,
                    for_owner=False,
                )
            )
    return found
