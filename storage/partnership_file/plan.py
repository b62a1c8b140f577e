"""The plan: what a good partnership file asks for, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo


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
