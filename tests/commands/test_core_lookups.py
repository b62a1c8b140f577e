"""The command core remembers the partnership and who is typing between
commands, and forgets them the moment the partnership file is loaded again."""

from __future__ import annotations

import threading

from bot.commands import COMMANDS
from bot.commands.core import run
from storage.partnership_file import load, read_file
from storage.session import transaction
from tests.conftest import DEMO_FILE
from tests.statements import counting


class Shown:
    """A reply as a person sees it: its text and its sections."""

    def __init__(self, reply) -> None:
        self.ok = reply.ok
        self.text = "\n".join([reply.text, *(section.text for section in reply.sections)])


def typed_in_slack(demo, clock, slack_user_id: str, line: str) -> Shown:
    name, _, text = line.partition(" ")
    return Shown(run(COMMANDS[name], text, sessions=demo, clock=clock, slack_user_id=slack_user_id))


def reload_demo_with(demo, clock, change) -> None:
    data = read_file(DEMO_FILE)
    clerk = next(person for person in data["people"] if person["id"] == "clerk")
    change(clerk)
    with transaction(demo) as session:
        load(session, data, now=clock.now())


def statements_of(engine, typed) -> tuple[Shown, list[str]]:
    """What `typed()` shows, and the statements it ran (PostgreSQL's BEGIN, which
    carries the request's lock wait, left out)."""
    with counting(engine) as statements:
        shown = typed()
    return shown, [s for s in statements if not s.startswith("BEGIN")]


def test_a_renamed_member_is_seen_by_the_next_command(demo, clock):
    before = typed_in_slack(demo, clock, "U0CLERK01", "/action list")
    assert "Jess Marland" in before.text

    reload_demo_with(demo, clock, lambda clerk: clerk.update(name="Jess Marland-Evans"))

    after = typed_in_slack(demo, clock, "U0CLERK01", "/action list")
    assert "Jess Marland-Evans" in after.text


def test_a_member_whose_slack_account_changed_is_known_by_the_new_one_only(demo, clock):
    assert typed_in_slack(demo, clock, "U0CLERK01", "/action list").ok
    assert "not in the partnership file" in typed_in_slack(demo, clock, "U0CLERK02", "/action list").text

    reload_demo_with(demo, clock, lambda clerk: clerk.update(slack="U0CLERK02"))

    assert "not in the partnership file" in typed_in_slack(demo, clock, "U0CLERK01", "/action list").text
    assert "Jess Marland" in typed_in_slack(demo, clock, "U0CLERK02", "/action list").text


def test_commands_by_several_people_in_turn_each_act_as_themselves(demo, clock):
    for _ in range(2):  # the second round comes from memory
        mine = typed_in_slack(demo, clock, "U0CLERK01", "/action list")
        theirs = typed_in_slack(demo, clock, "U0FIRE001", "/action list")
        assert mine.text != theirs.text
        assert "Jess Marland" in mine.text and "Jess Marland" not in theirs.text


def test_a_second_command_asks_the_database_only_for_what_it_lists(engine, demo, clock):
    typed_in_slack(demo, clock, "U0CLERK01", "/action list")  # the first finds who is typing
    reply, statements = statements_of(
        engine, lambda: typed_in_slack(demo, clock, "U0CLERK01", "/action list")
    )
    assert "Your open actions" in reply.text
    # How many there are, and the first of them: nothing about who is typing.
    assert len(statements) == 2 and all("FROM action" in statement for statement in statements)
    assert not any("JOIN" in statement for statement in statements)  # the owner is already known


def reload_demo_changing_group(demo, clock, change) -> None:
    data = read_file(DEMO_FILE)
    change(next(group for group in data["groups"] if group["slug"] == "board"))
    with transaction(demo) as session:
        load(session, data, now=clock.now())


def typed_in_channel(demo, clock, slack_user_id: str, channel: str, line: str) -> Shown:
    name, _, text = line.partition(" ")
    return Shown(
        run(COMMANDS[name], text, sessions=demo, clock=clock, slack_user_id=slack_user_id, channel_id=channel)
    )


