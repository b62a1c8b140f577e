"""Checking the partnership file whole (SPEC section 3): the shape of every
entry (shapes.py), then what the entries say about each other: each id
defined once, and every id named defined in the file or already stored.

Checking is pure: it reads the file's data and a snapshot of the ids the
database already holds (`Stored`), and lists every problem rather than
stopping at the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from storage.partnership_file.errors import PartnershipFileError
from storage.partnership_file.problems import Loc, Problem, from_pydantic, listed, path
from storage.partnership_file.shapes import LENIENT, File
from storage.partnership_file.stored import Stored
from storage.partnership_file.values import shown

T = TypeVar("T")

# The kinds of id the file defines, as a duplicate is named in a problem.
DUPLICATE_NAMES = {
    "organisation": "organisation id",
    "person": "person id",
    "slack": "Slack id",
    "group": "group slug",
    "channel": "channel",
    "abbreviation": "abbreviation",
    "workstream": "workstream slug",
    "ref": "action ref",
}


def validate(data: Any, stored: Stored | None = None) -> File:
    """The file, checked whole; PartnershipFileError lists every problem."""
    try:
        file: File | None = File.model_validate(data)
        problems = []
    except ValidationError as error:
        problems = from_pydantic(error)
        file = File.model_validate(data, context=LENIENT)
    if file is not None:
        problems += References(stored or Stored(), file).problems
    if problems or file is None:
        raise PartnershipFileError(listed(problems))
    return file


def entries(section: list[T] | None) -> Iterator[tuple[int, T]]:
    """The good entries of a section (a lenient reading leaves None for bad ones)."""
    return ((index, entry) for index, entry in enumerate(section or []) if entry is not None)


class References:
    """Checks section by section, remembering the ids each defines so that later
    sections can refer to them (in the file, or already stored). Every value
    may be None here, after a lenient reading: a bad value is already a problem."""

    def __init__(self, stored: Stored, file: File) -> None:
        self.stored = stored
        self.problems: list[Problem] = []
        partnership = file.partnership
        self.zone = partnership.zone if partnership and partnership.timezone else None
        # Each id defined so far, by kind -> the path that defined it.
        self.defined: dict[str, dict[Any, str]] = {kind: {} for kind in DUPLICATE_NAMES}
        self.starts: dict[tuple[str, datetime], str] = {}  # (group slug, start instant) -> path
        self.organisations(file)
        self.people(file)
        self.groups(file)
        self.workstreams(file)
        self.meetings(file)
        self.actions(file)

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def unique(self, kind: str, value: Any, loc: Loc, shown_as: str | None = None) -> bool:
        """False (and a problem) when `value` is already defined elsewhere in the file."""
        earlier = path(loc) if value is None else self.defined[kind].setdefault(value, path(loc))
        if earlier != path(loc):
            duplicate = f"duplicate {DUPLICATE_NAMES[kind]} {shown_as or shown(value)}"
            self.problem(loc, f"{duplicate}; already used at {earlier}")
        return earlier == path(loc)

    def known(self, kind: str, value: str | None, loc: Loc) -> bool:
        """False (and a problem) when `value` names no such thing, in the file or stored."""
        stored = getattr(self.stored, "people" if kind == "person" else f"{kind}s")
        if value is None or value in self.defined[kind] or value in stored:
            return True
        self.problem(loc, f"unknown {kind} {shown(value)}")
        return False

    def listed_once(
        self, people: Sequence[str | None] | None, loc: Loc, seen: dict[str, str], suffix: Loc = ()
    ) -> None:
        """Problems for a list that names an unknown person, or one twice."""
        for index, key in enumerate(people or []):
            where = (*loc, index, *suffix)
            if key is not None and self.known("person", key, where):
                earlier = seen.setdefault(key, path(where))
                if earlier != path(where):
                    self.problem(where, f"duplicate person {shown(key)}; already used at {earlier}")

    def organisations(self, file: File) -> None:
        for index, organisation in entries(file.organisations):
            self.unique("organisation", organisation.id, ("organisations", index, "id"))

    def people(self, file: File) -> None:
        slack_now = {person.id: person.slack for _, person in entries(file.people)}
        for index, person in entries(file.people):
            self.known("organisation", person.organisation, ("people", index, "organisation"))
            self.unique("person", person.id, ("people", index, "id"))
            if self.unique("slack", person.slack, ("people", index, "slack")):
                holder = self.stored.slack_ids.get(person.slack or "")
                # Stored for someone else: a clash, unless the file moves that person to another.
                if holder not in (None, person.id) and slack_now.get(holder, person.slack) == person.slack:
                    message = f"Slack id {person.slack} already belongs to person {shown(holder)}"
                    self.problem(("people", index, "slack"), message)

    def groups(self, file: File) -> None:
        channel_now = {group.slug: group.channel for _, group in entries(file.groups)}
        for index, group in entries(file.groups):
            loc: Loc = ("groups", index)
            members = [member.person if member else None for member in group.members or []]
            self.listed_once(members, (*loc, "members"), {}, ("person",))
            self.unique("group", group.slug, (*loc, "slug"))
            abbreviation = group.abbreviation
            shown_as = shown(abbreviation)
            self.unique(
                "abbreviation", abbreviation and abbreviation.upper(), (*loc, "abbreviation"), shown_as
            )
            if self.unique("channel", group.channel, (*loc, "channel")):
                holder = self.stored.channels.get(group.channel or "")
                if (
                    holder not in (None, group.slug)
                    and channel_now.get(holder, group.channel) == group.channel
                ):
                    message = f"channel {group.channel} already belongs to group {shown(holder)}"
                    self.problem((*loc, "channel"), message)

    def workstreams(self, file: File) -> None:
        for index, stream in entries(file.workstreams):
            loc: Loc = ("workstreams", index)
            self.known("group", stream.group, (*loc, "group"))
            seen: dict[str, str] = {}
            self.listed_once(stream.leads, (*loc, "leads"), seen)
            self.listed_once(stream.contributors, (*loc, "contributors"), seen)
            self.unique("workstream", stream.slug, (*loc, "slug"))

    def meetings(self, file: File) -> None:
        for index, meeting in entries(file.meetings):
            loc: Loc = ("meetings", index)
            self.known("group", meeting.group, (*loc, "group"))
            if meeting.group is None or meeting.start is None or self.zone is None:
                continue
            starts_at = meeting.starts_at(self.zone)
            if (
                meeting.start.tzinfo is None
                and starts_at.astimezone(self.zone).replace(tzinfo=None) != meeting.start
            ):
                self.problem(
                    (*loc, "start"),
                    f"{meeting.start:%Y-%m-%d %H:%M} does not exist in {self.zone.key} "
                    "(the clocks go forward then); choose another time",
                )
                continue
            earlier = self.starts.setdefault((meeting.group, starts_at), path(loc))
            if earlier != path(loc):
                self.problem(
                    (*loc, "start"), f"duplicate meeting: {meeting.group} already meets then at {earlier}"
                )

    def actions(self, file: File) -> None:
        alike: dict[tuple[str, date], str] = {}
        for index, action in entries(file.actions):
            loc: Loc = ("actions", index)
            self.unique("ref", action.ref, (*loc, "ref"), f"A{action.ref}")
            self.known("workstream", action.workstream, (*loc, "workstream"))
            if action.meeting is not None:
                self.meeting_on(*action.meeting, (*loc, "meeting"))
            if action.ref is None and action.what is not None and action.due is not None:
                # Without a ref an action is known by what and due: two alike would be one.
                earlier = alike.setdefault((action.what, action.due), path(loc))
                if earlier != path(loc):
                    self.problem(
                        loc,
                        f"same what and due as {earlier}; give each a ref (A1, A2, ...) if they are different actions",
                    )

    def meeting_on(self, group: str, day: date, loc: Loc) -> None:
        """A problem unless the group meets exactly once that local day, in the file or stored."""
        if self.zone is None or not self.known("group", group, loc):
            return
        zone: ZoneInfo = self.zone
        starts = {
            start
            for slug, start in (*self.starts, *self.stored.meetings)
            if slug == group and start.astimezone(zone).date() == day
        }
        if len(starts) > 1:
            times = ", ".join(sorted(f"{start.astimezone(zone):%H:%M}" for start in starts))
            self.problem(loc, f"{group} meets more than once on {day} ({times}); the file cannot say which")
        elif not starts:
            self.problem(loc, f"no {group} meeting on {day} in the file or stored")
