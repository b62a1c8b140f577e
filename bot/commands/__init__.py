"""The slash commands, by name: the one list both front ends serve."""

from bot.commands import (
    action,
    action_import,
    agenda,
    apologies,
    attendance,
    calendar,
    digest,
    meeting,
    update,
)
from bot.commands.core import Command, FormSpec

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        apologies.COMMAND,
        update.COMMAND,
        action.COMMAND,
        meeting.COMMAND,
        agenda.COMMAND,
        calendar.COMMAND,
        digest.COMMAND,
    )
}

#: The forms both front ends submit, by name (a Form's `name`, a modal's callback_id).
FORMS: dict[str, FormSpec] = {
    form.name: form
    for form in (apologies.FORM, attendance.FORM, *update.FORMS, action.DUE, action_import.FORM_SPEC)
}
