"""Guessing a calendar feed's token: every wrong guess gets the same bare 404,
and the code that checks a token compares in constant time."""

from __future__ import annotations

import ast
import inspect
import random
import string

import pytest

from bot import feeds
from services import feed_tokens
from tests.calendar.conftest import feed_path, fetch, type_calendar, web  # noqa: F401  (fixtures, shared)

HEX = "0123456789abcdef"


@pytest.fixture
def my_feed(type_calendar):  # noqa: F811
    """The clerk's personal feed path, as /calendar shows it."""
    return feed_path(type_calendar("/calendar").text)


def wrong_guesses(token: str, revoked: str) -> dict[str, str]:
    chance = random.Random(16)
    flipped = [
        token[:i] + next(c for c in HEX if c != token[i]) + token[i + 1 :] for i in (0, 31, len(token) - 1)
    ]
    return {
        **{f"random {n}": "".join(chance.choice(HEX) for _ in token) for n in range(20)},
        **{
            f"random letters {n}": "".join(chance.choice(string.ascii_letters) for _ in token)
            for n in range(5)
        },
        "truncated by one": token[:-1],
        "truncated by half": token[: len(token) // 2],
        "one character more": token + "0",
        "upper case": token.upper(),
        **{f"one character changed at {i}": guess for i, guess in enumerate(flipped)},
        "revoked": revoked,
        "empty": "",
    }


def test_every_wrong_token_gets_the_same_bare_404(web, type_calendar, my_feed):  # noqa: F811
    revoked = my_feed.removeprefix("/calendar/").removesuffix(".ics")
    token = feed_path(type_calendar("/calendar reset").text).removeprefix("/calendar/").removesuffix(".ics")
    assert fetch(web, f"/calendar/{token}.ics").status_code == 200

    answers = {
        name: fetch(web, f"/calendar/{guess}.ics") for name, guess in wrong_guesses(token, revoked).items()
    }

    first = next(iter(answers.values()))
    assert first.status_code == 404 and first.content == b""
    for name, response in answers.items():
        assert (response.status_code, response.content) == (404, b""), name
        assert dict(response.headers) == dict(first.headers), name
    assert fetch(web, f"/calendar/{token}.ics").status_code == 200  # guessing locked nobody out


def test_a_token_is_compared_in_constant_time():
    """No timing test on a shared two-core machine: read the path a request takes
    instead. The feed route calls feed_tokens.find, which hashes the guess,
    looks the hash up and checks it with hmac.compare_digest."""
    route_source = inspect.getsource(feeds.answer)
    assert "feed_tokens.find(" in route_source
    find_calls = _calls(inspect.getsource(feed_tokens.find))
    assert "hash_of" in find_calls and "hmac.compare_digest" in find_calls
    assert "==" not in inspect.getsource(feed_tokens.hash_of)
    # `current` (which issues a link again) compares with compare_digest too.
    assert "hmac.compare_digest" in _calls(inspect.getsource(feed_tokens.current))


def _calls(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.strip())):
        if isinstance(node, ast.Call):
            names.add(ast.unparse(node.func))
    return names
