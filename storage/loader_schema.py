"""The partnership file's shape (SPEC section 3): checks every entry and turns a
good file into a plan of plain values for the loader to write.

Checking is pure: it reads the file's data and a snapshot of the ids the
database already holds (`Stored`), and collects every problem as
"path: message" rather than stopping at the first. It follows the expected
shape only, so junk (deep nesting, shared references) is reported at the first
wrong type and never walked into.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.models import ACTION_STATUSES, MEETING_STATUSES, ROLES

DEFAULT_TIMEZONE = "Europe/London"
HOLIDAY_CALENDARS = ("england-and-wales", "scotland", "northern-ireland")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_PROBLEMS = 200
MAX_ENTRIES = 20_000  # per section; ten years of a county's meetings and actions fit
MAX_REF = 1_000_000

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
EMAIL_PATTERN = re.compile(r"[^@\s<>,;:\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
TIME_PATTERN = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
LOCAL_DATETIME_PATTERN = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{1,2}:\d{2})(?::00)?")
MEETING_REF_PATTERN = re.compile(r"([a-z0-9-]{1,64})/(\d{4}-\d{2}-\d{2})")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


# -- The plan: what a good file asks for ----------------------------------------------


@dataclass(frozen=True)
class PartnershipPlan:
    name: str
    timezone: str
    channel: str | None
    digest_day: int  # Monday = 0
    digest_time: time
    organiser_email: str | None
    holidays: str


@dataclass(frozen=True)
class OrganisationPlan:
    id: str
    name: str


@dataclass(frozen=True)
class PersonPlan:
    id: str
    name: str
    organisation: str | None
    title: str | None
    email: str | None
    slack: str | None


@dataclass(frozen=True)
class GroupPlan:
    slug: str
    name: str
    abbreviation: str
    channel: str | None
    location: str | None
    start_time: time
    minutes: int
    items_due_days: int
    publish_days: int
    explain_after: int
    resign_after: int
    members: dict[str, str] | None  # person id -> role; None: membership left as it is


@dataclass(frozen=True)
class WorkstreamPlan:
    slug: str
    name: str
    description: str | None
    group: str | None
    is_open: bool
    leads: list[str] | None  # None: leads left as they are
    contributors: list[str] | None


@dataclass(frozen=True)
class MeetingPlan:
    group: str
    starts_at: datetime  # aware, UTC
    local_date: date
    minutes: int | None  # None: the group's length
    location: str | None  # with url None too: the group's location when new
    url: str | None
    status: str | None  # None: scheduled when new, else left as it is


@dataclass(frozen=True)
class ActionPlan:
    path: str
    what: str
    owner: str  # a person id when owner_is_person, else free text
    owner_is_person: bool
    due: date
    number: int | None  # from `ref`
    workstream: str | None  # None: left as it is (none when new)
    meeting: tuple[str, datetime] | None  # (group slug, start instant); None: left as it is
    status: str | None  # None: open when new, else left as it is


@dataclass(frozen=True)
class FilePlan:
    partnership: PartnershipPlan
    zone: ZoneInfo
    organisations: list[OrganisationPlan]
    people: list[PersonPlan]
    groups: list[GroupPlan]
    workstreams: list[WorkstreamPlan]
    meetings: list[MeetingPlan]
    actions: list[ActionPlan]


@dataclass(frozen=True)
class Stored:
    """What the database already holds that the file may refer to."""

    organisations: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    workstreams: frozenset[str] = frozenset()
    slack_ids: Mapping[str, str] = field(default_factory=dict)  # Slack id -> person id
    channels: Mapping[str, str] = field(default_factory=dict)  # channel -> group slug
    meetings: frozenset[tuple[str, datetime]] = frozenset()  # (group slug, start instant)


# -- Checking one value ---------------------------------------------------------------


def shown(value: Any, limit: int = 60) -> str:
    """A value as a problem quotes it: short, on one line."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = CONTROL_CHARACTERS.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, datetime):
        return "a date and time"
    for kind, name in ((int, "a number"), (float, "a number"), (str, "text"), (list, "a list"),
                       (dict, "a mapping"), (date, "a date")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


class Checker:
    """Collects problems. Each check returns the clean value, or None after
    saying what was wrong (None in, None out: a missing key is reported once)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.more = 0

    def add(self, path: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{path}: {message}")
        else:
            self.more += 1

    def finished(self) -> list[str]:
        return self.problems + ([f"file: and {self.more} more problems"] if self.more else [])

    def text(self, value: Any, path: str, *, length: int, pattern: re.Pattern[str] | None = None,
             expected: str = "", lines: bool = False) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(path, f"expected text{': ' + expected if expected else ''}; "
                           f"got {type_name(value)}")
            return None
        if len(value) > length:
            self.add(path, f"too long ({len(value):,} characters; at most {length:,})")
            return None
        value = value.strip()
        if not value:
            self.add(path, f"empty; expected {expected or 'text'}")
            return None
        if CONTROL_CHARACTERS.search(value.replace("\n", "").replace("\t", "") if lines else value):
            self.add(path, "contains control characters or line breaks")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.add(path, f"{shown(value)} is not {expected}")
            return None
        return value

    def integer(self, value: Any, path: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"expected a whole number from {low} to {high}; got {type_name(value)}")
            return None
        if not low <= value <= high:
            self.add(path, f"{shown(value)} is out of range; expected {low} to {high}")
            return None
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str | None:
        text = self.text(value, path, length=32, expected=f"one of {', '.join(choices)}")
        if text is not None and text.lower() not in choices:
            self.add(path, f"{shown(text)} is not one of {', '.join(choices)}")
            return None
        return text and text.lower()

    def time_of_day(self, value: Any, path: str) -> time | None:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 16:00 as the base-60 number 960.
            self.add(path, 'expected a time "HH:MM" in quotes, e.g. "16:00"; unquoted, '
                           "YAML reads it as a number")
            return None
        text = self.text(value, path, length=8, expected='a time "HH:MM", e.g. "16:00"')
        match = TIME_PATTERN.fullmatch(text) if text else None
        if text is not None and match is None:
            self.add(path, f'{shown(text)} is not a time; expected "HH:MM" from "00:00" to "23:59"')
        return time(int(match[1]), int(match[2])) if match else None

    def day(self, value: Any, path: str) -> date | None:
        if isinstance(value, datetime):
            self.add(path, f"expected a date YYYY-MM-DD without a time; got {shown(value)}")
            return None
        if isinstance(value, date):
            return value
        text = self.text(value, path, length=10, expected="a date YYYY-MM-DD, e.g. 2015-04-21")
        return None if text is None else self.iso_date(text, path)

    def iso_date(self, text: str, path: str) -> date | None:
        if not DATE_PATTERN.fullmatch(text):
            self.add(path, f"{shown(text)} is not a date; expected YYYY-MM-DD, e.g. 2015-04-21")
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as error:
            self.add(path, f"{shown(text)} is not a date ({error})")
            return None

    def local_datetime(self, value: Any, path: str, zone: ZoneInfo | None) -> datetime | None:
        """Local time in the partnership's zone (YAML may hand over a datetime or
        text), as an aware UTC instant."""
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            self.add(path, "expected a date and time, e.g. 2015-04-21T16:00; got a date alone")
            return None
        else:
            text = self.text(value, path, length=25,
                             expected="a date and time, e.g. 2015-04-21T16:00")
            match = LOCAL_DATETIME_PATTERN.fullmatch(text) if text else None
            if text is not None and match is None:
                self.add(path, f"{shown(text)} is not a date and time; "
                               "expected YYYY-MM-DDTHH:MM, e.g. 2015-04-21T16:00")
            day = self.iso_date(match[1], path) if match else None
            at = self.time_of_day(match[2], path) if match else None
            if day is None or at is None:
                return None
            moment = datetime.combine(day, at)
        if moment.tzinfo is not None:
            return moment.astimezone(timezone.utc)
        if zone is None:
            return None  # the time zone is already a problem; nothing to check against
        # A time in the spring-forward gap does not exist; one in the autumn fold takes
        # the first of its two instants (fold=0).
        instant = moment.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
        if instant.astimezone(zone).replace(tzinfo=None) != moment:
            self.add(path, f"{moment:%Y-%m-%d %H:%M} does not exist in {zone.key} "
                           "(the clocks go forward then); choose another time")
            return None
        return instant

    def fields(self, value: Any, path: str, shape: Shape) -> tuple[dict[str, Any] | None, bool]:
        """An entry's values by key, defaults filled in (None when it is not a
        mapping), and whether every key was good. Unknown and missing keys are
        problems; the other keys are still checked."""
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping with keys {', '.join(shape.keys)}; "
                           f"got {type_name(value)}")
            return None, False
        good = True
        for key in value:
            if not isinstance(key, str):
                self.add(path or "file", f"keys must be text; got {shown(key)}")
                good = False
            elif key not in shape.keys:
                hint = ("; if it is the end of a value cut at a comma, put that value in quotes"
                        if value[key] is None and " " in key.strip() else "")
                self.add(join(path, key),
                         f"unknown key; expected one of {', '.join(shape.keys)}{hint}")
                good = False
        found: dict[str, Any] = {}
        for key, check in shape.required.items():
            if value.get(key) is None:
                self.add(join(path, key), "required")
            found[key] = check(self, value.get(key), join(path, key))
            good = good and found[key] is not None
        for key, (check, default) in shape.optional.items():
            if value.get(key) is None:
                found[key] = default
            else:
                found[key] = check(self, value[key], join(path, key))
                good = good and found[key] is not None
        return found, good


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# -- The shapes of the file's entries ---------------------------------------------------

Check = Callable[[Checker, Any, str], Any]


@dataclass(frozen=True)
class Shape:
    """The keys an entry may have: required ones, and optional ones with a default."""

    required: dict[str, Check]
    optional: dict[str, tuple[Check, Any]] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)

    def defaults(self) -> dict[str, Any]:
        return {key: default for key, (_, default) in self.optional.items()}


def text(length: int, pattern: re.Pattern[str] | None = None, expected: str = "",
         lines: bool = False) -> Check:
    def check(checker: Checker, value: Any, path: str) -> str | None:
        return checker.text(value, path, length=length, pattern=pattern, expected=expected,
                            lines=lines)
    return check


def number(low: int, high: int) -> Check:
    return lambda checker, value, path: checker.integer(value, path, low, high)


def one_of(choices: tuple[str, ...]) -> Check:
    return lambda checker, value, path: checker.choice(value, path, choices)


def nested(shape: Shape) -> Check:
    def check(checker: Checker, value: Any, path: str) -> dict[str, Any] | None:
        found, good = checker.fields(value, path, shape)
        return found if good else None
    return check


def list_of(item: Check) -> Check:
    def check(checker: Checker, value: Any, path: str) -> list[Any] | None:
        if not isinstance(value, list):
            checker.add(path, f"expected a list; got {type_name(value)}")
            return None
        if len(value) > MAX_ENTRIES:
            checker.add(path, f"{len(value):,} entries; at most {MAX_ENTRIES:,}")
            return None
        # Bad items stay as None, so the section still checks the good ones.
        return [item(checker, entry, join(path, index)) for index, entry in enumerate(value)]
    return check


def weekday(checker: Checker, value: Any, path: str) -> int | None:
    name = checker.choice(value, path, WEEKDAYS)
    return None if name is None else WEEKDAYS.index(name)


def time_zone(checker: Checker, value: Any, path: str) -> str | None:
    name = checker.text(value, path, length=64, expected="an IANA time zone, e.g. Europe/London")
    try:
        return name if name is not None and ZoneInfo(name) else None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        checker.add(path, f"{shown(name)} is not a time zone; expected an IANA name such as "
                          "Europe/London")
        return None


def flag(checker: Checker, value: Any, path: str) -> bool | None:
    if not isinstance(value, bool):
        checker.add(path, f"expected true or false; got {type_name(value)}")
        return None
    return value


def action_ref(checker: Checker, value: Any, path: str) -> int | None:
    ref = checker.text(value, path, length=10, pattern=re.compile(r"[Aa]\d{1,7}"),
                       expected="an action ref such as A12")
    if ref is not None and not 1 <= int(ref[1:]) <= MAX_REF:
        checker.add(path, f"{shown(ref)} is out of range; expected A1 to A{MAX_REF}")
        return None
    return None if ref is None else int(ref[1:])


def as_given(checker: Checker, value: Any, path: str) -> Any:
    return value  # checked by the section, which knows more (a meeting's start needs the zone)


NAME = text(200)
KEY = text(64, ID_PATTERN,
           "an id: letters, digits, '.', '_' or '-', starting with a letter or digit")
SLUG = text(64, SLUG_PATTERN, "a slug: lower-case letters and digits joined by '-', "
                              "e.g. joint-commissioning")
EMAIL = text(254, EMAIL_PATTERN, "an e-mail address such as name@example.org")
CHANNEL = text(32, re.compile(r"[CG][A-Z0-9]{2,31}"),
               "a Slack channel id such as C0123ABCD (the id, not the #name)")
SLACK_USER = text(32, re.compile(r"[UW][A-Z0-9]{8,11}"),
                  "a Slack user id: U or W and 8 to 11 capital letters or digits, e.g. U0CHAIR01")
LOCATION = text(300)
URL = text(500, re.compile(r"https?://[^\s<>\"]+"), "a web address starting https://")
MINUTES = number(1, 1440)

DIGEST = Shape({}, {"day": (weekday, 0), "time": (Checker.time_of_day, time(9, 0))})
PARTNERSHIP = Shape(
    {"name": NAME},
    {"timezone": (time_zone, DEFAULT_TIMEZONE), "channel": (CHANNEL, None),
     "digest": (nested(DIGEST), DIGEST.defaults()), "organiser_email": (EMAIL, None),
     "holidays": (one_of(HOLIDAY_CALENDARS), "england-and-wales")},
)
ORGANISATION = Shape({"id": KEY, "name": NAME})
PERSON = Shape(
    {"id": KEY, "name": NAME},
    {"organisation": (KEY, None), "title": (NAME, None), "email": (EMAIL, None),
     "slack": (SLACK_USER, None)},
)
AGENDA = Shape({}, {"items_due_days": (number(0, 365), 10), "publish_days": (number(0, 365), 5)})
ATTENDANCE = Shape({}, {"explain_after": (number(1, 100), 2), "resign_after": (number(1, 100), 3)})
MEMBER = Shape({"person": KEY}, {"role": (one_of(ROLES), "member")})
GROUP = Shape(
    {"slug": SLUG, "name": NAME,
     "abbreviation": text(16, re.compile(r"[A-Za-z0-9]{2,16}"),
                          "2 to 16 letters or digits, e.g. CPSRB")},
    {"channel": (CHANNEL, None), "location": (LOCATION, None),
     "start": (Checker.time_of_day, time(16, 0)), "minutes": (MINUTES, 90),
     "agenda": (nested(AGENDA), AGENDA.defaults()),
     "attendance": (nested(ATTENDANCE), ATTENDANCE.defaults()),
     "members": (list_of(nested(MEMBER)), None)},
)
WORKSTREAM = Shape(
    {"slug": SLUG, "name": NAME},
    {"description": (text(5_000, lines=True), None), "group": (SLUG, None),
     "leads": (list_of(KEY), None), "contributors": (list_of(KEY), None), "open": (flag, True)},
)
MEETING = Shape(
    {"group": SLUG, "start": as_given},
    {"location": (LOCATION, None), "url": (URL, None), "minutes": (MINUTES, None),
     "status": (one_of(MEETING_STATUSES), None)},
)
ACTION = Shape(
    {"what": text(1_000), "owner": text(200, expected="a person id or a name"),
     "due": Checker.day},
    {"ref": (action_ref, None), "workstream": (SLUG, None),
     "meeting": (text(80, MEETING_REF_PATTERN, "a meeting as group/YYYY-MM-DD, e.g. "
                                               "board/2015-04-21"), None),
     "status": (one_of(ACTION_STATUSES), None)},
)
FILE = Shape({}, {name: (as_given, None) for name in (
    "partnership", "organisations", "people", "groups", "workstreams", "meetings", "actions")})


# -- Checking the file ------------------------------------------------------------------


def validate(data: Any, stored: Stored | None = None) -> tuple[FilePlan | None, list[str]]:
    """Every problem in the file, and the plan when there are none."""
    checker = Checker()
    if not isinstance(data, dict):
        checker.add("file", f"expected a mapping with keys {', '.join(FILE.keys)}; "
                            f"got {type_name(data)}")
        return None, checker.finished()
    sections, _ = checker.fields(data, "", FILE)
    assert sections is not None
    file = _File(checker, stored or Stored())
    partnership = file.partnership(sections["partnership"])
    organisations = file.each(sections, "organisations", file.organisation)
    people = file.each(sections, "people", file.person)
    groups = file.each(sections, "groups", file.group)
    workstreams = file.each(sections, "workstreams", file.workstream)
    meetings = file.each(sections, "meetings", file.meeting)
    actions = file.each(sections, "actions", file.action)
    file.check_held(people, groups)
    problems = checker.finished()
    if problems or partnership is None or file.zone is None:
        return None, problems
    return FilePlan(partnership, file.zone, organisations, people, groups, workstreams,
                    meetings, actions), []


# The kinds of id the file defines, as a duplicate is named in a problem.
DUPLICATE_NAMES = {
    "organisation": "organisation id", "person": "person id", "slack": "Slack id",
    "group": "group slug", "channel": "channel", "abbreviation": "abbreviation",
    "workstream": "workstream slug", "meeting": "meeting", "ref": "action ref", "action": "action",
}


class _File:
    """Checks section by section, remembering the ids each defines so that later
    sections can refer to them (in the file, or already stored)."""

    def __init__(self, checker: Checker, stored: Stored) -> None:
        self.check = checker
        self.stored = stored
        self.zone: ZoneInfo | None = ZoneInfo(DEFAULT_TIMEZONE)
        # Each id used so far, by kind -> the path that defined it.
        self.ids: dict[str, dict[Any, str]] = {kind: {} for kind in DUPLICATE_NAMES}
        # Slack ids and channels stored for another person or group: (path, kind, holder, value).
        self.held: list[tuple[str, str, str, str]] = []

    def each(self, sections: dict[str, Any], name: str, check: Callable[[dict, str], Any]
             ) -> list[Any]:
        given = sections[name]
        entries = [] if given is None else list_of(as_given)(self.check, given, name) or []
        plans = [check(entry, join(name, index)) for index, entry in enumerate(entries)]
        return [plan for plan in plans if plan is not None]

    def unique(self, kind: str, value: Any, path: str, shown_as: str | None = None) -> bool:
        """False (and a problem) when `value` is already used elsewhere in the file."""
        seen = self.ids[kind]
        if value is not None and value in seen:
            self.check.add(path, f"duplicate {DUPLICATE_NAMES[kind]} {shown_as or shown(value)}; "
                                 f"already used at {seen[value]}")
            return False
        if value is not None:
            seen[value] = path
        return True

    def known(self, kind: str, value: str | None, path: str) -> bool:
        """False (and a problem) when `value` names no such thing, in the file or stored."""
        stored = getattr(self.stored, "people" if kind == "person" else f"{kind}s")
        if value is None or value in self.ids[kind] or value in stored:
            return True
        self.check.add(path, f"unknown {kind} {shown(value)}")
        return False

    def people_listed(self, keys: list[str | None], path: str, seen: dict[str, str],
                      suffix: str = "") -> bool:
        """False (and problems) when a list names an unknown person, or one twice."""
        good = True
        for index, key in enumerate(keys):
            where = join(path, index) + suffix
            if key is None or not self.known("person", key, where):
                good = False
            elif key in seen:
                self.check.add(where, f"duplicate person {shown(key)}; already used at {seen[key]}")
                good = False
            else:
                seen[key] = where
        return good

    def partnership(self, value: Any) -> PartnershipPlan | None:
        if value is None:
            self.check.add("partnership", "missing; the file needs a partnership block with "
                                          "at least a name")
            return None
        found, good = self.check.fields(value, "partnership", PARTNERSHIP)
        zone = found and found["timezone"]
        self.zone = ZoneInfo(zone) if zone else None
        if not good or found is None:
            return None
        return PartnershipPlan(
            name=found["name"], timezone=found["timezone"], channel=found["channel"],
            digest_day=found["digest"]["day"], digest_time=found["digest"]["time"],
            organiser_email=found["organiser_email"], holidays=found["holidays"],
        )

    def organisation(self, value: Any, path: str) -> OrganisationPlan | None:
        found, good = self.check.fields(value, path, ORGANISATION)
        if found is None or not self.unique("organisation", found["id"], f"{path}.id"):
            return None
        return OrganisationPlan(**found) if good else None

    def person(self, value: Any, path: str) -> PersonPlan | None:
        found, good = self.check.fields(value, path, PERSON)
        if found is None:
            return None
        good = self.known("organisation", found["organisation"], f"{path}.organisation") and good
        good = self.unique("person", found["id"], f"{path}.id") and good
        slack = found["slack"]
        if not self.unique("slack", slack, f"{path}.slack"):
            good = False
        elif slack in self.stored.slack_ids and self.stored.slack_ids[slack] != found["id"]:
            self.held.append((f"{path}.slack", "person", self.stored.slack_ids[slack], slack))
        return PersonPlan(**found) if good else None

    def check_held(self, people: list[PersonPlan], groups: list[GroupPlan]) -> None:
        """A Slack id or channel stored for someone else is a clash, unless the
        file moves that person or group to another one."""
        now_held = {"person": {p.id: p.slack for p in people},
                    "group": {g.slug: g.channel for g in groups}}
        for path, kind, holder, value in self.held:
            if now_held[kind].get(holder, value) == value:
                what = "Slack id" if kind == "person" else "channel"
                self.check.add(path, f"{what} {value} already belongs to {kind} {shown(holder)}")

    def group(self, value: Any, path: str) -> GroupPlan | None:
        found, good = self.check.fields(value, path, GROUP)
        if found is None:
            return None
        agenda, attendance = found["agenda"], found["attendance"]
        if agenda and agenda["publish_days"] > agenda["items_due_days"]:
            self.check.add(f"{path}.agenda.publish_days",
                           f"{agenda['publish_days']} is more than items_due_days "
                           f"({agenda['items_due_days']}); the agenda goes out after items are due")
            good = False
        if attendance and attendance["resign_after"] <= attendance["explain_after"]:
            self.check.add(f"{path}.attendance.resign_after",
                           f"{attendance['resign_after']} must be more than explain_after "
                           f"({attendance['explain_after']})")
            good = False
        members = found["members"]
        if members is not None:
            people = [member and member["person"] for member in members]
            good = self.people_listed(people, f"{path}.members", {}, ".person") \
                and None not in members and good
        good = self.unique("group", found["slug"], f"{path}.slug") and good
        abbreviation = found["abbreviation"]
        good = self.unique("abbreviation", abbreviation and abbreviation.upper(),
                           f"{path}.abbreviation", shown(abbreviation)) and good
        channel = found["channel"]
        if not self.unique("channel", channel, f"{path}.channel"):
            good = False
        elif channel in self.stored.channels and self.stored.channels[channel] != found["slug"]:
            self.held.append((f"{path}.channel", "group", self.stored.channels[channel], channel))
        if not good:
            return None
        return GroupPlan(
            slug=found["slug"], name=found["name"], abbreviation=abbreviation, channel=channel,
            location=found["location"], start_time=found["start"], minutes=found["minutes"],
            members=None if members is None else {m["person"]: m["role"] for m in members},
            **agenda, **attendance,
        )

    def workstream(self, value: Any, path: str) -> WorkstreamPlan | None:
        found, good = self.check.fields(value, path, WORKSTREAM)
        if found is None:
            return None
        good = self.known("group", found["group"], f"{path}.group") and good
        seen: dict[str, str] = {}
        for key in ("leads", "contributors"):
            if found[key] is not None:
                good = self.people_listed(found[key], f"{path}.{key}", seen) and good
        good = self.unique("workstream", found["slug"], f"{path}.slug") and good
        if not good:
            return None
        return WorkstreamPlan(
            slug=found["slug"], name=found["name"], description=found["description"],
            group=found["group"], is_open=found["open"], leads=found["leads"],
            contributors=found["contributors"],
        )

    def meeting(self, value: Any, path: str) -> MeetingPlan | None:
        found, good = self.check.fields(value, path, MEETING)
        if found is None:
            return None
        group = found["group"]
        good = self.known("group", group, f"{path}.group") and good
        starts_at = self.check.local_datetime(found["start"], f"{path}.start", self.zone)
        if group is None or starts_at is None or self.zone is None:
            return None
        earlier = self.ids["meeting"].get((group, starts_at))
        if earlier is not None:
            self.check.add(f"{path}.start", f"duplicate meeting: {group} already meets then "
                                            f"at {earlier}")
            return None
        self.ids["meeting"][(group, starts_at)] = path
        if not good:
            return None
        return MeetingPlan(
            group=group, starts_at=starts_at, local_date=starts_at.astimezone(self.zone).date(),
            minutes=found["minutes"], location=found["location"], url=found["url"],
            status=found["status"],
        )

    def action(self, value: Any, path: str) -> ActionPlan | None:
        found, good = self.check.fields(value, path, ACTION)
        if found is None:
            return None
        what, owner, due, number = found["what"], found["owner"], found["due"], found["ref"]
        good = self.unique("ref", number, f"{path}.ref", f"A{number}") and good
        good = self.known("workstream", found["workstream"], f"{path}.workstream") and good
        meeting = self.meeting_named(found["meeting"], f"{path}.meeting")
        good = good and (found["meeting"] is None or meeting is not None)
        if number is None and what is not None and due is not None:
            # Without a ref an action is known by what and due: two alike would be one.
            earlier = self.ids["action"].get((what, due))
            if earlier is not None:
                self.check.add(path, f"same what and due as {earlier}; give each a ref "
                                     "(A1, A2, ...) if they are different actions")
                good = False
            self.ids["action"].setdefault((what, due), path)
        if not good:
            return None
        is_person = owner in self.ids["person"] or owner in self.stored.people
        return ActionPlan(path=path, what=what, owner=owner, owner_is_person=is_person, due=due,
                          number=number, workstream=found["workstream"], meeting=meeting,
                          status=found["status"])

    def meeting_named(self, text: str | None, path: str) -> tuple[str, datetime] | None:
        """The meeting "board/2015-04-21" names: the group's one meeting that local
        day, in the file or stored."""
        match = MEETING_REF_PATTERN.fullmatch(text) if text else None
        if match is None or self.zone is None or not self.known("group", match[1], path):
            return None
        group, day, zone = match[1], self.check.iso_date(match[2], path), self.zone
        if day is None:
            return None
        starts = {start for slug, start in (*self.ids["meeting"], *self.stored.meetings)
                  if slug == group and start.astimezone(zone).date() == day}
        if len(starts) != 1:
            times = ", ".join(sorted(f"{start.astimezone(zone):%H:%M}" for start in starts))
            self.check.add(path, f"{group} meets more than once on {day} ({times}); the file "
                                 "cannot say which" if starts else
                                 f"no {group} meeting on {day} in the file or stored")
            return None
        return group, starts.pop()
