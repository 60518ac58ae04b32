"""Payroll's GraphQL types and their converters from domain records (tenants/wechat, tenants/disputes,
tenants/periods/approvals.py). Each domain's refusals are a union member whose errors implement `Problem` with the
domain's code enum."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from schema.errors import ProblemInterface, coded_problems
from schema.pagination import Page
from schema.tenancy.types import AuthTokens
from tenants.disputes.errors import DisputeError, DisputeErrorCode
from tenants.disputes.repository import DisputeView
from tenants.periods.approvals import Approval, ApprovalState
from tenants.periods.errors import ApprovalError, ApprovalErrorCode
from tenants.wechat.errors import WechatError, WechatErrorCode
from tenants.wechat.service import Binding

strawberry.enum(
    WechatErrorCode,
    name="WechatErrorCode",
    description="Why a WeChat login, bind or unbind is refused. WeChat's own codes: INVALID_CODE (40029), CODE_USED "
    "(40163), WECHAT_RATE_LIMITED (45011), WECHAT_BUSY (-1); WECHAT_TIMEOUT: WeChat did not answer in time.",
)
strawberry.enum(DisputeErrorCode, name="DisputeErrorCode", description="Why a dispute action is refused.")
strawberry.enum(
    ApprovalErrorCode, name="ApprovalErrorCode", description="Why approving or reopening statements is refused."
)
strawberry.enum(
    ApprovalState,
    name="ApprovalState",
    description="NOT_APPROVED: never approved; APPROVED: locked for payroll (late changes are paid in the next open "
    "period); REOPENED: approved once, the lock lifted since (with a reason).",
)


@strawberry.enum(description="Where a dispute stands.")
class DisputeState(Enum):
    OPEN = "open"
    RESOLVED = "resolved"


def _id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


# --- WeChat ----------------------------------------------------------------------------------------------------------


@strawberry.type(name="WechatError", description="A refused WeChat login, bind or unbind; nothing was changed.")
class WechatErrorType(ProblemInterface):
    code: WechatErrorCode = strawberry.field(description="What went wrong; branch on it.")


@strawberry.type(description="The WeChat action was refused; nothing was changed.")
class WechatErrors:
    errors: list[WechatErrorType] = strawberry.field(description="Why (one problem).")

    @classmethod
    def of(cls, error: WechatError) -> WechatErrors:
        return cls(errors=coded_problems(WechatErrorType, error))


@strawberry.type(description="This login's binding to a WeChat mini-program account.")
class WechatBinding:
    appid: str = strawberry.field(description="The mini-program's appid.")
    bound_at: datetime = strawberry.field(description="When the binding was made.")

    @classmethod
    def of(cls, binding: Binding) -> WechatBinding:
        return cls(appid=binding.appid, bound_at=binding.bound_at)


@strawberry.type(description="The WeChat account is bound: wechatLogin signs this login in from now on.")
class WechatBound:
    binding: WechatBinding = strawberry.field(description="The binding.")


@strawberry.type(description="The WeChat bindings of this login are gone.")
class WechatUnbound:
    removed: int = strawberry.field(description="How many bindings were removed.")


WechatLoginResult = Annotated[AuthTokens | WechatErrors, strawberry.union("WechatLoginResult")]
BindWechatResult = Annotated[WechatBound | WechatErrors, strawberry.union("BindWechatResult")]
UnbindWechatResult = Annotated[WechatUnbound | WechatErrors, strawberry.union("UnbindWechatResult")]


# --- disputes --------------------------------------------------------------------------------------------------------


@strawberry.type(description="A staff member's dispute of one of their ledger lines, and its answer.")
class Dispute:
    id: strawberry.ID = strawberry.field(description="The dispute's id.")
    ledger_line_id: strawberry.ID = strawberry.field(description="The disputed ledger line.")
    staff_id: strawberry.ID = strawberry.field(description="The staff member the line pays (who raised it).")
    staff_code: str = strawberry.field(description="Their code.")
    staff_name: str = strawberry.field(description="Their name.")
    team_id: strawberry.ID | None = strawberry.field(description="Their team.")
    scheme_id: strawberry.ID = strawberry.field(description="The scheme of the disputed line's statement.")
    period: str = strawberry.field(description="The period of the statement the disputed line is in.")
    rule_key: str = strawberry.field(description="The disputed line's rule.")
    line_amount: Decimal = strawberry.field(description="The disputed line's amount (CNY).")
    message: str = strawberry.field(description="What the staff member wrote.")
    state: DisputeState = strawberry.field(description="Open until a manager answers it.")
    raised_at: datetime = strawberry.field(description="When it was raised.")
    resolution: str | None = strawberry.field(description="The manager's answer, once resolved.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    adjustment_line_id: strawberry.ID | None = strawberry.field(
        description="The adjustment line posted with the answer (rule key `dispute`), if any."
    )
    adjustment_amount: Decimal | None = strawberry.field(description="Its amount (CNY).")
    adjustment_period: str | None = strawberry.field(
        description="The statement it was posted into: the disputed line's, or the next open period's when that "
        "statement was approved."
    )

    @classmethod
    def of(cls, view: DisputeView) -> Dispute:
        return cls(
            id=_id(view.id),
            ledger_line_id=_id(view.ledger_line_id),
            staff_id=_id(view.staff_id),
            staff_code=view.staff_code,
            staff_name=view.staff_name,
            team_id=_id(view.team_id) if view.team_id is not None else None,
            scheme_id=_id(view.scheme_id),
            period=view.period_key,
            rule_key=view.rule_key,
            line_amount=view.line_amount,
            message=view.message,
            state=DisputeState(view.state),
            raised_at=view.raised_at,
            resolution=view.resolution,
            resolved_at=view.resolved_at,
            adjustment_line_id=_id(view.adjustment_line_id) if view.adjustment_line_id is not None else None,
            adjustment_amount=view.adjustment_amount,
            adjustment_period=view.adjustment_period_key,
        )


@strawberry.type(name="DisputeError", description="A refused dispute action; nothing was changed.")
class DisputeErrorType(ProblemInterface):
    code: DisputeErrorCode = strawberry.field(description="What went wrong; branch on it.")


@strawberry.type(description="The dispute action was refused; nothing was changed.")
class DisputeErrors:
    errors: list[DisputeErrorType] = strawberry.field(description="Why (one problem).")

    @classmethod
    def of(cls, error: DisputeError) -> DisputeErrors:
        return cls(errors=coded_problems(DisputeErrorType, error))


@strawberry.type(description="The dispute is raised; a manager in scope answers it.")
class DisputeRaised:
    dispute: Dispute = strawberry.field(description="The new dispute.")


@strawberry.type(description="The dispute is answered (and its adjustment, if any, posted in the same transaction).")
class DisputeResolved:
    dispute: Dispute = strawberry.field(description="The resolved dispute.")


RaiseDisputeResult = Annotated[DisputeRaised | DisputeErrors, strawberry.union("RaiseDisputeResult")]
ResolveDisputeResult = Annotated[DisputeResolved | DisputeErrors, strawberry.union("ResolveDisputeResult")]
DisputePage = Page[Dispute]


# --- approvals -------------------------------------------------------------------------------------------------------


@strawberry.type(description="Whether a period's statements are approved (locked for payroll), by whom, and since.")
class StatementApproval:
    period: str = strawberry.field(description="The period's key.")
    period_state: str = strawberry.field(description="The period's close state: open, closing, closed or stale.")
    revision: int = strawberry.field(description="The period's current revision.")
    state: ApprovalState = strawberry.field(description="The approval state.")
    approved_at: datetime | None = strawberry.field(description="When the statements were approved (if approved).")
    approved_by_user_id: strawberry.ID | None = strawberry.field(description="Who approved them.")
    approved_revision: int | None = strawberry.field(description="The revision whose statements were approved.")
    reopened_at: datetime | None = strawberry.field(description="When an approval was last lifted.")
    reopened_by_user_id: strawberry.ID | None = strawberry.field(description="Who lifted it.")
    reopen_reason: str | None = strawberry.field(description="Why it was lifted.")

    @classmethod
    def of(cls, approval: Approval) -> StatementApproval:
        return cls(
            period=approval.period_key,
            period_state=approval.period_state,
            revision=approval.revision,
            state=approval.state,
            approved_at=approval.approved_at,
            approved_by_user_id=_id(approval.approved_by_user_id) if approval.approved_by_user_id else None,
            approved_revision=approval.approved_revision,
            reopened_at=approval.reopened_at,
            reopened_by_user_id=_id(approval.reopened_by_user_id) if approval.reopened_by_user_id else None,
            reopen_reason=approval.reopen_reason,
        )


@strawberry.type(name="ApprovalError", description="A refused approval or reopening; nothing was changed.")
class ApprovalErrorType(ProblemInterface):
    code: ApprovalErrorCode = strawberry.field(description="What went wrong; branch on it.")


@strawberry.type(description="The approval action was refused; nothing was changed.")
class ApprovalErrors:
    errors: list[ApprovalErrorType] = strawberry.field(description="Why (one problem).")

    @classmethod
    def of(cls, error: ApprovalError) -> ApprovalErrors:
        return cls(errors=coded_problems(ApprovalErrorType, error))


@strawberry.type(description="The period's statements are approved: locked for payroll.")
class StatementsApproved:
    approval: StatementApproval = strawberry.field(description="The approval now in force.")


@strawberry.type(description="The period's statements are reopened: later changes post into them again.")
class StatementsReopened:
    approval: StatementApproval = strawberry.field(description="The approval state after reopening.")


ApproveStatementsResult = Annotated[StatementsApproved | ApprovalErrors, strawberry.union("ApproveStatementsResult")]
ReopenStatementsResult = Annotated[StatementsReopened | ApprovalErrors, strawberry.union("ReopenStatementsResult")]
