"""What the agenda and meeting reminders look at: the meetings coming up, each
group's officers and chair, and the apologies so far. Loaded once per run, in a
fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.jobs.timing import CATCH_UP, Run
from services import apologies
from services import meetings as meetings_service
from services.dates import format_date, format_when
from services.meetings import Deadlines
from storage.models import Apology, Group, Meeting, Person

# The earliest reminder is the call for items: items deadline minus 4 days,
# moved back over a long weekend; and it may be caught up for a week.
EARLIEST_REMINDER = timedelta(days=4 + 7) + CATCH_UP
TWO_DAYS = timedelta(days=2)


@dataclass(frozen=True)
class MeetingsAhead:
    meetings: list[Meeting]
    deadlines: dict[int, Deadlines]
    people: dict[int, dict[str, list[Person]]]  # group id -> role -> people
    apologies: dict[int, list[Apology]]

    def officers(self, meeting: Meeting) -> list[Person]:
        return self.people.get(meeting.group_id, {}).get("officer", [])

    def chairs(self, meeting: Meeting) -> list[Person]:
        return self.people.get(meeting.group_id, {}).get("chair", [])


def load(session: Session, run: Run, people: dict[int, dict[str, list[Person]]]) -> MeetingsAhead:
    """`people`: groups.people_by_role(session, ("officer", "chair")), shared with the nudges."""
    longest = session.scalar(select(func.max(Group.items_due_days))) or 0
    coming = meetings_service.starting_between(
        session, after=run.now, until=run.now + timedelta(days=longest) + EARLIEST_REMINDER
    )
    return MeetingsAhead(
        meetings=coming,
        deadlines={m.id: Deadlines.of(m, run.zone) for m in coming},
        people=people,
        # Only "meeting tomorrow" shows apologies: read them for the next two days' meetings.
        apologies=apologies.for_meetings(session, [m for m in coming if m.starts_at <= run.now + TWO_DAYS]),
    )


def title(meeting: Meeting, run: Run) -> str:
    """`Chorley Public Service Reform Board, Tue 21 Apr 2015, 16:00`"""
    return f"{meeting.group.name}, {format_when(meeting.starts_at.astimezone(run.zone))}"


def day_word(day, run: Run) -> str:
    """'tomorrow (Fri 10 Apr 2015)', 'today (...)', or 'on Mon 6 Apr 2015'."""
    if day == run.today + timedelta(days=1):
        return f"tomorrow ({format_date(day)})"
    if day == run.today:
        return f"today ({format_date(day)})"
    return f"on {format_date(day)}"
