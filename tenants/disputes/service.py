"""Entry points of disputes: raise (the staff member, on their own line), resolve (a manager in scope), list (scoped).

Each opens one unit of work, reads the caller's AccessScope in it (tenants/access/scope.py) and audits on the same
connection. Resolving with an adjustment posts the line, marks the dispute resolved and writes the audit row in that
one transaction: all three or none.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import AccessScope, read_access_scope
from tenants.audit.service import Actor, record
from tenants.db.paging import Page, PageRequest
from tenants.db.uow import tenant_unit_of_work
from tenants.disputes import repository
from tenants.disputes.errors import DisputeError, DisputeErrorCode
from tenants.disputes.repository import DisputedLine, DisputeView
from tenants.i18n import _
from tenants.periods import repository as periods
from tenants.periods.prior import next_open_period, prior_period_label
from tenants.periods.repository import NewLine
from tenants.rules.formatting import fmt_money
from tenants.rules.money import round2
from tenants.tenancy.auth import ApiKeyPrincipal, Principal, Role
from tenants.tenancy.identity import TenantId
from tenants.text import is_storable_text

MAX_MESSAGE_LENGTH: Final = 2000
# An adjustment beyond this is a typing mistake, not a correction (ledger amounts hold 14 integer digits).
MAX_ADJUSTMENT: Final = Decimal("1000000000")
DISPUTE_RULE_KEY: Final = "dispute"
STATES: Final = ("open", "resolved")

LINE_NOT_FOUND = _("No such ledger line.")
DISPUTE_NOT_FOUND = _("No such dispute.")


def _checked_text(text: str, code: DisputeErrorCode, field: str) -> str:
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_MESSAGE_LENGTH or not is_storable_text(stripped):
        raise DisputeError.of(code, _("Write 1 to {max_length} characters.", max_length=MAX_MESSAGE_LENGTH), field)
    return stripped


def checked_adjustment(amount: Decimal | None) -> Decimal | None:
    """None (no adjustment) or a non-zero amount in whole cents within ±MAX_ADJUSTMENT; anything else is refused."""
    if amount is None:
        return None
    refused = DisputeError.of(
        DisputeErrorCode.INVALID_ADJUSTMENT,
        _(
            "An adjustment is a non-zero amount in yuan with at most 2 decimals, at most {max} either way.",
            max=fmt_money(MAX_ADJUSTMENT),
        ),
        "adjustment",
    )
    try:
        if not amount.is_finite() or amount == 0 or abs(amount) > MAX_ADJUSTMENT or round2(amount) != amount:
            raise refused
    except InvalidOperation:
        raise refused from None
    return round2(amount)


async def raise_dispute(tenant_id: TenantId, principal: Principal, line_id: int, message: str) -> DisputeView:
    """The caller's own staff record must be the line's: anyone else's line (or an unlinked login) is not found."""
    text = _checked_text(message, DisputeErrorCode.INVALID_MESSAGE, "message")
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        line = await repository.line_in_scope(conn, tenant_id, line_id, scope) if scope.staff_id is not None else None
        if line is None or line.staff_id != scope.staff_id or scope.user_id is None:
            raise DisputeError.of(DisputeErrorCode.LINE_NOT_FOUND, LINE_NOT_FOUND, "ledgerLineId")
        if await repository.has_open_dispute(conn, tenant_id, line.id):
            raise _already_disputed()
        dispute_id = await repository.insert_dispute(conn, tenant_id, line, scope.user_id, text)
        if dispute_id is None:  # raised concurrently: the unique index of open disputes refused the second
            raise _already_disputed()
        await record(
            conn,
            tenant_id,
            Actor(user_id=scope.user_id),
            "dispute.raise",
            "dispute",
            dispute_id,
            after={"ledger_line_id": line.id, "staff_id": line.staff_id, "message": text},
        )
        view = await repository.dispute_in_scope(conn, tenant_id, dispute_id, scope)
    assert view is not None
    return view


def _already_disputed() -> DisputeError:
    return DisputeError.of(
        DisputeErrorCode.ALREADY_DISPUTED, _("This line already has an open dispute."), "ledgerLineId"
    )


def _manager_scope(scope: AccessScope) -> bool:
    return scope.role != Role.STAFF


