"""What a command shows, described without Slack: text, sections with buttons, and
forms. `bot/blocks/` renders these as Block Kit; the console renders them in a
terminal. A message queued in the outbox is stored as `to_payload()` of one of
these, so a scheduled nudge and a typed reply are described the same way.

Text here is raw: plain text with mrkdwn emphasis (*bold*, _italic_, `code`) and
never Slack's `<...>` link or mention syntax. The Slack edge escapes it once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ButtonStyle = Literal["primary", "danger"]
FieldKind = Literal["text", "long_text", "choice", "date"]


@dataclass(frozen=True)
class Button:
    """A button stands for a command typed by whoever presses it (`/action done A12`),
    so pressing it is checked and audited exactly like typing it. A button with a
    `form` opens that form instead; one with a `url` is a link."""

    label: str
    command: str = ""
    style: ButtonStyle | None = None
    form: str | None = None  # the name of a form to open, e.g. "action-due"
    url: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Button:
        return cls(**data)


@dataclass(frozen=True)
class Section:
    """A block of text, optionally with buttons under it (one action, one section)."""

    text: str
    buttons: tuple[Button, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": self.text}
        if self.buttons:
            payload["buttons"] = [b.to_payload() for b in self.buttons]
        return payload

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Section:
        return cls(text=data["text"], buttons=tuple(Button.from_payload(b) for b in data.get("buttons", ())))


@dataclass(frozen=True)
class Message:
    """A whole message: a headline `text` (also the notification text) and sections."""

    text: str
    sections: tuple[Section, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": self.text}
        if self.sections:
            payload["sections"] = [s.to_payload() for s in self.sections]
        return payload

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Message:
        return cls(
            text=data["text"], sections=tuple(Section.from_payload(s) for s in data.get("sections", ()))
        )


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One question on a form."""

    name: str
    label: str
    kind: FieldKind = "text"
    choices: tuple[Choice, ...] = ()
    preset: str | None = None
    optional: bool = False
    hint: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Form:
    """A form to fill in: a Slack modal, or prompts in the console. `name` picks the
    submission handler; `state` is carried through to it unchanged (e.g. a meeting id)."""

    name: str
    title: str
    fields: tuple[Field, ...]
    submit_label: str = "Save"
    state: dict[str, str] = field(default_factory=dict)
