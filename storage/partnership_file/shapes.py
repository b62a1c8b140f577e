"""The shapes of the file's entries: the keys each may have, and how each
value is checked."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.models import ACTION_STATUSES, MEETING_STATUSES, ROLES
from storage.partnership_file.checker import Checker, join, shown, type_name

DEFAULT_TIMEZONE = "Europe/London"
HOLIDAY_CALENDARS = ("england-and-wales", "scotland", "northern-ireland")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_ENTRIES = 20_000  # per section; ten years of a county's meetings and actions fit
MAX_REF = 1_000_000

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
EMAIL_PATTERN = re.compile(r"[^@\s<>,;:\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MEETING_REF_PATTERN = re.compile(r"([a-z0-9-]{1,64})/(\d{4}-\d{2}-\d{2})")


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


def text(
    length: int, pattern: re.Pattern[str] | None = None, expected: str = "", lines: bool = False
) -> Check:
    def check(checker: Checker, value: Any, path: str) -> str | None:
        return checker.text(value, path, length=length, pattern=pattern, expected=expected, lines=lines)

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
        checker.add(path, f"{shown(name)} is not a time zone; expected an IANA name such as Europe/London")
        return None


def flag(checker: Checker, value: Any, path: str) -> bool | None:
    if not isinstance(value, bool):
        checker.add(path, f"expected true or false; got {type_name(value)}")
        return None
    return value


def action_ref(checker: Checker, value: Any, path: str) -> int | None:
    ref = checker.text(
        value, path, length=10, pattern=re.compile(r"[Aa]\d{1,7}"), expected="an action ref such as A12"
    )
    if ref is not None and not 1 <= int(ref[1:]) <= MAX_REF:
        checker.add(path, f"{shown(ref)} is out of range; expected A1 to A{MAX_REF}")
        return None
    return None if ref is None else int(ref[1:])


def as_given(checker: Checker, value: Any, path: str) -> Any:
    return value  # checked by the section, which knows more (a meeting's start needs the zone)


NAME = text(200)
KEY = text(64, ID_PATTERN, "an id: letters, digits, '.', '_' or '-', starting with a letter or digit")
SLUG = text(64, SLUG_PATTERN, "a slug: lower-case letters and digits joined by '-', e.g. joint-commissioning")
EMAIL = text(254, EMAIL_PATTERN, "an e-mail address such as name@example.org")
CHANNEL = text(
    32, re.compile(r"[CG][A-Z0-9]{2,31}"), "a Slack channel id such as C0123ABCD (the id, not the #name)"
)
SLACK_USER = text(
    32,
    re.compile(r"[UW][A-Z0-9]{8,11}"),
    "a Slack user id: U or W and 8 to 11 capital letters or digits, e.g. U0CHAIR01",
)
LOCATION = text(300)
URL = text(500, re.compile(r"https?://[^\s<>\"]+"), "a web address starting https://")
MINUTES = number(1, 1440)

DIGEST = Shape({}, {"day": (weekday, 0), "time": (Checker.time_of_day, time(9, 0))})
PARTNERSHIP = Shape(
    {"name": NAME},
    {
        "timezone": (time_zone, DEFAULT_TIMEZONE),
        "channel": (CHANNEL, None),
        "digest": (nested(DIGEST), DIGEST.defaults()),
        "organiser_email": (EMAIL, None),
        "holidays": (one_of(HOLIDAY_CALENDARS), "england-and-wales"),
    },
)
ORGANISATION = Shape({"id": KEY, "name": NAME})
PERSON = Shape(
    {"id": KEY, "name": NAME},
    {"organisation": (KEY, None), "title": (NAME, None), "email": (EMAIL, None), "slack": (SLACK_USER, None)},
)
AGENDA = Shape({}, {"items_due_days": (number(0, 365), 10), "publish_days": (number(0, 365), 5)})
ATTENDANCE = Shape({}, {"explain_after": (number(1, 100), 2), "resign_after": (number(1, 100), 3)})
MEMBER = Shape({"person": KEY}, {"role": (one_of(ROLES), "member")})
GROUP = Shape(
    {
        "slug": SLUG,
        "name": NAME,
        "abbreviation": text(16, re.compile(r"[A-Za-z0-9]{2,16}"), "2 to 16 letters or digits, e.g. CPSRB"),
    },
    {
        "channel": (CHANNEL, None),
        "location": (LOCATION, None),
        "start": (Checker.time_of_day, time(16, 0)),
        "minutes": (MINUTES, 90),
        "agenda": (nested(AGENDA), AGENDA.defaults()),
        "attendance": (nested(ATTENDANCE), ATTENDANCE.defaults()),
        "members": (list_of(nested(MEMBER)), None),
    },
)
WORKSTREAM = Shape(
    {"slug": SLUG, "name": NAME},
    {
        "description": (text(5_000, lines=True), None),
        "group": (SLUG, None),
        "leads": (list_of(KEY), None),
        "contributors": (list_of(KEY), None),
        "open": (flag, True),
    },
)
MEETING = Shape(
    {"group": SLUG, "start": as_given},
    {
        "location": (LOCATION, None),
        "url": (URL, None),
        "minutes": (MINUTES, None),
        "status": (one_of(MEETING_STATUSES), None),
    },
)
ACTION = Shape(
    {"what": text(1_000), "owner": text(200, expected="a person id or a name"), "due": Checker.day},
    {
        "ref": (action_ref, None),
        "workstream": (SLUG, None),
        "meeting": (
            text(80, MEETING_REF_PATTERN, "a meeting as group/YYYY-MM-DD, e.g. board/2015-04-21"),
            None,
        ),
        "status": (one_of(ACTION_STATUSES), None),
    },
)
FILE = Shape(
    {},
    {
        name: (as_given, None)
        for name in ("partnership", "organisations", "people", "groups", "workstreams", "meetings", "actions")
    },
)
