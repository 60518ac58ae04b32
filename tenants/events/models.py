"""Business events pushed by the merchant's systems.

Credits are stored on the event itself (parallel arrays of staff ids and shares, plus a team pool), resolved once at
ingestion (explicit credits, the refund's order, the tenant's attribution rules, or the actor): the close aggregates
one table with no join, and a period's numbers never depend on when a binding changed after the fact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField

from tenants.db.models import TenantModel


class Event(TenantModel):
    external_id = fields.CharField(max_length=128)
    type = fields.CharField(max_length=64)
    occurred_at = fields.DatetimeField()
    received_at = fields.DatetimeField()
    staff_id = fields.BigIntField(null=True)
    customer_id = fields.BigIntField(null=True)
    team_id = fields.BigIntField(null=True)
    amount: fields.Field[Decimal | None] = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    value: fields.Field[Decimal | None] = fields.DecimalField(max_digits=20, decimal_places=6, null=True)
    attributes: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    # A refund's order (its externalId), so the refund is credited like the order.
    order_external_id = fields.CharField(max_length=128, null=True)
    credit_staff_ids: fields.Field[list[int]] = ArrayField(element_type="bigint", default=list)
    credit_shares: fields.Field[list[Decimal]] = ArrayField(element_type="numeric(9,6)", default=list)
    pool_team_id = fields.BigIntField(null=True)
    # The team's share when explicit credits split an order between staff and a team (NULL: the whole amount).
    pool_share: fields.Field[Decimal | None] = fields.DecimalField(max_digits=9, decimal_places=6, null=True)
    # counted | pending (large orders wait for a manager's confirmation before they count)
    status = fields.CharField(max_length=16, default="counted")
    # Whether the sender sent credits (else the rules resolved them): a resend of the externalId must send the same.
    # NULL for events stored before this was recorded.
    credits_sent = fields.BooleanField(null=True)
    # Credits a manager set when confirming the order (tenants/attribution): a reattribution keeps them.
    credits_edited = fields.BooleanField(default=False)

    class Meta:
        table = "event"
