"""Every command form of /action, /apologies and /meeting, fed the hostile corpus
and fuzzed: a clear refusal that stores nothing, or an answer; never a crash,
never slow."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import FORMS
from bot.commands.core import submit
from tests.conftest import count_rows
from tests.hostile.corpus import HOSTILE, assert_answered_safely, assert_refused_cleanly

TIME_LIMIT = 2.0  # seconds for one command, on a shared two-core machine

# Forms whose slot must be a ref, a date or a known verb: hostile text there is refused.
REFUSED = [
    "/action done {}",
    "/action reopen {}",
    "/action drop {}",
    "/action due A1 {}",
    "/action due {} 1 May",
    "/action assign {} fire",
    "/action add {} | clerk",
    "/action add Book a room | clerk | {}",
    "/action {}",
    "/apologies withdraw 21 Apr {}",
    "/apologies list 21 Apr {}",
    "/meeting {}",
]
# Forms where hostile text may be accepted as what was typed (a reason, an action's
# wording, an owner kept as free text, a list scope).
ANSWERED = [
    "/action add {} | clerk | 1 May",
    "/action add Book a room | {} | 1 May",
    "/action list {}",
    "/action assign A1 {}",
    "/apologies {}",
    "/apologies 21 Apr {}",
    "/apologies withdraw {}",
    "/apologies list {}",
    "/meeting next {}",
]
# Hostile-looking, but a fair reading: a non-breaking space is a space, so "21 Apr".
READABLE = {"non-breaking space"}
PEOPLE = ["clerk", "fire", None]  # an officer, a member, a stranger
FREE_TEXT_PEOPLE = ["clerk", None]  # the officer sees reasons; the stranger is refused first

# Words that steer the fuzzer into each command's grammar.
GRAMMAR_WORDS = st.sampled_from(
    ["add", "done", "reopen", "drop", "due", "assign", "list", "all", "overdue", "mine", "withdraw", "next"]
    + ["import"]
    + ["A1", "A12", "a3", "|", "||", "21 Apr", "21/04/2015", "tomorrow", "next tuesday", "in 2 weeks"]
    + ["clerk", "fire", "<@U0FIRE001>", "<@U0NOBODY1|x>", "Group Leads", "16:00", "4pm", "joint"]
)
HOSTILE_PIECES = st.sampled_from([text[:200] for text in HOSTILE.values()])
COMMAND_TEXT = st.lists(
    st.one_of(GRAMMAR_WORDS, HOSTILE_PIECES, st.text(max_size=30)), min_size=0, max_size=8
).map(" ".join)


def timed(type_command, line: str, person: str | None):
    started = time.perf_counter()
    reply = type_command(line, person=person)
    assert time.perf_counter() - started < TIME_LIMIT, f"{line[:60]!r} took too long"
    return reply


def fill(form: str, text: str) -> str:
    return form.replace("{}", text)


@pytest.mark.parametrize("name", sorted(n for n, t in HOSTILE.items() if t.strip() and n not in READABLE))
def test_hostile_text_where_a_ref_a_date_or_a_verb_belongs_is_refused(type_command, demo, name):
    text = HOSTILE[name]  # blank text there would mean the form's default
    before = count_rows(demo)  # every form below is refused, so this stands throughout
    for form in REFUSED:
        reply = timed(type_command, fill(form, text), "clerk")
        assert_refused_cleanly(reply, before, count_rows(demo))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_where_free_text_belongs_is_kept_or_refused(type_command, demo, name):
    for form in ANSWERED:
        for person in FREE_TEXT_PEOPLE:
            before = count_rows(demo)
            reply = timed(type_command, fill(form, HOSTILE[name]), person)
            assert_answered_safely(reply, before, count_rows(demo))


def test_a_nul_is_refused_before_it_reaches_the_database(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/apologies Off sick\x00")
    assert_refused_cleanly(reply, before, count_rows(demo))
    assert "NUL character" in reply.text


def test_hostile_wording_is_stored_as_typed_and_answered(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/action add Tell <!channel> *now* \u200fevil | <@U0FIRE001|ray> | 1 May")
    assert reply.ok and "Tell <!channel> *now* \u200fevil — Ray Cottam" in reply.text
    after = count_rows(demo)
    assert after["action"] == before["action"] + 1 and after["audit_entry"] == before["audit_entry"] + 1


# Unicode's explicit embeddings (LRE, RLE), their end (PDF), overrides (LRO, RLO) and
# isolates (LRI, RLI, FSI, PDI).
DIRECTION_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("hidden", list(DIRECTION_CONTROLS))
@pytest.mark.parametrize(
    "line",
    [
        "/action add Pay the invoice {}9102 ,1 naJ eud | fire | 1 May",
        "/apologies 21 Apr Off sick{}",
        "/agenda add Depot {}disposal -- for decision",
        "/update joint-commissioning amber {}Referrals up",
        "/meeting add 7 Jul 2015 at Room{} 1",
        "/action {}list",
    ],
)
def test_a_character_that_turns_the_text_after_it_around_is_refused(type_command, demo, line, hidden):
    """Typed into an action's wording, U+202E would make the rest of that action's
    line in a post (its owner, its due date) read backwards."""
    before = count_rows(demo)
    reply = type_command(line.format(hidden), person="clerk", channel="CBOARD001")
    assert_refused_cleanly(reply, before, count_rows(demo))
    assert f"hidden character that turns the text after it around (U+{ord(hidden):04X})" in reply.text


def test_a_form_answer_that_turns_the_text_after_it_around_is_refused(demo, clock):
    before = count_rows(demo)
    reply = submit(
        FORMS["update-highlight"],
        {
            "rag": "amber",
            "progress": "Referrals up \u202e(!)",
            "issues": "",
            "risks": "",
            "next_steps": "",
            "decision_needed": "",
        },
        {"workstream": "joint-commissioning"},
        sessions=demo,
        clock=clock,
        person_key="clerk",
    )
    assert not reply.ok and count_rows(demo) == before
    assert reply.errors == {
        "progress": "Type it again without the hidden character that turns the text after it around (U+202E)."
    }


def test_a_right_to_left_mark_is_taken_as_typed(type_command, demo):
    """Pasted right-to-left text may hold one, and it reorders nothing after it."""
    reply = type_command("/action add \u05e7\u05e8\u05d0 \u200fplan | fire | 1 May")
    assert reply.ok and "\u05e7\u05e8\u05d0 \u200fplan — Ray Cottam" in reply.text


@pytest.mark.parametrize("command", ["/action", "/apologies", "/meeting"])
@settings(
    max_examples=100,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=COMMAND_TEXT, person=st.sampled_from(PEOPLE))
def test_fuzzed_command_text_is_answered_or_refused_cleanly(type_command, demo, command, text, person):
    before = count_rows(demo)
    reply = timed(type_command, f"{command} {text}", person)
    assert_answered_safely(reply, before, count_rows(demo))
