"""The one bind-parameter builder of the raw SQL statements.

Invariant: the SQL text built with it only ever holds `$n` placeholders and our own identifiers and fragments; every
value goes into `values`, in placeholder order, and is never interpolated into the text. Placeholders are numbered
as they are handed out, so values given to the constructor are `$1`, `$2`, ... (a listing passes the tenant first,
making it `$1`).
"""

from __future__ import annotations

from typing import Any


class BindParams:
    """Hands out `$n` placeholders for values and collects the values; optionally gathers the conditions of a WHERE
    clause (joined with AND) that use them."""

    def __init__(self, *initial: Any) -> None:
        self.values: list[Any] = list(initial)
        self.conditions: list[str] = []

    def add(self, value: Any) -> str:
        """The placeholder of a new parameter holding `value`."""
        self.values.append(value)
        return f"${len(self.values)}"

    def where(self, condition: str) -> None:
        """Adds a condition of our own text (its values already added as placeholders)."""
        self.conditions.append(condition)

    def where_value(self, condition: str, value: object) -> None:
        """Adds `condition`, whose one `{}` becomes the placeholder of `value`; nothing at all for a None value (an
        optional filter that was not given)."""
        if value is not None:
            self.conditions.append(condition.format(self.add(value)))

    @property
    def sql(self) -> str:
        """The conditions joined with AND; TRUE when there is none, so that `WHERE {sql}` is always valid."""
        return " AND ".join(self.conditions) if self.conditions else "TRUE"
