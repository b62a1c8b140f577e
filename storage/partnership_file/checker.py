"""Checking one value of the file: each check returns the clean value, or
collects a problem as "path: message"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from storage.partnership_file.shapes import Shape

MAX_PROBLEMS = 200
TIME_PATTERN = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
LOCAL_DATETIME_PATTERN = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{1,2}:\d{2})(?::00)?")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


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
    for kind, name in (
        (int, "a number"),
        (float, "a number"),
        (str, "text"),
        (list, "a list"),
        (dict, "a mapping"),
        (date, "a date"),
    ):
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

    def text(
        self,
        value: Any,
        path: str,
        *,
        length: int,
        pattern: re.Pattern[str] | None = None,
        expected: str = "",
        lines: bool = False,
    ) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(path, f"expected text{': ' + expected if expected else ''}; got {type_name(value)}")
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
            self.add(
                path, 'expected a time "HH:MM" in quotes, e.g. "16:00"; unquoted, YAML reads it as a number'
            )
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
            text = self.text(value, path, length=25, expected="a date and time, e.g. 2015-04-21T16:00")
            match = LOCAL_DATETIME_PATTERN.fullmatch(text) if text else None
            if text is not None and match is None:
                self.add(
                    path,
                    f"{shown(text)} is not a date and time; expected YYYY-MM-DDTHH:MM, e.g. 2015-04-21T16:00",
                )
            day = self.iso_date(match[1], path) if match else None
            at = self.time_of_day(match[2], path) if match else None
            if day is None or at is None:
                return None
            moment = datetime.combine(day, at)
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
        if zone is None:
            return None  # the time zone is already a problem; nothing to check against
        # A time in the spring-forward gap does not exist; one in the autumn fold takes
        # the first of its two instants (fold=0).
        instant = moment.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) != moment:
            self.add(
                path,
                f"{moment:%Y-%m-%d %H:%M} does not exist in {zone.key} "
                "(the clocks go forward then); choose another time",
            )
            return None
        return instant

    def fields(self, value: Any, path: str, shape: Shape) -> tuple[dict[str, Any] | None, bool]:
        """An entry's values by key, defaults filled in (None when it is not a
        mapping), and whether every key was good. Unknown and missing keys are
        problems; the other keys are still checked."""
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping with keys {', '.join(shape.keys)}; got {type_name(value)}")
            return None, False
        good = True
        for key in value:
            if not isinstance(key, str):
                self.add(path or "file", f"keys must be text; got {shown(key)}")
                good = False
            elif key not in shape.keys:
                hint = (
                    "; if it is the end of a value cut at a comma, put that value in quotes"
                    if value[key] is None and " " in key.strip()
                    else ""
                )
                # An unknown key is quoted as a value is: short, on one line.
                quoted = CONTROL_CHARACTERS.sub("?", key if len(key) <= 60 else key[:57] + "...")
                self.add(join(path, quoted), f"unknown key; expected one of {', '.join(shape.keys)}{hint}")
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
