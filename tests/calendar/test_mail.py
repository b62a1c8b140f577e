"""Invitations reach a real mail server: sent once, retried while it is down,
given up when it refuses the recipient for good."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from datetime import datetime, timedelta
from email.message import EmailMessage

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot.jobs.deliveries import GiveUp, send_due
from bot.mail import SmtpSender
from bot.settings import Smtp
from services import outbox
from services.invites import queue_invitations
from storage.models import Delivery, Meeting
from tests.conftest import LONDON

APRIL = datetime(2015, 4, 21, 16, 0, tzinfo=LONDON)
INVITE_FROM = "partnerbot@chorley.example.org"


class Mailbox:
    """An aiosmtpd handler that keeps what it is given, and refuses recipients when told to."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes, bool]] = []
        self.refuse: str | None = None  # e.g. "550 5.1.1 No such user"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content, session.ssl is not None))
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for _, raw, _ in self.received]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox():
    return Mailbox()


@pytest.fixture
def smtp_server(mailbox):
    """A real SMTP server on a random loopback port; started by the test when it wants it up."""
    controllers: list[Controller] = []

    def start(port: int | None = None, **options) -> Controller:
        controller = Controller(mailbox, hostname="127.0.0.1", port=port or free_port(), **options)
        controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        controller.stop()


def sender_for(port: int, *, tls: bool = False, tls_context: ssl.SSLContext | None = None) -> SmtpSender:
    return SmtpSender(
        Smtp(host="127.0.0.1", port=port, username=None, password=None, tls=tls),
        INVITE_FROM,
        tls_context=tls_context,
    )


def invite_board(db, clock) -> int:
    with db() as session, session.begin():
        meeting = session.scalar(select(Meeting).where(Meeting.starts_at == APRIL))
        return queue_invitations(session, meeting=meeting, now=clock.now())


def statuses(db) -> dict[str, str]:
    with db() as session:
        return {d.target: d.status for d in session.scalars(select(Delivery).where(Delivery.kind == "email"))}


