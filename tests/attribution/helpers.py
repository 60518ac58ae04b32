"""Helpers of the attribution tests: GraphQL documents, rules, a scheme crediting sales by credits, events."""

from __future__ import annotations

from datetime import date
from typing import Any

from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.events.models import Event
from tenants.events.service import ingest
from tenants.periods.models import LedgerLine, Period, Scorecard
from tenants.schemes import service as schemes
from tenants.tenancy.identity import TenantId

SAVE = """
mutation($rules: JSON!, $from: Date!) {
  saveAttributionRules(rules: $rules, effectiveFrom: $from) {
    __typename
    ... on AttributionRulesSaved { version { number effectiveFrom effectiveAt config } rules { current { number } } }
    ... on AttributionErrors { errors { code configCode field message } }
  }
}
"""
RULES = """
query { attributionRules { legacySettings current { number config } versions { number effectiveFrom config } } }
"""
PENDING = """
query($limit: Int, $offset: Int) {
  pendingAttributions(limit: $limit, offset: $offset) {
    total items { eventId externalId amount staffCode customerCode credits { staffCode teamCode share } }
  }
}
"""
CONFIRM = """
mutation($id: ID!, $credits: [AttributionCreditInput!]) {
  confirmAttribution(eventId: $id, credits: $credits) {
    __typename
    ... on AttributionConfirmed { externalId creditsEdited refundsConfirmed }
    ... on AttributionErrors { errors { code field message } }
  }
}
"""
REATTRIBUTE = """
mutation($from: Date!, $to: Date!) {
  reattribute(from: $from, to: $to) {
    __typename
    ... on Reattribution { eventsExamined eventsChanged refundsChanged }
    ... on AttributionErrors { errors { code field message } }
  }
}
"""

O2O = {
    "o2o": {
        "when": {"channel": "offline", "lead": "online"},
        "splits": [
            {"role": "operations", "staff_attribute": "operator", "share": "0.3"},
            {"role": "customer_service", "staff_attribute": "service", "share": "0.7"},
        ],
    }
}

# One scored metric: sales credited by the stored credits; a flat 10% commission on it.
CREDITED_SCHEME: dict[str, Any] = {
    "cycle": "month",
    "timezone": "Asia/Shanghai",
    "participants": {"roles": []},
    "metrics": [
        {
            "key": "sales",
            "aggregate": "sum_amount",
            "events": ["order", "refund"],
            "credit": "credited",
            "target": 10000,
            "weight": 100,
        }
    ],
    "rewards": [{"key": "commission", "type": "commission", "base": "sales", "mode": "flat", "rate": "0.1"}],
}


async def credited_scheme(tenant_id: TenantId) -> int:
    scheme = await schemes.create_scheme(tenant_id, SYSTEM, "credited sales")
    draft = await schemes.save_draft(tenant_id, SYSTEM, scheme.id, CREDITED_SCHEME)
    await schemes.publish_version(tenant_id, SYSTEM, draft.id, date(2026, 1, 1))
    return int(scheme.id)


def order(external_id: str, at: str = "2026-10-05T10:00:00+08:00", **extra: Any) -> dict[str, Any]:
    return {"externalId": external_id, "type": "order", "occurredAt": at, **extra}


def refund(
    external_id: str, of: str, amount: str, at: str = "2026-10-06T10:00:00+08:00", **extra: Any
) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "type": "refund",
        "occurredAt": at,
        "amount": amount,
        "attributes": {"order": of},
        **extra,
    }


async def store(tenant_id: TenantId, *events: dict[str, Any]) -> None:
    result = await ingest(tenant_id, enumerate(events))
    assert result.rejected == [], [(p.code, str(p.message)) for p in result.rejected]


async def stored(tenant_id: TenantId, external_id: str) -> Event:
    async with tenant_unit_of_work(tenant_id):
        return await Event.get(tenant_id=tenant_id, external_id=external_id)


async def metric_values(tenant_id: TenantId, scheme_id: int, key: str, revision: int) -> dict[int, str]:
    """staff id -> the sales value of the period's scorecards of that revision."""
    async with tenant_unit_of_work(tenant_id):
        period = await Period.get(tenant_id=tenant_id, scheme_id=scheme_id, key=key)
        cards = await Scorecard.filter(tenant_id=tenant_id, period_id=period.id, revision=revision)
    return {card.staff_id: next(m["value"] for m in card.metrics if m["key"] == "sales") for card in cards}


async def lines(tenant_id: TenantId, scheme_id: int, key: str, revision: int, rule: str) -> dict[int, str]:
    async with tenant_unit_of_work(tenant_id):
        period = await Period.get(tenant_id=tenant_id, scheme_id=scheme_id, key=key)
        found = await LedgerLine.filter(tenant_id=tenant_id, period_id=period.id, revision=revision, rule_key=rule)
    return {line.staff_id: str(line.amount) for line in found}


async def period_state(tenant_id: TenantId, scheme_id: int, key: str) -> str:
    async with tenant_unit_of_work(tenant_id):
        return (await Period.get(tenant_id=tenant_id, scheme_id=scheme_id, key=key)).state
