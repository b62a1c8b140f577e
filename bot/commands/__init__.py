"""The slash commands, by name: the one list both front ends serve."""

from bot.commands import action, apologies, calendar, coming, meeting
from bot.commands.core import Command

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        apologies.COMMAND,
        coming.UPDATE,
        action.COMMAND,
        meeting.COMMAND,
        coming.AGENDA,
        calendar.COMMAND,
        coming.DIGEST,
    )
}
