"""Durations as a user writes them: 90s, 30m, 12h, 1d, 1h30m, or plain seconds."""

from __future__ import annotations

import pytest

from hpo.durations import format_duration, parse_duration
from hpo.errors import BadInput


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 30 * 60),
        ("12h", 12 * 3600),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1d2h3m4s", 86400 + 2 * 3600 + 3 * 60 + 4),
        ("2.5s", 2.5),
        (" 1H30M ", 5400),
        ("45", 45),
        ("0.5", 0.5),
        (45, 45),
        (2.5, 2.5),
    ],
)
def test_duration_in_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["12x", "", "   ", "0s", "0", 0, "-5", "1h30", "h", "30m1h", "1.5h", True]
)
def test_bad_duration_is_refused_naming_the_value(text):
    with pytest.raises(BadInput, match="bad duration") as caught:
        parse_duration(text)

    assert repr(text) in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("text", ["45s", "30m", "1h30m", "1d2h3m4s"])
def test_formatted_durations_read_back(text):
    assert format_duration(parse_duration(text)) == text
