"""The App Home tab: a person's open actions (with their buttons), an officer's
actions to chase for others, next meetings with their apology state, and
workstreams with the last status. Published through
the outbox (kind "home") when they open it, after each change they make, and
after each change others make to their actions (services.audit.concerned).

The row queued says only whose tab to publish; the view is built when it is
sent (`publish`), so a change never waits for it, and the changes a person makes
within `REFRESH_DELAY` of each other are shown by one publish."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.commands.action_buttons import HOME_ACTIONS, action_sections
from bot.commands.lines import RAG_MARK, meeting_line
from bot.commands.shapes import Button, Message, Section
from bot.jobs.deliveries import Claimed, Sender
from services import actions, home, outbox, people
from services import partnership as partnership_service
from services.clock import Clock
from services.dates import format_date
from storage.models import Person

BLOCKS = 100  # Slack's limit for a Home tab
STALE_DAYS = 28  # the digest's "no update for 28 days"
MORE_HINT = "type `/action list overdue` or `/action list WORKSTREAM` to see them by kind"
HOME_CHASED = 10  # an officer's actions to chase for others, shown before "and N more"
CHASED_HINT = "`/action list all` shows every open action"


def view(session: Session, *, person: Person, now: datetime, zone: ZoneInfo) -> Message:
    today = now.astimezone(zone).date()
    if person.left_at is not None:
        return _left(session, person=person, since=person.left_at.astimezone(zone).date(), today=today)
    found = home.gather(session, person=person, now=now, action_limit=HOME_ACTIONS, chased_limit=HOME_CHASED)
    meetings = _meetings(found, zone)
    workstreams = _workstreams(found, today, zone)
    chased = _chased(found, today)
    # Actions fill what the other parts leave of Slack's 100 blocks: each takes two
    # (its line and its buttons), the headline, the heading and "and N more" one each.
    room = BLOCKS - _blocks(chased) - _blocks(meetings) - _blocks(workstreams) - 3
    limit = max(0, min(HOME_ACTIONS, room // 2))
    heading = f"*Your open actions ({found.actions.total})*, oldest due first"
    if not found.actions.total:
        heading = "*Your open actions*: none. Well done."
    actions = (Section(heading),) + action_sections(
        found.actions.actions, today, total=found.actions.total, limit=limit, more_hint=MORE_HINT
    )
    return Message(text=f"partnerbot for {person.name}", sections=actions + chased + meetings + workstreams)


def _chased(found: home.Home, today: date) -> tuple[Section, ...]:
    """An officer's actions to chase for others, with their buttons (an officer may
    change them: they are of the officer's groups' meetings, or of no meeting)."""
    if not found.chased.total:
        return ()
    heading = Section(
        f"*Actions you chase for others ({found.chased.total})*: partnerbot cannot remind their owners "
        "(written as free text, or who have left the partnership), so it reminds you as an officer"
    )
    listed = action_sections(
        found.chased.actions, today, total=found.chased.total, limit=HOME_CHASED, more_hint=CHASED_HINT
    )
    return (heading, *listed)


def _left(session: Session, *, person: Person, since: date, today: date) -> Message:
    """The tab of someone who has left: why there is nothing to do, and the actions
    still in their name, without buttons (the officers chase them now)."""
    listing = actions.listing(session, owner=person, limit=HOME_ACTIONS)
    headline = Section(
        f"You left the partnership on {format_date(since)}: the partnership file loaded then does not list you, "
        "so partnerbot no longer reminds you of anything. If that is wrong, ask an officer to put "
        "you back in the file."
    )
    if not listing.total:
        return Message(text=f"partnerbot for {person.name}", sections=(headline,))
    heading = Section(
        f"*Open actions still in your name ({listing.total})*: the officers chase them now, "
        "and can give them to someone else."
    )
    listed = action_sections(
        listing.actions, today, total=listing.total, limit=HOME_ACTIONS, buttons_for=lambda _: False
    )
    return Message(text=f"partnerbot for {person.name}", sections=(headline, heading, *listed))


def _blocks(sections: tuple[Section, ...]) -> int:
    return sum(2 if s.buttons else 1 for s in sections)


def _meetings(found: home.Home, zone: ZoneInfo) -> tuple[Section, ...]:
    if not found.meetings:
        return (Section("*Your next meetings*: none scheduled."),)
    sections = [Section("*Your next meetings*")]
    for state in found.meetings:
        day = state.meeting.starts_at.astimezone(zone).strftime("%d/%m/%Y")
        if state.apologies_sent:
            text = f"{meeting_line(state.meeting, zone)} — you have sent apologies"
            button = Button("Withdraw apologies", command=f"/apologies withdraw {day}")
        else:
            text = f"{meeting_line(state.meeting, zone)} — you are expected"
            button = Button("Send apologies", command=f"/apologies {day}")
        sections.append(Section(text, buttons=(button,)))
    return tuple(sections)


def _workstreams(found: home.Home, today: date, zone: ZoneInfo) -> tuple[Section, ...]:
    if not found.workstreams:
        return ()
    sections = [Section("*Your workstreams*")]
    for state in found.workstreams:
        name = f"*{state.workstream.name}* ({state.role})"
        if state.last is None:
            status = "no updates yet"
        else:
            days = (today - state.last.created_at.astimezone(zone).date()).days
            status = f"{RAG_MARK[state.last.rag]}, reported {_ago(days)}"
            if days >= STALE_DAYS:
                status += " — due an update"
        update = Button("Post an update", command=f"/update {state.workstream.slug}")
        sections.append(Section(f"{name} — {status}", buttons=(update,)))
    return tuple(sections)


def _ago(days: int) -> str:
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 61:
        return f"{days // 7} weeks ago"
    return f"{days // 30} months ago"


STRANGER = Message(
    text="partnerbot",
    sections=(
        Section(
            "You are not in the partnership file yet, so partnerbot has no actions, meetings or "
            "workstreams to show you: ask an officer to add your Slack id."
        ),
    ),
)


# A change's Home tab is published this long after it, with any made meanwhile.
REFRESH_DELAY = timedelta(seconds=2)


def key(slack_user_id: str) -> str:
    """Every publish has its own key: each change deserves a fresh view, and they go in order."""
    return f"home:{slack_user_id}:{secrets.token_hex(8)}"


def opened(session: Session, *, slack_user_id: str, now: datetime) -> None:
    """A person opened the Home tab: queue it for them, whoever they are, at once."""
    outbox.enqueue(
        session, key=key(slack_user_id), kind="home", target=slack_user_id, payload={}, due_at=now, now=now
    )


def changed(session: Session, *, slack_user_id: str, now: datetime) -> None:
    """A person changed something: as the transaction commits, queue their Home
    tab, unless a publish is already waiting that will be built after the commit
    (outbox.enqueue_at_commit)."""
    outbox.enqueue_at_commit(
        session,
        key=key(slack_user_id),
        kind="home",
        target=slack_user_id,
        payload={},
        due_at=now + REFRESH_DELAY,
        now=now,
        unless_waiting=True,
    )


def built(session: Session, *, slack_user_id: str, now: datetime) -> Message:
    """The Home tab of whoever has this Slack user id, as it is now."""
    person = people.by_slack_user(session, slack_user_id)
    if person is None:  # or no partnership loaded yet
        return STRANGER
    partnership = partnership_service.get(session)
    return view(session, person=person, now=now, zone=partnership_service.zone(partnership))


class Publisher:
    """Sends Home tab rows: builds the view in a short read of its own, then hands
    it to `slack` with no transaction open. (A row queued with its view already
    built, as earlier versions did, is sent as it is.)"""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, slack: Sender) -> None:
        self._sessions, self._clock, self._slack = sessions, clock, slack

    def send(self, delivery: Claimed) -> None:
        if not delivery.payload:
            with self._sessions() as session:
                message = built(session, slack_user_id=delivery.target, now=self._clock.now())
            delivery = replace(delivery, payload=message.to_payload())
        self._slack.send(delivery)
