"""The console runs the schedule when its clock moves: `clock +1d` on the demo
shows that morning's nudges and posts."""

from __future__ import annotations

import io

from bot.console import Console


def test_moving_the_console_clock_a_day_shows_that_mornings_nudges_and_posts(demo, clock):
    out = io.StringIO()
    Console(sessions=demo, clock=clock, person_key="clerk", out=out).loop(
        io.StringIO("clock +1d\nclock +1d\n")
    )
    text = out.getvalue()
    first, second = text.split("The clock says Tue 14 Apr 2015, 09:00.")
    assert "▸ direct message to Ray Cottam\n    Actions to chase, Tue 14 Apr 2015: 1 overdue." in first
    assert "▸ #partnership\n    Weekly digest, Mon 13 Apr 2015" not in first  # 24 hours late: not sent
    assert (
        "▸ direct message to Jess Marland\n    Publish the agenda for the Chorley Public Service Reform Board"
        in second
    )
