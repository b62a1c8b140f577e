"""What is private stays so: an apology's reason is seen by its sender, the
officers and the chair only; a restricted agenda item's title and purpose by the
officers only, and shows as "Restricted item" in the channel, the digest, the
calendar feed and the e-mailed invitations alike."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.blocks.messages import reply_payload
from bot.commands import COMMANDS
from bot.commands.core import Reply, run
from bot.jobs.deliveries import Claimed, Route, send_due
from bot.slack_api import SLACK_KINDS, SlackSender, web_client
from storage.models import Delivery
from tests.calendar.conftest import SITE, feed_path, fetch, web  # noqa: F401  (a fixture, shared)

BOARD = "CBOARD001"
REASON = "Hospital appointment for my daughter"
SECRET_TITLE = "Sale of the Market Street depot"
SECRET_PURPOSE = "Offer from a named bidder"


@pytest.fixture
def typed(demo, clock):
    def typed(line: str, person: str, channel: str | None = BOARD) -> Reply:
        name, _, text = line.partition(" ")
        reply = run(
            COMMANDS[name], text, sessions=demo, clock=clock, person_key=person, channel_id=channel, site=SITE
        )
        assert reply.ok, reply.text
        return reply

    return typed


def shown(reply: Reply) -> str:
    return json.dumps(reply_payload(reply.message), ensure_ascii=False)


class KeptForReading:
    """Invitations stay in the outbox, read below; nothing is e-mailed."""

    def send(self, delivery: Claimed) -> None:
        pass


VIEWS = [
    "/apologies list 21/04/2015",
    "/meeting next",
    "/meeting minutes 21/04/2015",
    "/agenda",
    "/digest",
]


@pytest.mark.parametrize("line", VIEWS)
def test_an_apology_reason_is_for_the_officers_and_the_chair_only(typed, line):
    typed(f"/apologies 21/04/2015 {REASON}", "fire")
    for person in ("opposition", "publichealth", "lcft"):  # a member, the observer, a contributor
        assert REASON not in shown(typed(line, person)), person


def test_the_officers_and_the_chair_see_the_reasons_in_the_list_and_each_member_their_own(typed):
    typed(f"/apologies 21/04/2015 {REASON}", "fire")
    for person in ("clerk", "chair", "fire"):
        assert REASON in shown(typed("/apologies list 21/04/2015", person)), person


def test_a_restricted_item_is_masked_everywhere_but_the_officers_own_view(typed, demo, clock, slack_api, web):  # noqa: F811
    typed(f"/agenda add restricted para 3 {SECRET_TITLE} -- {SECRET_PURPOSE}", "clerk")
    assert SECRET_TITLE in shown(typed("/agenda", "clerk"))
    seen = [
        shown(typed(line, person))
        for person in ("opposition", "publichealth")
        for line in ("/agenda", "/meeting next", "/meeting minutes 21/04/2015", "/digest")
    ]
    seen.append(shown(typed("/meeting interest 21/04/2015 3 A relative is a bidder", "opposition")))
    typed("/meeting move 21/04/2015 to 22/04/2015", "clerk")  # the invitations carry the agenda
    typed("/agenda publish", "clerk")
    typed("/digest post", "clerk")
    slack = SlackSender(web_client("xoxb-test", slack_api.url))
    send_due(demo, clock, Route({kind: slack for kind in SLACK_KINDS} | {"email": KeptForReading()}))
    seen += [json.dumps(c.params, ensure_ascii=False) for c in slack_api.calls() if c.ok]
    with demo() as session:
        emails = [d.payload for d in session.scalars(select(Delivery).where(Delivery.kind == "email"))]
    assert emails
    seen += [json.dumps(e, ensure_ascii=False) for e in emails]
    seen.append(fetch(web, feed_path(typed("/calendar", "opposition").text)).text)
    for text in seen:
        assert SECRET_TITLE not in text and SECRET_PURPOSE not in text
    assert any("Restricted item" in text for text in seen[:3])
