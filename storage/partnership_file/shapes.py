"""The partnership file's shape (SPEC section 3): the kinds of value it holds,
each an Annotated type whose check says what was wrong in the board's words,
then its entries as pydantic models, one field per key with its default.

A key the model does not have is refused (extra="forbid"). A reference to a
person, organisation, group or workstream is checked against the ids named in
the validation context (validation.py); checks across entries come after.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from storage.models import ACTION_STATUSES, MEETING_STATUSES, ROLES

MAX_ENTRIES = 20_000  # per section; ten years of a county's meetings and actions fit
HOLIDAY_CALENDARS = ("england-and-wales", "scotland", "northern-ireland")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_REF = 1_000_000

TIME_PATTERN = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
LOCAL_DATETIME_PATTERN = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{1,2}:\d{2})(?::00)?")
MEETING_REF_PATTERN = re.compile(r"([a-z0-9-]{1,64})/(\d{4}-\d{2}-\d{2})")
# ASCII's control characters, and Unicode's embeddings, overrides and isolates, which
# turn the text after them around (bot/commands/core.py refuses those in what is typed).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def wrong(message: str) -> PydanticCustomError:
    """A bad value, as pydantic carries it to problems.py."""
    return PydanticCustomError("partnership_file", "{message}", {"message": message})


def shown(value: Any, limit: int = 60) -> str:
    """A value as a problem quotes it: short, on one line."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = CONTROL_CHARACTERS.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: Any) -> str:
    """What a value is, in words: "text", "a number", "a list" ..."""
    kinds = {bool: "true/false", datetime: "a date and time", date: "a date", int: "a number"}
    kinds |= {float: "a number", str: "text", list: "a list", dict: "a mapping", type(None): "nothing"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), type(value).__name__)


def text(
    length: int, pattern: str | None = None, expected: str = "", lines: bool = False
) -> Callable[[Any], str]:
    """Text of at most `length` characters, stripped, matching `pattern`."""
    matcher = re.compile(pattern) if pattern else None

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise wrong(f"expected text{': ' + expected if expected else ''}; got {type_name(value)}")
        if len(value) > length:
            raise wrong(f"too long ({len(value):,} characters; at most {length:,})")
        value = value.strip()
        if not value:
            raise wrong(f"empty; expected {expected or 'text'}")
        if CONTROL_CHARACTERS.search(value.replace("\n", "").replace("\t", "") if lines else value):
            raise wrong("contains control characters or line breaks")
        if matcher is not None and not matcher.fullmatch(value):
            raise wrong(f"{shown(value)} is not {expected}")
        return value

    return check


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    """One of `choices`, in any case."""
    read = text(32, expected=f"one of {', '.join(choices)}")

    def check(value: Any) -> str:
        given = read(value)
        if given.lower() not in choices:
            raise wrong(f"{shown(given)} is not one of {', '.join(choices)}")
        return given.lower()

    return check


