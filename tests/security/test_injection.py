"""Mentions, links and mrkdwn typed into every free-text field that reaches Slack,
an e-mail or a calendar feed. Each field is typed through the command core (or
its form), the outbox is delivered to the Slack stand-in, and what Slack received
is read: no `<!`, `<@` or `<http` of the user's making survives, each is escaped
exactly once (`&lt;!channel&gt;`, never `&amp;lt;`), and an apology's reason is
in no channel post and not in the digest. In e-mail and iCalendar, a line break
in a field starts no new header or property."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from typing import Any

import icalendar
import pytest
from sqlalchemy import select

from bot.blocks.messages import reply_payload
from bot.commands import COMMANDS, FORMS
from bot.commands.core import Reply, run, submit
from bot.commands.home import Publisher
from bot.jobs.deliveries import Claimed, Route, send_due
from bot.jobs.run_due import run_due
from bot.mail import SmtpSender
from bot.settings import Smtp
from bot.slack_api import SLACK_KINDS, SlackSender, web_client
from storage.models import Delivery, Group, Meeting
from tests.calendar.conftest import SITE, feed_path, fetch, web  # noqa: F401  (a fixture, shared)
from tests.conftest import LONDON
from tests.hostile.corpus import HOSTILE

BOARD = "CBOARD001"
# Slack's own syntax from the hostile corpus, in one line: a ping, a forged mention,
# a disguised link, a user group, a mailto, and an ampersand.
SLACK_SYNTAX = [
    "channel mention",
    "here mention",
    "user mention",
    "mention of a member",
    "user group mention",
    "disguised link",
    "mailto link",
    "ampersand",
    "bold",
]
H = " ".join(HOSTILE[name] for name in SLACK_SYNTAX)
ESCAPED = "&lt;!channel&gt; &lt;!here|here&gt; &lt;@U123&gt;"  # how H starts, once escaped
RAW = re.compile(r"<(?:!|@|#|https?:|mailto:)")
REASON = "REASON-NEVER-POSTED"
PLACE = "Room 1 <!channel> <!here|here> <@U123> Police & Fire *bold* [location]"
FREE_OWNER = "Leads & <Partners> *all*"  # mentions and links as an owner are refused (tests/hostile)


def field(name: str) -> str:
    """Hostile text marked with the field it was typed into."""
    return f"{H} [{name}]"


class Board:
    """Commands typed by the Board's people, their replies kept as Slack would show them."""

    def __init__(self, demo, clock) -> None:
        self.demo, self.clock = demo, clock
        self.replies: list[dict[str, Any]] = []
        self.emails: list[Claimed] = []

    def send(self, delivery: Claimed) -> None:
        """Invitations are read in their own test below; here they are only kept."""
        self.emails.append(delivery)

    def type(self, line: str, person: str, channel: str | None = BOARD) -> Reply:
        name, _, text = line.partition(" ")
        reply = run(
            COMMANDS[name],
            text,
            sessions=self.demo,
            clock=self.clock,
            person_key=person,
            channel_id=channel,
            site=SITE,
        )
        assert reply.ok, reply.text
        self.replies.append(reply_payload(reply.message))
        return reply

    def fill(
        self, form: str, values: dict[str, str], person: str, state: dict[str, str] | None = None
    ) -> Reply:
        reply = submit(
            FORMS[form],
            values,
            state or {},
            sessions=self.demo,
            clock=self.clock,
            person_key=person,
            channel_id=BOARD,
            site=SITE,
        )
        assert reply.ok, (reply.text, reply.errors)
        self.replies.append(reply_payload(reply.message))
        return reply

    def meeting_id(self, group: str, starts: datetime) -> str:
        with self.demo() as session:
            return str(
                session.scalar(
                    select(Meeting.id).join(Group).where(Group.slug == group, Meeting.starts_at == starts)
                )
            )


def strings(value: Any) -> list[str]:
    """Every string in what Slack was sent, JSON-encoded parameters opened up."""
    if isinstance(value, str):
        if value[:1] in "[{":
            try:
                return strings(json.loads(value))
            except ValueError:
                pass
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


