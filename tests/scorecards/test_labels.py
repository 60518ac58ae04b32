"""Every metric has a label people can read, never its key (issue 8 item 1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tenants.demo import PERIOD, seed_worked_example
from tenants.rules.config import parse_scheme_config
from tenants.scorecards.labels import metric_labels
from tenants.scorecards.service import exact
from tests.conftest import GraphQL, TenantFactory
from tests.scoring.support import WORKED_SCHEME

D = Decimal


def config_with(*metrics: dict[str, Any]) -> Any:
    scored = {"key": "s", "label": "得分", "aggregate": "count", "events": ["order"], "target": 1, "weight": 100}
    return parse_scheme_config({"cycle": "month", "metrics": [scored, *metrics]})


def test_the_worked_example_helpers_are_labelled() -> None:
    labels = metric_labels(parse_scheme_config(WORKED_SCHEME))
    assert labels == {
        "new_customers": "新客户数量",
        "invited": "邀约老客户数",
        "joined": "老客户到店数",
        "conversion": "老客户转化率",
        "sales": "销售额",
    }
    assert all(label != key for key, label in labels.items())


def test_own_label_then_template_then_made_then_position() -> None:
    labels = metric_labels(
        config_with(
            {"key": "x1", "label": "自定义", "aggregate": "count", "events": ["order"]},
            # Same key, aggregate and events as a template metric with a label: the template's.
            {"key": "buyers", "aggregate": "count_distinct_customers", "events": ["order"]},
            {"key": "x2", "aggregate": "sum_amount", "events": ["order", "refund"]},
            {"key": "x3", "aggregate": "count", "events": ["complaint", "follow_up_missed"]},
            {"key": "x4", "aggregate": "count", "events": ["some_custom_event"]},
        )
    )
    assert labels == {
        "s": "得分",
        "x1": "自定义",
        "buyers": "购买客户数",
        "x2": "销售额",
        "x3": "投诉、漏跟进数",
        "x4": "辅助指标 6",
    }


def test_exact_numbers_have_no_trailing_zeros_and_no_exponent() -> None:
    assert [str(exact(D(v))) for v in ("4.800000", "20000", "0.5000", "-0.00", "1E+3", "3.3333")] == [
        "4.8",
        "20000",
        "0.5",
        "0",
        "1000",
        "3.3333",
    ]


SIMULATE = """
query($scheme: ID!, $period: String!) {
  simulateScheme(schemeId: $scheme, period: $period) {
    ... on Simulation { scorecards { staffCode metrics { key label value score weight } } }
  }
}
"""


async def test_a_simulation_labels_helpers_and_shows_decimals(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    body = await gql(SIMULATE, {"scheme": str(scheme_id), "period": PERIOD}, token)
    cards = {card["staffCode"]: card for card in body["data"]["simulateScheme"]["scorecards"]}
    metrics = {m["key"]: m for m in cards["guide-002"]["metrics"]}
    assert metrics["invited"] == {
        "key": "invited",
        "label": "邀约老客户数",
        "value": "10",
        "score": None,
        "weight": None,
    }
    assert (metrics["conversion"]["value"], metrics["sales"]["value"], metrics["sales"]["score"]) == (
        "0.2",
        "8000",
        "40.0000",
    )
