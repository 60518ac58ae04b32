"""Expected failures of the schemes domain; the GraphQL layer maps them to ``SchemeErrors``.

One ``SchemeError`` carries every problem found, so an invalid config is reported whole (one problem per JSON path).
A config problem has ``code = INVALID_CONFIG`` and its precise ``config_code`` (a ``SchemeConfigErrorCode``): clients
branch on the first for "what went wrong" and on the second for "what is wrong with the config", and each enum stays
closed and stable on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from tenants.schemes.config import ConfigProblem, SchemeConfigErrorCode


class SchemeErrorCode(StrEnum):
    """Stable codes; never rename one."""

    INVALID = "INVALID"  # a plain input such as an empty name
    INVALID_CONFIG = "INVALID_CONFIG"  # see config_code and field (a JSON path in the config)
    NOT_FOUND = "NOT_FOUND"  # also another tenant's scheme or version
    UNKNOWN_TEMPLATE = "UNKNOWN_TEMPLATE"
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"  # a published version never changes; save a new draft instead
    PERIOD_CLOSED = "PERIOD_CLOSED"  # effective from a date inside (or before) a closed period


@dataclass(frozen=True, slots=True)
class SchemeProblem:
    code: SchemeErrorCode
    message: str
    field: str | None = None
    config_code: SchemeConfigErrorCode | None = None


class SchemeError(Exception):
    def __init__(self, problems: Iterable[SchemeProblem]) -> None:
        self.problems = list(problems)
        assert self.problems, "a SchemeError needs at least one problem"
        super().__init__("; ".join(f"{p.code}: {p.message}" for p in self.problems))

    @property
    def code(self) -> SchemeErrorCode:
        return self.problems[0].code

    @classmethod
    def of(cls, code: SchemeErrorCode, message: str, field: str | None = None) -> SchemeError:
        return cls([SchemeProblem(code, message, field)])

    @classmethod
    def invalid_config(cls, problems: Iterable[ConfigProblem]) -> SchemeError:
        return cls(
            SchemeProblem(
                SchemeErrorCode.INVALID_CONFIG,
                problem.message,
                problem.field,
                SchemeConfigErrorCode(problem.code),
            )
            for problem in problems
        )
