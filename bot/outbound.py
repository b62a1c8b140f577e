"""What sends each kind of message, built once from the settings: Slack for
channel posts and direct messages (and, when SMTP is configured, e-mail for
invitations). `serve`, `worker` and `jobs run-due` all send through this."""

from __future__ import annotations

from bot.jobs.deliveries import Route, Sender
from bot.mail import SmtpSender
from bot.settings import Settings
from bot.slack_api import SLACK_KINDS, SlackSender, web_client


def senders(settings: Settings) -> Route:
    slack = SlackSender(web_client(settings.slack_bot_token, settings.slack_api_url))
    routes: dict[str, Sender] = {kind: slack for kind in SLACK_KINDS}
    if settings.smtp is not None:
        routes["email"] = SmtpSender(settings.smtp, settings.invite_from)
    return Route(routes)
