"""Prior-period adjustments: where the money of a late change to an approved period goes, and how it is labelled.

An approved period's statement is locked (approvals.py). Its re-close still computes the delta (new minus everything
posted for it so far, prior-period adjustments included: repository.posted_sums), but posts it into the statement of
the next period of the scheme that is not approved (created when it has no row yet), so payroll pays it next time.
Each line says which period and revision it corrects, in its `corrects_period_id` / `corrects_revision` columns and in
its derivation. Works on the caller's connection (the close's or a dispute's unit of work).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.i18n import _
from tenants.periods import repository
from tenants.periods.errors import CloseError, CloseErrorCode
from tenants.periods.models import Period
from tenants.periods.repository import NewLine
from tenants.periods.resolution import get_or_create_period, resolve_period, version_calendar
from tenants.rules.calendar import CalendarError, period_containing
from tenants.schemes.service import pick_version_in_force
from tenants.tenancy.identity import TenantId

# Approved periods in a row that a correction may skip; beyond it the close fails visibly rather than loop.
MAX_APPROVED_AHEAD: Final = 600


def prior_period_label(corrected_key: str, revision: int) -> str:
    """The start of a prior-period adjustment's derivation: which statement it corrects."""
    return f"上期更正（{corrected_key} 修订 {revision}，该期对账单已审批）："


def labelled(lines: list[NewLine], corrected_key: str, revision: int) -> list[NewLine]:
    label = prior_period_label(corrected_key, revision)
    return [replace(line, derivation=label + line.derivation) for line in lines]


async def next_open_period(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, after: Period) -> Period:
    """The first period after `after` whose statement is not approved, locked (FOR UPDATE); created when absent.
    Each step follows the calendar of the version in force where the previous period ends."""
    cursor = after
    versions = await repository.published_versions(conn, tenant_id, scheme_id) or []
    for _step in range(MAX_APPROVED_AHEAD):
        version = pick_version_in_force(versions, cursor.ends_at)
        calendar = version_calendar(version) if version is not None else None
        if calendar is None:
            break
        try:
            key = period_containing(calendar.cycle, cursor.ends_at, calendar.timezone)
        except (CalendarError, ValueError):
            break
        resolved = await resolve_period(conn, tenant_id, scheme_id, key)
        candidate = await get_or_create_period(conn, tenant_id, scheme_id, resolved)
        if candidate.approved_at is None:
            return candidate
        cursor = candidate
    raise CloseError.of(
        CloseErrorCode.CLOSE_FAILED,
        _("No later period can take the corrections of the approved period “{period}”.", period=after.key),
        "period",
    )
