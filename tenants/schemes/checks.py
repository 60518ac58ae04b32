"""Checks of a scheme change's plain arguments, made before any I/O (pure: no database, no framework).

A name or description longer than its column, or holding text Postgres cannot store (a NUL, an unpaired surrogate),
and an effective date outside the range events may occur in (EARLIEST_EFFECTIVE_DATE .. LATEST_EFFECTIVE_DATE) are
INVALID with the argument's name as field, never a database error. An invalid config is INVALID_CONFIG carrying every
problem, and nothing is stored.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Final

from tenants.i18n import Message, _
from tenants.rules.config import validate_scheme_config
from tenants.schemes.errors import SchemeError, SchemeErrorCode
from tenants.text import is_storable_text

MAX_NAME_LENGTH: Final = 200  # the column's length
MAX_DESCRIPTION_LENGTH: Final = 4000
# A version takes effect on a day events can occur on (the default event time range, 1970 .. 2199): its first instant
# must be an instant Postgres and every period calculation can hold in any timezone.
EARLIEST_EFFECTIVE_DATE: Final = date(1970, 1, 1)
LATEST_EFFECTIVE_DATE: Final = date(2199, 12, 31)


def _storable(text: str, field: str) -> str:
    if not is_storable_text(text):
        message = _("Text must not contain NUL characters or unpaired surrogates.")
        raise SchemeError.of(SchemeErrorCode.INVALID, message, field)
    return text


def _too_long(maximum: int) -> Message:
    return _("Use at most {maximum} characters.", maximum=maximum)


def checked_name(name: str) -> str:
    cleaned = _storable(name, "name").strip()
    if not cleaned:
        raise SchemeError.of(SchemeErrorCode.INVALID, _("A scheme needs a name."), "name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise SchemeError.of(SchemeErrorCode.INVALID, _too_long(MAX_NAME_LENGTH), "name")
    return cleaned


def checked_description(description: str) -> str:
    cleaned = _storable(description, "description").strip()
    if len(cleaned) > MAX_DESCRIPTION_LENGTH:
        raise SchemeError.of(SchemeErrorCode.INVALID, _too_long(MAX_DESCRIPTION_LENGTH), "description")
    return cleaned


def check_effective_date(effective_from: date) -> None:
    if not EARLIEST_EFFECTIVE_DATE <= effective_from <= LATEST_EFFECTIVE_DATE:
        message = _(
            "Choose a date from {earliest} to {latest}.",
            earliest=EARLIEST_EFFECTIVE_DATE.isoformat(),
            latest=LATEST_EFFECTIVE_DATE.isoformat(),
        )
        raise SchemeError.of(SchemeErrorCode.INVALID, message, "effectiveFrom")


def checked_config(config: object) -> dict[str, Any]:
    """The config as the JSON object to store, or SchemeError(INVALID_CONFIG) carrying every problem."""
    problems = validate_scheme_config(config)
    if problems:
        raise SchemeError.invalid_config(problems)
    if isinstance(config, str | bytes | bytearray):
        # valid JSON text (just validated); stored as the object it denotes. Floats are fine here: repr round-trips,
        # and the engine re-parses through repr into exact Decimals.
        config = json.loads(config)
    assert isinstance(config, dict)  # a valid config is an object
    return config
