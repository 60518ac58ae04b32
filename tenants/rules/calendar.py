"""The period calendar (考核周期): which period a moment belongs to, and each period's window. Pure, no I/O.

A period key names one instance of a cycle: ``2026-W43`` (ISO week), ``2026-10`` (month), ``2026-Q4`` (quarter),
``2026`` (year). Its window is ``[start, end)`` between two local midnights in the scheme's timezone, returned as
aware UTC datetimes: comparisons between aware datetimes that share a ``ZoneInfo`` ignore the UTC offset (Python
compares their wall clocks), which is wrong across a DST change, whereas UTC datetimes always compare as instants.

ISO weeks start on Monday and belong to the ISO year of their Thursday, so 2026-12-31 and 2027-01-01 are both in
2026-W53. An order at 2026-11-01 00:10 in Asia/Shanghai is in 2026-11 although it is still October in UTC.

A key, cycle or timezone that cannot be used raises ``CalendarError``: a ``ValueError`` (so callers that catch
ValueError keep working) whose ``message`` is an i18n ``Message`` people can read in their language; ``str()`` of it is
the English text.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tenants.i18n import Message, _
from tenants.rules.config.models import Cycle

__all__ = [
    "CYCLES",
    "CalendarError",
    "Cycle",
    "day_start",
    "next_period_key",
    "parse_period_key",
    "period_containing",
    "period_key_for",
    "period_window",
    "previous_period_key",
    "zone",
]

CYCLES: Final[frozenset[str]] = frozenset(get_args(Cycle))

# Four-digit years whose windows fit in `date` (..9999-12-31) even after a timezone shift; keys outside are refused.
MIN_YEAR: Final = 1000
MAX_YEAR: Final = 9998

# [0-9], not \d: \d also matches other scripts' digits, e.g. "２０２６-10" in full-width digits.
_KEY_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "week": re.compile(r"([0-9]{4})-W([0-9]{2})"),
    "month": re.compile(r"([0-9]{4})-([0-9]{2})"),
    "quarter": re.compile(r"([0-9]{4})-Q([1-4])"),
    "year": re.compile(r"([0-9]{4})"),
}
_KEY_EXAMPLES: Final[dict[str, str]] = {"week": "2026-W43", "month": "2026-10", "quarter": "2026-Q4", "year": "2026"}


class CalendarError(ValueError):
    """A period key, cycle or timezone that cannot be used; ``message`` says why, for people."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


def _shown(value: object, limit: int = 40) -> str:
    """A caller's value quoted for a message: escaped by repr (no NUL or surrogate survives) and cut to ``limit``."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _check_cycle(cycle: str) -> None:
    if cycle not in CYCLES:
        message = _(
            "Unknown cycle {cycle}; expected one of {expected}", cycle=_shown(cycle), expected=", ".join(sorted(CYCLES))
        )
        raise CalendarError(message)


def zone(timezone: str | ZoneInfo) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ValueError (not the KeyError subclass zoneinfo raises) when unknown."""
    if isinstance(timezone, ZoneInfo):
        return timezone
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CalendarError(_("Unknown timezone {zone}", zone=_shown(timezone))) from error


def period_key_for(cycle: str, local_date: date) -> str:
    """The key of the period that contains ``local_date`` (a calendar date in the scheme's timezone)."""
    _check_cycle(cycle)
    if isinstance(local_date, datetime):
        # a datetime is a date subclass; silently taking its date would ignore its timezone
        raise TypeError("period_key_for takes a local date; use period_containing for an instant")
    if cycle == "week":
        iso = local_date.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if cycle == "month":
        return f"{local_date.year:04d}-{local_date.month:02d}"
    if cycle == "quarter":
        return f"{local_date.year:04d}-Q{(local_date.month - 1) // 3 + 1}"
    return f"{local_date.year:04d}"


def parse_period_key(cycle: str, key: str) -> tuple[date, date]:
    """The local dates ``[first day, first day of the next period)`` of ``key``; ValueError for a malformed key."""
    _check_cycle(cycle)
    match = _KEY_PATTERNS[cycle].fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise CalendarError(_not_a_key(cycle, _shown(key), _KEY_EXAMPLES[cycle]))
    year = int(match.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        message = _(
            "{key}: year {year} is out of range ({earliest}..{latest})",
            key=_shown(key),
            year=year,
            earliest=MIN_YEAR,
            latest=MAX_YEAR,
        )
        raise CalendarError(message)
    if cycle == "week":
        week = int(match.group(2))
        try:
            # raises for week 0, week 54+, and week 53 of a year that has only 52 ISO weeks
            first = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise CalendarError(
                _("{key}: ISO year {year} has no week {week}", key=_shown(key), year=year, week=week)
            ) from None
        return first, first + timedelta(days=7)
    if cycle == "month":
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise CalendarError(_("{key}: month {month} is not between 01 and 12", key=_shown(key), month=month))
        return date(year, month, 1), _add_months(year, month, 1)
    if cycle == "quarter":
        first_month = (int(match.group(2)) - 1) * 3 + 1
        return date(year, first_month, 1), _add_months(year, first_month, 3)
    return date(year, 1, 1), date(year + 1, 1, 1)


def _not_a_key(cycle: str, key: str, example: str) -> Message:
    # one template per cycle: the cycle's name is a word to translate, not a value
    if cycle == "week":
        return _("{key} is not a week period key; expected the form {example}", key=key, example=example)
    if cycle == "month":
        return _("{key} is not a month period key; expected the form {example}", key=key, example=example)
    if cycle == "quarter":
        return _("{key} is not a quarter period key; expected the form {example}", key=key, example=example)
    return _("{key} is not a year period key; expected the form {example}", key=key, example=example)


def _add_months(year: int, month: int, months: int) -> date:
    index = year * 12 + (month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    # fold=0: in a DST gap at midnight this maps to the instant the gap starts (the first moment of that day), and for
    # a repeated midnight it picks the first occurrence, the earlier one; either way the day's first instant.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def period_window(cycle: str, key: str, timezone: str | ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the period as aware UTC datetimes: local midnights in ``timezone``."""
    tz = zone(timezone)
    first, after = parse_period_key(cycle, key)
    return _local_midnight(first, tz), _local_midnight(after, tz)


def day_start(day: date, timezone: str | ZoneInfo) -> datetime:
    """The first instant of a local calendar day (e.g. an effective-from date) as an aware UTC datetime."""
    return _local_midnight(day, zone(timezone))


def period_containing(cycle: str, instant: datetime, timezone: str | ZoneInfo) -> str:
    """The key of the period that contains ``instant`` (an aware datetime), judged on the local calendar."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("period_containing needs an aware datetime; a naive one has no place in time")
    return period_key_for(cycle, instant.astimezone(zone(timezone)).date())


def previous_period_key(cycle: str, key: str) -> str:
    first, _ = parse_period_key(cycle, key)
    previous = period_key_for(cycle, first - timedelta(days=1))
    parse_period_key(cycle, previous)  # at the edge of the supported years: the same clear ValueError
    return previous


def next_period_key(cycle: str, key: str) -> str:
    _, after = parse_period_key(cycle, key)
    following = period_key_for(cycle, after)
    parse_period_key(cycle, following)
    return following
