"""Errors of closes, provisional refreshes and what-if simulations, and how a failure is kept to be read later.

A `CloseError` is a `DomainError` whose codes are `CloseErrorCode` (the SDL's `PeriodErrorCode`). A failure that is
read later (a period's `failure` column, recorded by the close; a job's status in Redis) is kept as JSON text: the
code, the field, the English template with its parameters, and the English text for people reading the database.
Keeping the template and parameters, not a rendered text, is what lets every reader get the message in their own
language, whenever they read it: the same failure shows in Chinese to a merchant and in English to a tenant that chose
English. A failure kept in the older "CODE: message" form still reads, with its English text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from tenants.errors import DomainError, Problem
from tenants.i18n import Message, _


class CloseErrorCode(StrEnum):
    SCHEME_NOT_FOUND = "SCHEME_NOT_FOUND"
    NO_VERSION = "NO_VERSION"
    BAD_PERIOD = "BAD_PERIOD"
    PERIOD_NOT_ENDED = "PERIOD_NOT_ENDED"
    # Permanent failures of a close, recorded on the period: retrying cannot fix them, changing the config can.
    CONFIG_INVALID = "CONFIG_INVALID"  # the published version no longer validates (rules tightened since)
    CONFIG_OUT_OF_RANGE = "CONFIG_OUT_OF_RANGE"  # a number of the config or the data overflows in the close
    CONFIG_TOO_LARGE = "CONFIG_TOO_LARGE"  # the config exceeds a database limit (columns, nesting)
    CLOSE_FAILED = "CLOSE_FAILED"  # anything else that is not transient (the trace is in the worker's log)
    CLOSE_INTERRUPTED = "CLOSE_INTERRUPTED"  # started again and again without finishing (worker killed, timed out)
    # Transient failures that outlasted every retry of one job; not recorded on the period (the cron tries again).
    CLOSE_UNAVAILABLE = "CLOSE_UNAVAILABLE"


PeriodProblem = Problem[CloseErrorCode]


class CloseError(DomainError[CloseErrorCode]):
    """One problem; `str()` is "CODE: English message" (logs, the console)."""

    @classmethod
    def of(cls, code: CloseErrorCode, message: Message, field: str | None = None, **extra: Any) -> CloseError:
        return cls([Problem(code, message, field, **extra)])

    @property
    def problem(self) -> PeriodProblem:
        return self.problems[0]


# Values that come from the caller (a period key may be any text up to the request's length bound): shown escaped,
# so no control character reaches a message, and cut.
_SHOWN_LIMIT: Final = 40


def shown(value: str) -> str:
    text = json.dumps(value[: _SHOWN_LIMIT + 1], ensure_ascii=False)[1:-1]
    return text if len(value) <= _SHOWN_LIMIT else f"{text[:_SHOWN_LIMIT]}…"


def scheme_not_found(field: str = "schemeId") -> CloseError:
    return CloseError.of(CloseErrorCode.SCHEME_NOT_FOUND, _("No such scheme."), field)


def version_not_found() -> CloseError:
    return CloseError.of(CloseErrorCode.NO_VERSION, _("No such version."), "versionId")


def period_not_ended(key: str) -> CloseError:
    return CloseError.of(
        CloseErrorCode.PERIOD_NOT_ENDED, _("Period “{period}” has not ended yet.", period=shown(key)), "period"
    )


# JSON keys of a kept failure.
_CODE, _FIELD, _TEMPLATE, _PARAMS, _ENGLISH = "code", "field", "template", "params", "message"


def _storable(value: Any) -> Any:
    """A parameter as JSON: a nested message keeps its template and parameters (rendered in the reader's language)."""
    if isinstance(value, Message):
        return {_TEMPLATE: value.template, _PARAMS: {name: _storable(v) for name, v in value.params.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _loaded(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {_TEMPLATE, _PARAMS} and isinstance(value[_TEMPLATE], str):
        params = value[_PARAMS] if isinstance(value[_PARAMS], dict) else {}
        return Message(value[_TEMPLATE], {str(name): _loaded(v) for name, v in params.items()})
    return value


def encode_failure(problem: PeriodProblem) -> str:
    """The JSON text kept for a failure (a period's `failure`, a job's `error`)."""
    return json.dumps(
        {
            _CODE: problem.code.value,
            _FIELD: problem.field,
            _TEMPLATE: problem.message.template,
            _PARAMS: {name: _storable(value) for name, value in problem.message.params.items()},
            _ENGLISH: str(problem.message),
        },
        ensure_ascii=False,
    )


def decode_failure(text: str | None) -> PeriodProblem | None:
    """A kept failure, from its JSON or from the older "CODE: message" text; an unknown code reads as CLOSE_FAILED
    (written by a version that had another code: still a failure, and its message says why)."""
    if not text:
        return None
    try:
        kept = json.loads(text)
    except ValueError:
        kept = None
    if isinstance(kept, dict) and isinstance(kept.get(_CODE), str) and isinstance(kept.get(_TEMPLATE), str):
        raw_params = kept.get(_PARAMS)
        params: Mapping[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        message = Message(kept[_TEMPLATE], {str(name): _loaded(value) for name, value in params.items()})
        field = kept.get(_FIELD) if isinstance(kept.get(_FIELD), str) else None
        return Problem(_known(kept[_CODE]) or CloseErrorCode.CLOSE_FAILED, message, field)
    code, _separator, english = text.partition(": ")
    known = _known(code)
    if known is None:
        return Problem(CloseErrorCode.CLOSE_FAILED, Message(text))
    return Problem(known, Message(english))


def _known(code: str) -> CloseErrorCode | None:
    try:
        return CloseErrorCode(code)
    except ValueError:
        return None


class ApprovalErrorCode(StrEnum):
    """Why approving or reopening a period's statements is refused (the SDL's `ApprovalErrorCode`)."""

    SCHEME_NOT_FOUND = "SCHEME_NOT_FOUND"
    PERIOD_NOT_FOUND = "PERIOD_NOT_FOUND"
    PERIOD_NOT_CLOSED = "PERIOD_NOT_CLOSED"
    ALREADY_APPROVED = "ALREADY_APPROVED"
    NOT_APPROVED = "NOT_APPROVED"
    INVALID_REASON = "INVALID_REASON"


class ApprovalError(DomainError[ApprovalErrorCode]):
    """One problem; nothing was changed."""

    @classmethod
    def of(cls, code: ApprovalErrorCode, message: Message, field: str | None = None, **extra: Any) -> ApprovalError:
        return cls([Problem(code, message, field, **extra)])
