"""Checking the partnership file whole (SPEC section 3): the shape of every
entry and what it refers to (shapes.py), then what entries say about each
other: each id defined once, and a meeting or Slack id not claimed twice.

Checking is pure: it reads the file's data and a snapshot of what the database
already holds (`Stored`), and lists every problem rather than stopping at the
first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from storage.partnership_file.errors import PartnershipFileError
from storage.partnership_file.problems import Loc, Problem, entry_in, from_pydantic, listed, path
from storage.partnership_file.shapes import File, Partnership, shown
from storage.partnership_file.stored import Stored

T = TypeVar("T")


def validate(data: Any, stored: Stored | None = None) -> File:
    """The file, checked whole; PartnershipFileError lists every problem."""
    stored = stored or Stored()
    context = nameable(data, stored)
    try:
        file = File.model_validate(data, context=context)
        problems = []
    except ValidationError as error:
        problems = from_pydantic(error)
        file = good_entries(data, context)
    problems += Across(file, stored).problems
    if problems:
        raise PartnershipFileError(listed(problems))
    return file


def nameable(data: Any, stored: Stored) -> dict[str, set[str]]:
    """What a reference may name: ids the file gives (a bad entry's id too, so
    that it is not also reported unknown) or the database holds."""

    def given(section: str, key: str) -> set[str]:
        entries = data.get(section) if isinstance(data, dict) else None
        return {
            entry[key].strip()
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict) and isinstance(entry.get(key), str)
        }

    return {
        "organisation": given("organisations", "id") | stored.organisations,
        "person": given("people", "id") | stored.people,
        "group": given("groups", "slug") | stored.groups,
        "workstream": given("workstreams", "slug") | stored.workstreams,
    }


def good_entries(data: Any, context: dict[str, set[str]]) -> File:
    """After a problem (already listed), each entry read alone with its bad keys
    left out, or None when a key it needs is bad, so that the checks across
    entries still run on the rest."""
    data = data if isinstance(data, dict) else {}

    def alone(model: type[BaseModel], given: Any) -> Any:
        try:
            return model.model_validate(given, context=context)
        except ValidationError as error:
            if not isinstance(given, dict):
                return None
            bad = {detail["loc"][0] for detail in error.errors(include_input=False) if detail["loc"]}
        try:
            return model.model_validate(
                {key: value for key, value in given.items() if key not in bad}, context=context
            )
        except ValidationError:
            return None

    sections: dict[str, Any] = {"partnership": alone(Partnership, data.get("partnership"))}
    for name, field in File.model_fields.items():
        model, given = entry_in(field.annotation), data.get(name)
        if name != "partnership" and model is not None and isinstance(given, list):
            sections[name] = [alone(model, entry) for entry in given]
    return File.model_construct(**sections)


def entries(section: Sequence[T | None]) -> Iterator[tuple[int, T]]:
    """The good entries of a section, by index."""
    return ((index, entry) for index, entry in enumerate(section) if entry is not None)


class Across:
    """Checks across entries, section by section, remembering where each id,
    meeting and action was first given."""

    def __init__(self, file: File, stored: Stored) -> None:
        self.stored = stored
        self.problems: list[Problem] = []
        self.zone = file.partnership.zone if file.partnership else None
        self.first: dict[Any, dict[Any, str]] = {}  # kind -> value -> path
        # A file that lists people lists them all: those it leaves out leave the
        # partnership, and so are in no group or workstream. (An action may still
        # name them: the minutes' record of who took it on.)
        self.leaving = (
            stored.people - {person.id for _, person in entries(file.people)} if file.people else set()
        )
        self.organisations(file)
        self.people(file)
        self.groups(file)
        self.workstreams(file)
        self.meetings(file)
        self.actions(file)

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def again(self, kind: Any, value: Any, loc: Loc) -> str | None:
        """Where `value` was first given, when `loc` gives it again."""
        earlier = path(loc) if value is None else self.first.setdefault(kind, {}).setdefault(value, path(loc))
        return earlier if earlier != path(loc) else None

    def once(self, kind: str, value: Any, loc: Loc, shown_as: str | None = None, within: Loc = ()) -> bool:
        """False (and a problem) when `value` is already given elsewhere in the file
        (or in the entry at `within`)."""
        earlier = self.again((kind, *within), value, loc)
        if earlier:
            self.problem(loc, f"duplicate {kind} {shown_as or shown(value)}; already used at {earlier}")
        return earlier is None

    def staying(self, person: str, loc: Loc) -> None:
        """A problem if `person` is stored but left out of the file's people."""
        if person in self.leaving:
            self.problem(
                loc,
                f"person {shown(person)} is not in this file's people, so it would have them leave "
                "the partnership; add them to people, or leave them out here",
            )

    def organisations(self, file: File) -> None:
        for index, organisation in entries(file.organisations):
            self.once("organisation id", organisation.id, ("organisations", index, "id"))

    def people(self, file: File) -> None:
        slack_now = {person.id: person.slack for _, person in entries(file.people)}
        for index, person in entries(file.people):
            self.once("person id", person.id, ("people", index, "id"))
            if self.once("Slack id", person.slack, ("people", index, "slack")):
                holder = self.stored.slack_ids.get(person.slack or "")
                # Stored for someone else: a clash, unless the file gives them another.
                if holder not in (None, person.id) and slack_now.get(holder, person.slack) == person.slack:
                    message = f"Slack id {person.slack} already belongs to person {shown(holder)}"
                    self.problem(("people", index, "slack"), message)

    def groups(self, file: File) -> None:
        channel_now = {group.slug: group.channel for _, group in entries(file.groups)}
        for index, group in entries(file.groups):
            loc: Loc = ("groups", index)
            for number, member in enumerate(group.members or []):
                self.once("person", member.person, (*loc, "members", number, "person"), within=loc)
                self.staying(member.person, (*loc, "members", number, "person"))
            self.once("group slug", group.slug, (*loc, "slug"))
            abbreviation = group.abbreviation
            self.once("abbreviation", abbreviation.upper(), (*loc, "abbreviation"), shown(abbreviation))
            if self.once("channel", group.channel, (*loc, "channel")):
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
            for role, people in (("leads", stream.leads), ("contributors", stream.contributors)):
                for number, person in enumerate(people or []):
                    self.once("person", person, (*loc, role, number), within=loc)
                    self.staying(person, (*loc, role, number))
            self.once("workstream slug", stream.slug, (*loc, "slug"))

    def meetings(self, file: File) -> None:
        if self.zone is None:
            return  # the time zone is a problem already; nothing to check against
        for index, meeting in entries(file.meetings):
            start, starts_at = meeting.start, meeting.starts_at(self.zone)
            if start.tzinfo is None and starts_at.astimezone(self.zone).replace(tzinfo=None) != start:
                self.problem(
                    ("meetings", index, "start"),
                    f"{start:%Y-%m-%d %H:%M} does not exist in {self.zone.key} "
                    "(the clocks go forward then); choose another time",
                )
            elif earlier := self.again("meeting", (meeting.group, starts_at), ("meetings", index)):
                message = f"duplicate meeting: {meeting.group} already meets then at {earlier}"
                self.problem(("meetings", index, "start"), message)

    def actions(self, file: File) -> None:
        for index, action in entries(file.actions):
            loc: Loc = ("actions", index)
            self.once("action ref", action.ref, (*loc, "ref"), f"A{action.ref}")
            if action.meeting is not None:
                self.meeting_on(*action.meeting, (*loc, "meeting"))
            # Without a ref an action is known by what and due: two alike would be one.
            if action.ref is None and (earlier := self.again("action", (action.what, action.due), loc)):
                message = (
                    f"same what and due as {earlier}; give each a ref (A1, A2, ...) if they are different"
                )
                self.problem(loc, f"{message} actions")

    def meeting_on(self, group: str, day: date, loc: Loc) -> None:
        """A problem unless the group meets exactly once that local day, in the file or stored."""
        zone = self.zone
        if zone is None:
            return
        starts = {
            start
            for slug, start in (*self.first.get("meeting", {}), *self.stored.meetings)
            if slug == group and start.astimezone(zone).date() == day
        }
        if len(starts) > 1:
            times = ", ".join(sorted(f"{start.astimezone(zone):%H:%M}" for start in starts))
            self.problem(loc, f"{group} meets more than once on {day} ({times}); the file cannot say which")
        elif not starts:
            self.problem(loc, f"no {group} meeting on {day} in the file or stored")
