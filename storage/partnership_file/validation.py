"""Checking the partnership file whole (SPEC section 3): every entry, the ids
each defines and those it refers to; a good file becomes a plan (plan.py) of
plain values to write.

Checking is pure: it reads the file's data and a snapshot of the ids the
database already holds (`Stored`), and collects every problem as
"path: message" rather than stopping at the first. It follows the expected
shape only, so junk (deep nesting, shared references) is reported at the first
wrong type and never walked into.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from storage.partnership_file.checker import Checker, join, shown, type_name
from storage.partnership_file.plan import (
    ActionPlan,
    FilePlan,
    GroupPlan,
    MeetingPlan,
    OrganisationPlan,
    PartnershipPlan,
    PersonPlan,
    WorkstreamPlan,
)
from storage.partnership_file.shapes import (
    ACTION,
    DEFAULT_TIMEZONE,
    FILE,
    GROUP,
    MEETING,
    MEETING_REF_PATTERN,
    ORGANISATION,
    PARTNERSHIP,
    PERSON,
    WORKSTREAM,
    as_given,
    list_of,
)
from storage.partnership_file.stored import Stored


def validate(data: Any, stored: Stored | None = None) -> tuple[FilePlan | None, list[str]]:
    """Every problem in the file, and the plan when there are none."""
    checker = Checker()
    if not isinstance(data, dict):
        checker.add("file", f"expected a mapping with keys {', '.join(FILE.keys)}; got {type_name(data)}")
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
    return FilePlan(partnership, file.zone, organisations, people, groups, workstreams, meetings, actions), []


# The kinds of id the file defines, as a duplicate is named in a problem.
DUPLICATE_NAMES = {
    "organisation": "organisation id",
    "person": "person id",
    "slack": "Slack id",
    "group": "group slug",
    "channel": "channel",
    "abbreviation": "abbreviation",
    "workstream": "workstream slug",
    "meeting": "meeting",
    "ref": "action ref",
    "action": "action",
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

    def each(self, sections: dict[str, Any], name: str, check: Callable[[dict, str], Any]) -> list[Any]:
        given = sections[name]
        entries = [] if given is None else list_of(as_given)(self.check, given, name) or []
        plans = [check(entry, join(name, index)) for index, entry in enumerate(entries)]
        return [plan for plan in plans if plan is not None]

    def unique(self, kind: str, value: Any, path: str, shown_as: str | None = None) -> bool:
        """False (and a problem) when `value` is already used elsewhere in the file."""
        seen = self.ids[kind]
        if value is not None and value in seen:
            self.check.add(
                path,
                f"duplicate {DUPLICATE_NAMES[kind]} {shown_as or shown(value)}; "
                f"already used at {seen[value]}",
            )
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

    def people_listed(
        self, keys: list[str | None], path: str, seen: dict[str, str], suffix: str = ""
    ) -> bool:
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
            self.check.add("partnership", "missing; the file needs a partnership block with at least a name")
            return None
        found, good = self.check.fields(value, "partnership", PARTNERSHIP)
        zone = found and found["timezone"]
        self.zone = ZoneInfo(zone) if zone else None
        if not good or found is None:
            return None
        return PartnershipPlan(
            name=found["name"],
            timezone=found["timezone"],
            channel=found["channel"],
            digest_day=found["digest"]["day"],
            digest_time=found["digest"]["time"],
            organiser_email=found["organiser_email"],
            holidays=found["holidays"],
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
        now_held = {"person": {p.id: p.slack for p in people}, "group": {g.slug: g.channel for g in groups}}
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
            self.check.add(
                f"{path}.agenda.publish_days",
                f"{agenda['publish_days']} is more than items_due_days "
                f"({agenda['items_due_days']}); the agenda goes out after items are due",
            )
            good = False
        if attendance and attendance["resign_after"] <= attendance["explain_after"]:
            self.check.add(
                f"{path}.attendance.resign_after",
                f"{attendance['resign_after']} must be more than explain_after "
                f"({attendance['explain_after']})",
            )
            good = False
        members = found["members"]
        if members is not None:
            people = [member and member["person"] for member in members]
            good = (
                self.people_listed(people, f"{path}.members", {}, ".person") and None not in members and good
            )
        good = self.unique("group", found["slug"], f"{path}.slug") and good
        abbreviation = found["abbreviation"]
        good = (
            self.unique(
                "abbreviation",
                abbreviation and abbreviation.upper(),
                f"{path}.abbreviation",
                shown(abbreviation),
            )
            and good
        )
        channel = found["channel"]
        if not self.unique("channel", channel, f"{path}.channel"):
            good = False
        elif channel in self.stored.channels and self.stored.channels[channel] != found["slug"]:
            self.held.append((f"{path}.channel", "group", self.stored.channels[channel], channel))
        if not good:
            return None
        return GroupPlan(
            slug=found["slug"],
            name=found["name"],
            abbreviation=abbreviation,
            channel=channel,
            location=found["location"],
            start_time=found["start"],
            minutes=found["minutes"],
            members=None if members is None else {m["person"]: m["role"] for m in members},
            **agenda,
            **attendance,
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
            slug=found["slug"],
            name=found["name"],
            description=found["description"],
            group=found["group"],
            is_open=found["open"],
            leads=found["leads"],
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
            self.check.add(f"{path}.start", f"duplicate meeting: {group} already meets then at {earlier}")
            return None
        self.ids["meeting"][(group, starts_at)] = path
        if not good:
            return None
        return MeetingPlan(
            group=group,
            starts_at=starts_at,
            local_date=starts_at.astimezone(self.zone).date(),
            minutes=found["minutes"],
            location=found["location"],
            url=found["url"],
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
                self.check.add(
                    path,
                    f"same what and due as {earlier}; give each a ref "
                    "(A1, A2, ...) if they are different actions",
                )
                good = False
            self.ids["action"].setdefault((what, due), path)
        if not good:
            return None
        is_person = owner in self.ids["person"] or owner in self.stored.people
        return ActionPlan(
            path=path,
            what=what,
            owner=owner,
            owner_is_person=is_person,
            due=due,
            number=number,
            workstream=found["workstream"],
            meeting=meeting,
            status=found["status"],
        )

    def meeting_named(self, text: str | None, path: str) -> tuple[str, datetime] | None:
        """The meeting "board/2015-04-21" names: the group's one meeting that local
        day, in the file or stored."""
        match = MEETING_REF_PATTERN.fullmatch(text) if text else None
        if match is None or self.zone is None or not self.known("group", match[1], path):
            return None
        group, day, zone = match[1], self.check.iso_date(match[2], path), self.zone
        if day is None:
            return None
        starts = {
            start
            for slug, start in (*self.ids["meeting"], *self.stored.meetings)
            if slug == group and start.astimezone(zone).date() == day
        }
        if len(starts) != 1:
            times = ", ".join(sorted(f"{start.astimezone(zone):%H:%M}" for start in starts))
            self.check.add(
                path,
                f"{group} meets more than once on {day} ({times}); the file cannot say which"
                if starts
                else f"no {group} meeting on {day} in the file or stored",
            )
            return None
        return group, starts.pop()
