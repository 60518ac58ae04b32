"""The period calendar: keys, windows in the scheme's timezone, ISO week-year edges. Pure, no database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tenants.rules.calendar import (
    CalendarError,
    next_period_key,
    parse_period_key,
    period_containing,
    period_key_for,
    period_window,
    previous_period_key,
)

SHANGHAI = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("cycle", "day", "key"),
    [
        ("week", date(2026, 10, 19), "2026-W43"),  # a Monday
        ("week", date(2026, 10, 25), "2026-W43"),  # the Sunday of the same week
        ("week", date(2026, 10, 26), "2026-W44"),
        ("month", date(2026, 10, 31), "2026-10"),
        ("month", date(2026, 1, 1), "2026-01"),
        ("quarter", date(2026, 10, 1), "2026-Q4"),
        ("quarter", date(2026, 9, 30), "2026-Q3"),
        ("quarter", date(2026, 1, 1), "2026-Q1"),
        ("year", date(2026, 12, 31), "2026"),
    ],
)
def test_period_key_for(cycle: str, day: date, key: str) -> None:
    assert period_key_for(cycle, day) == key


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (date(2026, 12, 31), "2026-W53"),  # 2026 has 53 ISO weeks (it starts on a Thursday)
        (date(2027, 1, 1), "2026-W53"),  # still the ISO year 2026
        (date(2027, 1, 3), "2026-W53"),  # the Sunday ends that week
        (date(2027, 1, 4), "2027-W01"),
        (date(2024, 12, 30), "2025-W01"),  # the other way round: December days in next year's week 1
        (date(2025, 12, 28), "2025-W52"),  # 2025 has only 52 weeks
    ],
)
def test_iso_week_year_edges(day: date, key: str) -> None:
    assert period_key_for("week", day) == key


def test_week_53_window_spans_the_new_year() -> None:
    assert parse_period_key("week", "2026-W53") == (date(2026, 12, 28), date(2027, 1, 4))
    assert next_period_key("week", "2026-W53") == "2027-W01"
    assert previous_period_key("week", "2027-W01") == "2026-W53"
    assert previous_period_key("week", "2026-W01") == "2025-W52"


def test_an_instant_belongs_to_the_local_period_not_the_utc_one() -> None:
    # DESIGN.md: 2026-11-01 00:10 in Shanghai is in 2026-11 although it is still October in UTC
    instant = datetime(2026, 11, 1, 0, 10, tzinfo=ZoneInfo(SHANGHAI))
    assert instant.astimezone(UTC).month == 10
    assert period_containing("month", instant, SHANGHAI) == "2026-11"
    assert period_containing("month", instant, "UTC") == "2026-10"
    assert period_containing("quarter", instant, SHANGHAI) == "2026-Q4"
    start, end = period_window("month", "2026-11", SHANGHAI)
    assert start <= instant < end
    assert period_containing("month", start, SHANGHAI) == "2026-11"
    assert period_containing("month", start - timedelta(microseconds=1), SHANGHAI) == "2026-10"


def test_windows_are_local_midnights_in_utc() -> None:
    start, end = period_window("month", "2026-10", SHANGHAI)
    assert (start, end) == (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))
    assert start.utcoffset() == timedelta(0)
    assert period_window("week", "2026-W43", "UTC") == (
        datetime(2026, 10, 19, tzinfo=UTC),  # Monday
        datetime(2026, 10, 26, tzinfo=UTC),
    )
    assert period_window("quarter", "2026-Q4", SHANGHAI) == (
        datetime(2026, 9, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )
    assert period_window("year", "2026", SHANGHAI) == (
        datetime(2025, 12, 31, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )


def test_windows_follow_daylight_saving() -> None:
    # New York leaves DST on 2026-11-01: October starts at -04:00 and November ends at -05:00, so the windows are not
    # whole multiples of 24 hours; a fixed offset would be an hour off on one side
    start, end = period_window("month", "2026-10", "America/New_York")
    assert start == datetime(2026, 10, 1, 4, tzinfo=UTC)
    assert end == datetime(2026, 11, 1, 4, tzinfo=UTC)
    november = period_window("month", "2026-11", "America/New_York")
    assert november == (datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC))
    # an instant compared across the change: 2026-11-01 00:30 EDT is November, 2026-10-31 23:30 EDT is October
    assert period_containing("month", datetime(2026, 11, 1, 4, 30, tzinfo=UTC), "America/New_York") == "2026-11"
    assert period_containing("month", datetime(2026, 11, 1, 3, 30, tzinfo=UTC), "America/New_York") == "2026-10"


def test_consecutive_windows_tile_time() -> None:
    for cycle, key in (("week", "2026-W52"), ("month", "2026-12"), ("quarter", "2026-Q4"), ("year", "2026")):
        _, end = period_window(cycle, key, SHANGHAI)
        following = next_period_key(cycle, key)
        next_start, _ = period_window(cycle, following, SHANGHAI)
        assert end == next_start, (cycle, key)
        assert previous_period_key(cycle, following) == key


@pytest.mark.parametrize(
    ("cycle", "key", "previous"),
    [
        ("month", "2026-01", "2025-12"),
        ("quarter", "2026-Q1", "2025-Q4"),
        ("year", "2026", "2025"),
        ("week", "2026-W43", "2026-W42"),
    ],
)
def test_previous_period_key(cycle: str, key: str, previous: str) -> None:
    assert previous_period_key(cycle, key) == previous


def test_instants_in_any_offset_are_accepted() -> None:
    instant = datetime(2026, 10, 31, 17, 0, tzinfo=timezone(timedelta(hours=1)))  # 16:00 UTC = 00:00 Shanghai
    assert period_containing("month", instant, SHANGHAI) == "2026-11"


@pytest.mark.parametrize(
    ("cycle", "key"),
    [
        ("month", "2026-13"),
        ("month", "2026-00"),
        ("month", "2026-1"),
        ("month", "2026/10"),
        ("month", "2026-10\n"),
        ("month", "２０２６-10"),  # full-width digits
        ("month", "2026-W43"),  # a key of another cycle
        ("week", "2025-W53"),  # 2025 has 52 ISO weeks
        ("week", "2026-W00"),
        ("week", "2026-W54"),
        ("week", "2026-43"),
        ("quarter", "2026-Q5"),
        ("quarter", "2026-Q0"),
        ("quarter", "2026-4"),
        ("year", "26"),
        ("year", "0999"),
        ("year", ""),
    ],
)
def test_bad_keys_are_a_clear_value_error(cycle: str, key: str) -> None:
    expected = r"period key|no week|month|out of range"
    with pytest.raises(ValueError, match=expected):
        parse_period_key(cycle, key)
    with pytest.raises(ValueError, match=expected):  # and every function built on it refuses the key the same way
        period_window(cycle, key, SHANGHAI)
    with pytest.raises(ValueError, match=expected):
        previous_period_key(cycle, key)


def test_bad_cycle_timezone_and_naive_instant() -> None:
    with pytest.raises(ValueError, match="Unknown cycle 'day'"):
        period_key_for("day", date(2026, 1, 1))
    with pytest.raises(ValueError, match="Unknown timezone"):
        period_window("month", "2026-10", "Mars/Olympus")
    with pytest.raises(ValueError, match="aware"):
        period_containing("month", datetime(2026, 10, 1), SHANGHAI)  # noqa: DTZ001 - naive on purpose
    with pytest.raises(TypeError):
        period_key_for("month", datetime(2026, 10, 1, tzinfo=UTC))


def test_edges_of_the_supported_years() -> None:
    with pytest.raises(ValueError, match="out of range"):
        next_period_key("year", "9998")
    with pytest.raises(ValueError, match="out of range"):
        previous_period_key("month", "1000-01")
    assert next_period_key("month", "9998-11") == "9998-12"


@pytest.mark.parametrize(
    ("call", "english", "chinese"),
    [
        (
            lambda: parse_period_key("month", "2026-13"),
            "'2026-13': month 13 is not between 01 and 12",
            "'2026-13'：月份 13 不在 01 到 12 之间",
        ),
        (
            lambda: parse_period_key("quarter", "2026-10"),
            "'2026-10' is not a quarter period key; expected the form 2026-Q4",
            "'2026-10' 不是有效的季度考核周期，格式应如 2026-Q4",
        ),
        (
            lambda: period_window("month", "2026-10", "Mars/Olympus"),
            "Unknown timezone 'Mars/Olympus'",
            "未知时区 'Mars/Olympus'",
        ),
        (
            lambda: previous_period_key("month", "1000-01"),
            "'0999-12': year 999 is out of range (1000..9998)",
            "'0999-12'：年份 999 超出范围（1000..9998）",
        ),
    ],
)
def test_unusable_keys_say_why_in_the_readers_language(call: Callable[[], object], english: str, chinese: str) -> None:
    # a close reports these to people (BAD_PERIOD): the message is a template, still a ValueError for callers
    with pytest.raises(CalendarError) as raised:
        call()
    assert isinstance(raised.value, ValueError) and str(raised.value) == english
    assert raised.value.message.render("zh-CN") == chinese


def test_a_pasted_blob_as_key_is_quoted_briefly() -> None:
    with pytest.raises(CalendarError) as raised:
        parse_period_key("month", "\x00" + "9" * 100_000)
    assert all(len(raised.value.message.render(locale)) < 120 for locale in ("en", "zh-CN"))
    assert "\x00" not in str(raised.value)
