"""A dispute of one ledger line, raised by the staff member it pays, answered by a manager in scope."""

from __future__ import annotations

from typing import cast

from tortoise import fields

from tenants.db.models import TenantModel


class Dispute(TenantModel):
    ledger_line_id = fields.BigIntField()
    period_id = fields.BigIntField()  # the statement the disputed line is in
    staff_id = fields.BigIntField()  # the line's staff member (who raised it)
    raised_by_user_id = fields.BigIntField()
    message = fields.TextField()
    # open -> resolved
    state = fields.CharField(max_length=16, default="open")
    resolution = cast("fields.Field[str | None]", fields.TextField(null=True))  # the stubs know no nullable text
    resolved_by_user_id = fields.BigIntField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    adjustment_line_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dispute"
