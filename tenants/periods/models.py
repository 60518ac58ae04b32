"""Periods, scorecards and the payout ledger.

A period is one instance of a scheme's cycle ([starts_at, ends_at) in the scheme's timezone). Closing it writes a
revision: scorecards and ledger lines tagged with that revision. Ledger lines are append-only (a trigger refuses
UPDATE and DELETE); a re-close posts adjustment lines, never edits. Provisional scorecards (revision 0) are rewritten
while the period is open and never post money.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from tortoise import fields

from tenants.db.models import TenantModel


class Period(TenantModel):
    scheme_id = fields.BigIntField()
    key = fields.CharField(max_length=16)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    # open -> closing -> closed; closed -> stale when events arrive for it; stale -> closing -> closed (revision n+1)
    state = fields.CharField(max_length=16, default="open")
    revision = fields.IntField(default=0)
    scheme_version_id = fields.BigIntField(null=True)
    # The highest event id that the last close had seen: events above it that fall in the window are late.
    watermark_event_id = fields.BigIntField(null=True)
    closed_at = fields.DatetimeField(null=True)
    provisional_at = fields.DatetimeField(null=True)
    # The last close failed for a reason that retrying cannot fix (the config, the data): when and why (JSON: a
    # CloseErrorCode, the field, the message's English template and parameters, see errors.py). The cron does not
    # retry such a period until someone closes it again by hand or a version of its scheme is published after the
    # failure; a successful close clears both.
    failed_at = fields.DatetimeField(null=True)
    failure = cast("fields.Field[str | None]", fields.TextField(null=True))  # the stubs know no nullable text
    created_at = fields.DatetimeField(auto_now_add=True)
    # Statement approval (tenants/periods/approvals.py): approved statements are locked for payroll. A late change
    # re-closes the period (a new scorecard revision) but posts its money into the next open period's statement.
    approved_at = fields.DatetimeField(null=True)
    approved_by_user_id = fields.BigIntField(null=True)
    approved_revision = fields.IntField(null=True)  # the revision whose statement was approved
    reopened_at = fields.DatetimeField(null=True)  # the last time an approval was lifted, by whom and why
    reopened_by_user_id = fields.BigIntField(null=True)
    reopen_reason = cast("fields.Field[str | None]", fields.TextField(null=True))

    class Meta:
        table = "period"


class Scorecard(TenantModel):
    period_id = fields.BigIntField()
    revision = fields.IntField()
    staff_id = fields.BigIntField()
    scheme_version_id = fields.BigIntField()
    total: fields.Field[Decimal] = fields.DecimalField(max_digits=12, decimal_places=4)
    grade = fields.CharField(max_length=16, null=True)
    rank = fields.IntField()
    # [{key, label, value, score, weight, explanation}] in config order: the metric values of this revision.
    metrics: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    flags: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    # Exact aggregates behind the metric values ({"m": {key: raw}, "p": {penalty: count}}), so a re-close after late
    # events adds only the late events' aggregates instead of re-reading the whole period.
    state: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    provisional = fields.BooleanField(default=False)
    computed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "scorecard"


class LedgerLine(TenantModel):
    period_id = fields.BigIntField()
    revision = fields.IntField()
    staff_id = fields.BigIntField()
    scheme_version_id = fields.BigIntField()
    rule_key = fields.CharField(max_length=64)
    # commission | bonus | penalty | adjustment
    kind = fields.CharField(max_length=16)
    amount: fields.Field[Decimal] = fields.DecimalField(max_digits=16, decimal_places=2)
    derivation = fields.TextField()
    posted_at = fields.DatetimeField(auto_now_add=True)
    # A prior-period adjustment: paid in this line's period (`period_id`), it corrects revision `corrects_revision` of
    # period `corrects_period_id`, whose statement was approved (locked) when the change came.
    corrects_period_id = fields.BigIntField(null=True)
    corrects_revision = fields.IntField(null=True)
    # The adjustment a manager posted resolving this dispute (rule key `dispute`); re-closes leave such lines alone.
    dispute_id = fields.BigIntField(null=True)

    class Meta:
        table = "ledger_line"
