"""A refused file's problems, each "path: message" with the path as in the file
(`groups[0].members[3].person`), translated from pydantic's errors or found by
the checks across entries, and listed in file order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from storage.partnership_file.shapes import CONTROL_CHARACTERS, File, shown, type_name

MAX_PROBLEMS = 200
MAX_KEY_SHOWN = 60
# How problems are ordered within one entry.
UNKNOWN_KEY, BAD_VALUE, BAD_REFERENCE = range(3)
Loc = tuple[str | int, ...]
MISSING: dict[Loc, str] = {
    ("partnership",): "missing; the file needs a partnership block with at least a name"
}


@dataclass(frozen=True)
class Problem:
    loc: Loc
    message: str
    rank: int = BAD_REFERENCE


def path(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{key(part)}" if text else key(part)
    return text or "file"


def key(part: str) -> str:
    """A key as a problem quotes it: short, on one line (it may be anything a file holds)."""
    return CONTROL_CHARACTERS.sub(
        "?", part if len(part) <= MAX_KEY_SHOWN else part[: MAX_KEY_SHOWN - 3] + "..."
    )


def listed(problems: list[Problem]) -> list[str]:
    """The problems entry by entry in file order: within an entry unknown keys,
    then bad values, then bad references; at most MAX_PROBLEMS of them."""
    sections = list(File.model_fields)

    def place(problem: Problem) -> tuple[int, int, int]:
        loc = problem.loc
        section = sections.index(loc[0]) if loc and loc[0] in sections else -1  # unknown sections first
        entry = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
        return section, entry, problem.rank

    ordered = [f"{path(p.loc)}: {p.message}" for p in sorted(problems, key=place)]
    more = len(ordered) - MAX_PROBLEMS
    return ordered[:MAX_PROBLEMS] + ([f"file: and {more} more problems"] if more > 0 else [])


def from_pydantic(error: ValidationError) -> list[Problem]:
    # include_input keeps the value itself (never its repr: it may be a cycle).
    return [translated(detail) for detail in error.errors(include_url=False)]


def translated(error: ErrorDetails) -> Problem:
    loc, kind, given = tuple(error["loc"]), error["type"], error.get("input")
    if kind == "unknown":
        return Problem(loc, error["msg"], BAD_REFERENCE)
    if kind == "missing":
        return Problem(loc, MISSING.get(loc, "required"), BAD_VALUE)
    if kind == "extra_forbidden":
        cut = given is None and isinstance(loc[-1], str) and " " in loc[-1].strip()
        hint = "; if it is the end of a value cut at a comma, put that value in quotes" if cut else ""
        return Problem(loc, f"unknown key; expected one of {keys(loc[:-1])}{hint}", UNKNOWN_KEY)
    if kind == "invalid_key":
        return Problem(loc[:-1], f"keys must be text; got {shown(loc[-1])}", UNKNOWN_KEY)
    if kind == "model_type":
        return Problem(loc, f"expected a mapping with keys {keys(loc)}; got {type_name(given)}", BAD_VALUE)
    if kind == "list_type":
        return Problem(loc, f"expected a list; got {type_name(given)}", BAD_VALUE)
    if kind == "too_long":
        context = error.get("ctx", {})
        return Problem(
            loc, f"{context['actual_length']:,} entries; at most {context['max_length']:,}", BAD_VALUE
        )
    return Problem(loc, error["msg"], BAD_VALUE)  # values.py's own messages, and any pydantic has


def keys(loc: Loc) -> str:
    """The keys of the entry at `loc`."""
    model: type[BaseModel] = File
    for part in loc:
        if isinstance(part, str) and part in model.model_fields:
            model = entry_in(model.model_fields[part].annotation) or model
    return ", ".join(model.model_fields)


def entry_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, itself or in a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(entry_in, get_args(annotation))), None)
