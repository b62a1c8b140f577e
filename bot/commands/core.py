"""What every command shares: the request it gets, the reply it gives, and the
one path from typed text to a committed change (or to nothing at all)."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.commands import home
from bot.commands.shapes import Form, Message, Section
from bot.settings import Settings
from services import audit, directory, inbox, outbox
from services import partnership as partnership_service
from services.clock import Clock
from services.dates import format_date
from services.errors import FieldErrors, UserError
from storage.models import Partnership, Person
from storage.prepared import FirstAnswerChanged
from storage.session import REQUEST_LOCK_WAIT, Busy, is_unreachable, transaction

log = logging.getLogger("partnerbot.commands")

MAX_TEXT = 4000  # Slack sends at most 4,000 characters of command text
# Unicode's explicit embeddings, overrides and isolates: invisible, each turns the
# text after it, to the end of its line, another way. Typed into an action's
# wording, U+202E would make the rest of that line in a post (its owner, its due
# date) read backwards. Nobody types one on purpose; the marks U+200E and U+200F,
# which pasted right-to-left text may hold and which reorder nothing after them,
# are taken as typed.
DIRECTION_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
BUSY = "partnerbot is busy; nothing was changed, try again in a moment."
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
    queued: bool = False  # already queued (`Context.post_once`), not at the commit

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
    errors: dict[str, str] = field(default_factory=dict)  # a form's answers refused, by field name

    @property
    def message(self) -> Message:
        return Message(self.text, self.sections)


@dataclass(frozen=True)
class Site:
    """How this installation reaches people outside Slack, as commands need to know
    it: the public base URL that links start with (PUBLIC_BASE_URL, no trailing
    slash), the secret calendar links are derived from (FEED_SECRET), and whether
    invitations are e-mailed (SMTP_URL set). Built once from the settings."""

    public_base_url: str | None = None
    feed_secret: bytes | None = field(default=None, repr=False)
    email: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Site:
        return cls(
            public_base_url=settings.public_base_url,
            feed_secret=settings.feed_secret.reveal().encode() if settings.feed_secret else None,
            email=settings.smtp is not None,
        )


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
    site: Site = Site()
    # Who typed it, if they have left the partnership (a file loaded without them):
    # `person` is then None, and they may do only what a stranger may.
    left: Person | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def require_person(self) -> Person:
        if self.left is not None and self.left.left_at is not None:
            raise UserError(
                f"You left the partnership on {format_date(self.local(self.left.left_at).date())} "
                "(the partnership file loaded then does not list you), so partnerbot can't do this "
                "for you: if that is wrong, ask an officer to put you back in the file. Nothing was changed."
            )
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

    def post_once(self, channel: str, text: str, key: str, sections: tuple[Section, ...] = ()) -> bool:
        """Queue a message for a channel at once, unless one of its key is queued already,
        even by a command committing at this moment (it is waited for): whether this
        queued it, so that only one of two people posting the same message is told so."""
        message = Message(text, sections)
        queued = outbox.enqueue(
            self.session,
            key=key,
            kind="channel",
            target=channel,
            payload=message.to_payload(),
            due_at=self.now,
            now=self.now,
        )
        if queued:
            self.posts.append(Post(target=channel, message=message, key=key, queued=True))
        return queued

    def direct(
        self, slack_user_id: str | None, text: str, key: str, sections: tuple[Section, ...] = ()
    ) -> None:
        """Queue a direct message to a person, in this command's transaction."""
        if slack_user_id:
            self.posts.append(
                Post(target=slack_user_id, message=Message(text, sections), key=key, kind="direct")
            )


Handler = Callable[[Context, str], "str | Reply"]
FormHandler = Callable[[Context, dict[str, str], dict[str, str]], "str | Reply"]
FormOpener = Callable[[Context], Form]

ALREADY_PRESSED = "That button was already pressed, so nothing more was done."
UNKNOWN_FORM = "partnerbot no longer knows that form, so nothing was saved. Type the command again."


