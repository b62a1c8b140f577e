"""The slash commands, by name: the one list both front ends serve."""

from bot.commands import action, apologies, coming, meeting, update
from bot.commands.core import Command

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        apologies.COMMAND,
        update.COMMAND,
        action.COMMAND,
        meeting.COMMAND,
        coming.AGENDA,
        coming.CALENDAR,
        coming.DIGEST,
    )
}
