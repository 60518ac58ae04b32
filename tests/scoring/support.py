"""Builders shared by the scoring tests: configs go through the real parse_scheme_config, as the JSON contract reads."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from tenants.rules.config import SchemeConfig, parse_scheme_config
from tenants.rules.engine import compute_period
from tenants.rules.scorecard import MoneyLine, ParticipantInput, Scorecard
from tests.schemes.test_config import DESIGN_EXAMPLE_JSON

# The scheme of DESIGN.md "Scheme configuration", verbatim: one copy of the spec's JSON for all tests.
WORKED_SCHEME: dict[str, Any] = json.loads(DESIGN_EXAMPLE_JSON)

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