async def resolve_dispute(
    tenant_id: TenantId, principal: Principal, dispute_id: int, resolution: str, adjustment: Decimal | None
) -> DisputeView:
    """Answers an open dispute of a staff member in the caller's scope (never the caller's own), optionally posting an
    adjustment line (kind adjustment, rule key `dispute`) in the same transaction as the answer and its audit row."""
    answer = _checked_text(resolution, DisputeErrorCode.INVALID_RESOLUTION, "resolution")
    amount = checked_adjustment(adjustment)
    actor = (
        Actor(api_key_id=principal.api_key_id)
        if isinstance(principal, ApiKeyPrincipal)
        else Actor(user_id=principal.user_id)
    )
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        dispute = await repository.dispute_for_update(conn, tenant_id, dispute_id)
        before = (
            await repository.dispute_in_scope(conn, tenant_id, dispute_id, scope)
            if dispute is not None and _manager_scope(scope)
            else None
        )
        if dispute is None or before is None:
            raise DisputeError.of(DisputeErrorCode.DISPUTE_NOT_FOUND, DISPUTE_NOT_FOUND, "id")
        if scope.staff_id is not None and dispute.staff_id == scope.staff_id:
            raise DisputeError.of(
                DisputeErrorCode.OWN_DISPUTE, _("Your own dispute is resolved by another manager."), "id"
            )
        if dispute.state != "open":
            raise DisputeError.of(DisputeErrorCode.ALREADY_RESOLVED, _("This dispute is already resolved."), "id")
        adjustment_line_id = None
        if amount is not None:
            line = await repository.line_in_scope(conn, tenant_id, dispute.ledger_line_id, scope)
            assert line is not None  # the dispute is in scope, so is its line
            adjustment_line_id = await _post_adjustment(conn, tenant_id, dispute_id, line, amount, answer)
        await repository.mark_resolved(conn, tenant_id, dispute_id, answer, actor.user_id, adjustment_line_id)
        after = await repository.dispute_in_scope(conn, tenant_id, dispute_id, scope)
        assert after is not None
        await record(
            conn,
            tenant_id,
            actor,
            "dispute.resolve",
            "dispute",
            dispute_id,
            before={"state": before.state},
            after={
                "state": after.state,
                "resolution": answer,
                "adjustment": amount,
                "adjustment_line_id": adjustment_line_id,
                "adjustment_period": after.adjustment_period_key,
            },
        )
    return after


async def _post_adjustment(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    dispute_id: int,
    line: DisputedLine,
    amount: Decimal,
    answer: str,
) -> int:
    """Into the disputed line's statement; when that one is approved, into the next open period's (labelled)."""
    statement = await periods.period_by_id_for_update(conn, tenant_id, line.period_id)
    assert statement is not None
    derivation = (
        f"争议调整（争议 #{dispute_id}：{line.period_key} 的 {line.rule_key} {fmt_money(line.amount)}）："
        f"{fmt_money(amount)}。处理意见：{answer}"
    )
    corrects: tuple[int, int] | None = None
    target = statement
    if statement.approved_at is not None:
        target = await next_open_period(conn, tenant_id, line.scheme_id, statement)
        corrects = (statement.id, statement.revision)
        derivation = prior_period_label(statement.key, statement.revision) + derivation
    return await periods.post_dispute_line(
        conn,
        tenant_id,
        target.id,
        target.revision,
        line.scheme_version_id,
        NewLine(line.staff_id, DISPUTE_RULE_KEY, "adjustment", amount, derivation),
        dispute_id,
        corrects=corrects,
    )


async def list_disputes(
    tenant_id: TenantId, principal: Principal, page: PageRequest, *, state: str | None, team_id: int | None
) -> Page[DisputeView]:
    """The disputes in the caller's scope (staff: their own; managers: their teams' subtrees; admins: all)."""
    if state is not None and state not in STATES:
        return Page(items=[], total=0, limit=page.limit, offset=page.offset)
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        return await repository.list_disputes(conn, tenant_id, scope, page, state=state, team_id=team_id)


async def dispute(tenant_id: TenantId, principal: Principal, dispute_id: int) -> DisputeView | None:
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        return await repository.dispute_in_scope(conn, tenant_id, dispute_id, scope)
