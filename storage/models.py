"""The partnership's records: one typed model per concept of SPEC section 2.

Constraints keep the data honest (unique slugs and refs, one apology per person
per meeting, a unique key per outgoing message, checked status values); indexes
serve the queries that reminders, digests and feeds run.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

# Alembic needs named constraints to alter SQLite tables in batch mode.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("chair", "member", "officer", "observer")
MEETING_STATUSES = ("scheduled", "cancelled", "held")
ATTENDANCE_STATUSES = ("present", "apologies", "absent", "in_attendance")
RAG_STATUSES = ("green", "amber", "red")
ACTION_STATUSES = ("open", "done", "dropped")
# home: a person's App Home view; modal: new content for an open modal (by view id)
DELIVERY_KINDS = ("channel", "direct", "email", "response_url", "home", "modal")
DELIVERY_STATUSES = ("pending", "sent", "failed")
WORKSTREAM_ROLES = ("lead", "contributor")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class Partnership(Base):
    """The one partnership this installation runs (a single row)."""

    __tablename__ = "partnership"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    channel: Mapped[str | None] = mapped_column(String(32))
    digest_day: Mapped[int] = mapped_column(Integer, default=0)  # Monday = 0
    digest_time: Mapped[time] = mapped_column(Time, default=time(9, 0))
    organiser_email: Mapped[str | None] = mapped_column(String(254))
    holidays: Mapped[str] = mapped_column(String(32), default="england-and-wales")

    __table_args__ = (
        CheckConstraint("digest_day BETWEEN 0 AND 6", name="digest_day"),
        CheckConstraint(
            _one_of("holidays", ("england-and-wales", "scotland", "northern-ireland")),
            name="holidays",
        ),
    )


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    # When a partnership file was loaded without them: they have left the
    # partnership, and keep their row for the record. None while they are in it.
    left_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="person")


class Group(Base):
    """A body that meets: the Board, the Executive, a task-and-finish group."""

    __tablename__ = "group"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    abbreviation: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32), unique=True)
    location: Mapped[str | None] = mapped_column(String(300))
    start_time: Mapped[time] = mapped_column(Time, default=time(16, 0))
    minutes: Mapped[int] = mapped_column(Integer, default=90)
    items_due_days: Mapped[int] = mapped_column(Integer, default=10)
    publish_days: Mapped[int] = mapped_column(Integer, default=5)
    explain_after: Mapped[int] = mapped_column(Integer, default=2)
    resign_after: Mapped[int] = mapped_column(Integer, default=3)

    memberships: Mapped[list[Membership]] = relationship(back_populates="group", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes"),
        CheckConstraint("items_due_days >= publish_days AND publish_days >= 0", name="deadlines"),
        CheckConstraint("explain_after > 0 AND resign_after > explain_after", name="attendance"),
    )


class Membership(Base):
    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")

    group: Mapped[Group] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship(back_populates="memberships")

    __table_args__ = (
        UniqueConstraint("group_id", "person_id"),
        CheckConstraint(_one_of("role", ROLES), name="role"),
    )


class Meeting(Base):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    location: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    agenda_published_at: Mapped[datetime | None]  # first published: the deadline is judged by it
    agenda_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # published again
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    group: Mapped[Group] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("group_id", "starts_at"),
        Index("ix_meeting_starts_at", "starts_at"),
        CheckConstraint(_one_of("status", MEETING_STATUSES), name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("sequence >= 0", name="sequence"),
    )


class AgendaItem(Base):
    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str | None] = mapped_column(Text)
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    restricted_paragraph: Mapped[int | None] = mapped_column(Integer)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(
            "restricted_paragraph IS NULL OR restricted_paragraph BETWEEN 1 AND 7",
            name="restricted_paragraph",
        ),
    )


class Apology(Base):
    __tablename__ = "apology"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # private: never posted to a channel
    substitute: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)


class Attendance(Base):
    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("meeting_id", "person_id"),
        CheckConstraint(_one_of("status", ATTENDANCE_STATUSES), name="status"),
    )


class Declaration(Base):
    __tablename__ = "declaration"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id", ondelete="SET NULL"))
    nature: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Workstream(Base):
    __tablename__ = "workstream"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("group.id", ondelete="SET NULL"))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)

    members: Mapped[list[WorkstreamMember]] = relationship(
        back_populates="workstream", cascade="all, delete-orphan"
    )


class WorkstreamMember(Base):
    __tablename__ = "workstream_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstream.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    workstream: Mapped[Workstream] = relationship(back_populates="members")

    __table_args__ = (
        UniqueConstraint("workstream_id", "person_id"),
        CheckConstraint(_one_of("role", WORKSTREAM_ROLES), name="role"),
    )


class Update(Base):
    """A workstream's highlight report, or a quick one-line update."""

    __tablename__ = "update"

    id: Mapped[int] = mapped_column(primary_key=True)
    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstream.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    rag: Mapped[str] = mapped_column(String(8))
    progress: Mapped[str | None] = mapped_column(Text)
    issues: Mapped[str | None] = mapped_column(Text)
    risks: Mapped[str | None] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    decision_needed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_update_workstream_created", "workstream_id", "created_at"),
        Index("ix_update_created_at", "created_at"),
        CheckConstraint(_one_of("rag", RAG_STATUSES), name="rag"),
    )


