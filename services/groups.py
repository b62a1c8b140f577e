"""Groups, membership and roles, and which group a command means."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import directory
from services.errors import PermissionDenied
from storage.models import Group, Membership, Person

OFFICER_ROLES = ("officer", "chair")


def every(session: Session) -> list[Group]:
    return list(session.scalars(select(Group).order_by(Group.id)))


def by_channel(session: Session, channel_id: str | None) -> Group | None:
    if not channel_id:
        return None
    known = directory.groups(session)
    if known is not None:
        group_id = known.by_channel.get(channel_id)
        return None if group_id is None else known.attach(session, group_id)
    return session.scalar(select(Group).where(Group.channel == channel_id))


def of_person(session: Session, person: Person) -> list[Group]:
    known = directory.groups(session)
    if known is not None:
        return [known.attach(session, group_id) for group_id in sorted(known.roles.get(person.id, {}))]
    return list(
        session.scalars(
            select(Group)
            .join(Membership, Membership.group_id == Group.id)
            .where(Membership.person_id == person.id)
            .order_by(Group.id)
        )
    )


def in_scope(session: Session, *, person: Person | None, channel_id: str | None) -> list[Group]:
    """SPEC 4, 'Which group': in a group's channel, that group; elsewhere, the
    person's groups."""
    group = by_channel(session, channel_id)
    if group is not None:
        return [group]
    if person is None:
        return []
    return of_person(session, person)


def in_scope_to_read(session: Session, *, person: Person | None, channel_id: str | None) -> list[Group]:
    """`in_scope`, for a reply that only reads the groups' own columns: the
    directory's shared copies, left out of the session (putting six groups in it
    cost more than the query that used them). Never load a relationship of one,
    change one, or link a new row to one."""
    known = directory.groups(session)
    if known is None:
        return in_scope(session, person=person, channel_id=channel_id)
    group_id = known.by_channel.get(channel_id) if channel_id else None
    if group_id is not None:
        return [known.by_id[group_id]]
    if person is None:
        return []
    return [known.by_id[i] for i in sorted(known.roles.get(person.id, {}))]


def every_to_read(session: Session) -> list[Group]:
    """`every`, as `in_scope_to_read` gives them."""
    known = directory.groups(session)
    return list(known.by_id.values()) if known is not None else every(session)


def roles_of(session: Session, person: Person) -> dict[int, str]:
    """The person's role in each of their groups, by group id."""
    known = directory.groups(session)
    if known is not None:
        return dict(known.roles.get(person.id, {}))
    rows = session.execute(
        select(Membership.group_id, Membership.role).where(Membership.person_id == person.id)
    )
    return {group_id: role for group_id, role in rows}


def is_member(session: Session, person: Person, group: Group) -> bool:
    """In the group in any role, observers included."""
    return group.id in roles_of(session, person)


def is_officer(session: Session, person: Person | None, group: Group | None = None) -> bool:
    """Officer or chair of `group`, or of any group when none is given."""
    if person is None:
        return False
    roles = roles_of(session, person)
    if group is not None:
        return roles.get(group.id) in OFFICER_ROLES
    return any(role in OFFICER_ROLES for role in roles.values())


def officers_of(session: Session, group: Group) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.group_id == group.id, Membership.role.in_(OFFICER_ROLES))
            .order_by(Person.name)
        )
    )


def all_officers(session: Session) -> list[Person]:
    """Officers and chairs of every group."""
    return list(
        session.scalars(
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.role.in_(OFFICER_ROLES))
            .distinct()
            .order_by(Person.name)
        )
    )


def people_by_role(session: Session, roles: tuple[str, ...]) -> dict[int, dict[str, list[Person]]]:
    """For every group, its members in these roles, by role, in name order: one query."""
    found: dict[int, dict[str, list[Person]]] = {}
    rows = session.execute(
        select(Membership.group_id, Membership.role, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.role.in_(roles))
        .order_by(Person.name)
    )
    for group_id, role, person in rows:
        found.setdefault(group_id, {}).setdefault(role, []).append(person)
    return found


def officer_names(session: Session, group: Group, *, or_else: str = "an officer") -> str:
    """The names of the group's officers and chair, as a refusal says whom to ask;
    `or_else` where it has none."""
    return ", ".join(p.name for p in officers_of(session, group)) or or_else


def require_officer(session: Session, person: Person | None, group: Group, doing: str) -> None:
    """Refuse unless the person is an officer or the chair of `group`, saying who may."""
    if is_officer(session, person, group):
        return
    names = officer_names(session, group, or_else="the group's officers")
    raise PermissionDenied(
        f"Only the officers and the chair of the {group.name} {doing} ({names}): ask one of them. "
        "Nothing was changed."
    )
