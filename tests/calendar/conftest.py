"""Fixtures for the calendar: a site that publishes feeds, commands typed with
it, and feed requests through the real web app."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import icalendar
import pytest
from sqlalchemy import select

from bot.commands.core import Site
from bot.server import create_web_app
from storage.models import Meeting

BASE_URL = "https://partnerbot.example.org"
SECRET = b"a-feed-secret-of-at-least-32-characters!"
SITE = Site(public_base_url=BASE_URL, feed_secret=SECRET, email=True)


@pytest.fixture
def type_calendar(demo, clock):
    """Type a command on an installation that publishes feeds (PUBLIC_BASE_URL and FEED_SECRET set)."""
    from bot.commands import COMMANDS
    from bot.commands.core import run

    def type_calendar(
        line: str, *, person: str | None = "clerk", channel: str | None = None, site: Site = SITE
    ):
        name, _, text = line.partition(" ")
        return run(
            COMMANDS[name], text, sessions=demo, clock=clock, person_key=person, channel_id=channel, site=site
        )

    return type_calendar


@pytest.fixture
def web(demo):
    return create_web_app(bolt=None, sessions=demo)


def fetch(web, path: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go())


def feed_path(reply_text: str) -> str:
    """The https link a /calendar reply shows, as a path on this server."""
    for word in reply_text.split():
        if word.startswith(BASE_URL + "/calendar/"):
            return word.removeprefix(BASE_URL)
    raise AssertionError(f"no feed link in {reply_text!r}")


def events(body: bytes) -> dict[str, icalendar.Event]:
    """The feed's VEVENTs by SUMMARY and local start, e.g. 'Chorley Public Service Reform Board 2015-04-21 16:00'."""
    calendar = icalendar.Calendar.from_ical(body)
    found = {}
    for event in calendar.walk("VEVENT"):
        start = event.decoded("dtstart")
        when = start.strftime("%Y-%m-%d %H:%M") if isinstance(start, datetime) else start.isoformat()
        found[f"{event['summary']} {when}"] = event
    return found


def change_meeting(db, clock, *, group: str, starts: datetime, **changes) -> Meeting:
    """What the meetings code does to a row on a change: the new values, SEQUENCE
    raised, updated_at now. (Stands in for /meeting move and cancel.)"""
    from storage.models import Group

    with db() as session, session.begin():
        meeting = session.scalar(
            select(Meeting).join(Group).where(Group.slug == group, Meeting.starts_at == starts)
        )
        assert meeting is not None
        if "starts_at" in changes:
            length = meeting.ends_at - meeting.starts_at
            changes.setdefault("ends_at", changes["starts_at"] + length)
        for name, value in changes.items():
            setattr(meeting, name, value)
        meeting.sequence += 1
        meeting.updated_at = clock.now()
        session.flush()
        session.expunge(meeting)
        return meeting