class Action(Base):
    """An action from a meeting's What / Who / When table, known by its ref (A12)."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    what: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    owner_text: Mapped[str | None] = mapped_column(String(200))
    due: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(8), default="open")
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"), index=True)
    workstream_id: Mapped[int | None] = mapped_column(ForeignKey("workstream.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    # Nudges about it wait until this day (Snooze a week); the due date stays as agreed.
    snoozed_until: Mapped[date | None]
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("action_import.id", ondelete="SET NULL"), index=True
    )

    owner: Mapped[Person | None] = relationship(foreign_keys=[owner_id], lazy="joined")

    __table_args__ = (
        Index("ix_action_status_due", "status", "due"),
        Index(
            "ix_action_owner_status_due", "owner_id", "status", "due", "number"
        ),  # one's own list, in order
        Index("ix_action_status_done_at", "status", "done_at"),  # the digest's "done since"
        CheckConstraint(_one_of("status", ACTION_STATUSES), name="status"),
        CheckConstraint("owner_id IS NOT NULL OR owner_text IS NOT NULL", name="has_owner"),
        CheckConstraint("number > 0", name="number"),
    )

    @property
    def ref(self) -> str:
        return f"A{self.number}"

    @property
    def owner_name(self) -> str | None:
        return self.owner.name if self.owner is not None else None


class ActionImport(Base):
    """A What / Who / When table pasted from minutes and read, waiting for its Save
    button: saved whole, once, however often the button is pressed. `key` comes
    from the rows and the meeting, so the same table read twice is one import."""

    __tablename__ = "action_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"))
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    saved_at: Mapped[datetime | None]
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))


class Delivery(Base):
    """One outgoing message, sent once whatever happens: the outbox."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(
        String(500)
    )  # a channel, a Slack user, an e-mail address or a response_url
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    # Retried while transient failures last, until this instant (SPEC 5: 7 days).
    expires_at: Mapped[datetime]
    # A sender's lease: while it runs, no other process may claim the row.
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_delivery_status_next", "status", "next_attempt_at"),
        # A person's waiting Home tab publish, looked for on every change they make
        # (outbox.enqueue_at_commit), among however many messages wait for Slack.
        Index("ix_delivery_kind_target_status", "kind", "target", "status"),
        CheckConstraint(_one_of("kind", DELIVERY_KINDS), name="kind"),
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
    )


class FeedToken(Base):
    """A calendar feed's secret: the link's token is HMAC(FEED_SECRET, nonce), and
    only its sha256 is stored, so neither the database nor the server's secret
    alone gives a working link, yet `/calendar` can show the same link again."""

    __tablename__ = "feed_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), index=True)
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    with_actions: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("person_id IS NOT NULL OR group_id IS NOT NULL", name="has_subject"),)


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))  # a name, or "partnership file", "scheduler"
    what: Mapped[str] = mapped_column(String(64))  # e.g. "action.add", "apology.send"
    subject: Mapped[str] = mapped_column(String(200))  # e.g. "A12", "meeting 14"
    at: Mapped[datetime] = mapped_column(index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PartnershipLoad(Base):
    """A load of the partnership file that changed something. Its `version`
    (random, so never reused) tells each process that what it remembers of the
    partnership and its people is out of date."""

    __tablename__ = "partnership_load"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    loaded_at: Mapped[datetime]


# session.info: the PartnershipLoad version a transaction read (services/directory.py);
# a transaction that loads the file forgets it, since what it read is then out of date.
VERSION_READ = "partnerbot_partnership_version"


class ReceivedEvent(Base):
    """A Slack event already acted on: Slack retries an event it thinks was
    missed, and the retry must not act twice."""

    __tablename__ = "received_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class Reminder(Base):
    """One reminder about one thing (A12's third overdue nudge, to Ray), recorded
    in the transaction that queues the message carrying it. Several reminders
    share one message (a person's nudges of the day), so the message's own key
    cannot say which were sent; these keys do, and catch-up never repeats one."""

    __tablename__ = "reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # e.g. "overdue:A12:2015-02-24:fire"
    delivery_key: Mapped[str] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(index=True)