def number(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong(f"expected a whole number from {low} to {high}; got {type_name(value)}")
        if not low <= value <= high:
            raise wrong(f"{shown(value)} is out of range; expected {low} to {high}")
        return value

    return check


def time_of_day(value: Any) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 16:00 as the base-60 number 960.
        raise wrong('expected a time "HH:MM" in quotes, e.g. "16:00"; unquoted, YAML reads it as a number')
    given = text(8, expected='a time "HH:MM", e.g. "16:00"')(value)
    clock = TIME_PATTERN.fullmatch(given)
    if clock is None:
        raise wrong(f'{shown(given)} is not a time; expected "HH:MM" from "00:00" to "23:59"')
    return time(int(clock[1]), int(clock[2]))


def iso_date(value: str) -> date:
    if not DATE_PATTERN.fullmatch(value):
        raise wrong(f"{shown(value)} is not a date; expected YYYY-MM-DD, e.g. 2015-04-21")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise wrong(f"{shown(value)} is not a date ({error})") from None


def day(value: Any) -> date:
    if isinstance(value, datetime):
        raise wrong(f"expected a date YYYY-MM-DD without a time; got {shown(value)}")
    if isinstance(value, date):
        return value
    return iso_date(text(10, expected="a date YYYY-MM-DD, e.g. 2015-04-21")(value))


def local_datetime(value: Any) -> datetime:
    """A date and time as the file gives it: local to the partnership's zone
    unless YAML read an offset too (see Meeting.starts_at)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        raise wrong("expected a date and time, e.g. 2015-04-21T16:00; got a date alone")
    given = text(25, expected="a date and time, e.g. 2015-04-21T16:00")(value)
    parts = LOCAL_DATETIME_PATTERN.fullmatch(given)
    if parts is None:
        raise wrong(
            f"{shown(given)} is not a date and time; expected YYYY-MM-DDTHH:MM, e.g. 2015-04-21T16:00"
        )
    return datetime.combine(iso_date(parts[1]), time_of_day(parts[2]))


def time_zone(value: Any) -> str:
    name = text(64, expected="an IANA time zone, e.g. Europe/London")(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise wrong(
            f"{shown(name)} is not a time zone; expected an IANA name such as Europe/London"
        ) from None
    return name


def weekday(value: Any) -> int:
    return WEEKDAYS.index(one_of(WEEKDAYS)(value))


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise wrong(f"expected true or false; got {type_name(value)}")
    return value


def action_ref(value: Any) -> int:
    ref = text(10, r"[Aa]\d{1,7}", "an action ref such as A12")(value)
    if not 1 <= int(ref[1:]) <= MAX_REF:
        raise wrong(f"{shown(ref)} is out of range; expected A1 to A{MAX_REF}")
    return int(ref[1:])


def meeting_ref(value: Any, info: ValidationInfo) -> tuple[str, date]:
    """A meeting as group/YYYY-MM-DD: the group's one meeting that local day."""
    given = text(80, MEETING_REF_PATTERN.pattern, "a meeting as group/YYYY-MM-DD, e.g. board/2015-04-21")
    group, _, on = given(value).partition("/")
    return known("group")(group, info), iso_date(on)


def known(kind: str) -> Callable[[str, ValidationInfo], str]:
    """An id that must name a `kind` the file defines or the database holds
    (the context maps each kind to those ids; without one, nothing is checked)."""

    def check(value: str, info: ValidationInfo) -> str:
        ids = (info.context or {}).get(kind)
        if ids is not None and value not in ids:
            raise PydanticCustomError("unknown", "{message}", {"message": f"unknown {kind} {shown(value)}"})
        return value

    return check


ID = "an id: letters, digits, '.', '_' or '-', starting with a letter or digit"
SLUG = "a slug: lower-case letters and digits joined by '-', e.g. joint-commissioning"
EMAIL = r"[^@\s<>,;:\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
SLACK_USER = "a Slack user id: U or W and 8 to 11 capital letters or digits, e.g. U0CHAIR01"
CHANNEL = "a Slack channel id such as C0123ABCD (the id, not the #name)"

Name = Annotated[str, PlainValidator(text(200))]
Key = Annotated[str, PlainValidator(text(64, r"[A-Za-z0-9][A-Za-z0-9._-]*", ID))]
Slug = Annotated[str, PlainValidator(text(64, r"[a-z0-9]+(?:-[a-z0-9]+)*", SLUG))]
Email = Annotated[str, PlainValidator(text(254, EMAIL, "an e-mail address such as name@example.org"))]
Channel = Annotated[str, PlainValidator(text(32, r"[CG][A-Z0-9]{2,31}", CHANNEL))]
SlackUser = Annotated[str, PlainValidator(text(32, r"[UW][A-Z0-9]{8,11}", SLACK_USER))]
Abbreviation = Annotated[
    str, PlainValidator(text(16, r"[A-Za-z0-9]{2,16}", "2 to 16 letters or digits, e.g. CPSRB"))
]
Location = Annotated[str, PlainValidator(text(300))]
Url = Annotated[str, PlainValidator(text(500, r"https?://[^\s<>\"]+", "a web address starting https://"))]
Description = Annotated[str, PlainValidator(text(5_000, lines=True))]
ActionText = Annotated[str, PlainValidator(text(1_000))]
Owner = Annotated[str, PlainValidator(text(200, expected="a person id or a name"))]
Minutes = Annotated[int, PlainValidator(number(1, 1440))]
Days = Annotated[int, PlainValidator(number(0, 365))]
MeetingCount = Annotated[int, PlainValidator(number(1, 100))]
Role = Annotated[str, PlainValidator(one_of(ROLES))]
MeetingStatus = Annotated[str, PlainValidator(one_of(MEETING_STATUSES))]
ActionStatus = Annotated[str, PlainValidator(one_of(ACTION_STATUSES))]
Holidays = Annotated[str, PlainValidator(one_of(HOLIDAY_CALENDARS))]
TimeZoneName = Annotated[str, PlainValidator(time_zone)]
Weekday = Annotated[int, PlainValidator(weekday)]
TimeOfDay = Annotated[time, PlainValidator(time_of_day)]
Day = Annotated[date, PlainValidator(day)]
LocalDateTime = Annotated[datetime, PlainValidator(local_datetime)]
Flag = Annotated[bool, PlainValidator(flag)]
ActionRef = Annotated[int, PlainValidator(action_ref)]
MeetingRef = Annotated[tuple[str, date], PlainValidator(meeting_ref)]
OrganisationId = Annotated[Key, AfterValidator(known("organisation"))]
PersonId = Annotated[Key, AfterValidator(known("person"))]
GroupSlug = Annotated[Slug, AfterValidator(known("group"))]
WorkstreamSlug = Annotated[Slug, AfterValidator(known("workstream"))]


class Entry(BaseModel):
    """A mapping in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_left_out(cls, value: Any) -> Any:
        """A key given with no value (`email:`) takes its default, as if left out."""
        if isinstance(value, dict):
            return {
                key: given for key, given in value.items() if given is not None or key not in cls.model_fields
            }
        return value


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
    organisation: OrganisationId | None = None
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
    person: PersonId
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
    group: GroupSlug | None = None
    leads: list[PersonId] | None = None  # None: leads left as they are
    contributors: list[PersonId] | None = None
    open: Flag | None = None  # None: open when new, else left as `/update WS close` left it


class Meeting(Entry):
    """Optional keys left out keep what the bot stored (cancelled, moved rooms)."""

    group: GroupSlug
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
    workstream: WorkstreamSlug | None = None
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
