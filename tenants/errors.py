"""One error model for every domain.

A `Problem` is one thing a caller can act on: a stable `code` (a member of the domain's own code enum, English,
never renamed), a `message` for people (an i18n `Message`, rendered in the reader's locale at the edge), the `field`
it is about (an input path such as "items[3].name" or a config JSON path) and, in a batch, the item's `index`.
A `DomainError` carries one or more problems (an invalid config is reported whole); every domain's errors extend it,
and schema/ maps them in one place to typed GraphQL errors whose `code` is the domain's enum.
Batches do not raise: they answer per item with the same `Problem`s, so one bad item costs only itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from tenants.i18n import Message

CodeT = TypeVar("CodeT", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Problem(Generic[CodeT]):
    code: CodeT
    message: Message
    field: str | None = None
    index: int | None = None
    # A second, finer code when a domain has one (a scheme's INVALID_CONFIG carries the config check's code).
    detail: StrEnum | None = None


class DomainError(Exception, Generic[CodeT]):
    """Expected failures: no stack trace in the logs, a typed error for the caller, nothing changed."""

    def __init__(self, problems: Iterable[Problem[CodeT]]) -> None:
        self.problems: list[Problem[CodeT]] = list(problems)
        if not self.problems:
            raise ValueError("a DomainError needs at least one problem")
        super().__init__("; ".join(f"{problem.code}: {problem.message}" for problem in self.problems))

    @classmethod
    def of(cls, code: CodeT, message: Message, field: str | None = None, **extra: Any) -> Any:
        """One problem (most errors); subclasses return their own type."""
        return cls([Problem(code, message, field, **extra)])

    @property
    def code(self) -> CodeT:
        return self.problems[0].code

    @property
    def message(self) -> Message:
        return self.problems[0].message

    @property
    def field(self) -> str | None:
        return self.problems[0].field
