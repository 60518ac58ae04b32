"""Who is credited (tenants/rules/attribution.py): each branch of DESIGN.md's order, and what beats what.

Pure: no database. The ingestion tests (tests/events) check the same rules end to end through recordEvents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tenants.rules.attribution import (
    ONE,
    Attribution,
    AttributionRules,
    Credits,
    GuideBinding,
    SentCredit,
)

AT = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
GUIDE, ACTOR, OPERATOR, SERVICE, OTHER = 11, 12, 13, 14, 15
TEAM, CREDITED_TEAM = 21, 22
BOUND = GuideBinding(GUIDE, AT - timedelta(days=10))
ORDER_CREDITS = Credits((OTHER,), (ONE,))
O2O_RULES = AttributionRules(
    o2o_when=(("channel", "o2o"),),
    o2o_splits=(("operator", Decimal("0.3")), ("service", Decimal("0.7"))),
)
ALL_RULES = AttributionRules(
    exclusive_guide_days=30,
    o2o_when=O2O_RULES.o2o_when,
    o2o_splits=O2O_RULES.o2o_splits,
)


@dataclass(frozen=True)
class Case:
    """One event's facts (codes already resolved to ids), all absent unless a case sets them."""

    sent: tuple[SentCredit, ...] | None = None
    refund: bool = False
    order: Credits | None = None
    binding: GuideBinding | None = None
    occurred_at: datetime = AT
    o2o_staff_ids: tuple[int, ...] | None = None
    actor_staff_id: int | None = None
    team_id: int | None = None

    def credits(self, rules: AttributionRules) -> Credits | None:
        return Attribution(rules).credits(
            sent=self.sent,
            refund=self.refund,
            order=self.order,
            binding=self.binding,
            occurred_at=self.occurred_at,
            o2o_staff_ids=self.o2o_staff_ids,
            actor_staff_id=self.actor_staff_id,
            team_id=self.team_id,
        )


SPLIT = (SentCredit(ACTOR, None, Decimal("0.4")), SentCredit(OTHER, None, Decimal("0.6")))
WITH_TEAM = (SentCredit(ACTOR, None, Decimal("0.25")), SentCredit(None, CREDITED_TEAM, Decimal("0.75")))
EVERYTHING: dict[str, Any] = {
    "binding": BOUND,
    "o2o_staff_ids": (OPERATOR, SERVICE),
    "actor_staff_id": ACTOR,
    "team_id": TEAM,
}


