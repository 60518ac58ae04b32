"""One batch's items checked on their own (no database yet), and what ingestion answers.

A `Batch` takes items as they arrive (a GraphQL list, or an NDJSON import's lines); `answer` merges its own duplicates
and problems with those the database found (service.py) into an `IngestResult`. Answers keep complete counts; a
`report_limit` (the NDJSON import's) keeps only the first duplicates and problems, so an import of any size holds a
bounded answer. Problems are `ItemProblem`s (errors.py: a code, the item's index, an i18n message that each entry point
renders in its reader's language).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tenants.errors import Problem
from tenants.events.checks import check_item, check_semantics, conflict_problem, sent_difference
from tenants.events.contract import EVENT_TIME_MAX, EVENT_TIME_MIN, CheckedEvent, restore_event
from tenants.events.errors import EventErrorCode, ItemProblem
from tenants.events.fast import check_fast_json
from tenants.events.problems import problem_from_validation
from tenants.i18n import Message


@dataclass(frozen=True)
class Duplicate:
    index: int
    external_id: str


class IngestResult:
    """What ingestion did: complete counts, and the duplicates and problems in index order (with a `report_limit`,
    only the first that many of each)."""

    __slots__ = (
        "accepted",
        "customers_created",
        "duplicate_count",
        "duplicates",
        "rejected",
        "rejected_count",
        "report_limit",
    )

    def __init__(self, report_limit: int | None = None) -> None:
        self.accepted = 0
        # Customers created because an event named an unknown customer code (the tenant's rules allow it).
        self.customers_created = 0
        self.duplicate_count = 0
        self.rejected_count = 0
        self.duplicates: list[Duplicate] = []
        self.rejected: list[ItemProblem] = []
        self.report_limit = report_limit

    @property
    def truncated(self) -> bool:
        return self.duplicate_count > len(self.duplicates) or self.rejected_count > len(self.rejected)

    def merge(self, later: IngestResult) -> None:
        """Adds the result of a later batch (all its indexes after this one's)."""
        self.accepted += later.accepted
        self.customers_created += later.customers_created
        self.duplicate_count += later.duplicate_count
        self.rejected_count += later.rejected_count
        limit = self.report_limit
        if limit is None:
            self.duplicates.extend(later.duplicates)
            self.rejected.extend(later.rejected)
        else:
            self.duplicates.extend(later.duplicates[: max(limit - len(self.duplicates), 0)])
            self.rejected.extend(later.rejected[: max(limit - len(self.rejected), 0)])


class Batch:
    """One batch's items checked on their own (no database yet), in the caller's indexes; filled as items arrive.

    Valid items are kept once per externalId (the first); later ones are duplicates of the batch, or conflicts when
    their content differs. They are kept as plain tuples, which the garbage collector stops tracking (it does not for
    tuple subclasses such as CheckedEvent): an import holds thousands of them at a time, and tracking them made the
    collector scan the whole heap repeatedly. Duplicates and problems are counted; with a `report_limit`, only the
    first that many of each are kept. `occurredAt` must fall in [event_time_min, event_time_max).
    """

    __slots__ = (
        "_kept",
        "_seen",
        "duplicate_count",
        "duplicates",
        "event_time_max",
        "event_time_min",
        "rejected",
        "rejected_count",
        "report_limit",
    )

    def __init__(
        self,
        *,
        report_limit: int | None = None,
        event_time_min: datetime = EVENT_TIME_MIN,
        event_time_max: datetime = EVENT_TIME_MAX,
    ) -> None:
        self._kept: list[tuple[int, tuple[Any, ...]]] = []
        self.duplicates: list[Duplicate] = []
        self.rejected: list[ItemProblem] = []
        self.duplicate_count = 0
        self.rejected_count = 0
        self.report_limit = report_limit
        self.event_time_min = event_time_min
        self.event_time_max = event_time_max
        self._seen: dict[str, int] = {}  # externalId -> its position in _kept

    def __len__(self) -> int:
        return len(self._kept) + self.duplicate_count + self.rejected_count

    def __bool__(self) -> bool:
        return bool(self._kept or self.duplicate_count or self.rejected_count)

    @property
    def valid(self) -> int:
        return len(self._kept)

    @property
    def kept(self) -> list[tuple[int, tuple[Any, ...]]]:
        """The valid items, once per externalId, in arrival order: (index, the CheckedEvent's values as a plain
        tuple; `restore_event` makes it a CheckedEvent again)."""
        return self._kept

    def add(self, index: int, raw: Mapping[str, Any] | bytes | str) -> None:
        """An item as a mapping (GraphQL, the JSON contract's names) or as JSON text (an NDJSON line)."""
        checked = check_item(raw)
        if isinstance(checked, ValidationError):
            self._reject(problem_from_validation(index, checked))
        else:
            self._keep(index, checked)

    def reject(self, index: int, code: EventErrorCode, message: Message) -> None:
        """An item refused before its shape could be checked (an NDJSON line too long to read)."""
        self._reject(Problem(code, message, None, index))

    def _reject(self, problem: ItemProblem) -> None:
        self.rejected_count += 1
        if self.report_limit is None or len(self.rejected) < self.report_limit:
            self.rejected.append(problem)

    def _duplicate(self, index: int, external_id: str) -> None:
        self.duplicate_count += 1
        if self.report_limit is None or len(self.duplicates) < self.report_limit:
            self.duplicates.append(Duplicate(index, external_id))

    def add_json(self, index: int, line: bytes) -> None:
        checked = check_fast_json(line)
        if checked is None:
            self.add(index, line)
        else:
            self._keep(index, checked)

    def _keep(self, index: int, event: CheckedEvent) -> None:
        problem = check_semantics(index, event, event_time_min=self.event_time_min, event_time_max=self.event_time_max)
        if problem is not None:
            self._reject(problem)
            return
        external_id = event.external_id
        first = self._seen.get(external_id)
        if first is None:
            self._seen[external_id] = len(self._kept)
            self._kept.append((index, tuple(event)))
            return
        kept = self._kept[first][1]
        # The same line sent twice is the same tuple (attributes as the same JSON text): no need to compare content.
        same_line = event.attributes_value is None and event == kept
        difference = None if same_line else sent_difference(restore_event(kept), event)
        if difference is None:
            self._duplicate(index, external_id)
        else:
            self._reject(conflict_problem(index, external_id, difference))


def answer(batch: Batch, written: IngestResult | None) -> IngestResult:
    """The batch's own duplicates and problems with those of the database, in index order (the first ones only,
    with a limit: the first of each kind are among the first of each side)."""
    result = IngestResult(batch.report_limit)
    result.duplicate_count = batch.duplicate_count
    result.rejected_count = batch.rejected_count
    duplicates, rejected = batch.duplicates, batch.rejected
    if written is not None:
        result.accepted = written.accepted
        result.customers_created = written.customers_created
        result.duplicate_count += written.duplicate_count
        result.rejected_count += written.rejected_count
        duplicates = sorted(duplicates + written.duplicates, key=lambda duplicate: duplicate.index)
        rejected = sorted(rejected + written.rejected, key=item_index)
    limit = batch.report_limit
    result.duplicates = duplicates[:limit] if limit is not None else list(duplicates)
    result.rejected = rejected[:limit] if limit is not None else list(rejected)
    return result


def item_index(problem: ItemProblem) -> int:
    index = problem.index
    if index is None:  # every problem of a batch is made with its item's index
        raise ValueError(f"an event problem without an index: {problem.code}")
    return index
