"""A reminder about one action for one person: a section of that person's one
message of the day (bot/jobs/nudges.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.commands.action_buttons import action_buttons
from bot.commands.shapes import Section
from services import actions
from services.dates import format_date
from services.text import clip
from storage.models import Action, Person

NoticeKind = Literal["overdue", "due-soon", "escalation"]
ORDER: dict[str, int] = {"overdue": 0, "due-soon": 1, "escalation": 2}
MAX_WHAT = 300


@dataclass(frozen=True)
class Notice:
    key: str  # the reminder's own key, e.g. "overdue:A12:2015-02-24:fire"
    kind: NoticeKind
    person: Person  # who gets it
    action: Action
    detail: str  # e.g. "due Fri 20 Mar 2015: 4 days overdue"
    for_owner: bool  # the person owns the action (or chases it for a free-text owner)

    @property
    def sort_key(self) -> tuple[int, date, int]:
        return (ORDER[self.kind], self.action.due or date.max, self.action.number)

    def section(self) -> Section:
        action = self.action
        owner = "" if action.owner_id == self.person.id else f" (owner: {owner_name(action)})"
        text = f"*{action.ref}* {clip(action.what, MAX_WHAT)}{owner}\n{self.detail}"
        return Section(text, buttons=action_buttons(action) if self.for_owner else ())


def owner_name(action: Action) -> str:
    if action.owner is None:
        return action.owner_text or "nobody"
    return f"{action.owner.name}, who has left" if action.owner.left_at else action.owner.name


def days_overdue(due: date, today: date) -> str:
    days = (today - due).days
    return "1 day overdue" if days == 1 else f"{days} days overdue"


def due_text(due: date) -> str:
    return f"due {format_date(due)}"


def snoozed(action: Action, today: date) -> bool:
    """Snoozed actions get no nudge until the snooze ends."""
    return actions.is_snoozed(action, today)
