"""The schedule's test bench: the demo board, a Slack stand-in, and a runner that
calls run_due at chosen local times and remembers which run each post arrived in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.jobs.run_due import run_due
from bot.slack_api import SlackSender, web_client
from storage.models import Action, Delivery, Person

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Arrival:
    """A post as people in Slack saw it, and the run (local time) that sent it."""

    at: datetime  # local
    channel: str  # a channel id, or "D" + a Slack user id for a direct message
    text: str

    @property
    def day(self) -> date:
        return self.at.date()


class Runner:
    def __init__(self, db, clock, slack_api) -> None:
        self.db, self.clock, self.slack_api = db, clock, slack_api
        self.sender = SlackSender(web_client("xoxb-test", slack_api.url))
        self.arrivals: list[Arrival] = []
        self._seen = 0

    def run(self, day: date, at: time = time(9, 0)) -> list[Arrival]:
        """run_due at that local time; the posts it sent."""
        moment = datetime.combine(day, at, LONDON)
        self.clock.set(moment)
        run_due(sessions=self.db, clock=self.clock, sender=self.sender)
        posts = self.slack_api.posts()
        new = [Arrival(moment, p["channel"], seen(p)) for p in posts[self._seen :]]
        self._seen = len(posts)
        self.arrivals.extend(new)
        return new

    def days(self, channel: str, *needles: str) -> list[date]:
        """The days on which a post to `channel` containing every needle arrived."""
        return [a.day for a in self.arrivals if a.channel == channel and all(n in a.text for n in needles)]

    def to(self, channel: str) -> list[Arrival]:
        return [a for a in self.arrivals if a.channel == channel]


def seen(post: dict) -> str:
    """What people see of a post in Slack: its blocks' text where it has blocks
    (the text is then only the notification), else its text."""
    if not post.get("blocks"):
        return post["text"]
    texts = []
    for block in post["blocks"]:
        if "text" in block:  # a section
            texts.append(block["text"]["text"])
        if block["type"] == "context":
            texts += [element.get("text", "") for element in block["elements"]]
    return "\n".join(text for text in texts if text)


@pytest.fixture
def runner(demo, clock, slack_api) -> Runner:
    return Runner(demo, clock, slack_api)


def add_action(
    db, *, what: str, owner: str, due: date, now: datetime, workstream_id: int | None = None
) -> str:
    """An action straight into the table, as the partnership file would put it."""
    from sqlalchemy import func

    with db() as session, session.begin():
        person = session.scalar(select(Person).where(Person.key == owner))
        number = (session.scalar(select(func.max(Action.number))) or 0) + 1
        session.add(
            Action(
                number=number,
                what=what,
                owner_id=person.id if person else None,
                owner_text=None if person else owner,
                due=due,
                status="open",
                workstream_id=workstream_id,
                created_at=now,
                updated_at=now,
            )
        )
    return f"A{number}"


def sent_keys(db) -> list[str]:
    with db() as session:
        return list(
            session.scalars(select(Delivery.key).where(Delivery.status == "sent").order_by(Delivery.id))
        )


def each_day(start: date, end: date):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
