"""Writing a checked file: create, or update only what differs, counting and
auditing each change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import Row, inspect, select
from sqlalchemy.orm import Session

from storage.models import (
    Action,
    Apology,
    AuditEntry,
    Group,
    Meeting,
    Membership,
    Organisation,
    Partnership,
    Person,
    Workstream,
    WorkstreamMember,
)
from storage.partnership_file import shapes
from storage.partnership_file.stored import PARTNERSHIP_ID, StoredRows, filed

# Foreign keys, and the kind of row each names; audit entries show that row's id in the file.
REFERENCES = {
    "organisation_id": "organisation",
    "person_id": "person",
    "owner_id": "person",
    "group_id": "group",
    "workstream_id": "workstream",
    "meeting_id": "meeting",
}


class Writer:
    """Creates and updates rows, counting and auditing each change."""

    def __init__(self, session: Session, *, now: datetime, actor: str, rows: StoredRows, zone: Any) -> None:
        self.session = session
        self.now = now
        self.actor = actor
        self.rows = rows
        self.zone = zone
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.removed: Counter[str] = Counter()
        self.out_of_groups: list[tuple[int, int]] = []  # (person id, group id) of each membership removed
        self.into_groups: list[tuple[int, int]] = []  # and of each created
        self.known_people: set[int] = set()  # ids of the people stored before this load
        # Audit entries name related rows by their ids in the file, not database ids.
        self.names: dict[str, dict[int, str]] = {}
        self.stale: list[tuple[Any, str]] = []
        self.meeting_on: dict[tuple[str, date], Meeting] = {}  # (group slug, local day) -> meeting

    def write(
        self,
        file: shapes.File,
        actions: list[tuple[Action | None, int]],
        filed: dict[int, dict[str, Any]],
    ) -> None:
        self.partnership(file.partnership)
        self.organisations(file)
        self.people(file)
        self.leavers()
        self.groups(file)
        self.apologies_of_those_taken_out()
        self.apologies_restored()
        self.workstreams(file)
        self.meetings(file)
        self.actions(file, actions, filed)
        self.session.flush()
        for row, relationship in self.stale:
            # A changed foreign key leaves the loaded related object behind.
            self.session.expire(row, [relationship])

    # The generic step: create, or set only the fields that differ.

    def put(
        self,
        kind: str,
        subject: str,
        row: Any,
        model: type,
        wanted: dict[str, Any],
        was: dict[str, Any] | None = None,
    ) -> Any:
        """Create the row, or set the fields of `wanted` that differ from it."""
        if row is None:
            row = model(**wanted)
            self.session.add(row)
            self.created[kind] += 1
            self.audit("load.create", f"{kind} {subject}".strip(), None, wanted)
            return row
        changes = self.differences(row, wanted, was)
        if changes:
            self.apply(kind, subject, row, changes)
        return row

    @staticmethod
    def differences(
        row: Any, wanted: dict[str, Any], was: dict[str, Any] | None = None
    ) -> dict[str, tuple[Any, Any]]:
        """name -> (stored, wanted) for each field that differs. `was` holds stored
        values this load has already cleared (see release_unique)."""
        stored = {name: (was or {}).get(name, getattr(row, name)) for name in wanted}
        return {name: (stored[name], value) for name, value in wanted.items() if stored[name] != value}

    def apply(self, kind: str, subject: str, row: Any, changes: dict[str, tuple[Any, Any]]) -> None:
        for name, (_, value) in changes.items():
            setattr(row, name, value)
        self.updated[kind] += 1
        self.audit(
            "load.update",
            f"{kind} {subject}".strip(),
            {name: old for name, (old, _) in changes.items()},
            {name: new for name, (_, new) in changes.items()},
        )
        relationships = inspect(type(row)).relationships
        self.stale.extend(
            (row, name[:-3]) for name in changes if name.endswith("_id") and name[:-3] in relationships
        )

    def audit(
        self, what: str, subject: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        self.session.add(
            AuditEntry(
                actor_id=None,
                actor=self.actor,
                what=what,
                subject=subject[:200],
                at=self.now,
                before=self.plain(before),
                after=self.plain(after),
            )
        )

    def plain(self, values: dict[str, Any] | None) -> dict[str, Any] | None:
        """JSON-safe values; a reference to another row shown by its id in the file."""
        if values is None:
            return None
        plain: dict[str, Any] = {}
        for name, value in values.items():
            kind = REFERENCES.get(name)
            if kind in self.names:
                name, value = name.removesuffix("_id"), self.names[kind].get(value, value)
            if isinstance(value, (datetime, date, time)):
                value = value.isoformat()
            plain[name] = value
        return plain

    def since_filed(self, wanted: dict[str, Any], filed: dict[str, Any]) -> dict[str, Any]:
        """The fields of `wanted` the file changed since a load last set them
        (`filed`): one it still says as it did then stands as stored, so what
        was changed in Slack meanwhile (`/action due`, `assign`, `done`, a
        meeting's new place) is kept."""
        plain = self.plain(wanted) or {}  # as the audit log holds it: ids in the file, dates as text
        return {
            name: value
            for (name, value), (as_filed, written) in zip(wanted.items(), plain.items(), strict=True)
            if as_filed not in filed or filed[as_filed] != written
        }

    def file_changes(
        self, kind: str, subject: str, row: Any, wanted: dict[str, Any], filed: dict[str, Any]
    ) -> dict[str, tuple[Any, Any]]:
        """What the file changed since a load last set it (`since_filed`) that
        differs from `row`. A value the file changed to what is stored already
        (the minutes catching up with Slack) is recorded as filed all the same
        ("load.agree"), so that a later change in Slack stands against it too."""
        given = self.since_filed(wanted, filed)
        changes = self.differences(row, given)
        agreed = {name: value for name, value in given.items() if name not in changes}
        if agreed:
            self.audit("load.agree", f"{kind} {subject}", None, agreed)
        return changes

    def named(self, kind: str, rows: dict[str, Any]) -> None:
        self.session.flush()
        self.names[kind] = {row.id: key for key, row in rows.items()}

    # Section by section, flushing between them so new rows have ids to refer to.

    def partnership(self, given: shapes.Partnership) -> None:
        wanted = {
            "id": PARTNERSHIP_ID,
            "name": given.name,
            "timezone": given.timezone,
            "channel": given.channel,
            "digest_day": given.digest.day,
            "digest_time": given.digest.time,
            "organiser_email": given.organiser_email,
            "holidays": given.holidays,
        }
        self.rows.partnership = self.put("partnership", "", self.rows.partnership, Partnership, wanted)

    def organisations(self, file: shapes.File) -> None:
        found = self.rows.organisations
        for org in file.organisations:
            found[org.id] = self.put(
                "organisation", org.id, found.get(org.id), Organisation, {"key": org.id, "name": org.name}
            )
        self.named("organisation", found)

    def people(self, file: shapes.File) -> None:
        found, organisations = self.rows.people, self.rows.organisations
        self.known_people = {row.id for row in found.values()}
        wanted_by_key = {}
        for person in file.people:
            organisation = organisations.get(person.organisation) if person.organisation else None
            wanted_by_key[person.id] = {
                "key": person.id,
                "name": person.name,
                "title": person.title,
                "email": person.email,
                "slack_user_id": person.slack,
                "organisation_id": organisation.id if organisation else None,
            }
            if person.id in found and found[person.id].left_at is not None:
                wanted_by_key[person.id]["left_at"] = None  # back in the partnership
        cleared = self.release_unique(found, wanted_by_key, "slack_user_id")
        for key, wanted in wanted_by_key.items():
            found[key] = self.put("person", key, found.get(key), Person, wanted, was=cleared.get(key))
        for key, row in found.items():
            # A file that lists people lists them all; one with none (a later file of
            # meetings and actions alone) leaves everyone as they were.
            if wanted_by_key and key not in wanted_by_key and row.left_at is None:
                # Left the partnership: their row stays, for the record, and
                # reminders about their actions go to the officers.
                self.apply("person", key, row, {"left_at": (None, self.now)})
        self.named("person", found)

    def release_unique(
        self, found: dict[str, Any], wanted_by_key: dict[str, dict[str, Any]], column: str
    ) -> dict[str, dict[str, Any]]:
        """Stored rows passing a unique value (a Slack id, a channel) between them
        would collide mid-flush, so the moving values are cleared first, within
        the same transaction. Returns the cleared values, by key."""
        moving = {
            key: getattr(found[key], column)
            for key, wanted in wanted_by_key.items()
            if key in found and getattr(found[key], column) != wanted[column]
        }
        held = {getattr(row, column) for row in found.values()} - {None}
        if not any(wanted_by_key[key][column] in held for key in moving):
            return {}
        for key in moving:
            setattr(found[key], column, None)
        self.session.flush()
        return {key: {column: value} for key, value in moving.items()}

    def leavers(self) -> None:
        """Those who have left keep no place in a group or a workstream, even in
        one the file gives no members for (whose members otherwise stay). Run
        before the groups' and workstreams' people are matched to the file, so
        that those see only the people still in the partnership."""
        left = {row.id: key for key, row in self.rows.people.items() if row.left_at is not None}
        groups = {group.id: slug for slug, group in self.rows.groups.items()}
        streams = {stream.id: slug for slug, stream in self.rows.workstreams.items()}
        for row in self.rows.memberships:
            if row.person_id in left:
                self.remove("membership", f"{groups[row.group_id]} {left[row.person_id]}", row)
        for stream_row in self.rows.workstream_members:
            if stream_row.person_id in left:
                label = f"{streams[stream_row.workstream_id]} {left[stream_row.person_id]}"
                self.remove("workstream_member", label, stream_row)
        self.rows.memberships = [m for m in self.rows.memberships if m.person_id not in left]
        self.rows.workstream_members = [m for m in self.rows.workstream_members if m.person_id not in left]
        if left:
            self.apologies_withdrawn(left, groups)

    def apologies_withdrawn(self, left: dict[int, str], groups: dict[int, str]) -> None:
        """Those who have left are expected at no meeting: their apologies for
        meetings still ahead are withdrawn, so that no agenda, list or minutes
        names them (those for meetings held stay, for the record)."""
        for apology, group_id, starts_at in self.apologies_ahead(
            Apology.person_id.in_(left), Apology.withdrawn_at.is_(None)
        ):
            self.withdrawal(apology, groups[group_id], starts_at, withdrawn=True)

    def apologies_of_those_taken_out(self) -> None:
        """Someone the file takes out of a group, staying in the partnership, is
        expected at none of its meetings either: their apologies for its meetings
        still ahead are withdrawn, as a leaver's are (theirs already were)."""
        left = {row.id for row in self.rows.people.values() if row.left_at is not None}
        taken_out = {(person, group) for person, group in self.out_of_groups if person not in left}
        if not taken_out:
            return
        groups = {group.id: slug for slug, group in self.rows.groups.items()}
        ahead = self.apologies_ahead(
            Apology.person_id.in_({person for person, _ in taken_out}),
            Meeting.group_id.in_({group for _, group in taken_out}),
            Apology.withdrawn_at.is_(None),
        )
        for apology, group_id, starts_at in ahead:
            if (apology.person_id, group_id) in taken_out:
                self.withdrawal(apology, groups[group_id], starts_at, withdrawn=True)

    def apologies_restored(self) -> None:
        """Someone put back in a group (taken out by mistake, or back in the
        partnership) has the apologies that taking them out withdrew restored, for
        its meetings still ahead: those withdrawn at the very instant a load took
        them out of it, as the audit log records it, never any they withdrew
        themselves."""
        groups = {group.id: slug for slug, group in self.rows.groups.items()}
        people = self.names["person"]
        subjects = {
            f"membership {groups[group]} {people[person]}": (person, group)
            for person, group in self.into_groups
            if person in self.known_people  # someone new has no history to restore
        }
        if not subjects:
            return
        removed: dict[tuple[int, int], set[datetime]] = {}
        for subject, at in self.session.execute(
            select(AuditEntry.subject, AuditEntry.at).where(
                AuditEntry.what == "load.remove", AuditEntry.subject.in_(subjects)
            )
        ):
            removed.setdefault(subjects[subject], set()).add(at)
        if not removed:
            return
        withdrawn = self.apologies_ahead(
            Apology.person_id.in_({person for person, _ in removed}),
            Meeting.group_id.in_({group for _, group in removed}),
            Apology.withdrawn_at.is_not(None),
            Meeting.status == "scheduled",
        )
        for apology, group_id, starts_at in withdrawn:
            if apology.withdrawn_at in removed.get((apology.person_id, group_id), ()):
                self.withdrawal(apology, groups[group_id], starts_at, withdrawn=False)

    def apologies_ahead(self, *where: Any) -> Iterable[Row[Apology, int, datetime]]:
        """Apologies for meetings still ahead, with their meeting's group and start, soonest first."""
        return self.session.execute(
            select(Apology, Meeting.group_id, Meeting.starts_at)
            .join(Meeting, Apology.meeting_id == Meeting.id)
            .where(Meeting.starts_at > self.now, *where)
            .order_by(Meeting.starts_at, Apology.id)
        )

    def withdrawal(self, apology: Apology, group: str, starts_at: datetime, *, withdrawn: bool) -> None:
        """Withdraw an apology, or restore one, as of this load, audited as
        "apology board 2015-06-16 fire"."""
        subject = f"{self.meeting_name(group, starts_at)} {self.names['person'][apology.person_id]}"
        change = (None, self.now) if withdrawn else (apology.withdrawn_at, None)
        self.apply("apology", subject, apology, {"withdrawn_at": change})
        apology.updated_at = self.now

    def remove(self, kind: str, subject: str, row: Any) -> None:
        if kind == "membership":
            self.out_of_groups.append((row.person_id, row.group_id))
        self.session.delete(row)
        self.removed[kind] += 1
        self.audit("load.remove", f"{kind} {subject}", {"role": row.role}, None)

    def groups(self, file: shapes.File) -> None:
        found = self.rows.groups
        wanted_by_slug = {
            group.slug: {
                "slug": group.slug,
                "name": group.name,
                "abbreviation": group.abbreviation,
                "channel": group.channel,
                "location": group.location,
                "start_time": group.start,
                "minutes": group.minutes,
                "items_due_days": group.agenda.items_due_days,
                "publish_days": group.agenda.publish_days,
                "explain_after": group.attendance.explain_after,
                "resign_after": group.attendance.resign_after,
            }
            for group in file.groups
        }
        cleared = self.release_unique(found, wanted_by_slug, "channel")
        for slug, wanted in wanted_by_slug.items():
            found[slug] = self.put("group", slug, found.get(slug), Group, wanted, was=cleared.get(slug))
        self.named("group", found)
        for group in file.groups:
            if group.members is not None:
                row = found[group.slug]
                self.sync_people(
                    kind="membership",
                    owner=row,
                    label=group.slug,
                    model=Membership,
                    owner_column="group_id",
                    rows=[m for m in self.rows.memberships if m.group_id == row.id],
                    wanted={member.person: member.role for member in group.members},
                )

    def sync_people(
        self,
        *,
        kind: str,
        owner: Any,
        label: str,
        model: type,
        owner_column: str,
        rows: list[Any],
        wanted: dict[str, str],
        keep_roles: tuple[str, ...] = (),
    ) -> None:
        """Make the people (and roles) of a group or workstream those in `wanted`,
        leaving alone stored rows whose role is in `keep_roles`."""
        person_key = self.names["person"]
        people = self.rows.people
        for row in rows:
            key = person_key.get(row.person_id, str(row.person_id))
            if key in wanted:
                self.put(kind, f"{label} {key}", row, model, {"role": wanted.pop(key)})
            elif row.role not in keep_roles:
                self.remove(kind, f"{label} {key}", row)
        for key, role in wanted.items():
            self.put(
                kind,
                f"{label} {key}",
                None,
                model,
                {owner_column: owner.id, "person_id": people[key].id, "role": role},
            )
            if kind == "membership":
                self.into_groups.append((people[key].id, owner.id))

    def workstreams(self, file: shapes.File) -> None:
        found = self.rows.workstreams
        bases = filed(self.session, [f"workstream {s.slug}" for s in file.workstreams if s.open is not None])
        for stream in file.workstreams:
            group = self.rows.groups.get(stream.group or "")
            wanted = {
                "slug": stream.slug,
                "name": stream.name,
                "description": stream.description,
                "group_id": group.id if group else None,
            }
            row = found.get(stream.slug)
            if row is not None and stream.open is not None:
                # Open or closed as the file says, unless `/update WS close` or `reopen` said
                # otherwise since and the file still says what it said then.
                base = bases.get(f"workstream {stream.slug}", {})
                changes = self.file_changes("workstream", stream.slug, row, {"is_open": stream.open}, base)
                wanted.update({name: value for name, (_, value) in changes.items()})
            elif row is None and stream.open is not None:
                wanted["is_open"] = stream.open  # left out: open, and not filed as the file's word
            found[stream.slug] = self.put("workstream", stream.slug, row, Workstream, wanted)
        self.named("workstream", found)
        for stream in file.workstreams:
            if stream.leads is None and stream.contributors is None:
                continue
            row = found[stream.slug]
            roles = {key: "lead" for key in stream.leads or []}
            roles.update({key: "contributor" for key in stream.contributors or []})
            kept = tuple(
                role
                for role, given in (("lead", stream.leads), ("contributor", stream.contributors))
                if given is None
            )
            self.sync_people(
                kind="workstream_member",
                owner=row,
                label=stream.slug,
                model=WorkstreamMember,
                owner_column="workstream_id",
                rows=[m for m in self.rows.workstream_members if m.workstream_id == row.id],
                wanted=roles,
                keep_roles=kept,
            )

    def meetings(self, file: shapes.File) -> None:
        found = self.rows.meetings
        bases = filed(
            self.session,
            [f"meeting {self.meeting_name(m.group, m.starts_at(self.zone))}" for m in file.meetings],
        )
        by_uid = {row.uid: row for row in found.values()}
        # A meeting the file names where it is now is not also another entry's, moved.
        named = {found.get((self.rows.groups[m.group].id, m.starts_at(self.zone))) for m in file.meetings}
        for meeting in file.meetings:
            group = self.rows.groups[meeting.group]
            starts_at = meeting.starts_at(self.zone)
            base = bases.get(f"meeting {self.meeting_name(meeting.group, starts_at)}", {})
            row = found.get((group.id, starts_at))
            if (
                row is None
                and base.get("starts_at") == (self.plain({"starts_at": starts_at}) or {})["starts_at"]
            ):
                moved = by_uid.get(str(base.get("uid")))  # the file's meeting, moved in Slack since
                row = moved if moved not in named else None
            found[(group.id, starts_at)] = self.meeting(meeting, starts_at, group, row, base)
        self.session.flush()
        self.names["meeting"] = {
            row.id: self.meeting_name(self.names["group"][group_id], start)
            for (group_id, start), row in found.items()
        }
        # An action names its meeting by group and local day; the checks made that one meeting.
        self.meeting_on = {
            (self.names["group"][group_id], start.astimezone(self.zone).date()): row
            for (group_id, start), row in found.items()
        }

    def meeting_name(self, group: str, starts_at: datetime) -> str:
        """A meeting as the file and the audit log name it: "board 2015-06-16"."""
        return f"{group} {starts_at.astimezone(self.zone):%Y-%m-%d}"

    def meeting(
        self,
        meeting: shapes.Meeting,
        starts_at: datetime,
        group: Group,
        row: Meeting | None,
        filed: dict[str, Any],
    ) -> Meeting:
        subject = self.meeting_name(meeting.group, starts_at)
        length = timedelta(minutes=meeting.minutes or group.minutes)
        if row is None:
            place = meeting.location if (meeting.location or meeting.url) else group.location
            return self.put(
                "meeting",
                subject,
                None,
                Meeting,
                {
                    "group_id": group.id,
                    "starts_at": starts_at,
                    "ends_at": starts_at + length,
                    "location": place,
                    "url": meeting.url,
                    "status": meeting.status or "scheduled",
                    "uid": f"{uuid4()}@partnerbot",
                    "sequence": 0,
                    "created_at": self.now,
                    "updated_at": self.now,
                },
            )
        given = {
            name: value
            for name, value in (
                ("location", meeting.location),
                ("url", meeting.url),
                ("status", meeting.status),
            )
            if value is not None
        }
        # Its length from the file, from when it starts now (`/meeting move` may have moved it).
        changes = self.file_changes("meeting", subject, row, given, filed)
        changes.update(self.differences(row, {"ends_at": row.starts_at + length}))
        if changes:
            # Calendar clients take a change only with a higher SEQUENCE (RFC 5546).
            changes.update(sequence=(row.sequence, row.sequence + 1), updated_at=(row.updated_at, self.now))
            self.apply("meeting", subject, row, changes)
        return row

    def actions(
        self, file: shapes.File, matches: list[tuple[Action | None, int]], filed: dict[int, dict[str, Any]]
    ) -> None:
        """Create the file's new actions; of those stored, change what the file
        changed since a load last set it (`since_filed`)."""
        for action, (row, number) in zip(file.actions, matches, strict=True):
            owner = self.rows.people.get(action.owner)  # a person id, or else free text
            wanted: dict[str, Any] = {
                "what": action.what,
                "due": action.due,
                "owner_id": owner.id if owner else None,
                "owner_text": None if owner else action.owner,
            }
            if action.workstream is not None:
                wanted["workstream_id"] = self.rows.workstreams[action.workstream].id
            if action.meeting is not None:
                wanted["meeting_id"] = self.meeting_on[action.meeting].id
            if action.status is not None:
                wanted["status"] = action.status
            if row is None:
                status = action.status or "open"
                self.put(
                    "action",
                    f"A{number}",
                    None,
                    Action,
                    {
                        "number": number,
                        **wanted,
                        "status": status,
                        "done_at": self.now if status == "done" else None,
                        "created_at": self.now,
                        "updated_at": self.now,
                    },
                )
                continue
            changes = self.file_changes("action", f"A{number}", row, wanted, filed.get(number, {}))
            if "status" in changes:
                changes["done_at"] = (row.done_at, self.now if action.status == "done" else None)
            if changes:
                changes["updated_at"] = (row.updated_at, self.now)
                self.apply("action", f"A{number}", row, changes)
