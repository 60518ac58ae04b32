"""Expected failures of the schemes domain; the GraphQL layer maps them to ``SchemeErrors``.

A ``SchemeError`` is the one error model's ``DomainError``: ``tenants.errors.Problem``s with a ``SchemeErrorCode``, a
translatable ``Message`` and the argument (or JSON path) they are about. It carries every problem found, so an
invalid config is reported whole (one problem per JSON path). A config problem has ``code = INVALID_CONFIG`` and, as
its ``detail``, the precise ``SchemeConfigErrorCode`` (GraphQL ``configCode``): clients branch on the first for "what
went wrong" and on the second for "what is wrong with the config", and each enum stays closed and stable on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tenants.errors import DomainError, Problem
from tenants.rules.config import ConfigProblem


class SchemeErrorCode(StrEnum):
    """Stable codes; never rename one."""

    INVALID = "INVALID"  # a plain input such as an empty name
    INVALID_CONFIG = "INVALID_CONFIG"  # see the detail (config code) and field (a JSON path in the config)
    NOT_FOUND = "NOT_FOUND"  # also another tenant's scheme or version
    UNKNOWN_TEMPLATE = "UNKNOWN_TEMPLATE"
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"  # a published version never changes; save a new draft instead
    PERIOD_CLOSED = "PERIOD_CLOSED"  # effective from a date inside (or before) a closed period


class SchemeError(DomainError[SchemeErrorCode]):
    @classmethod
    def invalid_config(cls, problems: Iterable[ConfigProblem]) -> SchemeError:
        """INVALID_CONFIG problems, one per config problem: its message and JSON path, its code as the detail."""
        return cls(
            Problem(SchemeErrorCode.INVALID_CONFIG, problem.message, problem.field, detail=problem.code)
            for problem in problems
        )
