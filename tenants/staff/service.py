"""Master data use cases: bulk upserts keyed by the merchant's external codes, and paginated listings.

Each entry point opens one tenant unit of work and passes its connection to the repository (tenants/staff/
repository.py, every statement) and to the audit log, so a batch and its audit entry commit together. Items are checked
by pure functions first (tenants/staff/checks.py; a team batch against the stored tree: tenants/staff/tree.py):
valid items are stored even when others are refused, and each refusal is a `tenants.errors.Problem` naming its index,
a stable code (MasterDataErrorCode), the input field and a message template (rendered in the reader's language by
schema/staff/).

Semantics (documented in the GraphQL descriptions too):
- An upsert replaces every field it carries: an omitted optional field takes its default (no parent = a root team,
  no team, `active` true, no dates, no guide). `staff.user_id` is not master data and is never touched.
- A customer's guide may be any staff member of the tenant (custom roles again). `bound_since`: a given value wins;
  otherwise it keeps the stored value while the guide is unchanged and becomes now when the guide changes; it is
  cleared with the guide.
- References (parent, team, guide) are looked up only when they can be codes at all: no unstorable or over-long text
  is ever sent to the database.
- More than MAX_BATCH items: the whole batch is refused (one TOO_MANY_ITEMS problem) before the database is touched.
- A batch that stored something leaves one audit entry (naming the row's id when it stored one row, as every
  console edit does); a batch that stored nothing leaves none. Its `after` has the
  counts and codes (created, updated, rejected, created_codes, updated_codes).
- A batch of at most AUDIT_DETAIL_LIMIT items (the console always sends one) is audited with before/after images
  too: `before` = {code: the stored row, or null when the code was new} and `after.rows` = {code: the row as
  written}, for every stored code, in business fields (codes, not ids; repository.py's *_images). The before image
  is read FOR UPDATE in the batch's unit of work, so nothing changes those rows between it and the write (a code
  absent at that read can still be created first by a concurrent batch or order: its before is then null although
  it counts as updated; that creation has its own entry or event). Each image is one statement for the whole batch,
  never one per item. A bigger batch (API bulk loads, up to MAX_BATCH) keeps the counts-only entry: images of 1,000
  rows would read every row of the batch twice more and make one audit row of several hundred kilobytes, for a bulk
  sync whose rows are the merchant's own source data anyway.
- After a batch committed, the table's planner statistics are refreshed when the batch changed a large part of it
  (tenants/statistics.py), outside the tenant's transaction: the close's plan must not assume an empty table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.audit import service as audit
from tenants.audit.service import Actor
from tenants.db.codes import CodedTable, ids_by_code
from tenants.db.paging import Page, PageRequest
from tenants.db.uow import tenant_unit_of_work
from tenants.staff import repository
from tenants.staff.checks import (
    MAX_BATCH,
    Problems,
    can_be_code,
    check_codes,
    check_customer,
    check_references,
    check_staff,
    check_team,
    too_many_items,
    unknown_staff_member,
    unknown_team,
)
from tenants.staff.errors import MasterDataErrorCode as Code
from tenants.staff.records import (
    CustomerItem,
    CustomerRecord,
    StaffItem,
    StaffRecord,
    TeamItem,
    TeamRecord,
    UpsertOutcome,
)
from tenants.staff.repository import CustomerRow, Image, StaffRow, TeamRow, Written
from tenants.staff.tree import settle_team_references
from tenants.statistics import MIN_CHANGED_ROWS, AnalysedTable, refresh_statistics
from tenants.tenancy.identity import TenantId

log = structlog.get_logger("kaohe.staff")

# Batches of at most this many items are audited with before/after images of their rows (see the module docstring).
AUDIT_DETAIL_LIMIT = 100


class ImageReader(Protocol):
    """repository.team_images / staff_images / customer_images."""

    async def __call__(
        self, conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Sequence[str], *, lock: bool = False
    ) -> dict[str, Image]: ...


async def upsert_teams(tenant_id: TenantId, actor: Actor, items: Sequence[TeamItem]) -> UpsertOutcome:
    """Teams keyed by code; parents may be other items of the batch (any order) or stored teams.

    A parent that is neither (or that was refused) is UNKNOWN_PARENT; an item whose new parent would put it on a cycle
    (within the batch or through stored teams) is TEAM_CYCLE (tenants/staff/tree.py).
    """
    if len(items) > MAX_BATCH:
        return _too_many(len(items))
    problems = Problems()
    check_codes([item.code for item in items], problems)
    for index, item in enumerate(items):
        check_team(index, item, problems)
    candidates = {item.code: (index, item) for index, item in enumerate(items) if index not in problems.refused}

    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.lock_team_tree(conn, tenant_id)
        seeds = sorted(set(candidates) | {item.parent for _, item in candidates.values() if item.parent})
        stored_parent = await repository.stored_team_parents(conn, tenant_id, seeds)
        settle_team_references(candidates, stored_parent, problems)
        accepted = [item for _, item in sorted(candidates.values(), key=lambda pair: pair[0])]
        rows = [
            TeamRow(code=item.code, name=item.name.strip(), kind=item.kind, parent_code=item.parent)
            for item in accepted
        ]
        before = await _before(conn, tenant_id, repository.team_images, len(items), [row.code for row in rows])
        written = await repository.upsert_teams(conn, tenant_id, rows)
        outcome = await _finish(
            conn, tenant_id, actor, "team", written, problems, [item.code for item in items], before
        )
    await _refresh_statistics("team", outcome)
    return outcome


async def upsert_staff(tenant_id: TenantId, actor: Actor, items: Sequence[StaffItem]) -> UpsertOutcome:
    if len(items) > MAX_BATCH:
        return _too_many(len(items))
    problems = Problems()
    check_codes([item.code for item in items], problems)
    dates = [check_staff(index, item, problems) for index, item in enumerate(items)]

    async with tenant_unit_of_work(tenant_id) as conn:
        teams = await ids_by_code(conn, "team", tenant_id, _lookups(item.team for item in items))
        check_references(items, lambda item: item.team, teams, problems, Code.UNKNOWN_TEAM, "team", unknown_team)
        rows = [
            StaffRow(
                code=item.code,
                name=item.name.strip(),
                role=item.role,
                team_id=teams[item.team] if item.team is not None else None,
                active=item.active,
                hired_on=dates[index][0],
                left_on=dates[index][1],
            )
            for index, item in enumerate(items)
            if index not in problems.refused
        ]
        before = await _before(conn, tenant_id, repository.staff_images, len(items), [row.code for row in rows])
        written = await repository.upsert_staff(conn, tenant_id, rows)
        outcome = await _finish(
            conn, tenant_id, actor, "staff", written, problems, [item.code for item in items], before
        )
    await _refresh_statistics("staff", outcome)
    return outcome


async def upsert_customers(tenant_id: TenantId, actor: Actor, items: Sequence[CustomerItem]) -> UpsertOutcome:
    if len(items) > MAX_BATCH:
        return _too_many(len(items))
    problems = Problems()
    check_codes([item.code for item in items], problems)
    bound = [check_customer(index, item, problems) for index, item in enumerate(items)]

    async with tenant_unit_of_work(tenant_id) as conn:
        guides = await ids_by_code(conn, "staff", tenant_id, _lookups(item.guide for item in items))
        check_references(
            items, lambda item: item.guide, guides, problems, Code.UNKNOWN_STAFF, "guide", unknown_staff_member
        )
        rows = [
            CustomerRow(
                code=item.code,
                name=item.name.strip(),
                guide_id=guides[item.guide] if item.guide is not None else None,
                bound_since=bound[index],
            )
            for index, item in enumerate(items)
            if index not in problems.refused
        ]
        before = await _before(conn, tenant_id, repository.customer_images, len(items), [row.code for row in rows])
        written = await repository.upsert_customers(conn, tenant_id, rows)
        outcome = await _finish(
            conn, tenant_id, actor, "customer", written, problems, [item.code for item in items], before
        )
    await _refresh_statistics("customer", outcome)
    return outcome


async def list_teams(
    tenant_id: TenantId, *, parent: str | None = None, search: str | None = None, page: PageRequest
) -> Page[TeamRecord]:
    """Teams ordered by code; `parent` keeps the direct children of that team."""
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.teams_page(conn, tenant_id, parent=parent, search=search, page=page)


async def list_staff(
    tenant_id: TenantId,
    *,
    team: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    search: str | None = None,
    page: PageRequest,
) -> Page[StaffRecord]:
    """Staff ordered by code; `team` keeps the members of that team and of every team under it."""
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.staff_page(
            conn, tenant_id, team=team, role=role, active=active, search=search, page=page
        )


async def list_customers(
    tenant_id: TenantId, *, guide: str | None = None, search: str | None = None, page: PageRequest
) -> Page[CustomerRecord]:
    """Customers ordered by code; `guide` keeps the customers bound to that staff member."""
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.customers_page(conn, tenant_id, guide=guide, search=search, page=page)


def _too_many(count: int) -> UpsertOutcome:
    return UpsertOutcome(created=0, updated=0, errors=[too_many_items(count)])


def _lookups(references: Iterable[str | None]) -> set[str]:
    """The references worth looking up: what cannot be a code is not sent (it may not even be storable text); such a
    reference is then unknown, or was refused as INVALID_TEXT already."""
    return {ref for ref in references if ref is not None and can_be_code(ref)}


@dataclass(frozen=True)
class _Before:
    """The before image of a batch small enough to be audited in detail, and how to read its after image."""

    read: ImageReader
    rows: dict[str, Image]


async def _before(
    conn: BaseDBAsyncClient, tenant_id: TenantId, read: ImageReader, batch_size: int, codes: Sequence[str]
) -> _Before | None:
    """The stored rows of the codes about to be written, locked until commit; None for a batch too big to detail
    (or with nothing to write)."""
    if batch_size > AUDIT_DETAIL_LIMIT or not codes:
        return None
    return _Before(read=read, rows=await read(conn, tenant_id, codes, lock=True))


async def _finish(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    actor: Actor,
    entity: CodedTable,
    written: Sequence[Written],
    problems: Problems,
    order: Sequence[str],
    before: _Before | None,
) -> UpsertOutcome:
    """Counts, the stored codes in input order, and one audit entry for the batch (only when something was stored):
    with `before`, the rows' before and after images too (read in one statement)."""
    created = [row.code for row in written if row.inserted]
    updated = [row.code for row in written if not row.inserted]
    stored = set(created) | set(updated)
    if stored:
        after: dict[str, object] = {
            "created": len(created),
            "updated": len(updated),
            "rejected": len(problems.refused),
            "created_codes": sorted(created),
            "updated_codes": sorted(updated),
        }
        images: dict[str, Image | None] | None = None
        if before is not None:
            codes = sorted(stored)
            images = {code: before.rows.get(code) for code in codes}
            after["rows"] = await before.read(conn, tenant_id, codes)
        # a batch of one (every console edit) names its row, so the row's history is one filter away
        entity_id = (
            (await ids_by_code(conn, entity, tenant_id, stored)).get(next(iter(stored))) if len(stored) == 1 else None
        )
        await audit.record(conn, tenant_id, actor, "upsert", entity, entity_id, before=images, after=after)
    return UpsertOutcome(
        created=len(created),
        updated=len(updated),
        errors=problems.sorted(),
        codes=[code for code in order if code in stored],
    )


async def _refresh_statistics(table: AnalysedTable, outcome: UpsertOutcome) -> None:
    """After the batch committed: refresh the table's planner statistics if the batch changed a large part of it.

    The batch is stored whatever happens here, so a failure is logged (with its trace) rather than reported as a
    failed upsert: statistics only steer plans, and the next large batch (or autovacuum) refreshes them."""
    written = outcome.created + outcome.updated
    if written < MIN_CHANGED_ROWS:
        return  # never enough to matter: spare the catalogue read
    try:
        await refresh_statistics(table, written)
    except Exception:
        log.warning("planner statistics not refreshed after a bulk upsert", table=table, exc_info=True)