@pytest.mark.parametrize(
    ("rules", "case", "expected"),
    [
        # 1. Explicit credits, whatever else applies: staff shares as sent, a team credit to that team's pool.
        pytest.param(
            ALL_RULES,
            Case(sent=SPLIT, **EVERYTHING),
            Credits((ACTOR, OTHER), (Decimal("0.4"), Decimal("0.6"))),
            id="explicit-staff",
        ),
        pytest.param(
            ALL_RULES,
            Case(sent=WITH_TEAM, **EVERYTHING),
            Credits((ACTOR,), (Decimal("0.25"),), CREDITED_TEAM, Decimal("0.75")),
            id="explicit-team-pool-share",
        ),
        pytest.param(
            ALL_RULES,
            Case(sent=SPLIT, refund=True, order=ORDER_CREDITS),
            Credits((ACTOR, OTHER), (Decimal("0.4"), Decimal("0.6"))),
            id="refund-with-own-credits",
        ),
        # An empty list sends no credits: the rules decide.
        pytest.param(ALL_RULES, Case(sent=(), actor_staff_id=ACTOR), Credits((ACTOR,), (ONE,)), id="empty-credits"),
        # 2. A refund is credited like its order, before any rule (the order's credits came from them).
        pytest.param(
            ALL_RULES, Case(refund=True, order=ORDER_CREDITS, **EVERYTHING), ORDER_CREDITS, id="refund-like-order"
        ),
        pytest.param(ALL_RULES, Case(refund=True, actor_staff_id=ACTOR), Credits(), id="refund-order-unknown"),
        # 3. The exclusive guide, within [bound_since, bound_since + protection days).
        pytest.param(ALL_RULES, Case(**EVERYTHING), Credits((GUIDE,), (ONE,)), id="guide-within-window"),
        pytest.param(
            ALL_RULES,
            Case(binding=GuideBinding(GUIDE, AT), actor_staff_id=ACTOR),
            Credits((GUIDE,), (ONE,)),
            id="guide-bound-at-the-event",
        ),
        pytest.param(
            ALL_RULES,
            Case(binding=GuideBinding(GUIDE, AT + timedelta(seconds=1)), actor_staff_id=ACTOR),
            Credits((ACTOR,), (ONE,)),
            id="guide-bound-after-the-event",
        ),
        pytest.param(
            ALL_RULES,
            Case(binding=GuideBinding(GUIDE, AT - timedelta(days=30)), actor_staff_id=ACTOR),
            Credits((ACTOR,), (ONE,)),
            id="guide-window-ended",
        ),
        pytest.param(
            ALL_RULES,
            Case(binding=GuideBinding(GUIDE, AT - timedelta(days=30) + timedelta(seconds=1)), actor_staff_id=ACTOR),
            Credits((GUIDE,), (ONE,)),
            id="guide-window-last-second",
        ),
        pytest.param(
            ALL_RULES,
            Case(binding=GuideBinding(None, None), actor_staff_id=ACTOR),
            Credits((ACTOR,), (ONE,)),
            id="customer-not-bound",
        ),
        pytest.param(
            O2O_RULES, Case(binding=BOUND, actor_staff_id=ACTOR), Credits((ACTOR,), (ONE,)), id="no-guide-rule"
        ),
        # 4. The O2O split, when the rule applies and its staff exist (the caller passes their ids).
        pytest.param(
            ALL_RULES,
            Case(o2o_staff_ids=(OPERATOR, SERVICE), actor_staff_id=ACTOR, team_id=TEAM),
            Credits((OPERATOR, SERVICE), (Decimal("0.3"), Decimal("0.7"))),
            id="o2o-split",
        ),
        pytest.param(
            AttributionRules(),
            Case(o2o_staff_ids=(OPERATOR, SERVICE), actor_staff_id=ACTOR),
            Credits((ACTOR,), (ONE,)),
            id="no-o2o-rule",
        ),
        # 5. The actor, share 1.
        pytest.param(
            ALL_RULES, Case(actor_staff_id=ACTOR, team_id=TEAM), Credits((ACTOR,), (ONE,)), id="actor-before-team"
        ),
        pytest.param(AttributionRules(), Case(actor_staff_id=ACTOR), Credits((ACTOR,), (ONE,)), id="actor-no-rules"),
        # 6. The team pool, the whole amount.
        pytest.param(ALL_RULES, Case(team_id=TEAM), Credits((), (), TEAM, None), id="team-pool"),
        # Nobody.
        pytest.param(ALL_RULES, Case(), None, id="nobody"),
    ],
)
def test_who_is_credited(rules: AttributionRules, case: Case, expected: Credits | None) -> None:
    assert case.credits(rules) == expected


def test_events_of_one_actor_share_one_credits_value() -> None:
    attribution = Attribution(AttributionRules())
    first = attribution.credits(
        sent=None,
        refund=False,
        order=None,
        binding=None,
        occurred_at=AT,
        o2o_staff_ids=None,
        actor_staff_id=ACTOR,
        team_id=None,
    )
    again = attribution.credits(
        sent=None,
        refund=False,
        order=None,
        binding=None,
        occurred_at=AT + timedelta(days=1),
        o2o_staff_ids=None,
        actor_staff_id=ACTOR,
        team_id=None,
    )
    assert first is again


