"""The mail server answers 451 (try later) while the clerk adds, moves and
cancels a meeting through Slack, then accepts again: `partnerbot serve`'s
delivery thread sends each invitation once, and the commands never waited for it."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from storage.models import Delivery
from tests.slack.signing import FORM, sign, slash_command_body

BUDGET = 3.0  # seconds: SPEC 8
BOARD_WITH_E_MAIL = 16  # the board's members, officers and observer who have an address


class RefusingThenAccepting:
    """An aiosmtpd handler that defers every message (451) until told to accept."""

    def __init__(self) -> None:
        self.refusing = True
        self.deferred = 0
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            self.deferred += 1
            return "451 4.3.0 Mail system busy, try again later"
        self.received.append(envelope.original_content)
        return "250 Message accepted"

    def invitations(self) -> Counter[tuple[str, str, str, str]]:
        """(recipient, method, UID, SEQUENCE) of each message received, counted."""
        found: Counter[tuple[str, str, str, str]] = Counter()
        for raw in self.received:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            calendar = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
            lines = dict(line.split(":", 1) for line in calendar.get_content().splitlines() if ":" in line)
            found[(message["To"], lines["METHOD"], lines["UID"], lines["SEQUENCE"])] += 1
        return found


@pytest.fixture
def mail_server():
    handler = RefusingThenAccepting()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def typed(base: str, secret: str, text: str) -> tuple[int, float, str]:
    body = slash_command_body("/meeting", text, user_id="U0CLERK01", channel_id="CBOARD001")
    headers = {"Content-Type": FORM} | sign(body, secret=secret, timestamp=int(time.time()))
    started = time.perf_counter()
    response = httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=30)
    return response.status_code, time.perf_counter() - started, response.json().get("text", "")


def e_mails(db, status: str | None = None) -> int:
    query = select(func.count()).where(Delivery.kind == "email")
    with db() as session:
        return session.scalar(query.where(Delivery.status == status) if status else query) or 0


def test_invitations_deferred_by_the_mail_server_arrive_once_when_it_accepts_again(
    start_serve, mail_server, demo, clock, slack_signing_secret
):
    handler, port = mail_server
    base, service = start_serve(SMTP_URL=f"smtp://127.0.0.1:{port}", INVITE_FROM="psr@example.org")
    for change in ("add 14 Jul 2015", "move 14 Jul 2015 to 15 Jul 2015", "cancel 15 Jul 2015"):
        status, seconds, reply = typed(base, slack_signing_secret, change)
        assert status == 200 and seconds < BUDGET, f"{change}: {status} after {seconds:.2f}s"
        assert "went wrong" not in reply and "Nothing was changed" not in reply, reply
    deadline = time.monotonic() + 30
    while handler.deferred < BOARD_WITH_E_MAIL and time.monotonic() < deadline:
        time.sleep(0.05)  # the delivery thread is trying, and being told to wait
    assert handler.deferred >= BOARD_WITH_E_MAIL and handler.received == []
    assert e_mails(demo) == 3 * BOARD_WITH_E_MAIL == e_mails(demo, "pending")

    handler.refusing = False
    deadline = time.monotonic() + 60
    while e_mails(demo, "sent") < e_mails(demo) and time.monotonic() < deadline:
        clock.advance(timedelta(minutes=1))  # the back-off runs out
        service.deliveries.wake()
        time.sleep(0.1)  # the delivery thread sends
    assert e_mails(demo, "sent") == e_mails(demo)
    invitations = handler.invitations()
    assert sum(invitations.values()) == 3 * BOARD_WITH_E_MAIL and set(invitations.values()) == {1}
    methods = Counter((method, sequence) for _, method, _, sequence in invitations)
    assert methods == {
        ("REQUEST", "0"): BOARD_WITH_E_MAIL,
        ("REQUEST", "1"): BOARD_WITH_E_MAIL,
        ("CANCEL", "2"): BOARD_WITH_E_MAIL,
    }
