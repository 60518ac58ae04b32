"""Counting the SQL statements a request sends, at the driver: every asyncpg call that sends one (BEGIN, SET LOCAL,
queries, COMMIT) goes through one of the Connection methods wrapped here, whatever sent it (our repositories, the
ORM, transactions, authentication), so a per-row query cannot hide from the count.

asyncpg's own `add_query_logger` would see the same statements, but it is attached per connection and pool connections
are created inside Tortoise; wrapping the class's public methods reaches every connection of the process, including
the ones a pool opens later. Only statements sent while a `StatementCounter` is active are counted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg.connection
import pytest

# Every public method of asyncpg.Connection that sends a statement; fetchrow/fetchval/execute with arguments use the
# private _execute, not fetch, so one call is one count.
_SENDING = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany")


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.active = False

    @property
    def count(self) -> int:
        return len(self.statements)

    @contextmanager
    def counting(self) -> Iterator[StatementCounter]:
        self.statements.clear()
        self.active = True
        try:
            yield self
        finally:
            self.active = False


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> StatementCounter:
    counter = StatementCounter()
    for name in _SENDING:
        original = getattr(asyncpg.connection.Connection, name)

        def wrap(method: Any) -> Any:
            @functools.wraps(method)
            async def sending(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                if counter.active:
                    counter.statements.append(str(query).strip().split("\n", 1)[0][:120])
                return await method(self, query, *args, **kwargs)

            return sending

        monkeypatch.setattr(asyncpg.connection.Connection, name, wrap(original))
    return counter
