"""How far to the next step (差多少): the DESIGN.md worked example, hand-computed cases, boundaries, and the promise
that moving a value by the gap progress names gives, in the real engine, what progress said it would."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from tenants.rules.progress import CardFacts, MetricGap, Progress, facts_of, fmt_points, progress
from tenants.rules.scorecard import Scorecard
from tests.scoring.support import SALES_METRIC, WORKED_SCHEME, cards, person, scheme
from tests.scoring.test_engine import worked_cards

D = Decimal
LABELS = {"invited": "邀约老客户数", "joined": "老客户到店数"}


def worked_config() -> Any:
    return scheme(**{k: v for k, v in WORKED_SCHEME.items() if k != "cycle"})


def worked_progress() -> dict[str, Progress]:
    config = worked_config()
    return {code: progress(config, facts_of(card), LABELS) for code, card in worked_cards().items()}


def metric(p: Progress, key: str) -> MetricGap:
    return next(m for m in p.metrics if m.key == key)


# --------------------------------------------------------------------------------------------------------------------
# The worked example (DESIGN.md): 小王 120 (S), 小李 40 (D), 小张 55 (D)
# --------------------------------------------------------------------------------------------------------------------


def test_worked_example_grades() -> None:
    p = worked_progress()
    wang, li, zhang = p["小王"].grade, p["小李"].grade, p["小张"].grade
    assert (wang.grade, wang.next_grade, wang.points_missing) == ("S", None, None)
    assert wang.explanation.render("zh-CN") == "总分 120.00，已是最高等级 S。"
    # 40 -> C at 60: 20 points; 55 -> C: 5 points. The scheme can give at most 40x1.2 + 30x1.2 + 30x1.5 = 129.
    assert (li.grade, li.next_grade, li.next_min, li.points_missing) == ("D", "C", D(60), D(20))
    assert (zhang.grade, zhang.next_grade, zhang.points_missing) == ("D", "C", D(5))
    assert li.max_total == D(129) and li.reachable
    assert li.explanation.render("zh-CN") == "总分 40.00（D 级）：再得 20.00 分升到 C 级（60 分）。"
    assert str(zhang.explanation) == "Total 55.00, grade D: 5.00 more points reach grade C (60)."


def test_worked_example_linear_metrics() -> None:
    p = worked_progress()
    li_new = metric(p["小李"], "new_customers")
    # 12 of 30 (cap 1.2 -> 36): 18 to the target, 24 to the cap; 40 points now of 120, weight 40 -> 32 points left.
    assert (li_new.value, li_new.target, li_new.cap_value, li_new.to_target, li_new.to_cap) == (
        D(12),
        D(30),
        D(36),
        D(18),
        D(24),
    )
    assert (li_new.score, li_new.max_score, li_new.points_available) == (D(40), D(120), D(32))
    assert li_new.explanation.render("zh-CN") == (
        "新客户数量 12，目标 30：再增加 18 达标（100 分），再增加 24 达到封顶值 36（120 分）；"
        "最多可为总分再加 32.00 分。"
    )
    li_sales = metric(p["小李"], "sales")
    assert (li_sales.to_target, li_sales.to_cap, li_sales.cap_value) == (D(12000), D(22000), D(30000))
    assert li_sales.points_available == D(33)  # 0.3 x (150 - 40)
    # 小李's conversion 2 / 10: 3 more joined reach 0.5, 4 more reach the cap 0.6 (at 10 invited).
    li_conv = metric(p["小李"], "conversion")
    assert (li_conv.to_target, li_conv.to_cap) == (D("0.3"), D("0.4"))
    assert (li_conv.numerator_to_target, li_conv.numerator_to_cap) == (D(3), D(4))
    assert "按当前邀约老客户数 10：老客户到店数再增加 3 即达标，再增加 4 封顶。" in li_conv.explanation.render("zh-CN")
    assert "joined" not in li_conv.explanation.render("zh-CN")
    # 小王 is at the cap of new customers (36) and conversion (0.6); sales 24,000 meets 20,000, 6,000 to the cap.
    wang = p["小王"]
    assert (metric(wang, "new_customers").to_cap, metric(wang, "new_customers").points_available) == (D(0), D(0))
    assert metric(wang, "conversion").explanation.render("zh-CN") == (
        "老客户转化率 0.6 已达封顶值 0.6，得满 120 分，再多不再加分。"
    )
    wang_sales = metric(wang, "sales")
    assert (wang_sales.to_target, wang_sales.to_cap, wang_sales.points_available) == (D(0), D(6000), D(9))
    assert wang_sales.explanation.render("zh-CN") == (
        "销售额 24,000.00 已达目标 20,000；再增加 6,000.00 达到封顶值 30,000（150 分），最多可为总分再加 9.00 分。"
    )
    # 小张's conversion is empty (0 / 0): no gap can be named, the explanation says so.
    zhang_conv = metric(p["小张"], "conversion")
    assert (zhang_conv.value, zhang_conv.to_target, zhang_conv.numerator_to_target) == (None, None, None)
    assert (
        zhang_conv.explanation.render("zh-CN")
        == "老客户转化率：暂无数据；达到 0.5 即达标（100 分），达到 0.6 封顶（120 分）。"
    )


def test_worked_example_ladder_commission_and_gate() -> None:
    p = worked_progress()
    li, zhang, wang = p["小李"], p["小张"], p["小王"]
    # Ladder on new customers: steps 30 (300) and 45 (800).
    (li_ladder,) = li.ladders
    assert (li_ladder.step_min, li_ladder.amount, li_ladder.next_min, li_ladder.next_amount, li_ladder.missing) == (
        None,
        D("0.00"),
        D(30),
        D("300.00"),
        D(18),
    )
    assert li_ladder.explanation.render("zh-CN") == "新客户数量 12：再增加 18 达到第一档 30，阶梯奖 300.00。"
    (zhang_ladder,) = zhang.ladders  # exactly at the step 30: reached, 15 more to 45
    assert (zhang_ladder.step_min, zhang_ladder.amount, zhang_ladder.missing) == (D(30), D("300.00"), D(15))
    assert (
        zhang_ladder.explanation.render("zh-CN") == "新客户数量 30：再增加 15 达到 45 档，阶梯奖由 300.00 变为 800.00。"
    )
    (wang_ladder,) = wang.ladders
    assert (wang_ladder.missing, wang_ladder.next_amount) == (D(9), D("800.00"))
    # Progressive commission 0: 3%, 10,000: 5%.
    (li_comm,) = li.commissions
    assert (li_comm.base, li_comm.rate, li_comm.next_from, li_comm.next_rate, li_comm.missing) == (
        D(8000),
        D("0.03"),
        D(10000),
        D("0.05"),
        D(2000),
    )
    assert (li_comm.amount, li_comm.amount_at_next) == (D("240.00"), D("300.00"))
    assert li_comm.explanation.render("zh-CN") == (
        "销售额 8,000.00：再增加 2,000.00 达到 10,000 档，超出部分按 5% 计提（当前 3%）；"
        "届时提成 300.00（当前 240.00）。"
    )
    # 小张 at exactly 10,000: in the 5% tier (the next 1.00 pays 5%), no tier above.
    (zhang_comm,) = zhang.commissions
    assert (zhang_comm.tier_from, zhang_comm.rate, zhang_comm.next_from, zhang_comm.amount) == (
        D(10000),
        D("0.05"),
        None,
        D("300.00"),
    )
    # 小王's line is the DESIGN table's 1,000.00.
    assert wang.commissions[0].amount == D("1000.00")
    # The commission's gate (60): 小李 misses 20 points, 小张 5, 小王 passes.
    assert [(g.rule_key, g.passed, g.points_missing) for g in li.gates] == [("commission", False, D(20))]
    assert li.commissions[0].gate == li.gates[0]
    assert zhang.gates[0].points_missing == D(5)
    assert zhang.gates[0].explanation.render("zh-CN") == "提成需总分达到门槛 60：还差 5.00 分（当前总分 55.00）。"
    assert (wang.gates[0].passed, wang.gates[0].points_missing) == (True, D(0))


# --------------------------------------------------------------------------------------------------------------------
# Hand-computed cases and boundaries
# --------------------------------------------------------------------------------------------------------------------


def one_metric(scoring: dict[str, Any], target: Any = 20000, aggregate: str = "sum_amount", **extra: Any) -> Any:
    return scheme(
        [{**SALES_METRIC, "aggregate": aggregate, "target": target, "scoring": scoring}],
        grades=[{"min": 100, "grade": "A"}, {"min": 60, "grade": "B"}, {"min": 0, "grade": "C"}],
        **extra,
    )


def test_exactly_at_the_target_and_beyond_the_cap() -> None:
    config = one_metric({"type": "linear", "cap": 1.5})
    at_target = metric(progress(config, CardFacts(D("100.0000"), {"sales": D(20000)})), "sales")
    assert (at_target.to_target, at_target.to_cap, at_target.score) == (D(0), D(10000), D(100))
    beyond = progress(config, CardFacts(D("150.0000"), {"sales": D(99999)}))
    assert (metric(beyond, "sales").to_cap, metric(beyond, "sales").points_available) == (D(0), D(0))
    assert beyond.grade.explanation.render("zh-CN") == "总分 150.00，已是最高等级 A。"
    # Exactly at a grade's min is that grade: 60.0000 is B, 40 more points to A.
    at_b = progress(config, CardFacts(D("60.0000"), {"sales": D(12000)}))
    assert (at_b.grade.grade, at_b.grade.next_grade, at_b.grade.points_missing) == ("B", "A", D(40))


def test_negative_value_and_default_cap() -> None:
    config = one_metric({"type": "linear"})  # cap 1 -> the cap is the target
    gap = metric(progress(config, CardFacts(D(0), {"sales": D(-500)})), "sales")
    assert (gap.score, gap.to_target, gap.to_cap, gap.cap_value) == (D(0), D(20500), D(20500), D(20000))


def test_lower_is_better() -> None:
    # Response time: target 60 s, cap 1.2 -> 50 s scores 120.
    config = one_metric({"type": "linear", "cap": 1.2, "direction": "lower"}, target=60, aggregate="avg_value")
    slow = metric(progress(config, CardFacts(D(0), {"sales": D(80)})), "sales")
    assert (slow.cap_value, slow.to_target, slow.to_cap) == (D(50), D(20), D(30))
    assert slow.score == D(75)  # 60 / 80
    assert slow.points_available == D(45)  # 100 % weight x (120 - 75)
    assert slow.explanation.render("zh-CN").startswith("销售额 80（越低越好）：再降低 20 达到目标 60（100 分）")
    zero = metric(progress(config, CardFacts(D(0), {"sales": D(0)})), "sales")
    assert (zero.score, zero.to_cap) == (D(120), D(0))
    empty = metric(progress(config, CardFacts(D(0), {"sales": None})), "sales")
    assert (empty.to_target, empty.score) == (None, D(0))


def test_zero_target_threshold() -> None:
    # A threshold at 0 (no complaints at all): lower is better, met at 0, one complaint misses it by 1.
    config = one_metric({"type": "threshold", "direction": "lower"}, target=0, aggregate="count")
    met = metric(progress(config, CardFacts(D(100), {"sales": D(0)})), "sales")
    assert (met.to_target, met.score, met.points_available) == (D(0), D(100), D(0))
    missed = metric(progress(config, CardFacts(D(0), {"sales": D(1)})), "sales")
    assert (missed.to_target, missed.score, missed.points_available) == (D(1), D(0), D(100))
    higher = one_metric({"type": "threshold"}, target=0, aggregate="count")
    assert metric(progress(higher, CardFacts(D(100), {"sales": D(0)})), "sales").to_target == D(0)


def test_counts_need_whole_events() -> None:
    # Target 33, cap 1.5: the cap value is 49.5, so 14 more events (36 -> 50), not 13.5.
    config = one_metric({"type": "linear", "cap": 1.5}, target=33, aggregate="count")
    gap = metric(progress(config, CardFacts(D(0), {"sales": D(36)})), "sales")
    assert (gap.cap_value, gap.to_cap, gap.to_target) == (D("49.5"), D(14), D(0))
    # The same for a money metric stays exact.
    money = one_metric({"type": "linear", "cap": 1.5}, target=33)
    assert metric(progress(money, CardFacts(D(0), {"sales": D(36)})), "sales").to_cap == D("13.5")


def test_bands() -> None:
    config = one_metric(
        {"type": "bands", "bands": [{"min": 0, "points": 20}, {"min": 100, "points": 60}, {"min": 200, "points": 100}]},
        aggregate="count",
    )
    gap = metric(progress(config, CardFacts(D(60), {"sales": D(150)})), "sales")
    assert (gap.score, gap.next_band_min, gap.next_band_points, gap.to_target, gap.to_cap) == (
        D(60),
        D(200),
        D(100),
        D(50),
        D(50),
    )
    top = metric(progress(config, CardFacts(D(100), {"sales": D(200)})), "sales")
    assert (top.next_band_min, top.points_available) == (None, D(0))
    assert top.explanation.render("zh-CN") == "销售额 200 已在最高档，得 100 分。"


def test_an_unreachable_grade_says_so() -> None:
    # Threshold only: 0 or 100, so a grade at 110 can never be reached.
    config = scheme(
        [{**SALES_METRIC, "scoring": {"type": "threshold"}}],
        grades=[{"min": 110, "grade": "S"}, {"min": 0, "grade": "D"}],
    )
    gap = progress(config, CardFacts(D(100), {"sales": D(30000)})).grade
    assert (gap.next_grade, gap.reachable, gap.max_total, gap.points_missing) == ("S", False, D(100), D(10))
    assert "超过本方案可得的最高总分 100.00" in gap.explanation.render("zh-CN")


def test_below_every_grade_and_no_grades() -> None:
    config = scheme(grades=[{"min": 60, "grade": "C"}])
    gap = progress(config, CardFacts(D("12.3456"), {"sales": D(2469)})).grade
    assert (gap.grade, gap.next_grade, gap.points_missing) == (None, "C", D("47.6544"))
    assert gap.explanation.render("zh-CN") == "总分 12.35，尚无等级：再得 47.65 分达到 C 级（60 分）。"
    assert progress(scheme(), CardFacts(D(1), {"sales": D(200)})).grade.next_grade is None


def test_a_tiny_gap_is_not_shown_as_zero() -> None:
    assert fmt_points(D("0.0040")) == "0.004"
    assert fmt_points(D("5")) == "5.00"
    config = scheme(grades=[{"min": 60, "grade": "C"}, {"min": 0, "grade": "D"}])
    gap = progress(config, CardFacts(D("59.9960"), {"sales": D(11999)})).grade
    assert gap.points_missing == D("0.0040")
    assert "再得 0.004 分" in gap.explanation.render("zh-CN")


def test_commission_modes() -> None:
    tiers = [{"from": 5000, "rate": 0.02}, {"from": 10000, "rate": 0.04}]
    whole = scheme(rewards=[{"key": "c", "type": "commission", "base": "sales", "mode": "whole", "tiers": tiers}])
    below = progress(whole, CardFacts(D(0), {"sales": D(3000)})).commissions[0]
    assert (below.tier_from, below.amount, below.next_from, below.missing, below.amount_at_next) == (
        None,
        D("0.00"),
        D(5000),
        D(2000),
        D("100.00"),
    )
    mid = progress(whole, CardFacts(D(0), {"sales": D(9000)})).commissions[0]
    # Whole: 9,000 x 2% = 180; at 10,000 the whole base pays 4% = 400.
    assert (mid.amount, mid.missing, mid.amount_at_next) == (D("180.00"), D(1000), D("400.00"))
    assert "全额按 4% 计提" in mid.explanation.render("zh-CN")
    flat = scheme(rewards=[{"key": "c", "type": "commission", "base": "sales", "rate": 0.035}])
    gap = progress(flat, CardFacts(D(0), {"sales": D("1234.56")})).commissions[0]
    assert (gap.mode, gap.rate, gap.amount, gap.next_from) == ("flat", D("0.035"), D("43.21"), None)
    assert gap.explanation.render("zh-CN") == "提成 43.21：销售额 1,234.56 按固定比例 3.5% 计提，没有更高档。"
    progressive = scheme(
        rewards=[{"key": "c", "type": "commission", "base": "sales", "mode": "progressive", "tiers": tiers}]
    )
    # Exactly at the start of a progressive tier: nothing above it yet, and the next 1.00 pays 2%.
    start = progress(progressive, CardFacts(D(0), {"sales": D(5000)})).commissions[0]
    assert (start.tier_from, start.rate, start.amount, start.next_from, start.amount_at_next) == (
        D(5000),
        D("0.02"),
        D("0.00"),
        D(10000),
        D("100.00"),
    )


def test_threshold_penalty_and_score_bonus() -> None:
    config = scheme(
        rewards=[{"key": "b", "type": "score_bonus", "base_amount": 1000, "cap": 1.2, "gate": {"min_score": 50}}],
        penalties=[{"key": "low", "type": "threshold", "below_score": 60, "amount": 200}],
    )
    p = progress(config, CardFacts(D("45.5000"), {"sales": D(9100)}))
    (bonus,) = p.score_bonuses
    assert (bonus.amount, bonus.cap_total, bonus.points_to_cap, bonus.amount_at_cap, bonus.per_point) == (
        D("455.00"),
        D(120),
        D("74.5"),
        D("1200.00"),
        D(10),
    )
    assert [(g.kind, g.rule_key, g.passed, g.points_missing) for g in p.gates] == [
        ("reward_gate", "b", False, D("4.5")),
        ("penalty_threshold", "low", False, D("14.5")),
    ]
    assert p.gates[1].explanation.render("zh-CN") == "扣款：总分再提高 14.50 分达到 60 即可免除（当前总分 45.50）。"
    at = progress(config, CardFacts(D("60.0000"), {"sales": D(12000)}))
    assert [g.passed for g in at.gates] == [True, True]  # exactly at the threshold: not charged


def test_a_helper_metric_is_shown_by_the_label_given() -> None:
    config = worked_config()
    li = worked_cards()["小李"]
    text = metric(progress(config, facts_of(li)), "conversion").explanation.render("zh-CN")
    assert "joined" in text  # no label given: the config's display label is its key
    assert "joined" not in metric(progress(config, facts_of(li), LABELS), "conversion").explanation.render("zh-CN")


# --------------------------------------------------------------------------------------------------------------------
# Progress agrees with the engine: moving the value by the named gap gives what progress promised
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_the_named_gaps_are_what_the_engine_needs(seed: int) -> None:
    rng = random.Random(seed)
    config = worked_config()
    new = rng.randint(0, 60)
    sales = D(rng.randint(-2000, 40000))
    invited = rng.randint(1, 30)
    joined = rng.randint(0, invited)
    me = person("me", new_customers=new, invited=invited, joined=joined, sales=sales)
    card = cards(config, [me])["me"]
    p = progress(config, facts_of(card), LABELS)

    def engine(**changes: Any) -> Scorecard:
        values: dict[str, Any] = {"new_customers": new, "invited": invited, "joined": joined, "sales": sales}
        values.update(changes)
        return cards(config, [person("me", **values)])["me"]

    def score(scored: Scorecard, key: str) -> Decimal:
        found = next(m.score for m in scored.metrics if m.key == key)
        assert found is not None
        return found

    new_gap, sales_gap, conv_gap = metric(p, "new_customers"), metric(p, "sales"), metric(p, "conversion")
    assert new_gap.to_target is not None and new_gap.to_cap is not None
    assert score(engine(new_customers=new + int(new_gap.to_target)), "new_customers") >= 100
    assert score(engine(new_customers=new + int(new_gap.to_cap)), "new_customers") == D(120)
    if new_gap.to_cap > 0:  # one less than the named gap does not reach the cap: the gap is the least one
        assert score(engine(new_customers=new + int(new_gap.to_cap) - 1), "new_customers") < D(120)
    assert sales_gap.to_target is not None and sales_gap.to_cap is not None
    assert score(engine(sales=sales + sales_gap.to_target), "sales") >= 100
    assert score(engine(sales=sales + sales_gap.to_cap), "sales") == D(150)
    assert conv_gap.numerator_to_cap is not None
    assert score(engine(joined=joined + int(conv_gap.numerator_to_cap)), "conversion") == D(120)
    # The ladder's next step pays what progress said; the commission at the next tier is the engine's line there.
    (ladder,) = p.ladders
    if ladder.missing is not None:
        bumped = engine(new_customers=new + int(ladder.missing))
        assert next(x.amount for x in bumped.lines if x.rule_key == "new_customer_bonus") == ladder.next_amount
    (commission,) = p.commissions
    if commission.missing is not None and commission.amount_at_next is not None:
        at_next = engine(sales=sales + commission.missing, new_customers=60, joined=invited)  # gate passed
        assert next(x.amount for x in at_next.lines if x.rule_key == "commission") == commission.amount_at_next
    # Gaining the points to the next grade (when reachable) reaches it.
    grade = p.grade
    if grade.points_missing is not None and grade.reachable:
        assert card.total + grade.points_missing == grade.next_min
    assert p.total == card.total