def test_each_member_receives_an_invitation_outlook_and_gmail_show_as_one(demo, clock, smtp_server, mailbox):
    server = smtp_server()
    invite_board(demo, clock)
    outcome = send_due(demo, clock, sender_for(server.port))
    assert outcome.sent == 16 and outcome.failed == 0
    assert sorted(to for tos, _, _ in mailbox.received for to in tos) == sorted(statuses(demo))
    [message] = [m for m in mailbox.messages() if "jess.marland@example.org" in m["To"]]
    assert message["From"] == INVITE_FROM
    assert message["To"] == "Jess Marland <jess.marland@example.org>"
    assert message["Reply-To"] == "psr@example.org"
    # Folded onto its own line (RFC 5322 2.2.3), which Python's parser keeps a space of.
    assert (
        message["Subject"].lstrip()
        == "Invitation: Chorley Public Service Reform Board, Tue 21 Apr 2015 16:00"
    )
    assert message.get_content_type() == "multipart/alternative"
    text, invitation = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert "send your apologies in Slack with /apologies" in text.get_content()
    assert invitation.get_content_type() == "text/calendar"
    assert invitation.get_param("method") == "REQUEST"
    cal = icalendar.Calendar.from_ical(invitation.get_content())
    assert cal["method"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    with demo() as session:
        assert str(event["uid"]) == session.scalar(select(Meeting.uid).where(Meeting.starts_at == APRIL))
    assert event.decoded("dtstart") == APRIL
    assert all(status == "sent" for status in statuses(demo).values())


def test_a_cancellation_arrives_as_method_cancel(demo, clock, smtp_server, mailbox):
    server = smtp_server()
    with demo() as session, session.begin():
        meeting = session.scalar(select(Meeting).where(Meeting.starts_at == APRIL))
        meeting.status, meeting.sequence, meeting.updated_at = "cancelled", 1, clock.now()
        queue_invitations(session, meeting=meeting, now=clock.now())
    send_due(demo, clock, sender_for(server.port))
    message = mailbox.messages()[0]
    invitation = message.get_body(preferencelist=("calendar",))
    assert invitation is not None and invitation.get_param("method") == "CANCEL"
    assert b"METHOD:CANCEL" in invitation.get_content().encode()
    assert message["Subject"].lstrip().startswith("Cancelled: ")


def test_smtp_down_then_up_each_invitation_arrives_once(demo, clock, smtp_server, mailbox):
    port = free_port()  # nothing listens there yet: connection refused
    sender = sender_for(port)
    invite_board(demo, clock)
    first = send_due(demo, clock, sender)
    assert first.sent == 0 and first.retrying == 16
    assert set(statuses(demo).values()) == {"pending"}
    with demo() as session:
        assert {d.last_error for d in session.scalars(select(Delivery))} == {"ConnectionRefusedError"}

    smtp_server(port)
    assert send_due(demo, clock, sender).sent == 0  # not due again until the back-off has passed
    clock.advance(timedelta(seconds=31))
    assert send_due(demo, clock, sender).sent == 16
    clock.advance(timedelta(hours=2))
    assert send_due(demo, clock, sender).sent == 0
    recipients = [to for tos, _, _ in mailbox.received for to in tos]
    assert len(recipients) == 16 == len(set(recipients))


def test_a_recipient_refused_for_good_is_failed_not_retried(demo, clock, smtp_server, mailbox):
    server = smtp_server()
    mailbox.refuse = "550 5.1.1 No such user here"
    invite_board(demo, clock)
    outcome = send_due(demo, clock, sender_for(server.port))
    assert outcome.failed == 16 and mailbox.received == []
    with demo() as session:
        assert {d.last_error for d in session.scalars(select(Delivery))} == {"recipient refused: [550]"}


def test_a_recipient_deferred_is_tried_again(demo, clock, smtp_server, mailbox):
    server = smtp_server()
    mailbox.refuse = "451 4.3.0 Mailbox busy, try later"
    invite_board(demo, clock)
    assert send_due(demo, clock, sender_for(server.port)).retrying == 16
    mailbox.refuse = None
    clock.advance(timedelta(minutes=1))
    assert send_due(demo, clock, sender_for(server.port)).sent == 16


@pytest.mark.parametrize(
    "to",
    [
        "not-an-address",
        "someone@",
        "a@b@c",
        "victim@example.org\r\nBcc: everyone@example.org",
        "x" * 300 + "@example.org",
    ],
)
def test_an_address_that_cannot_be_right_is_given_up_without_connecting(db, clock, to):
    with db() as session, session.begin():
        outbox.enqueue(
            session,
            key="invite:bad",
            kind="email",
            target="bad",
            payload={
                "to": to,
                "subject": "S",
                "text": "T",
                "ics": "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                "method": "REQUEST",
            },
            due_at=clock.now(),
            now=clock.now(),
        )
    with db() as session:
        delivery = session.scalar(select(Delivery))
        with pytest.raises(GiveUp):
            sender_for(free_port()).send(delivery)  # nothing listens: reaching the network would be TryLater


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl tool."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool is not installed")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_smtp_upgrades_to_tls_when_the_server_offers_starttls(demo, clock, smtp_server, mailbox, certificate):
    server_tls, client_tls = certificate
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    invite_board(demo, clock)
    assert send_due(demo, clock, sender_for(server.port, tls_context=client_tls)).sent == 16
    assert all(over_tls for _, _, over_tls in mailbox.received)


def test_smtps_speaks_tls_from_the_first_byte(demo, clock, smtp_server, mailbox, certificate):
    server_tls, client_tls = certificate
    server = smtp_server(ssl_context=server_tls)
    invite_board(demo, clock)
    assert send_due(demo, clock, sender_for(server.port, tls=True, tls_context=client_tls)).sent == 16
    assert len(mailbox.received) == 16


def test_a_certificate_the_client_cannot_trust_is_not_sent_to(demo, clock, smtp_server, mailbox, certificate):
    server_tls, _ = certificate
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    invite_board(demo, clock)
    outcome = send_due(demo, clock, sender_for(server.port))  # the system's trust store
    assert outcome.sent == 0 and mailbox.received == []
    with demo() as session:
        assert {d.last_error for d in session.scalars(select(Delivery))} == {"SSLCertVerificationError"}


@pytest.mark.parametrize(
    "change",
    [{"subject": "Board\r\nBcc: everyone@example.org"}, {"method": "PUBLISH"}, {"ics": None}, {"text": None}],
)
def test_an_invitation_that_cannot_be_made_into_an_e_mail_is_given_up(db, clock, change):
    payload = {
        "to": "a@example.org",
        "subject": "S",
        "text": "T",
        "ics": "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    }
    payload |= {"method": "REQUEST", **change}
    payload = {k: v for k, v in payload.items() if v is not None}
    with db() as session, session.begin():
        outbox.enqueue(
            session,
            key="invite:odd",
            kind="email",
            target="a@example.org",
            payload=payload,
            due_at=clock.now(),
            now=clock.now(),
        )
    outcome = send_due(db, clock, sender_for(free_port()))
    assert outcome.failed == 1 and outcome.sent == 0