@pytest.mark.parametrize(
    ("tenant_settings", "expected"),
    [
        ({}, AttributionRules()),
        ({"attribution": None, "large_order_threshold": None}, AttributionRules()),
        ({"attribution": {"exclusive_guide": {"protection_days": 90}}}, AttributionRules(exclusive_guide_days=90)),
        ({"attribution": {"exclusive_guide": {}}}, AttributionRules()),  # an empty object is no rule
        ({"attribution": {"exclusive_guide": {"other": 1}}}, AttributionRules(exclusive_guide_days=36500)),
        (
            {
                "attribution": {
                    "o2o": {
                        "attribute": "channel",
                        "value": "o2o",
                        "splits": [
                            {"staff_attribute": "operator", "share": "0.3"},
                            {"staff_attribute": "service", "share": 0.7},
                        ],
                    }
                }
            },
            O2O_RULES,
        ),
        ({"large_order_threshold": "50000.00"}, AttributionRules(large_order_threshold=Decimal("50000.00"))),
        ({"large_order_threshold": 1000}, AttributionRules(large_order_threshold=Decimal(1000))),
    ],
)
def test_rules_from_the_tenant_settings(tenant_settings: dict[str, Any], expected: AttributionRules) -> None:
    assert AttributionRules.from_settings(tenant_settings) == expected


@pytest.mark.parametrize(
    ("attributes", "codes"),
    [
        ({"channel": "o2o", "operator": "ops-1", "service": "cs-2"}, ["ops-1", "cs-2"]),
        ({"channel": "offline", "operator": "ops-1", "service": "cs-2"}, None),
        ({"operator": "ops-1", "service": "cs-2"}, None),
        ({"channel": "o2o", "operator": "ops-1"}, None),  # a split names nobody
        ({"channel": "o2o", "operator": "ops-1", "service": ""}, None),
        ({"channel": "o2o", "operator": "ops-1", "service": 7}, None),  # not a code
    ],
)
def test_o2o_staff_codes(attributes: dict[str, Any], codes: list[str] | None) -> None:
    assert O2O_RULES.o2o_staff_codes(attributes) == codes
    assert AttributionRules().o2o_staff_codes(attributes) is None


@pytest.mark.parametrize(
    ("event_type", "amount", "large"),
    [
        ("order", Decimal("50000.00"), True),
        ("order", Decimal("50000.01"), True),
        ("order", Decimal("49999.99"), False),
        ("order", None, False),
        ("refund", Decimal("-60000.00"), False),
        ("customer_added", Decimal("60000.00"), False),
    ],
)
def test_large_orders(event_type: str, amount: Decimal | None, large: bool) -> None:
    rules = AttributionRules(large_order_threshold=Decimal("50000.00"))
    assert rules.is_large_order(event_type, amount) is large
    assert AttributionRules().is_large_order(event_type, amount) is False


def test_the_binding_of_an_orders_own_time() -> None:
    from tenants.rules.attribution import binding_at

    first = GuideBinding(GUIDE, AT - timedelta(days=10))
    second = GuideBinding(OTHER, AT)
    unbound = GuideBinding(None, AT + timedelta(days=5))
    history = (first, second, unbound)
    assert binding_at(history, AT - timedelta(days=11)) is None  # before the first binding
    assert binding_at(history, AT - timedelta(seconds=1)) is first
    assert binding_at(history, AT) is second  # a rebinding moves the orders from its instant on
    assert binding_at(history, AT + timedelta(days=5)) is unbound
    assert binding_at((), AT) is None


def test_every_o2o_condition_must_hold() -> None:
    rules = AttributionRules(
        o2o_when=(("channel", "offline"), ("lead", "online")),
        o2o_splits=(("operator", Decimal("0.3")), ("service", Decimal("0.7"))),
    )
    marked = {"channel": "offline", "lead": "online", "operator": "ops-1", "service": "cs-2"}
    assert rules.o2o_staff_codes(marked) == ["ops-1", "cs-2"]
    assert rules.o2o_staff_codes({**marked, "lead": "store"}) is None
    assert rules.o2o_staff_codes({key: value for key, value in marked.items() if key != "lead"}) is None
