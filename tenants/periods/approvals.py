"""Statement approval: an admin approves a closed period's statements (locked for payroll) or reopens them.

Invariant: the ledger lines of an approved period (its statement) never change. A late change re-closes it as usual
(a new scorecard revision), but close.py posts the money delta into the statement of the next period that is not
approved, each line labelled with the period and revision it corrects (prior.py). Reopening lifts the lock (audited,
with a reason): the next re-close posts into the period itself again.

The approval state is on the period row (approved_at / approved_by_user_id / approved_revision, and the last reopening:
reopened_at / reopened_by_user_id / reopen_reason); `approval_of(period)` reads it, `read_approval` finds it by
scheme and key. Approving and reopening lock the period row (FOR UPDATE), as a close does, so an approval never
interleaves with a close or a dispute's adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.audit.service import Actor, record
from tenants.db.uow import tenant_unit_of_work
from tenants.i18n import _
from tenants.periods import repository
from tenants.periods.errors import ApprovalError, ApprovalErrorCode, shown
from tenants.periods.models import Period
from tenants.tenancy.identity import TenantId
from tenants.text import is_storable_text

MAX_REASON_LENGTH: Final = 1000
MAX_KEY_LENGTH: Final = 16  # period.key's column
NO_SUCH_SCHEME = _("No such scheme.")


class ApprovalState(StrEnum):
    """NOT_APPROVED: never approved; APPROVED: locked for payroll; REOPENED: approved once, the lock lifted since."""

    NOT_APPROVED = "NOT_APPROVED"
    APPROVED = "APPROVED"
    REOPENED = "REOPENED"


@dataclass(frozen=True, slots=True)
class Approval:
    period_id: int
    period_key: str
    period_state: str
    revision: int  # the period's current revision
    state: ApprovalState
    approved_at: datetime | None
    approved_by_user_id: int | None
    approved_revision: int | None
    reopened_at: datetime | None
    reopened_by_user_id: int | None
    reopen_reason: str | None

    @property
    def locked(self) -> bool:
        return self.state is ApprovalState.APPROVED


def approval_of(period: Period) -> Approval:
    if period.approved_at is not None:
        state = ApprovalState.APPROVED
    elif period.reopened_at is not None:
        state = ApprovalState.REOPENED
    else:
        state = ApprovalState.NOT_APPROVED
    return Approval(
        period_id=period.id,
        period_key=period.key,
        period_state=period.state,
        revision=period.revision,
        state=state,
        approved_at=period.approved_at,
        approved_by_user_id=period.approved_by_user_id,
        approved_revision=period.approved_revision,
        reopened_at=period.reopened_at,
        reopened_by_user_id=period.reopened_by_user_id,
        reopen_reason=period.reopen_reason,
    )


def _can_be_key(key: str) -> bool:
    """Whether a period row could have this key (short storable text): any other key is simply not found, never sent
    to the database."""
    return len(key) <= MAX_KEY_LENGTH and is_storable_text(key)


async def approval_in(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str) -> Approval | None:
    """The approval of a period of the scheme, in the caller's unit of work (None: no such period row yet)."""
    if not _can_be_key(key):
        return None
    period = await repository.find_period(conn, tenant_id, scheme_id, key)
    return approval_of(period) if period is not None else None


async def read_approval(tenant_id: TenantId, scheme_id: int, key: str) -> Approval | None:
    """The approval of a period of the scheme (None: the tenant has no such period)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        return await approval_in(conn, tenant_id, scheme_id, key)


def _snapshot(approval: Approval) -> dict[str, object]:
    return {
        "period": approval.period_key,
        "state": approval.state.value,
        "revision": approval.revision,
        "approved_revision": approval.approved_revision,
        "reopen_reason": approval.reopen_reason,
    }


async def _locked_period(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str) -> Period:
    if not await repository.scheme_exists(conn, tenant_id, scheme_id):
        raise ApprovalError.of(ApprovalErrorCode.SCHEME_NOT_FOUND, NO_SUCH_SCHEME, "schemeId")
    found = await repository.period_for_update(conn, tenant_id, scheme_id, key) if _can_be_key(key) else None
    if found is None:
        raise ApprovalError.of(
            ApprovalErrorCode.PERIOD_NOT_FOUND,
            _("Period “{period}” has no statements yet.", period=shown(key)),
            "period",
        )
    return found


async def approve_statements(tenant_id: TenantId, actor: Actor, scheme_id: int, key: str) -> Approval:
    """Locks the statements of a closed period for payroll (its current revision). A period that is open, closing or
    stale (late events wait for a re-close) cannot be approved: PERIOD_NOT_CLOSED."""
    async with tenant_unit_of_work(tenant_id) as conn:
        period = await _locked_period(conn, tenant_id, scheme_id, key)
        before = approval_of(period)
        if before.locked:
            raise ApprovalError.of(
                ApprovalErrorCode.ALREADY_APPROVED,
                _("The statements of “{period}” are already approved.", period=shown(key)),
                "period",
            )
        if period.state != "closed" or period.revision < 1:
            raise ApprovalError.of(
                ApprovalErrorCode.PERIOD_NOT_CLOSED,
                _(
                    "Period “{period}” is {state}: only a closed period's statements can be approved.",
                    period=shown(key),
                    state=period.state,
                ),
                "period",
            )
        await repository.mark_approved(conn, tenant_id, period.id, period.revision, actor.user_id)
        after = approval_of(await repository.period_for_update(conn, tenant_id, scheme_id, key) or period)
        await record(
            conn, tenant_id, actor, "statements.approve", "period", period.id, _snapshot(before), _snapshot(after)
        )
    return after


def checked_reason(reason: str) -> str:
    stripped = reason.strip()
    if not stripped or len(stripped) > MAX_REASON_LENGTH or not is_storable_text(stripped):
        raise ApprovalError.of(
            ApprovalErrorCode.INVALID_REASON,
            _("Give a reason of 1 to {max_length} characters.", max_length=MAX_REASON_LENGTH),
            "reason",
        )
    return stripped


async def reopen_statements(tenant_id: TenantId, actor: Actor, scheme_id: int, key: str, reason: str) -> Approval:
    """Lifts the approval of a period's statements (audited with the reason); later changes post into it again."""
    why = checked_reason(reason)
    async with tenant_unit_of_work(tenant_id) as conn:
        period = await _locked_period(conn, tenant_id, scheme_id, key)
        before = approval_of(period)
        if not before.locked:
            raise ApprovalError.of(
                ApprovalErrorCode.NOT_APPROVED,
                _("The statements of “{period}” are not approved.", period=shown(key)),
                "period",
            )
        await repository.mark_reopened(conn, tenant_id, period.id, actor.user_id, why)
        after = approval_of(await repository.period_for_update(conn, tenant_id, scheme_id, key) or period)
        await record(
            conn, tenant_id, actor, "statements.reopen", "period", period.id, _snapshot(before), _snapshot(after)
        )
    return after
