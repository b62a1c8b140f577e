"""manifest.yml declares what the app serves, so a new install works first time."""

import re
from pathlib import Path

import pytest
import yaml

from bot.commands import COMMANDS

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text())


def test_every_command_is_declared_escaped_and_pointed_at_the_endpoint():
    declared = {c["command"]: c for c in MANIFEST["features"]["slash_commands"]}
    assert set(declared) == set(COMMANDS)
    for command in declared.values():
        assert command["should_escape"] is True
        assert command["url"].endswith("/slack/events")


# Other words for a verb the hint names ("no actions" is "meetings").
ALIASES = {"ls", "show", "no"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_commands_usage_hint_names_every_verb_it_takes(name):
    """Slack shows the usage hint as the command is typed: every verb should be there."""
    [declared] = [c for c in MANIFEST["features"]["slash_commands"] if c["command"] == name]
    command = COMMANDS[name]
    verbs = (command.reading | (command.changing or frozenset())) - ALIASES - {""}
    hinted = set(re.findall(r"[a-z]+", declared["usage_hint"]))
    assert verbs <= hinted, sorted(verbs - hinted)
    assert "help" in hinted


def test_home_tab_interactivity_and_scopes():
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert "app_home_opened" in MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "im:write", "users:read"} <= scopes


def test_the_procfile_releases_serves_and_works():
    lines = (Path(__file__).parent.parent / "Procfile").read_text().splitlines()
    kinds = dict(line.split(": ", 1) for line in lines if line.strip())
    assert kinds == {
        "release": "partnerbot db upgrade",
        "web": "partnerbot serve --port $PORT --no-scheduler",
        "worker": "partnerbot worker",
    }