def test_a_member_made_an_officer_may_publish_at_the_next_command(demo, clock):
    refused = typed_in_channel(demo, clock, "U0FIRE001", "CBOARD001", "/agenda publish")
    assert not refused.ok and "Only the officers" in refused.text

    def promote(board) -> None:
        for member in board["members"]:
            if member["person"] == "fire":
                member["role"] = "officer"

    reload_demo_changing_group(demo, clock, promote)
    published = typed_in_channel(demo, clock, "U0FIRE001", "CBOARD001", "/agenda publish")
    assert "Only the officers" not in published.text


def test_a_group_moved_to_another_channel_is_found_there_at_the_next_command(demo, clock):
    # The programme manager is in the Implementation Group only: outside a group's
    # channel, /meeting next shows their own group's.
    before = typed_in_channel(demo, clock, "U0PROG001", "CBOARD002", "/meeting next")
    assert "Implementation Group" in before.text
    reload_demo_changing_group(demo, clock, lambda board: board.update(channel="CBOARD002"))
    after = typed_in_channel(demo, clock, "U0PROG001", "CBOARD002", "/meeting next")
    assert "Chorley Public Service Reform Board" in after.text
    old = typed_in_channel(demo, clock, "U0PROG001", "CBOARD001", "/meeting next")
    assert "Implementation Group" in old.text


def test_a_second_command_asks_nothing_about_groups_or_roles(engine, demo, clock):
    typed_in_slack(demo, clock, "U0CLERK01", "/meeting next")
    reply, statements = statements_of(
        engine, lambda: typed_in_slack(demo, clock, "U0CLERK01", "/meeting next")
    )
    assert "Next meeting" in reply.text
    assert not any('FROM "group"' in s or "FROM membership" in s for s in statements), statements


def test_a_command_refused_and_rolled_back_leaves_the_next_one_knowing_who_is_typing(engine, demo, clock):
    typed_in_slack(demo, clock, "U0CLERK01", "/action list")
    assert not typed_in_slack(demo, clock, "U0CLERK01", "/action done A99999").ok
    reply, statements = statements_of(
        engine, lambda: typed_in_slack(demo, clock, "U0CLERK01", "/action list")
    )
    assert "Your open actions" in reply.text and "Jess Marland" in reply.text
    # Who is typing stays out of every command's session: the rollback left it as it was.
    assert not any("FROM person" in s for s in statements), statements


def test_who_a_refused_command_looked_up_first_is_asked_again_by_the_next(engine, demo, clock):
    seen = []

    def first_commands_of_a_thread() -> None:  # a new thread knows nobody yet
        assert not typed_in_slack(demo, clock, "U0CLERK01", "/action done A99999").ok
        seen.append(statements_of(engine, lambda: typed_in_slack(demo, clock, "U0CLERK01", "/action list")))

    thread = threading.Thread(target=first_commands_of_a_thread)
    thread.start()
    thread.join()
    [(reply, statements)] = seen
    assert "Jess Marland" in reply.text
    # The rollback expired the copy the refused command loaded: asked again, once.
    assert sum("FROM person" in s for s in statements) == 1, statements


def test_commands_in_several_threads_at_once_each_act_as_their_own_person(demo, clock):
    people = {"U0CLERK01": "Jess Marland", "U0FIRE001": "Ray Cottam"}
    failures: list[str] = []

    def typing(slack_user_id: str) -> None:
        for _ in range(20):
            shown = typed_in_slack(demo, clock, slack_user_id, "/action list")
            others = [name for who, name in people.items() if who != slack_user_id and name in shown.text]
            if not shown.ok or others:
                failures.append(shown.text)

    threads = [threading.Thread(target=typing, args=(who,)) for who in people for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_lookup_in_a_second_session_open_at_once_takes_no_row_of_the_first(demo, clock):
    from services import directory

    with demo() as first, demo() as second:
        _, mine = directory.lookup(first, slack_user_id="U0CLERK01")
        _, again = directory.lookup(second, slack_user_id="U0CLERK01")
        assert mine is not None and again is not None
        assert mine not in second and again not in first
        assert again.name == mine.name == "Jess Marland"
