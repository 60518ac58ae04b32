"""Builders shared by the scoring tests: configs go through the real parse_scheme_config, as the JSON contract reads."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from tenants.schemes.config import SchemeConfig, parse_scheme_config
from tenants.scoring.engine import MoneyLine, ParticipantInput, Scorecard, compute_period

# The scheme of DESIGN.md "Scheme configuration", verbatim (as json.loads would give it).
WORKED_SCHEME: dict[str, Any] = {
    "cycle": "month",
    "timezone": "Asia/Shanghai",
    "participants": {"roles": ["guide"]},
    "metrics": [
        {
            "key": "new_customers",
            "label": "新客户数量",
            "aggregate": "count",
            "events": ["customer_added"],
            "target": 30,
            "weight": 40,
            "scoring": {"type": "linear", "cap": 1.2},
        },
        {"key": "invited", "aggregate": "count", "events": ["old_customer_invited"]},
        {"key": "joined", "aggregate": "count", "events": ["old_customer_joined"]},
        {
            "key": "conversion",
            "label": "老客户转化率",
            "aggregate": "ratio",
            "numerator": "joined",
            "denominator": "invited",
            "target": 0.5,
            "weight": 30,
            "scoring": {"type": "linear", "cap": 1.2},
        },
        {
            "key": "sales",
            "label": "销售额",
            "aggregate": "sum_amount",
            "events": ["order", "refund"],
            "credit": "credited",
            "target": 20000,
            "weight": 30,
            "scoring": {"type": "linear", "cap": 1.5},
        },
    ],
    "grades": [
        {"min": 110, "grade": "S"},
        {"min": 90, "grade": "A"},
        {"min": 75, "grade": "B"},
        {"min": 60, "grade": "C"},
        {"min": 0, "grade": "D"},
    ],
    "rewards": [
        {
            "key": "commission",
            "type": "commission",
            "base": "sales",
            "mode": "progressive",
            "tiers": [{"from": 0, "rate": 0.03}, {"from": 10000, "rate": 0.05}],
            "gate": {"min_score": 60},
        },
        {
            "key": "new_customer_bonus",
            "type": "ladder",
            "metric": "new_customers",
            "steps": [{"min": 30, "amount": 300}, {"min": 45, "amount": 800}],
        },
    ],
    "penalties": [
        {"key": "missed_follow_up", "type": "per_event", "events": ["follow_up_missed"], "amount": 100},
        {
            "key": "complaint",
            "type": "per_event",
            "events": ["complaint"],
            "filter": {"caused_by_follow_up": True},
            "amount": 200,
        },
    ],
    "penalty_cap": 1000,
}

# A money metric scored linearly against 20,000 (weight 100): total = sales / 200, handy for rule tests.
SALES_METRIC: dict[str, Any] = {
    "key": "sales",
    "label": "销售额",
    "aggregate": "sum_amount",
    "events": ["order", "refund"],
    "target": 20000,
    "weight": 100,
    "scoring": {"type": "linear", "cap": 1.5},
}


def scheme(
    metrics: Sequence[Mapping[str, Any]] = (SALES_METRIC,),
    *,
    rewards: Sequence[Mapping[str, Any]] = (),
    penalties: Sequence[Mapping[str, Any]] = (),
    **extra: Any,
) -> SchemeConfig:
    raw: dict[str, Any] = {
        "cycle": "month",
        "metrics": list(metrics),
        "rewards": list(rewards),
        "penalties": list(penalties),
        **extra,
    }
    return parse_scheme_config(raw)


def dec(value: int | str | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def person(
    code: str,
    *,
    team: str | None = None,
    counts: Mapping[str, int] | None = None,
    previous: Sequence[int | str] = (),
    staff_id: int | None = None,
    **metrics: int | str | Decimal | None,
) -> ParticipantInput:
    """A participant; ids derive from the code so tests need not invent them."""
    return ParticipantInput(
        staff_id=staff_id if staff_id is not None else zlib.crc32(code.encode()),
        staff_code=code,
        team_code=team,
        metrics={key: dec(value) for key, value in metrics.items()},
        penalty_counts=dict(counts or {}),
        previous_totals=tuple(Decimal(t) for t in previous),
    )


def cards(
    config: SchemeConfig,
    participants: Sequence[ParticipantInput],
    credits: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> dict[str, Scorecard]:
    return {card.staff_code: card for card in compute_period(config, participants, credits).scorecards}


def line(card: Scorecard, rule_key: str) -> MoneyLine:
    (found,) = [x for x in card.lines if x.rule_key == rule_key]
    return found
