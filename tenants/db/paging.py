"""Offset pages of a listing: what the caller asked (clamped) and what came back (items and the total)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int

    @classmethod
    def clamped(cls, limit: int | None, offset: int | None, maximum: int) -> PageRequest:
        """At most `maximum` items, at least one, never a negative offset."""
        return cls(limit=max(1, min(limit or DEFAULT_PAGE_SIZE, maximum)), offset=max(0, offset or 0))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int