@dataclass(frozen=True)
class Command:
    name: str  # "/action"
    help: str
    handle: Handler
    # The first words (lower case; "" for none) with which the command only
    # reads: it runs in a read-only transaction, which waits for no writer and
    # which the database refuses any write (storage.session.transaction).
    reading: frozenset[str] = frozenset()
    # Where given, the only first words with which the command may change
    # anything: any other (a typo, a word it does not know) is refused in a
    # read-only transaction too, so it waits for no writer to say so.
    changing: frozenset[str] | None = None

    def only_reads(self, text: str) -> bool:
        """Whether `text` starts with a word of `reading`, or with none of
        `changing` where that is given (as the handlers split it)."""
        first = text.strip().partition(" ")[0].lower()
        return first in self.reading or (self.changing is not None and first not in self.changing)


@dataclass(frozen=True)
class FormSpec:
    """What happens to a filled-in form named `name`: `submit(context, values, state)`
    gets the answers by field name (raw text; a date as YYYY-MM-DD, a choice as its
    value) and the form's state; it may raise FieldErrors. `open`, if given, builds
    the form for a button that names it without a command."""

    name: str
    submit: FormHandler
    open: FormOpener | None = None


def run(
    command: Command,
    text: str,
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    slack_user_id: str | None = None,
    person_key: str | None = None,
    channel_id: str | None = None,
    once_key: str | None = None,
    site: Site | None = None,
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
    if (refused := _refused_character(text)) is not None:
        what, why = refused
        return Reply(
            text=f"That text holds a {what}, which {why}: type it again without it. Nothing was changed.",
            ok=False,
        )
    return execute(
        lambda context: command.handle(context, text),
        label=command.name,
        sessions=sessions,
        clock=clock,
        slack_user_id=slack_user_id,
        person_key=person_key,
        channel_id=channel_id,
        once_key=once_key,
        site=site,
        read_only=once_key is None and command.only_reads(text),
    )


def _refused_character(text: str) -> tuple[str, str] | None:
    """A character no text is taken with, named, and why; None if it has none.
    PostgreSQL cannot store a NUL, and a direction control (DIRECTION_CONTROL) can
    make a post read other than it says; nobody types either on purpose."""
    if "\x00" in text:
        return "NUL character (\\x00)", "partnerbot cannot store"
    found = None if text.isascii() else DIRECTION_CONTROL.search(text)
    if found:
        what = f"hidden character that turns the text after it around (U+{ord(found[0]):04X})"
        return what, "could make a post read other than it says"
    return None


def submit(
    form: FormSpec,
    values: dict[str, str],
    state: dict[str, str],
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    slack_user_id: str | None = None,
    person_key: str | None = None,
    channel_id: str | None = None,
    site: Site | None = None,
) -> Reply:
    """Take a filled-in form, from Slack or the console alike, in one transaction:
    FieldErrors come back as `Reply.errors` and nothing is stored."""
    unfit = {
        name: f"At most {MAX_TEXT:,} characters, please." for name, v in values.items() if len(v) > MAX_TEXT
    } | {
        name: f"Type it again without the {refused[0]}."
        for name, v in values.items()
        if (refused := _refused_character(v)) is not None
    }
    if unfit:
        return Reply(
            text="Some answers cannot be saved as they are. Nothing was saved.", ok=False, errors=unfit
        )
    return execute(
        lambda context: form.submit(context, dict(values), dict(state)),
        label=f"form {form.name}",
        sessions=sessions,
        clock=clock,
        slack_user_id=slack_user_id,
        person_key=person_key,
        channel_id=channel_id,
        site=site,
    )


def open_form(
    form: FormSpec,
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    slack_user_id: str | None = None,
    person_key: str | None = None,
    channel_id: str | None = None,
    site: Site | None = None,
) -> Reply:
    """A Reply holding the form, built for this person (e.g. their meetings as choices)."""
    opener = form.open
    if opener is None:
        return Reply(text=UNKNOWN_FORM, ok=False)
    return execute(
        lambda context: Reply(text="", form=opener(context)),
        label=f"form {form.name}",
        sessions=sessions,
        clock=clock,
        slack_user_id=slack_user_id,
        person_key=person_key,
        channel_id=channel_id,
        site=site,
    )


def execute(
    act: Callable[[Context], str | Reply],
    *,
    label: str,
    sessions: sessionmaker[Session],
    clock: Clock,
    slack_user_id: str | None = None,
    person_key: str | None = None,
    channel_id: str | None = None,
    once_key: str | None = None,
    site: Site | None = None,
    read_only: bool = False,
    answer_later: bool = True,
) -> Reply:
    """The one path to a committed change: `act` runs in one transaction with the
    posts it queues. A UserError rolls everything back and becomes the reply;
    anything unexpected is logged with a reference that the reply shows too.
    With `once_key` (a button press), it acts the first time the key is seen only,
    recorded in the same transaction, so a refused press can be pressed again.
    `read_only`: `act` only reads (see `Command.reading`). Where it can
    (PostgreSQL, a connection its thread keeps), a command goes on the
    partnership and person this thread remembers, checked with its first reads
    and before anything is written, and runs once more, asking first
    (`answer_later` False), if the partnership file was loaded meanwhile."""
    # The second time (only if the first went on what this thread remembered) asks first.
    for later in (True, False) if answer_later else (False,):
        try:
            with transaction(
                sessions,
                lock_wait=REQUEST_LOCK_WAIT,
                ask_first=directory.LATEST_LOAD,
                read_only=read_only,
                answer_later=later,
            ) as session:
                now = clock.now()
                partnership, person = directory.lookup(
                    session, slack_user_id=slack_user_id, person_key=person_key
                )
                left = person if person is not None and person.left_at is not None else None
                context = Context(
                    session=session,
                    now=now,
                    partnership=partnership,
                    zone=partnership_service.zone(partnership),
                    person=None if left else person,
                    slack_user_id=slack_user_id,
                    channel_id=channel_id,
                    site=site or Site(),
                    left=left,
                )
                if once_key and not inbox.first_time(session, key=once_key, now=now):
                    return Reply(text=ALREADY_PRESSED, ok=False)
                answer = act(context)
                if audit.changed(session):
                    # Whatever a person changes shows on their Home tab, published like any
                    # post, and on the tabs of those it concerns (an action's owner).
                    me = context.person.slack_user_id if context.person else None
                    tabs = audit.concerned(session) | {me}
                    for tab in sorted(t for t in tabs if t):
                        home.changed(session, slack_user_id=tab, now=now)
                for post in (p for p in context.posts if not p.queued):
                    outbox.enqueue_at_commit(
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
        except FieldErrors as error:
            return Reply(text=error.message, ok=False, errors=error.errors)
        except UserError as error:
            return Reply(text=error.message, ok=False)
        except Busy:
            log.warning("command refused: database busy", extra={"command": label})
            return Reply(text=BUSY, ok=False)
        except FirstAnswerChanged:  # loaded meanwhile: once more, asking first, on what the file says now
            continue
        except Exception as error:
            if is_unreachable(error):
                log.warning("command refused: the database is unreachable", extra={"command": label})
                return Reply(text=DATABASE_UNREACHABLE, ok=False)
            reference = secrets.token_hex(4)
            log.exception("command failed", extra={"reference": reference, "command": label})
            return Reply(
                text=f"Something went wrong on partnerbot's side, and nothing was changed. "
                f"If it happens again, tell the engineer who runs it: reference {reference}.",
                ok=False,
            )
    # Asking first, nothing is taken on trust, so nothing can turn out changed.
    raise AssertionError("a command that asked first was told to run again")
