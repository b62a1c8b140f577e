"""E-mail over SMTP, as the outbox sends it: an invitation queued by
services/invites.py, wrapped in MIME and handed to the mail server.

The message is multipart/alternative: a readable text/plain part, then a
`text/calendar; method=REQUEST` (or CANCEL) part, which is what Outlook and
Gmail show as an invitation with the meeting's details. A refusal the server
may lift (it is down, it times out, a 4xx reply) is TryLater; one it will not
(a 5xx for the recipient, an address that cannot be right) is GiveUp.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from bot.jobs.deliveries import Claimed, GiveUp, TryLater
from bot.settings import Smtp

TIMEOUT = 20.0  # seconds: a mail server that says nothing for this long is down for now


class SmtpSender:
    def __init__(
        self, smtp: Smtp, invite_from: str | None, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        """`invite_from` is INVITE_FROM; without it, invitations come from the
        partnership's organiser address. `tls_context` defaults to the system's
        certificate checks."""
        self._smtp = smtp
        self._from = invite_from
        self._tls = tls_context or ssl.create_default_context()

    def __repr__(self) -> str:
        return f"SmtpSender({self._smtp.host}:{self._smtp.port})"

    def send(self, delivery: Claimed) -> None:
        if delivery.kind != "email":
            raise GiveUp(f"no e-mail route for a {delivery.kind} delivery")
        try:
            message = self.message(delivery)
        except (KeyError, TypeError, ValueError) as error:  # a header with a line break, a part missing
            raise GiveUp(
                f"the queued invitation cannot be made into an e-mail: {type(error).__name__}"
            ) from None
        try:
            with self._connect() as server:
                server.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(400 <= code < 500 for code in codes):
                raise TryLater(f"recipient deferred: {codes}") from None
            raise GiveUp(f"recipient refused: {codes}") from None
        except smtplib.SMTPResponseException as error:
            if 400 <= error.smtp_code < 500:
                raise TryLater(f"server deferred: {error.smtp_code}") from None
            raise GiveUp(f"server refused: {error.smtp_code}") from None
        except smtplib.SMTPNotSupportedError as error:
            raise GiveUp(f"server cannot take it: {error}") from None
        except (smtplib.SMTPException, OSError) as error:  # refused, reset, timed out, TLS failed
            raise TryLater(type(error).__name__) from None

    def message(self, delivery: Claimed) -> EmailMessage:
        """The MIME message for a queued invitation, exactly as queued."""
        payload = delivery.payload
        to = str(payload.get("to") or "")
        sender = self._from or str(payload.get("organiser") or "")
        if not _plausible(to):
            raise GiveUp("the recipient's e-mail address cannot be right")
        if not _plausible(sender):
            raise GiveUp("no sender address: set INVITE_FROM")
        method = str(payload["method"]).upper()
        if method not in ("REQUEST", "CANCEL"):
            raise GiveUp(f"unknown invitation method {method!r}")
        message = EmailMessage()
        message["From"] = sender
        message["To"] = formataddr((str(payload.get("to_name") or ""), to))
        if payload.get("organiser") and payload["organiser"] != sender:
            message["Reply-To"] = str(payload["organiser"])
        message["Subject"] = str(payload["subject"])
        message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
        message.set_content(str(payload["text"]))
        message.add_alternative(
            str(payload["ics"]),
            subtype="calendar",
            params={"method": method},
            # Quoted-printable keeps the calendar's CRLF line ends and folds intact.
            cte="quoted-printable",
        )
        return message

    def _connect(self) -> smtplib.SMTP:
        smtp = self._smtp
        server: smtplib.SMTP
        if smtp.tls:
            server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT, context=self._tls)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
        try:
            server.ehlo()
            if not smtp.tls and server.has_extn("starttls"):
                server.starttls(context=self._tls)
                server.ehlo()
            if smtp.username:
                server.login(smtp.username, smtp.password.reveal() if smtp.password else "")
        except BaseException:
            server.close()
            raise
        return server


def _plausible(address: str) -> bool:
    if len(address) > 254 or any(c in address for c in '\r\n<>,; \t"'):
        return False
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and not domain.startswith("."))
