"""What the engineer sets up for feeds and invitations, and what never reaches a log."""

from __future__ import annotations

import logging

import pytest

from bot.commands.core import Site
from bot.feeds import RedactFeedTokens
from bot.settings import SettingsError, load


def test_feeds_and_e_mail_are_on_when_their_settings_are_set():
    settings = load(
        {
            "PUBLIC_BASE_URL": "https://partnerbot.example.org/",
            "FEED_SECRET": "s" * 40,
            "SMTP_URL": "smtp://bot:pw@mail.example.org:2525",
            "INVITE_FROM": "partnerbot@example.org",
        }
    )
    site = Site.from_settings(settings)
    assert site.public_base_url == "https://partnerbot.example.org"
    assert site.feed_secret == b"s" * 40
    assert site.email is True
    assert Site.from_settings(load({})) == Site()


def test_secrets_stay_out_of_reprs():
    settings = load({"FEED_SECRET": "f" * 40, "SMTP_URL": "smtps://bot:hunter2-password@mail.example.org"})
    shown = repr(settings) + repr(Site.from_settings(settings))
    assert "f" * 40 not in shown and "hunter2" not in shown


def test_a_short_feed_secret_stops_start_up_naming_it():
    with pytest.raises(SettingsError, match="^FEED_SECRET must be at least 32 characters"):
        load({"FEED_SECRET": "too-short"})


def test_the_access_log_shows_feed_paths_without_their_tokens():
    token = "9f" * 32
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/calendar/{token}.ics", "1.1", 200),
        None,
    )
    assert RedactFeedTokens().filter(record) is True
    assert token not in record.getMessage()
    assert record.getMessage() == '127.0.0.1:5000 - "GET /calendar/… HTTP/1.1" 200'


def test_the_web_app_redacts_uvicorn_s_access_log(db):
    from bot.server import create_web_app

    create_web_app(bolt=None, sessions=db)
    create_web_app(bolt=None, sessions=db)
    filters = logging.getLogger("uvicorn.access").filters
    assert len([f for f in filters if isinstance(f, RedactFeedTokens)]) == 1


def test_the_console_shows_an_invitation_as_one_line(db, clock):
    import io

    from bot.console import ConsolePrinter
    from storage.models import Delivery

    out = io.StringIO()
    delivery = Delivery(
        kind="email",
        target="jess.marland@example.org",
        payload={"subject": "Invitation: Board", "text": "Dear Jess"},
    )
    ConsolePrinter(out, {}, {}).send(delivery)
    assert out.getvalue() == "  ▸ e-mail to jess.marland@example.org: Invitation: Board\n"
