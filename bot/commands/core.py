"""What every command shares: the request it gets, the reply it gives, and the
one path from typed text to a committed change (or to nothing at all)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.commands.shapes import Form, Message, Section
from services import outbox, people
from services import partnership as partnership_service
from services.clock import Clock
from services.errors import UserError
from storage.models import Partnership, Person
from storage.session import is_unreachable, transaction

log = logging.getLogger("partnerbot.commands")

MAX_TEXT = 4000  # Slack sends at most 4,000 characters of command text
DATABASE_UNREACHABLE = (
    "partnerbot can't reach its database just now (it may be restarting), so nothing was changed. "
    "Try again in a minute; if it goes on, tell the engineer who runs partnerbot."
)


@dataclass(frozen=True)
class Post:
    """A message for a group's channel (or a person, `kind="direct"`, `target` their
    Slack user id), sent through the outbox under a unique key."""

    target: str
    message: Message
    key: str
    kind: str = "channel"

    @property
    def text(self) -> str:
        return self.message.text


@dataclass(frozen=True)
class Reply:
    """What the person who typed the command sees (ephemeral): text, sections with
    buttons, or a form to open; and the posts the command queued."""

    text: str
    posts: tuple[Post, ...] = ()
    ok: bool = True
    sections: tuple[Section, ...] = ()
    form: Form | None = None


@dataclass
class Context:
    session: Session
    now: datetime
    partnership: Partnership
    zone: ZoneInfo
    person: Person | None
    slack_user_id: str | None
    channel_id: str | None
    posts: list[Post] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def require_person(self) -> Person:
        if self.person is None:
            raise UserError(
                "You are not in the partnership file yet, so partnerbot doesn't know which "
                "groups you belong to: ask an officer to add your Slack id. Nothing was changed."
            )
        return self.person

    def post(self, channel: str | None, text: str, key: str, sections: tuple[Section, ...] = ()) -> None:
        """Queue a message for a channel, in this command's transaction."""
        if channel:
            self.posts.append(Post(target=channel, message=Message(text, sections), key=key))

    def direct(
        self, slack_user_id: str | None, text: str, key: str, sections: tuple[Section, ...] = ()
    ) -> None:
        """Queue a direct message to a person, in this command's transaction."""
        if slack_user_id:
            self.posts.append(
                Post(target=slack_user_id, message=Message(text, sections), key=key, kind="direct")
            )


Handler = Callable[[Context, str], "str | Reply"]


@dataclass(frozen=True)
class Command:
    name: str  # "/action"
    help: str
    handle: Handler


def run(
    command: Command,
    text: str,
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    slack_user_id: str | None = None,
    person_key: str | None = None,
    channel_id: str | None = None,
) -> Reply:
    """Run one command in one transaction. A UserError rolls everything back and
    becomes the reply; anything unexpected is logged with a reference that the
    reply shows too."""
    text = (text or "").strip()
    if text.lower() in ("help", "-h", "--help", "?"):
        return Reply(text=command.help)
    if len(text) > MAX_TEXT:
        return Reply(
            text=f"That is {len(text):,} characters; a command takes at most {MAX_TEXT:,}. "
            "Nothing was changed.",
            ok=False,
        )
    if "\x00" in text:
        # PostgreSQL cannot store a NUL in text, and no one types one on purpose.
        return Reply(
            text="That text holds a NUL character (\\x00), which partnerbot cannot store: "
            "type it again without it. Nothing was changed.",
            ok=False,
        )
    try:
        with transaction(sessions) as session:
            now = clock.now()
            partnership = partnership_service.get(session)
            person = (
                people.by_slack_user(session, slack_user_id)
                if slack_user_id
                else people.by_key(session, person_key)
                if person_key
                else None
            )
            context = Context(
                session=session,
                now=now,
                partnership=partnership,
                zone=partnership_service.zone(partnership),
                person=person,
                slack_user_id=slack_user_id,
                channel_id=channel_id,
            )
            answer = command.handle(context, text)
            for post in context.posts:
                outbox.enqueue(
                    session,
                    key=post.key,
                    kind=post.kind,
                    target=post.target,
                    payload=post.message.to_payload(),
                    due_at=now,
                    now=now,
                )
            reply = answer if isinstance(answer, Reply) else Reply(text=answer)
            return replace(reply, posts=tuple(context.posts))
    except UserError as error:
        return Reply(text=error.message, ok=False)
    except Exception as error:
        if is_unreachable(error):
            log.warning("command refused: the database is unreachable", extra={"command": command.name})
            return Reply(text=DATABASE_UNREACHABLE, ok=False)
        reference = secrets.token_hex(4)
        log.exception("command failed", extra={"reference": reference, "command": command.name})
        return Reply(
            text=f"Something went wrong on partnerbot's side, and nothing was changed. "
            f"If it happens again, tell the engineer who runs it: reference {reference}.",
            ok=False,
        )
