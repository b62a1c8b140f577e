"""What sends each kind of message, built once from the settings: Slack for
channel posts, direct messages and Home tabs (and, when SMTP is configured,
e-mail for invitations). `serve`, `worker` and `jobs run-due` all send through this."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.commands.home import Publisher
from bot.jobs.deliveries import Route, Sender
from bot.mail import SmtpSender
from bot.settings import Settings
from bot.slack_api import SLACK_KINDS, SlackSender, web_client
from services.clock import Clock


def senders(settings: Settings, *, sessions: sessionmaker[Session], clock: Clock) -> Route:
    slack = SlackSender(web_client(settings.slack_bot_token, settings.slack_api_url))
    routes: dict[str, Sender] = {kind: slack for kind in SLACK_KINDS}
    routes["home"] = Publisher(sessions, clock, slack)  # built as it is sent
    if settings.smtp is not None:
        routes["email"] = SmtpSender(settings.smtp, settings.invite_from)
    return Route(routes)
