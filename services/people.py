"""Who is who: the person behind a Slack user, and the owner a command names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.errors import UserError
from services.text import clip
from storage.models import Person

MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$")
MENTIONS = re.compile(r"<@[UW][A-Z0-9]{2,20}(?:\|[^>]*)?>")  # anywhere in a text
MAX_OWNER_TEXT = 200


@dataclass(frozen=True)
class Who:
    """A named owner: a person in the partnership, or free text such as 'Group Leads'."""

    person: Person | None = None
    text: str | None = None

    @property
    def name(self) -> str:
        return self.person.name if self.person else (self.text or "")


def by_slack_user(session: Session, slack_user_id: str) -> Person | None:
    return session.scalar(select(Person).where(Person.slack_user_id == slack_user_id))


def by_key(session: Session, key: str) -> Person | None:
    return session.scalar(select(Person).where(Person.key == key))


# What a person types to name themselves ("| me |"): never a part of a name
# ("Me" would otherwise find Sarah Mellor).
MYSELF = frozenset({"me", "@me", "myself", "@myself"})


def by_keys(session: Session, keys: list[str]) -> dict[str, Person]:
    """The people with these ids, by id, in one query (an id no one has is left out)."""
    return {p.key: p for p in session.scalars(select(Person).where(Person.key.in_(set(keys))))}


def resolve(session: Session, text: str, *, me: Person | None = None, owning: bool = False) -> Who:
    """A Slack mention, a person id, or a unique part of a name; else free text.
    `me` is who is typing: "me" names them. `owning`: the person is to be given
    something, so one who has left the partnership is refused (and a part of a
    name means only those still in it)."""
    return _owning(_resolve(text, _Database(session), me, owning=owning), owning)


def resolve_many(
    session: Session, texts: list[str], *, me: Person | None = None, owning: bool = False
) -> dict[str, Who | UserError]:
    """Each of many owners (a pasted table's Who column) resolved as `resolve`
    would, with the people read once: a Who, or the UserError that says why not."""
    directory = _Everyone(list(session.scalars(select(Person))))
    found: dict[str, Who | UserError] = {}
    for text in dict.fromkeys(texts):
        try:
            found[text] = _owning(_resolve(text, directory, me, owning=owning), owning)
        except UserError as error:
            found[text] = error
    return found


def _owning(who: Who, owning: bool) -> Who:
    if owning and who.person is not None and who.person.left_at is not None:
        raise UserError(
            f"{who.person.name} has left the partnership (they are not in its file), so they can't "
            "be given anything: name someone else. Nothing was changed."
        )
    return who


class _Directory(Protocol):
    def by_slack_user(self, slack_user_id: str) -> Person | None: ...
    def by_key(self, key: str) -> Person | None: ...
    def by_name_part(self, text: str) -> list[Person]: ...


class _Database:
    """People looked up in the database, one question at a time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_slack_user(self, slack_user_id: str) -> Person | None:
        return by_slack_user(self.session, slack_user_id)

    def by_key(self, key: str) -> Person | None:
        return by_key(self.session, key)

    def by_name_part(self, text: str) -> list[Person]:
        return _by_name_part(self.session, text)


class _Everyone:
    """Every person, read once, for resolving many names."""

    def __init__(self, everyone: list[Person]) -> None:
        self.everyone = everyone
        self.slack = {p.slack_user_id: p for p in everyone if p.slack_user_id}
        self.keys = {p.key: p for p in everyone}

    def by_slack_user(self, slack_user_id: str) -> Person | None:
        return self.slack.get(slack_user_id)

    def by_key(self, key: str) -> Person | None:
        return self.keys.get(key)

    def by_name_part(self, text: str) -> list[Person]:
        pattern = _word_start(text)
        return [p for p in self.everyone if pattern.search(fold(p.name))]


def _resolve(text: str, people: _Directory, me: Person | None = None, *, owning: bool = False) -> Who:
    text = " ".join(text.split())
    if text.lower() in MYSELF:
        if me is None:
            raise UserError(
                "'me' means you, and you are not in the partnership file: name someone with an "
                "@mention, their id or part of their name. Nothing was changed."
            )
        return Who(person=me)
    if not text:
        raise UserError("Say who: a @mention, a person id or part of a name. Nothing was changed.")
    mention = MENTION.match(text)
    if mention:
        person = people.by_slack_user(mention.group(1))
        if person is None:
            raise UserError(
                f"<@{mention.group(1)}> is not in the partnership file, so they can't own "
                "anything yet: ask an officer to add them. Nothing was changed."
            )
        return Who(person=person)
    if len(several := MENTIONS.findall(text)) > 1:
        raise UserError(
            f"That is {len(several)} people: name one here, with an @mention, their id or part of "
            "their name. Nothing was changed."
        )
    if text.startswith("<"):
        raise UserError(
            "That looks like a channel or a link, not a person: name someone with @mention, "
            "a person id or part of their name. Nothing was changed."
        )
    if len(text) > MAX_OWNER_TEXT:
        raise UserError(
            f"An owner can be at most {MAX_OWNER_TEXT} characters "
            f"('{clip(text, 40)}' is {len(text)}). Nothing was changed."
        )
    if text.startswith("@"):
        # "@Lou" typed, not chosen from Slack's list (or in the console): a person
        # meant, by id or name; never an owner written as free text.
        meant = _resolve(text[1:], people, owning=owning)
        if meant.person is None:
            raise UserError(
                f"'{clip(text, 40)}' is no one in the partnership: name someone with an @mention chosen from "
                "Slack's list, their id or part of their name. Nothing was changed."
            )
        return meant
    person = people.by_key(text.lower())
    if person:
        return Who(person=person)
    for name in _name_forms(text):
        matches = people.by_name_part(name)
        if owning and (still := [p for p in matches if p.left_at is None]):
            matches = still  # "Ray" is the Ray still in the partnership, not one who has left
        if len(matches) == 1:
            return Who(person=matches[0])
        if len(matches) > 1:
            names = ", ".join(sorted(p.name for p in matches))
            raise UserError(
                f"'{text}' could be {names}: say which, with @mention or more of the name. "
                "Nothing was changed."
            )
    return Who(text=text)


# Ranks and titles that minutes put before a name ("CI Teresa O'Grady", "Cllr Bell",
# "GM Ray Cottam"); a name is looked up without them when it is not found with them.
_TITLE_WORDS = frozenset(
    """mr mrs ms miss mx dr prof professor rev revd sir dame lord lady cllr councillor county
    pc dc ps ds sgt sergeant di dci insp inspector ci ch chief det detective supt dsupt csupt
    superintendent acc dcc cc gm sm wm cm am cfo dcfo acfo""".split()
)
# Curly and other look-alike apostrophes, as word processors write them.
_APOSTROPHES = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'", "\u2032": "'"}
)


def fold(name: str) -> str:
    """A name as compared: lower case, one kind of apostrophe."""
    return name.translate(_APOSTROPHES).lower()


def _name_forms(text: str) -> list[str]:
    """The name as written, then without the ranks and titles before it."""
    words = text.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in _TITLE_WORDS:
        words = words[1:]
    bare = " ".join(words)
    return [text] if bare == text else [text, bare]


def _by_name_part(session: Session, text: str) -> list[Person]:
    # Match whole words at the start of a word, so "Ann" finds "Ann Smith" but not "Joanne".
    # An apostrophe of any kind matches any other: "O'Grady" finds "O’Grady".
    needle = fold(text)
    like = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("'", "_")
    candidates = session.scalars(
        select(Person).where(func.lower(Person.name).like(f"%{like}%", escape="\\"))
    ).all()
    pattern = _word_start(text)
    return [p for p in candidates if pattern.search(fold(p.name))]


def _word_start(text: str) -> re.Pattern[str]:
    return re.compile(r"(?:^|\s)" + re.escape(fold(text)))


def names(session: Session, ids: set[int]) -> dict[int, str]:
    """People's names by id, in one query."""
    if not ids:
        return {}
    return {
        pid: name for pid, name in session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))
    }