@pytest.fixture
def everything_typed(demo, clock, slack_api):
    """Every free-text field filled with hostile text, the jobs run, the outbox sent."""
    board = Board(demo, clock)
    april = datetime(2015, 4, 21, 16, 0, tzinfo=LONDON)
    february = datetime(2015, 2, 10, 16, 0, tzinfo=LONDON)
    # Actions: what, a free-text owner, one overdue so the nudges and the digest carry it.
    board.type(f"/action add {field('what, overdue')} | fire | 10/04/2015", "fire")
    board.type(f"/action add {field('what, free owner')} | {FREE_OWNER} | 30/04/2015", "fire")
    # The agenda: title and purpose, published to the channel.
    board.type(f"/agenda add {field('title')} -- {field('purpose')}", "clerk")
    # Apologies with a reason and a substitute, by form.
    board.fill(
        "apologies",
        {
            "meeting": board.meeting_id("board", april),
            "reason": f"{REASON} {H}",
            "substitute": field("substitute"),
        },
        "fire",
    )
    board.type(f"/apologies 21/04/2015 {REASON} typed {H}", "opposition")
    # Updates: quick, and every highlight-report field.
    board.type(f"/update joint-commissioning amber {field('quick update')}", "fire")
    board.fill(
        "update-highlight",
        {"rag": "red"}
        | {part: field(part) for part in ("progress", "issues", "risks", "next_steps", "decision_needed")},
        "ccg",
        state={"workstream": "joint-commissioning"},
    )
    # A meeting's location, and a declaration's nature.
    board.type(f"/meeting add 7 Jul 2015 at {PLACE}", "clerk")  # a link as a place is refused
    board.type(
        f"/meeting move 16/06/2015 to 16/06/2015 at {PLACE.replace('[location]', '[moved to]')}", "clerk"
    )
    board.type(f"/meeting interest 21/04/2015 3 {field('nature')}", "fire")
    # An imported What / Who / When table.
    read = board.fill(
        "action-import",
        {
            "meeting": board.meeting_id("board", february),
            "table": f"What | Who | When\n{field('imported what')} | {FREE_OWNER} | 30.04.15\n"
            f"{field('imported for fire')} | fire | 10.04.15",
        },
        "clerk",
    )
    [save] = [b for s in read.sections for b in s.buttons]
    board.type(save.command or "", "clerk")
    board.type("/agenda publish", "clerk")
    board.type("/digest post", "clerk")
    board.type("/meeting minutes 21/04/2015", "clerk")
    board.type("/action list all", "fire")
    board.type("/update joint-commissioning history", "fire")

    slack = SlackSender(web_client("xoxb-test", slack_api.url))
    sender = Route(
        {kind: slack for kind in SLACK_KINDS} | {"home": Publisher(demo, clock, slack), "email": board}
    )
    send_due(demo, clock, sender)
    for day in (date(2015, 4, 13), date(2015, 4, 14), date(2015, 4, 20)):
        clock.set(datetime.combine(day, time(9, 0), LONDON))
        run_due(sessions=demo, clock=clock, sender=sender)
    return board


def test_slack_gets_every_field_escaped_exactly_once(everything_typed, slack_api):
    calls = [c for c in slack_api.calls() if c.ok]
    assert {"chat.postMessage", "views.publish"} <= {c.method for c in calls}
    seen = [s for c in calls for s in strings(c.params)] + [
        s for r in everything_typed.replies for s in strings(r)
    ]
    for text in seen:
        assert not RAW.search(text), f"raw Slack syntax from typed text reached Slack: {text!r}"
        assert "&amp;lt;" not in text and "&amp;gt;" not in text and "&amp;amp;" not in text, text
    sent = [s for c in calls for s in strings(c.params)]
    for name in ("what, overdue", "title", "purpose", "quick update", "progress", "issues", "risks", "next_steps",
                 "decision_needed", "location", "moved to",
                 "imported for fire"):  # fmt: skip
        assert any(ESCAPED in s and f"[{name}]" in s for s in sent), f"{name} never reached Slack"
    for name in ("substitute", "nature", "what, free owner", "imported what"):
        assert any(f"[{name}]" in s for s in seen), f"{name} was never shown"
    assert any("Leads &amp; &lt;Partners&gt; *all*" in s for s in seen)  # the free-text owner


def test_no_apology_reason_reaches_a_channel_or_the_digest(everything_typed, slack_api):
    posts = [c.params for c in slack_api.calls("chat.postMessage") if c.ok]
    assert posts
    for params in posts:
        assert not any(REASON in s for s in strings(params)), params.get("channel")
    for call in slack_api.calls("views.publish"):
        assert not any(REASON in s for s in strings(call.params))


def claimed(row: Delivery) -> Claimed:
    return Claimed(
        id=row.id, key=row.key, kind=row.kind, target=row.target, payload=row.payload, attempts=0, token=""
    )


NEWLINE_PLACE = "Room 1\r\nATTENDEE:mailto:evil@example.org\nX-INJECTED:yes\nBcc: evil@example.org"


def test_a_line_break_in_a_location_or_title_starts_no_header_or_property(demo, clock, web):  # noqa: F811
    board = Board(demo, clock)
    board.type(f"/meeting add 7 Jul 2015 at {NEWLINE_PLACE}", "clerk")
    board.type("/agenda add Estates\nX-INJECTED:title\r\nEND:VEVENT -- for\nBcc: evil@example.org", "clerk")
    with demo() as session:
        rows = list(session.scalars(select(Delivery).where(Delivery.kind == "email")))
    assert rows
    smtp = SmtpSender(Smtp("127.0.0.1", 25, None, None, False), None)
    for row in rows:
        message = smtp.message(claimed(row))
        for header, value in message.items():
            assert "\n" not in value and "\r" not in value, header
        assert message["Bcc"] is None
        body = message.as_string()
        ics = next(
            part for part in message.walk() if part.get_content_type() == "text/calendar"
        ).get_content()
        _no_injected_properties(ics)
        assert not re.search(r"(?m)^Bcc:", body.split("\n\n", 1)[0])
    feed = fetch(web, feed_path(board.type("/calendar", "clerk").text))
    assert feed.status_code == 200
    _no_injected_properties(feed.text)


def _no_injected_properties(ics: str) -> None:
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    names = {line.split(":", 1)[0].split(";", 1)[0] for line in unfolded.splitlines() if line}
    assert "X-INJECTED" not in names
    assert "X-INJECTED" in unfolded  # the text is there, inside a property's value
    assert not any(line.startswith("ATTENDEE:mailto:evil") for line in unfolded.splitlines())
    calendar = icalendar.Calendar.from_ical(ics)
    events = list(calendar.walk("VEVENT"))
    assert events
    for event in events:
        assert all(not str(a).endswith("evil@example.org") for a in _listed(event.get("attendee")))


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
