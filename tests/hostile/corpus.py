"""Hostile input: what a careless paste, a prankster or an attacker types into a
command, a form or a partnership file. Run every parser and every command form
through it (tests/hostile/test_commands.py shows how):

    for name, text in HOSTILE.items():
        before = count_rows(db)
        reply = type_command(f"/action done {text}")
        assert_refused_cleanly(reply, before, count_rows(db))

A refusal must say what was wrong and that nothing was changed, store nothing,
fit in a Slack message, and never be the "went wrong on partnerbot's side" crash.
Where hostile text may be accepted (a reason, an action's wording), use
assert_answered_safely: accepted, or refused cleanly.
"""

from __future__ import annotations

from bot.commands.core import Reply

SLACK_TEXT_LIMIT = 4000
CRASH = "went wrong on partnerbot's side"

HOSTILE: dict[str, str] = {
    # Slack's own syntax: pings, forged mentions, disguised links.
    "channel mention": "<!channel>",
    "here mention": "<!here|here>",
    "everyone mention": "<!everyone>",
    "user mention": "<@U123>",
    "mention of a member": "<@U0FIRE001|ray>",
    "user group mention": "<!subteam^S0123ABCD|@leads>",
    "disguised link": "<https://evil.example/login|click>",
    "mailto link": "<mailto:ceo@evil.example|the chair>",
    "half a mention": "<@U0FIRE001",
    "escaped mention": "&lt;!channel&gt;",
    "ampersand": "Police & Fire",
    # mrkdwn that could restyle a reply or break out of its code spans.
    "bold": "*bold*",
    "italic and strike": "_it_ ~gone~",
    "code span": "`x`",
    "code block": "```\nrm -rf /\n```",
    "quote": "> the board agreed",
    "bullet": "• forged line",
    # Characters that hide or reorder text.
    "zero-width space": "21\u200bApr",
    "zero-width joiner": "A\u200d12",
    "byte order mark": "\ufeff21/04/2015",
    "right-to-left override": "\u202etxt.exe",
    "right-to-left isolate": "\u2067A12\u2069",
    "soft hyphen": "A\u00ad12",
    "non-breaking space": "21\u00a0Apr",
    "line separator": "one\u2028two",
    "combining marks": "A" + "\u0301" * 300,
    # Control characters.
    "NUL": "\x00",
    "NUL inside a date": "21/04/2015\x00",
    "terminal escape": "\x1b[31mred\x1b[0m",
    "bell and backspace": "\x07\x08\x08",
    "carriage return": "A1\rdone",
    "delete": "\x7f",
    # Whitespace and emptiness.
    "empty": "",
    "spaces": "     ",
    "newlines": "\n\n\n",
    "tabs": "\t|\t|\t",
    # Look-alike digits and separators.
    "fullwidth digits": "\uff12\uff11/\uff10\uff14/\uff12\uff10\uff11\uff15",
    "arabic-indic digits": "\u0662\u0661/\u0660\u0664/\u0662\u0660\u0661\u0665",
    "fullwidth pipe": "a \uff5c b \uff5c c",
    # Emoji.
    "emoji": "\U0001f4c5\U0001f525\U0001f4a5",
    "family emoji": "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "flag": "\U0001f1ec\U0001f1e7",
    # Text meant for other parsers.
    "SQL": "'; DROP TABLE action; --",
    "SQL wildcards": "%_%",
    "backslashes": "\\\\'\\",
    "quotes": "\"'`\u2018\u2019\u201c\u201d",
    "format string": "{0} %s %(x)s {__class__}",
    "path": "../../etc/passwd",
    "JSON": '{"text": "<!channel>", "blocks": []}',
    "HTML": "<script>alert(1)</script>",
    "YAML tag": "!!python/object/apply:os.system ['echo pwned']",
    # Numbers and refs at and beyond every limit.
    "negative": "-1",
    "huge number": "9" * 5000,
    "huge ref": "A" + "9" * 30,
    "ref zero": "A0",
    "far future": "31/12/9999",
    "year zero": "01/01/0000",
    "impossible date": "31/02/2015",
    "pipes": "||||",
    # Size: Slack sends at most 4,000 characters of command text.
    "just under the limit": "y" * 3990,
    "over the limit": "x" * 4001,
    "many words": "word " * 900,
    "many pipes": "a|" * 2100,
}

# Partnership files no one should be able to feed partnerbot.
YAML_BOMBS: dict[str, str] = {
    "billion laughs": "\n".join(
        ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    ),
    "alias containing itself": "partnership: &p {name: *p}",
    "deep nesting": "partnership: " + "[" * 5000 + "]" * 5000,
    "deep mapping": "partnership:" + "".join(f"\n{'  ' * i}k{i}:" for i in range(1, 60)),
    "python object": "partnership: !!python/object/apply:os.system ['echo pwned']",
    "merge key loop": "a: &a {<<: *a}",
    "duplicate keys": "partnership: {name: A}\npartnership: {name: B}",
    "tab indentation": "partnership:\n\tname: x",
    "binary": "partnership: !!binary AAAA",
    "NUL": "partnership:\x00",
    "unterminated": 'partnership: {name: "x',
    "just a list": "- partnership\n- people",
    "huge key": "x" * 100_000 + ": 1",
}


def assert_refused_cleanly(reply: Reply, before: dict[str, int], after: dict[str, int]) -> None:
    """A clear refusal: says so, stores and posts nothing, fits in Slack, no crash."""
    assert not reply.ok, f"accepted: {reply.text[:300]!r}"
    assert CRASH not in reply.text, f"crashed instead of refusing: {reply.text!r}"
    assert "nothing was changed" in reply.text.lower(), f"does not say nothing changed: {reply.text[:300]!r}"
    assert len(reply.text) <= SLACK_TEXT_LIMIT, f"{len(reply.text):,} characters"
    assert not reply.posts, reply.posts
    assert after == before, {
        table: (before[table], after[table]) for table in before if before[table] != after[table]
    }


def assert_answered_safely(reply: Reply, before: dict[str, int], after: dict[str, int]) -> None:
    """Accepted (whatever it stored), or refused cleanly; never a crash."""
    assert CRASH not in reply.text, f"crashed: {reply.text!r}"
    assert len(reply.text) <= SLACK_TEXT_LIMIT, f"{len(reply.text):,} characters"
    if not reply.ok:
        assert_refused_cleanly(reply, before, after)
