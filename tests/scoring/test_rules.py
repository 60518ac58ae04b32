"""Money rules: commission, ladder, score bonus, rank bonus, team pool, penalties, penalty cap, demotion, gates.

Unless stated otherwise the scheme has one metric, sales (sum_amount) against 20,000 at weight 100 with cap 1.5, so a
staff member's total is sales / 200 (e.g. 12,000 -> 60).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.scoring.support import SALES_METRIC, cards, line, person, scheme

TIERS = [{"from": 0, "rate": 0.03}, {"from": 10000, "rate": 0.05}]
TIERS_FROM_5000 = [{"from": 5000, "rate": 0.02}, {"from": 10000, "rate": 0.04}, {"from": 20000, "rate": 0.06}]


def commission(**fields: Any) -> dict[str, Any]:
    return {"key": "comm", "type": "commission", "base": "sales", **fields}


# --------------------------------------------------------------------------------------------------------------------
# Commission
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "sales", "amount", "derivation"),
    [
        pytest.param(commission(rate=0.03), "24000", "720.00", "提成 24,000.00 x 3% = 720.00", id="flat"),
        pytest.param(commission(rate=0.035), "10000", "350.00", "提成 10,000.00 x 3.5% = 350.00", id="flat-3.5%"),
        pytest.param(
            commission(mode="progressive", tiers=TIERS),
            "24000",
            "1000.00",
            "提成 10,000.00 x 3% + 14,000.00 x 5% = 1,000.00",
            id="progressive",
        ),
        pytest.param(
            commission(mode="progressive", tiers=TIERS),
            "8000",
            "240.00",
            "提成 8,000.00 x 3% = 240.00",
            id="progressive-first-tier-only",
        ),
        pytest.param(
            commission(mode="progressive", tiers=TIERS),
            "10000",
            "300.00",
            "提成 10,000.00 x 3% = 300.00",
            id="progressive-at-boundary",
        ),
        pytest.param(
            commission(mode="progressive", tiers=TIERS_FROM_5000),
            "25000",
            "800.00",
            "提成 5,000.00 x 2% + 10,000.00 x 4% + 5,000.00 x 6% = 800.00",
            id="progressive-below-first-from-is-free",
        ),
        pytest.param(
            commission(mode="progressive", tiers=TIERS_FROM_5000),
            "4000",
            "0.00",
            "提成 0.00（销售额 4,000.00 未达起点 5,000）",
            id="progressive-below-start",
        ),
        pytest.param(
            commission(mode="whole", tiers=TIERS),
            "24000",
            "1200.00",
            "提成 24,000.00 x 5% = 1,200.00（全额阶梯：达到 10,000 档）",
            id="whole",
        ),
        pytest.param(
            commission(mode="whole", tiers=TIERS),
            "10000",
            "500.00",
            "提成 10,000.00 x 5% = 500.00（全额阶梯：达到 10,000 档）",
            id="whole-at-boundary",
        ),
        pytest.param(
            commission(mode="whole", tiers=TIERS),
            "9999.99",
            "300.00",
            "提成 9,999.99 x 3% = 300.00（全额阶梯：达到 0 档）",
            id="whole-lower-tier",
        ),
        pytest.param(
            commission(mode="whole", tiers=TIERS_FROM_5000),
            "5000",
            "100.00",
            "提成 5,000.00 x 2% = 100.00（全额阶梯：达到 5,000 档）",
            id="whole-at-first-from",
        ),
        pytest.param(
            commission(mode="progressive", tiers=TIERS_FROM_5000),
            "5000",
            "0.00",
            "提成 0.00（销售额 5,000.00 未超过起点 5,000）",
            id="progressive-at-first-from",
        ),
        pytest.param(
            commission(mode="whole", tiers=TIERS_FROM_5000),
            "4999",
            "0.00",
            "提成 0.00（销售额 4,999.00 未达起点 5,000）",
            id="whole-below-start",
        ),
        pytest.param(
            commission(mode="progressive", tiers=TIERS),
            "0",
            "0.00",
            "提成 0.00（销售额 0.00 不为正，无提成）",
            id="zero-base",
        ),
        pytest.param(
            commission(mode="progressive", tiers=TIERS),
            "-1500.5",
            "0.00",
            "提成 0.00（销售额 -1,500.50 不为正，无提成）",
            id="negative-base-after-refunds",
        ),
        pytest.param(
            commission(rate=0.03), "-1", "0.00", "提成 0.00（销售额 -1.00 不为正，无提成）", id="flat-negative"
        ),
        pytest.param(commission(rate=0.01), "0.5", "0.01", "提成 0.50 x 1% = 0.01", id="half-cent-rounds-up"),
        pytest.param(commission(rate=0.01), "100.5", "1.01", "提成 100.50 x 1% = 1.01", id="1.005-rounds-up"),
        pytest.param(commission(rate=0.01), "100.49", "1.00", "提成 100.49 x 1% = 1.00", id="1.0049-rounds-down"),
        pytest.param(
            commission(mode="progressive", tiers=TIERS),
            "10000.1",
            "300.01",
            "提成 10,000.00 x 3% + 0.10 x 5% = 300.01",
            id="progressive-rounds-once-at-the-end",
        ),
        pytest.param(
            commission(rate=0.03, label="销售提成"),
            "1000",
            "30.00",
            "销售提成 1,000.00 x 3% = 30.00",
            id="label",
        ),
    ],
)
def test_commission(rule: dict[str, Any], sales: str, amount: str, derivation: str) -> None:
    card = cards(scheme(rewards=[rule]), [person("a", sales=sales)])["a"]
    (result,) = card.lines
    assert (result.rule_key, result.kind) == ("comm", "commission")
    assert str(result.amount) == amount
    assert result.derivation == derivation


@pytest.mark.parametrize(
    ("sales", "amount", "derivation"),
    [
        ("12000", "360.00", "提成 12,000.00 x 3% = 360.00"),  # total exactly 60: passes
        ("11999", "0.00", "提成 0.00（总分 59.9950 低于门槛 60）"),  # would display as 60.00: the 4 dp are shown
        ("8000", "0.00", "提成 0.00（总分 40.00 低于门槛 60）"),
        ("0", "0.00", "提成 0.00（总分 0.00 低于门槛 60）"),
    ],
)
def test_gate(sales: str, amount: str, derivation: str) -> None:
    rule = commission(rate=0.03, gate={"min_score": 60})
    (result,) = cards(scheme(rewards=[rule]), [person("a", sales=sales)])["a"].lines
    assert str(result.amount) == amount
    assert result.derivation == derivation


@pytest.mark.parametrize(
    ("rule", "word"),
    [
        ({"key": "r", "type": "ladder", "metric": "sales", "steps": [{"min": 0, "amount": 100}]}, "阶梯奖"),
        ({"key": "r", "type": "score_bonus", "base_amount": 1000}, "得分奖金"),
        ({"key": "r", "type": "rank_bonus", "ranks": [{"rank": 1, "amount": 500}]}, "排名奖"),
        ({"key": "r", "type": "team_pool", "metric": "sales", "steps": [{"min": 0, "amount": 100}]}, "团队奖池"),
        ({"key": "r", "type": "score_bonus", "base_amount": 1000, "label": "季度奖"}, "季度奖"),
    ],
)
def test_gate_applies_to_every_reward_type(rule: dict[str, Any], word: str) -> None:
    config = scheme(rewards=[{**rule, "gate": {"min_score": 50}}])
    result = cards(config, [person("low", team="t", sales=9000), person("ok", team="t", sales=10000)])
    assert result["low"].lines[0].amount == 0
    assert result["low"].lines[0].derivation == f"{word} 0.00（总分 45.00 低于门槛 50）"
    assert result["ok"].lines[0].amount > 0


# --------------------------------------------------------------------------------------------------------------------
# Ladder
# --------------------------------------------------------------------------------------------------------------------

NEW_CUSTOMERS = {
    "key": "new_customers",
    "label": "新客户数量",
    "aggregate": "count",
    "events": ["customer_added"],
    "target": 30,
    "weight": 100,
}
LADDER = {
    "key": "ladder",
    "type": "ladder",
    "metric": "new_customers",
    "steps": [{"min": 30, "amount": 300}, {"min": 45, "amount": 800}],
}


@pytest.mark.parametrize(
    ("value", "amount", "derivation"),
    [
        (50, "800.00", "新客户数量 50 达到 45，阶梯奖 800.00"),  # not cumulative: not 300 + 800
        (45, "800.00", "新客户数量 45 达到 45，阶梯奖 800.00"),
        (44, "300.00", "新客户数量 44 达到 30，阶梯奖 300.00"),
        (30, "300.00", "新客户数量 30 达到 30，阶梯奖 300.00"),
        (29, "0.00", "新客户数量 29 未达 30，阶梯奖 0.00"),
        (0, "0.00", "新客户数量 0 未达 30，阶梯奖 0.00"),
    ],
)
def test_ladder(value: int, amount: str, derivation: str) -> None:
    (result,) = cards(scheme([NEW_CUSTOMERS], rewards=[LADDER]), [person("a", new_customers=value)])["a"].lines
    assert (result.kind, str(result.amount), result.derivation) == ("bonus", amount, derivation)


# --------------------------------------------------------------------------------------------------------------------
# Score bonus
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "sales", "amount", "derivation"),
    [
        (
            {"base_amount": 1000, "cap": 1.2},
            "16000",
            "800.00",
            "得分奖金 1,000.00 x 80% = 800.00（总分 80.00，上限 120%）",
        ),
        (
            {"base_amount": 1000, "cap": 1.2},
            "30000",
            "1200.00",
            "得分奖金 1,000.00 x 120% = 1,200.00（总分 150.00，上限 120%）",
        ),
        (
            {"base_amount": 1000},
            "30000",
            "1000.00",
            "得分奖金 1,000.00 x 100% = 1,000.00（总分 150.00，上限 100%）",
        ),
        ({"base_amount": 1000, "cap": 1.2}, "0", "0.00", "得分奖金 1,000.00 x 0% = 0.00（总分 0.00，上限 120%）"),
        (
            {"base_amount": 333.33},
            "10000",
            "166.67",
            "得分奖金 333.33 x 50% = 166.67（总分 50.00，上限 100%）",
        ),
        (
            {"base_amount": 1000},
            "2469",
            "123.45",
            "得分奖金 1,000.00 x 12.345% = 123.45（总分 12.35，上限 100%）",
        ),
    ],
)
def test_score_bonus(rule: dict[str, Any], sales: str, amount: str, derivation: str) -> None:
    config = scheme(rewards=[{"key": "sb", "type": "score_bonus", **rule}])
    (result,) = cards(config, [person("a", sales=sales)])["a"].lines
    assert (str(result.amount), result.derivation) == (amount, derivation)


# --------------------------------------------------------------------------------------------------------------------
# Rank bonus
# --------------------------------------------------------------------------------------------------------------------

RANKS = [{"rank": 1, "amount": 500}, {"rank": 2, "amount": 200}, {"rank": 3, "amount": 100}]


def test_rank_bonus_ties_share_rank_and_skip() -> None:
    config = scheme(rewards=[{"key": "rb", "type": "rank_bonus", "ranks": RANKS}])
    people = [person("a", sales=16000), person("b", sales=16000), person("c", sales=14000), person("d", sales=12000)]
    result = cards(config, people)
    assert {code: (c.rank, str(c.lines[0].amount)) for code, c in result.items()} == {
        "a": (1, "500.00"),
        "b": (1, "500.00"),
        "c": (3, "100.00"),  # nobody is second: 200 is not paid
        "d": (4, "0.00"),
    }
    assert result["a"].lines[0].derivation == "排名奖 500.00（总分 80.00，全员并列第 1）"
    assert result["c"].lines[0].derivation == "排名奖 100.00（总分 70.00，全员排名第 3）"
    assert result["d"].lines[0].derivation == "排名奖 0.00（总分 60.00，全员排名第 4，不在奖励名次内）"


def test_rank_bonus_per_team() -> None:
    config = scheme(rewards=[{"key": "rb", "type": "rank_bonus", "ranks": RANKS, "per_team": True}])
    people = [
        person("a", team="north", sales=16000),
        person("b", team="north", sales=16000),
        person("c", team="north", sales=14000),
        person("d", team="south", sales=12000),
        person("e", team="south", sales=10000),
        person("f", team="south", sales=10000),
        person("g", sales=20000),
    ]
    result = cards(config, people)
    assert {code: str(c.lines[0].amount) for code, c in result.items()} == {
        "a": "500.00",
        "b": "500.00",
        "c": "100.00",
        "d": "500.00",
        "e": "200.00",
        "f": "200.00",
        "g": "0.00",
    }
    assert result["e"].lines[0].derivation == "排名奖 200.00（总分 50.00，团队 south 内并列第 2）"
    assert result["d"].lines[0].derivation == "排名奖 500.00（总分 60.00，团队 south 内排名第 1）"
    assert result["g"].lines[0].derivation == "排名奖 0.00（未分配团队，不参与团队排名）"
    # the scorecard rank stays global
    assert [result[c].rank for c in "gabcdef"] == [1, 2, 2, 4, 5, 6, 6]


# --------------------------------------------------------------------------------------------------------------------
# Team pool
# --------------------------------------------------------------------------------------------------------------------


def pool(split: str, steps: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "key": "pool",
        "type": "team_pool",
        "metric": "sales",
        "steps": steps or [{"min": 100000, "amount": 1000}],
        "split": split,
        **extra,
    }


@pytest.mark.parametrize(
    ("split", "steps", "sales", "expected"),
    [
        pytest.param(
            "equal", None, {"b": 40000, "c": 35000, "a": 30000}, {"a": "333.34", "b": "333.33", "c": "333.33"}, id="eq"
        ),
        pytest.param(
            "pro_rata",
            [{"min": 100000, "amount": 2000}],
            {"a": 50000, "b": 30000, "c": 20000},
            {"a": "1000.00", "b": "600.00", "c": "400.00"},
            id="pro-rata",
        ),
        pytest.param(
            "pro_rata",
            [{"min": 0, "amount": 100}],
            {"c": 1, "b": 1, "a": 1},
            {"a": "33.34", "b": "33.33", "c": "33.33"},
            id="pro-rata-tie-by-code",
        ),
        pytest.param(
            "pro_rata",
            None,
            {"a": 60000, "b": 50000, "c": -500},
            {"a": "545.45", "b": "454.55", "c": "0.00"},  # b has the larger remainder (.54545 vs .45454)
            id="pro-rata-largest-remainder-and-non-positive-member",
        ),
        pytest.param(
            "equal",
            [{"min": 100000, "amount": 1000}, {"min": 200000, "amount": 3000}],
            {"a": 150000, "b": 100000},
            {"a": "1500.00", "b": "1500.00"},
            id="highest-step",
        ),
        pytest.param("equal", None, {"a": 50000, "b": 39999.99}, {"a": "0.00", "b": "0.00"}, id="not-reached"),
        pytest.param(
            "equal",
            [{"min": 0, "amount": 0.01}],
            {"a": 1, "b": 1, "c": 1},
            {"a": "0.01", "b": "0.00", "c": "0.00"},
            id="one-cent",
        ),
    ],
)
def test_team_pool_split(
    split: str, steps: list[dict[str, Any]] | None, sales: dict[str, int | float], expected: dict[str, str]
) -> None:
    config = scheme(rewards=[pool(split, steps)])
    result = cards(config, [person(code, team="t", sales=str(v)) for code, v in sales.items()])
    assert {code: str(c.lines[0].amount) for code, c in result.items()} == expected
    total_paid = sum((c.lines[0].amount for c in result.values()), Decimal(0))
    assert total_paid in {Decimal(0), *(Decimal(str(s["amount"])) for s in (steps or [{"amount": 1000}]))}


def test_team_pool_derivations() -> None:
    config = scheme(rewards=[pool("equal")])
    result = cards(config, [person(c, team="t", sales=s) for c, s in [("a", 30000), ("b", 40000), ("c", 35000)]])
    assert result["a"].lines[0].derivation == (
        "团队奖池：团队 t 销售额合计 105,000.00 达到 100,000，奖池 1,000.00，3 人平分，本人 333.34"
        "（按最大余额法分到分，全队合计等于奖池）"
    )
    config = scheme(rewards=[pool("pro_rata")])
    result = cards(config, [person(c, team="t", sales=s) for c, s in [("a", 60000), ("b", 50000), ("c", -500)]])
    assert result["b"].lines[0].derivation == (
        "团队奖池：团队 t 销售额合计 109,500.00 达到 100,000，奖池 1,000.00，"
        "按个人销售额占比 50,000.00 / 110,000.00 分配，本人 454.55（按最大余额法分到分，全队合计等于奖池）"
    )
    assert result["c"].lines[0].derivation == (
        "团队奖池：团队 t 销售额合计 109,500.00 达到 100,000，奖池 1,000.00，"
        "个人销售额 -500.00 不为正，不参与分配，本人 0.00"
    )


def test_team_pool_credits_teams_and_staff_without_team() -> None:
    config = scheme(rewards=[pool("pro_rata")])
    people = [
        person("a", team="t1", sales=45000),
        person("b", team="t1", sales=45000),
        person("c", team="t2", sales=0),
        person("d", team="t2", sales=0),
        person("e", team="t3", sales=90000),
        person("f", sales=500000),
    ]
    credits = {"t1": {"sales": Decimal(10000)}, "t2": {"sales": Decimal(120000)}, "nobody": {"sales": Decimal(1)}}
    result = cards(config, people, credits)
    assert {code: str(c.lines[0].amount) for code, c in result.items()} == {
        "a": "500.00",
        "b": "500.00",
        "c": "500.00",  # nobody positive: equal split
        "d": "500.00",
        "e": "0.00",  # 90,000 without credit: not reached
        "f": "0.00",
    }
    assert result["a"].lines[0].derivation == (
        "团队奖池：团队 t1 销售额合计 100,000.00（含团队业绩 10,000.00）达到 100,000，奖池 1,000.00，"
        "按个人销售额占比 45,000.00 / 90,000.00 分配，本人 500.00（按最大余额法分到分，全队合计等于奖池）"
    )
    assert result["c"].lines[0].derivation == (
        "团队奖池：团队 t2 销售额合计 120,000.00（含团队业绩 120,000.00）达到 100,000，奖池 1,000.00，"
        "无人个人销售额为正，2 人平分，本人 500.00（按最大余额法分到分，全队合计等于奖池）"
    )
    assert result["e"].lines[0].derivation == "团队奖池 0.00（团队 t3 销售额合计 90,000.00 未达 100,000）"
    assert result["f"].lines[0].derivation == "团队奖池 0.00（未分配团队）"


def test_team_pool_gate_excludes_member_and_pool_is_still_paid_in_full() -> None:
    config = scheme(rewards=[pool("equal", gate={"min_score": 60})])
    people = [
        person("a", team="t", sales=50000),
        person("b", team="t", sales=40000),
        person("c", team="t", sales=10000),
    ]
    result = cards(config, people)
    assert {code: str(c.lines[0].amount) for code, c in result.items()} == {"a": "500.00", "b": "500.00", "c": "0.00"}
    assert result["c"].lines[0].derivation == "团队奖池 0.00（总分 50.00 低于门槛 60）"


@pytest.mark.parametrize("seed", range(25))
def test_team_pool_always_sums_to_the_pool(seed: int) -> None:
    import random

    rng = random.Random(seed)
    split = rng.choice(["equal", "pro_rata"])
    amount = Decimal(rng.randint(1, 10**7)) / 100
    config = scheme(rewards=[pool(split, [{"min": 0, "amount": str(amount)}])])
    size = rng.randint(1, 40)
    people = [
        person(f"s{i:03d}", team="t", sales=str(Decimal(rng.randint(-(10**6), 10**8)) / 100)) for i in range(size)
    ]
    rng.shuffle(people)
    result = cards(config, people)
    paid = [c.lines[0].amount for c in result.values()]
    assert sum(paid, Decimal(0)) == amount
    assert all(p >= 0 and p == p.quantize(Decimal("0.01")) for p in paid)
    assert cards(config, list(reversed(people))) == result  # independent of input order


# --------------------------------------------------------------------------------------------------------------------
# Penalties
# --------------------------------------------------------------------------------------------------------------------


def per_event(key: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "per_event", "events": [key], "amount": amount, **extra}


@pytest.mark.parametrize(
    ("count", "amount", "derivation"),
    [(3, "-300.00", "扣款 3 次 x 100.00 = -300.00"), (0, "0.00", "扣款 0 次 x 100.00 = 0.00"), (1, "-100.00", None)],
)
def test_per_event_penalty(count: int, amount: str, derivation: str | None) -> None:
    config = scheme(penalties=[per_event("late", 100)])
    (result,) = cards(config, [person("a", sales=1, counts={"late": count})])["a"].lines
    assert (result.kind, str(result.amount)) == ("penalty", amount)  # never "-0.00"
    if derivation is not None:
        assert result.derivation == derivation


def test_missing_penalty_count_is_zero_and_label_is_used() -> None:
    config = scheme(penalties=[per_event("late", 100, label="迟到扣款")])
    (result,) = cards(config, [person("a")])["a"].lines
    assert (str(result.amount), result.derivation) == ("0.00", "迟到扣款 0 次 x 100.00 = 0.00")


@pytest.mark.parametrize(
    ("rule", "sales", "amount", "derivation"),
    [
        ({"amount": 200}, "8000", "-200.00", "扣款 -200.00（总分 40.00 低于 60）"),
        ({"amount": 200}, "12000", "0.00", "扣款 0.00（总分 60.00 不低于 60）"),  # exactly at the score: no penalty
        ({"amount": 200}, "11999", "-200.00", "扣款 -200.00（总分 59.9950 低于 60）"),
        (
            {"pct_of_rewards": 0.1},
            "10000",
            "-50.00",
            "扣款 10% x 本期奖励合计 500.00 = -50.00（总分 50.00 低于 60）",
        ),
        ({"pct_of_rewards": 0.1}, "0", "0.00", "扣款 10% x 本期奖励合计 0.00 = 0.00（总分 0.00 低于 60）"),
        # -0.004 rounds to zero: the line must read 0.00, never -0.00
        ({"pct_of_rewards": 0.1}, "0.8", "0.00", "扣款 10% x 本期奖励合计 0.04 = 0.00（总分 0.00 低于 60）"),
        ({"pct_of_rewards": 0.15}, "12000", "0.00", "扣款 0.00（总分 60.00 不低于 60）"),
        (
            {"pct_of_rewards": 0.333},
            "10000",
            "-166.50",
            "扣款 33.3% x 本期奖励合计 500.00 = -166.50（总分 50.00 低于 60）",
        ),
    ],
)
def test_threshold_penalty(rule: dict[str, Any], sales: str, amount: str, derivation: str) -> None:
    config = scheme(
        rewards=[
            commission(rate=0.05),  # 5% of sales: 500.00 at 10,000
            {"key": "gated", "type": "score_bonus", "base_amount": 1000, "gate": {"min_score": 90}},  # 0.00 here
        ],
        penalties=[{"key": "low", "type": "threshold", "below_score": 60, **rule}],
    )
    card = cards(config, [person("a", sales=sales)])["a"]
    result = line(card, "low")
    assert (result.kind, str(result.amount), result.derivation) == ("penalty", amount, derivation)
    assert [x.rule_key for x in card.lines] == ["comm", "gated", "low"]


CAPPED = [per_event("p1", 100), per_event("p2", 200), per_event("p3", 50)]


@pytest.mark.parametrize(
    ("counts", "amounts", "cut_derivations"),
    [
        pytest.param(
            {"p1": 6, "p2": 3, "p3": 2},
            ["-600.00", "-400.00", "0.00"],
            {
                "p2": "扣款 3 次 x 200.00 = -600.00，扣款上限 1,000.00，本项削减至 -400.00",
                "p3": "扣款 2 次 x 50.00 = -100.00，扣款上限 1,000.00，本项削减至 0.00",
            },
            id="cut-on-crossing-line",
        ),
        pytest.param({"p1": 6, "p2": 2, "p3": 0}, ["-600.00", "-400.00", "0.00"], {}, id="exactly-at-cap"),
        pytest.param(
            {"p1": 11, "p2": 1, "p3": 0},
            ["-1000.00", "0.00", "0.00"],
            {
                "p1": "扣款 11 次 x 100.00 = -1,100.00，扣款上限 1,000.00，本项削减至 -1,000.00",
                "p2": "扣款 1 次 x 200.00 = -200.00，扣款上限 1,000.00，本项削减至 0.00",
            },
            id="first-line-crosses",
        ),
        pytest.param({"p1": 1, "p2": 1, "p3": 1}, ["-100.00", "-200.00", "-50.00"], {}, id="below-cap"),
    ],
)
def test_penalty_cap(counts: dict[str, int], amounts: list[str], cut_derivations: dict[str, str]) -> None:
    config = scheme(
        rewards=[commission(rate=0.1)],
        penalties=[*CAPPED, {"key": "demote", "type": "demotion", "below_score": 60, "periods": 1}],
        penalty_cap=1000,
    )
    card = cards(config, [person("a", sales=5000, counts=counts)])["a"]
    assert [str(x.amount) for x in card.lines] == ["500.00", *amounts]
    assert -sum((x.amount for x in card.lines if x.kind == "penalty"), Decimal(0)) <= 1000
    for key, derivation in cut_derivations.items():
        assert line(card, key).derivation == derivation
    assert len(card.flags) == 1  # the demotion flag is no money line and not subject to the cap


def test_penalty_cap_worked_example_not_reached() -> None:
    config = scheme(penalties=[per_event("p1", 100), per_event("p2", 200)], penalty_cap=1000)
    card = cards(config, [person("a", counts={"p1": 2, "p2": 1})])["a"]
    assert str(card.net) == "-400.00"


# --------------------------------------------------------------------------------------------------------------------
# Demotion
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("periods", "sales", "previous", "message"),
    [
        pytest.param(
            3, 8000, ["50", "45"], "总分连续 3 期低于 60（本期 40.00，此前依次 50.00、45.00），触发降级", id="3"
        ),
        pytest.param(
            3,
            8000,
            ["50", "45", "90"],
            "总分连续 3 期低于 60（本期 40.00，此前依次 50.00、45.00），触发降级",
            id="older-ok",
        ),
        pytest.param(3, 8000, ["50", "70"], None, id="streak-broken"),
        pytest.param(3, 8000, ["70", "50"], None, id="streak-broken-last-period"),
        pytest.param(3, 8000, ["50"], None, id="not-enough-history"),
        pytest.param(3, 12000, ["50", "45"], None, id="at-threshold-now"),
        pytest.param(3, 8000, ["50", "60"], None, id="previous-at-threshold"),
        pytest.param(1, 8000, [], "总分 40.00 低于 60，触发降级", id="single-period"),
        pytest.param(2, 11999, ["59.9999"], "总分连续 2 期低于 60（本期 60.00，此前依次 60.00），触发降级", id="near"),
    ],
)
def test_demotion(periods: int, sales: int, previous: list[str], message: str | None) -> None:
    config = scheme(penalties=[{"key": "demote", "type": "demotion", "below_score": 60, "periods": periods}])
    card = cards(config, [person("a", sales=sales, previous=previous)])["a"]
    assert card.lines == ()
    if message is None:
        assert card.flags == ()
    else:
        (flag,) = card.flags
        assert (flag.rule_key, flag.kind, flag.message) == ("demote", "demotion", message)


# --------------------------------------------------------------------------------------------------------------------
# Line order and net
# --------------------------------------------------------------------------------------------------------------------


def test_lines_are_rewards_then_penalties_in_config_order() -> None:
    config = scheme(
        [SALES_METRIC],
        rewards=[
            {"key": "z_bonus", "type": "score_bonus", "base_amount": 100},
            commission(rate=0.01),
        ],
        penalties=[per_event("b_pen", 10), per_event("a_pen", 20)],
    )
    card = cards(config, [person("a", sales=10000, counts={"a_pen": 1, "b_pen": 1})])["a"]
    assert [x.rule_key for x in card.lines] == ["z_bonus", "comm", "b_pen", "a_pen"]
    assert str(card.net) == "120.00"  # 50 + 100 - 10 - 20
