"""Errors the domain raises with text meant for the person who typed the command."""


class UserError(Exception):
    """Something the user can fix: the message says what was wrong, what is accepted,
    and that nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(UserError):
    """The person may not make this change; the message says who may."""


class NotFound(UserError):
    """The thing named does not exist; the message lists what does."""


class FieldErrors(UserError):
    """Answers on a form that cannot be taken, by field name: a modal shows each
    message under its field; the console asks those fields again."""

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or " ".join(errors.values()) + " Nothing was saved.")
        self.errors = dict(errors)
