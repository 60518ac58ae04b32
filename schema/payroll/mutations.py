"""Payroll's mutations: WeChat login and binding, disputes, statement approvals.

Resolvers call the services (which open the unit of work and audit); expected refusals come back as the result
union's error type, and nothing was changed then.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from schema.common import actor_of, parse_row_id
from schema.context import Info
from schema.payroll.types import (
    ApprovalErrors,
    ApproveStatementsResult,
    BindWechatResult,
    Dispute,
    DisputeErrors,
    DisputeRaised,
    DisputeResolved,
    RaiseDisputeResult,
    ReopenStatementsResult,
    ResolveDisputeResult,
    StatementApproval,
    StatementsApproved,
    StatementsReopened,
    UnbindWechatResult,
    WechatBinding,
    WechatBound,
    WechatErrors,
    WechatLoginResult,
    WechatUnbound,
)
from schema.permissions import tenant_access
from schema.tenancy.types import AuthTokens
from tenants.disputes import service as disputes
from tenants.disputes.errors import DisputeError, DisputeErrorCode
from tenants.periods import approvals
from tenants.periods.errors import ApprovalError, ApprovalErrorCode
from tenants.tenancy.auth import Role
from tenants.wechat import service as wechat
from tenants.wechat.errors import WechatError
from tenants.wechat.limits import WechatLoginLimiter


def _user_id(info: Info) -> int:
    user = info.context.user
    assert user is not None  # tenant_access without a scope admits signed-in users only
    return user.user_id


@strawberry.type
class PayrollMutation:
    @strawberry.mutation(
        description="Signs a staff member in from the WeChat mini-program: exchanges a wx.login code for the openid "
        "(WeChat's jscode2session) and answers tokens for the login bound to it (see bindWechat)."
    )
    async def wechat_login(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The code wx.login gave the mini-program.")],
    ) -> WechatLoginResult:
        try:
            pair = await wechat.wechat_login(
                info.context.settings,
                info.context.auth.tokens,
                code,
                limiter=WechatLoginLimiter(info.context.redis, info.context.settings),
                address=info.context.client_address,
            )
        except WechatError as error:
            return WechatErrors.of(error)
        return AuthTokens.of(pair)

    @strawberry.mutation(
        extensions=tenant_access(Role.STAFF),
        description="Binds the WeChat account of a wx.login code to this staff login (signed in with a password).",
    )
    async def bind_wechat(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The code wx.login gave the mini-program.")],
    ) -> BindWechatResult:
        try:
            binding = await wechat.bind_wechat(info.context.settings, info.context.tenant_id, _user_id(info), code)
        except WechatError as error:
            return WechatErrors.of(error)
        return WechatBound(binding=WechatBinding.of(binding))

    @strawberry.mutation(
        extensions=tenant_access(Role.STAFF), description="Removes this login's WeChat binding in this tenant."
    )
    async def unbind_wechat(self, info: Info) -> UnbindWechatResult:
        try:
            removed = await wechat.unbind_wechat(info.context.tenant_id, _user_id(info))
        except WechatError as error:
            return WechatErrors.of(error)
        return WechatUnbound(removed=removed)

    @strawberry.mutation(
        extensions=tenant_access(Role.STAFF),
        description="Disputes one of your own ledger lines; a manager of your team answers it.",
    )
    async def raise_dispute(
        self,
        info: Info,
        ledger_line_id: Annotated[strawberry.ID, strawberry.argument(description="The line, from your statement.")],
        message: Annotated[str, strawberry.argument(description="What is wrong with it (1 to 2,000 characters).")],
    ) -> RaiseDisputeResult:
        principal = info.context.principal
        assert principal is not None
        try:
            line_id = parse_row_id(ledger_line_id, "LedgerLine")
            if line_id is None:
                raise DisputeError.of(DisputeErrorCode.LINE_NOT_FOUND, disputes.LINE_NOT_FOUND, "ledgerLineId")
            view = await disputes.raise_dispute(info.context.tenant_id, principal, line_id, message)
        except DisputeError as error:
            return DisputeErrors.of(error)
        return DisputeRaised(dispute=Dispute.of(view))

    @strawberry.mutation(
        extensions=tenant_access(Role.MANAGER),
        description="Answers an open dispute of a staff member in your scope, optionally posting an adjustment line "
        "(rule key `dispute`) in the same transaction.",
    )
    async def resolve_dispute(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The dispute.")],
        resolution: Annotated[
            str, strawberry.argument(description="The answer the staff member reads (1 to 2,000 characters).")
        ],
        adjustment: Annotated[
            Decimal | None,
            strawberry.argument(
                description="An amount in CNY (non-zero, at most 2 decimals) to post as an adjustment line; none: no "
                "money changes."
            ),
        ] = None,
    ) -> ResolveDisputeResult:
        principal = info.context.principal
        assert principal is not None
        try:
            dispute_id = parse_row_id(id, "Dispute")
            if dispute_id is None:
                raise DisputeError.of(DisputeErrorCode.DISPUTE_NOT_FOUND, disputes.DISPUTE_NOT_FOUND, "id")
            view = await disputes.resolve_dispute(info.context.tenant_id, principal, dispute_id, resolution, adjustment)
        except DisputeError as error:
            return DisputeErrors.of(error)
        return DisputeResolved(dispute=Dispute.of(view))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Approves a closed period's statements: locked for payroll. Later changes to the period are paid "
        "in the next open period's statement (prior-period adjustments).",
    )
    async def approve_statements(
        self,
        info: Info,
        scheme_id: Annotated[strawberry.ID, strawberry.argument(description="The scheme.")],
        period: Annotated[str, strawberry.argument(description="The period's key, e.g. 2026-10.")],
    ) -> ApproveStatementsResult:
        try:
            approval = await approvals.approve_statements(
                info.context.tenant_id, actor_of(info), _scheme(scheme_id), period
            )
        except ApprovalError as error:
            return ApprovalErrors.of(error)
        return StatementsApproved(approval=StatementApproval.of(approval))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Lifts the approval of a period's statements (audited with the reason).",
    )
    async def reopen_statements(
        self,
        info: Info,
        scheme_id: Annotated[strawberry.ID, strawberry.argument(description="The scheme.")],
        period: Annotated[str, strawberry.argument(description="The period's key, e.g. 2026-10.")],
        reason: Annotated[str, strawberry.argument(description="Why (1 to 1,000 characters); kept in the audit log.")],
    ) -> ReopenStatementsResult:
        try:
            approval = await approvals.reopen_statements(
                info.context.tenant_id, actor_of(info), _scheme(scheme_id), period, reason
            )
        except ApprovalError as error:
            return ApprovalErrors.of(error)
        return StatementsReopened(approval=StatementApproval.of(approval))


def _scheme(raw: strawberry.ID) -> int:
    """The scheme id, or SCHEME_NOT_FOUND for anything that cannot be one (as for another tenant's)."""
    scheme = parse_row_id(raw, "Scheme")
    if scheme is None:
        raise ApprovalError.of(ApprovalErrorCode.SCHEME_NOT_FOUND, approvals.NO_SUCH_SCHEME, "schemeId")
    return scheme
