"""The file's entries as pydantic models (SPEC section 3): one field per key,
with its kind of value (values.py) and its default. Any other key is refused.

A file is read twice when it has problems: strictly, to list them, then
leniently (context LENIENT), where a bad or missing value becomes None and an
unknown key is dropped, so that the references of a half-good entry can still
be checked (validation.py). Only a strict reading is ever written.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from storage.partnership_file.values import (
    Abbreviation,
    ActionRef,
    ActionStatus,
    ActionText,
    Channel,
    Day,
    Days,
    Description,
    Email,
    Flag,
    Holidays,
    Key,
    LocalDateTime,
    Location,
    MeetingCount,
    MeetingRef,
    MeetingStatus,
    Minutes,
    Name,
    Owner,
    Role,
    SlackUser,
    Slug,
    TimeOfDay,
    TimeZoneName,
    Url,
    Weekday,
    wrong,
)

LENIENT = "lenient"
MAX_ENTRIES = 20_000  # per section; ten years of a county's meetings and actions fit


class Entry(BaseModel):
    """A mapping in the file. A key given with no value (`email:`) is left out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="wrap")
    @classmethod
    def _read(cls, value: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo) -> Any:
        lenient = info.context == LENIENT
        if isinstance(value, dict):
            fields = cls.model_fields
            value = {key: given for key, given in value.items() if given is not None or key not in fields}
            if lenient:
                value = {
                    key: value.get(key)
                    for key, field in fields.items()
                    if key in value or field.is_required()
                }
        try:
            return handler(value)
        except ValidationError:
            if lenient:
                return None
            raise

    @field_validator("*", mode="wrap")
    @classmethod
    def _lenient(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            if info.context == LENIENT:
                return None
            raise


class Digest(Entry):
    day: Weekday = 0  # Monday
    time: TimeOfDay = time(9, 0)


class Partnership(Entry):
    name: Name
    timezone: TimeZoneName = "Europe/London"
    channel: Channel | None = None
    digest: Digest = Digest()
    organiser_email: Email | None = None
    holidays: Holidays = "england-and-wales"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Organisation(Entry):
    id: Key
    name: Name


class Person(Entry):
    id: Key
    name: Name
    organisation: Key | None = None
    title: Name | None = None
    email: Email | None = None
    slack: SlackUser | None = None


class Agenda(Entry):
    items_due_days: Days = 10
    publish_days: Days = Field(default=5, validate_default=True)

    @field_validator("publish_days")
    @classmethod
    def _before_items_are_due(cls, days: int, info: ValidationInfo) -> int:
        items_due = info.data.get("items_due_days")
        if items_due is not None and days > items_due:
            raise wrong(
                f"{days} is more than items_due_days ({items_due}); the agenda goes out after items are due"
            )
        return days


class Attendance(Entry):
    explain_after: MeetingCount = 2
    resign_after: MeetingCount = Field(default=3, validate_default=True)

    @field_validator("resign_after")
    @classmethod
    def _after_explaining(cls, missed: int, info: ValidationInfo) -> int:
        explain = info.data.get("explain_after")
        if explain is not None and missed <= explain:
            raise wrong(f"{missed} must be more than explain_after ({explain})")
        return missed


class Member(Entry):
    person: Key
    role: Role = "member"


class Group(Entry):
    slug: Slug
    name: Name
    abbreviation: Abbreviation
    channel: Channel | None = None
    location: Location | None = None
    start: TimeOfDay = time(16, 0)
    minutes: Minutes = 90
    agenda: Agenda = Agenda()
    attendance: Attendance = Attendance()
    members: list[Member] | None = None  # None: membership left as it is


class Workstream(Entry):
    slug: Slug
    name: Name
    description: Description | None = None
    group: Slug | None = None
    leads: list[Key] | None = None  # None: leads left as they are
    contributors: list[Key] | None = None
    open: Flag = True


class Meeting(Entry):
    """Optional keys left out keep what the bot stored (cancelled, moved rooms)."""

    group: Slug
    start: LocalDateTime
    location: Location | None = None  # with url None too: the group's location when new
    url: Url | None = None
    minutes: Minutes | None = None  # None: the group's length
    status: MeetingStatus | None = None  # None: scheduled when new, else left as it is

    def starts_at(self, zone: ZoneInfo) -> datetime:
        """The start as a UTC instant; a local time in the autumn fold takes the
        first of its two instants (fold=0)."""
        if self.start.tzinfo is not None:
            return self.start.astimezone(UTC)
        return self.start.replace(tzinfo=zone, fold=0).astimezone(UTC)


class Action(Entry):
    """Optional keys left out keep what the bot stored (done, moved)."""

    what: ActionText
    owner: Owner  # a person id, or else free text
    due: Day
    ref: ActionRef | None = None
    workstream: Slug | None = None
    meeting: MeetingRef | None = None  # (group slug, local date)
    status: ActionStatus | None = None  # None: open when new


class File(Entry):
    partnership: Partnership
    organisations: list[Organisation] = Field([], max_length=MAX_ENTRIES)
    people: list[Person] = Field([], max_length=MAX_ENTRIES)
    groups: list[Group] = Field([], max_length=MAX_ENTRIES)
    workstreams: list[Workstream] = Field([], max_length=MAX_ENTRIES)
    meetings: list[Meeting] = Field([], max_length=MAX_ENTRIES)
    actions: list[Action] = Field([], max_length=MAX_ENTRIES)
