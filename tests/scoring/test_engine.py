"""Scoring engine: the DESIGN.md worked example, metric scoring, totals, grades, ranks, input checks, speed."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from tenants.rules.engine import compute_period
from tenants.rules.scorecard import ParticipantInput
from tests.scoring.support import WORKED_SCHEME, cards, line, person, scheme

# --------------------------------------------------------------------------------------------------------------------
# Worked example (DESIGN.md), exactly
# --------------------------------------------------------------------------------------------------------------------

WORKED_PEOPLE = [
    # code, new, invited, joined, sales, missed follow-ups, complaints
    ("小王", 36, 20, 12, 24000, 1, 0),
    ("小李", 12, 10, 2, 8000, 2, 1),
    ("小张", 30, 0, 0, 10000, 0, 0),
]


def worked_cards() -> dict[str, Any]:
    config = scheme(**{k: v for k, v in WORKED_SCHEME.items() if k != "cycle"})
    participants = [
        person(
            code,
            new_customers=new,
            invited=invited,
            joined=joined,
            sales=sales,
            counts={"missed_follow_up": missed, "complaint": complaints},
        )
        for code, new, invited, joined, sales, missed, complaints in WORKED_PEOPLE
    ]
    return cards(config, participants)


@pytest.mark.parametrize(
    ("code", "scores", "total", "grade", "rank", "amounts", "net"),
    [
        ("小王", ("120", "120", "120"), "120", "S", 1, ("1000.00", "300.00", "-100.00", "0.00"), "1200.00"),
        ("小李", ("40", "40", "40"), "40", "D", 3, ("0.00", "0.00", "-200.00", "-200.00"), "-400.00"),
        ("小张", ("100", "0", "50"), "55", "D", 2, ("0.00", "300.00", "0.00", "0.00"), "300.00"),
    ],
)
def test_worked_example(
    code: str, scores: tuple[str, ...], total: str, grade: str, rank: int, amounts: tuple[str, ...], net: str
) -> None:
    card = worked_cards()[code]
    scored = [m for m in card.metrics if m.score is not None]
    assert [m.key for m in scored] == ["new_customers", "conversion", "sales"]
    assert [m.score for m in scored] == [Decimal(s) for s in scores]
    assert card.total == Decimal(total)
    assert str(card.total) == f"{total}.0000"  # stored with 4 decimals
    assert card.grade == grade
    assert card.rank == rank
    assert [x.rule_key for x in card.lines] == ["commission", "new_customer_bonus", "missed_follow_up", "complaint"]
    assert [str(x.amount) for x in card.lines] == list(amounts)
    assert [x.kind for x in card.lines] == ["commission", "bonus", "penalty", "penalty"]
    assert str(card.net) == net
    assert card.flags == ()


@pytest.mark.parametrize(
    ("code", "rule_key", "derivation"),
    [
        ("小王", "commission", "提成 10,000.00 x 3% + 14,000.00 x 5% = 1,000.00"),
        ("小王", "new_customer_bonus", "新客户数量 36 达到 30，阶梯奖 300.00"),
        ("小王", "missed_follow_up", "扣款 1 次 x 100.00 = -100.00"),
        ("小王", "complaint", "扣款 0 次 x 200.00 = 0.00"),
        ("小李", "commission", "提成 0.00（总分 40.00 低于门槛 60）"),
        ("小李", "new_customer_bonus", "新客户数量 12 未达 30，阶梯奖 0.00"),
        ("小李", "missed_follow_up", "扣款 2 次 x 100.00 = -200.00"),
        ("小李", "complaint", "扣款 1 次 x 200.00 = -200.00"),
        ("小张", "commission", "提成 0.00（总分 55.00 低于门槛 60）"),
        ("小张", "new_customer_bonus", "新客户数量 30 达到 30，阶梯奖 300.00"),
    ],
)
def test_worked_example_derivations(code: str, rule_key: str, derivation: str) -> None:
    assert line(worked_cards()[code], rule_key).derivation == derivation


@pytest.mark.parametrize(
    ("code", "key", "value", "score", "explanation"),
    [
        ("小王", "sales", "24000", "120.0000", "24,000.00 / 20,000 = 120% (上限 150%) → 120.00 分"),
        ("小王", "new_customers", "36", "120.0000", "36 / 30 = 120% (上限 120%) → 120.00 分"),
        ("小王", "conversion", "0.6", "120.0000", "12 / 20 = 0.6；0.6 / 0.5 = 120% (上限 120%) → 120.00 分"),
        ("小王", "invited", "20", None, "辅助指标（不计分）：20"),
        ("小张", "conversion", None, "0.0000", "0 / 0，分母为 0，无数据 → 0.00 分"),
        ("小张", "sales", "10000", "50.0000", "10,000.00 / 20,000 = 50% (上限 150%) → 50.00 分"),
    ],
)
def test_worked_example_metric_explanations(
    code: str, key: str, value: str | None, score: str | None, explanation: str
) -> None:
    (metric,) = [m for m in worked_cards()[code].metrics if m.key == key]
    assert metric.value == (None if value is None else Decimal(value))
    assert (None if metric.score is None else str(metric.score)) == score
    assert metric.explanation == explanation


def test_worked_example_metrics_in_config_order_and_sorted_output() -> None:
    result = worked_cards()
    assert list(result) == sorted(code for code, *_ in WORKED_PEOPLE)
    assert [m.key for m in result["小王"].metrics] == ["new_customers", "invited", "joined", "conversion", "sales"]
    assert [m.label for m in result["小王"].metrics] == ["新客户数量", "invited", "joined", "老客户转化率", "销售额"]
    assert result["小王"].metrics[0].weight == Decimal(40)
    assert result["小王"].metrics[1].weight is None


# --------------------------------------------------------------------------------------------------------------------
# Scoring of one metric
# --------------------------------------------------------------------------------------------------------------------


def metric(aggregate: str = "count", **fields: Any) -> dict[str, Any]:
    events = {} if aggregate == "ratio" else {"events": ["e"]}
    return {"key": "m", "label": "指标", "aggregate": aggregate, "weight": 100, **events, **fields}


LINEAR = {"type": "linear"}


@pytest.mark.parametrize(
    ("config", "value", "score", "explanation"),
    [
        pytest.param(metric(target=20), 15, "75.0000", "15 / 20 = 75% (上限 100%) → 75.00 分", id="linear-below"),
        pytest.param(metric(target=20), 25, "100.0000", "25 / 20 = 125% (上限 100%) → 100.00 分", id="linear-cap-1"),
        pytest.param(
            metric(target=20, scoring={"cap": 1.5}),
            40,
            "150.0000",
            "40 / 20 = 200% (上限 150%) → 150.00 分",
            id="linear-capped",
        ),
        pytest.param(metric(target=20, scoring={"cap": 1.5}), 26, "130.0000", None, id="linear-under-cap-above-target"),
        pytest.param(metric(target=3), 2, "66.6667", "2 / 3 = 66.67% (上限 100%) → 66.67 分", id="linear-repeating"),
        pytest.param(metric(target=20), 0, "0.0000", None, id="linear-zero"),
        pytest.param(
            metric("sum_amount", target=20000, scoring={"cap": 1.5}),
            "-500",
            "0.0000",
            "-500.00 / 20,000 = -2.5% (上限 150%)，低于 0 按 0 计 → 0.00 分",
            id="linear-negative-after-refunds",
        ),
        pytest.param(
            metric(target=5, scoring={"direction": "lower"}),
            10,
            "50.0000",
            "目标 5 / 实际 10 = 50% (越低越好，上限 100%) → 50.00 分",
            id="lower",
        ),
        pytest.param(metric(target=5, scoring={"direction": "lower"}), 4, "100.0000", None, id="lower-capped"),
        pytest.param(
            metric(target=5, scoring={"direction": "lower", "cap": 1.2}), 4, "120.0000", None, id="lower-cap-1.2"
        ),
        pytest.param(
            metric(target=5, scoring={"direction": "lower", "cap": 1.2}),
            0,
            "120.0000",
            "实际 0，越低越好，取上限 120% → 120.00 分",
            id="lower-actual-zero",
        ),
        pytest.param(
            metric(target=5, scoring={"direction": "lower"}),
            0,
            "100.0000",
            "实际 0，越低越好，取上限 100% → 100.00 分",
            id="lower-actual-zero-default-cap",
        ),
        pytest.param(
            metric(target=30, scoring={"type": "threshold"}),
            30,
            "100.0000",
            "30 ≥ 目标 30，达标 → 100.00 分",
            id="threshold-exact",
        ),
        pytest.param(
            metric(target=30, scoring={"type": "threshold"}),
            29,
            "0.0000",
            "29 未达目标 30 → 0.00 分",
            id="threshold-missed",
        ),
        pytest.param(
            metric(target=3, scoring={"type": "threshold", "direction": "lower"}),
            3,
            "100.0000",
            "3 ≤ 目标 3，达标 → 100.00 分",
            id="threshold-lower-exact",
        ),
        pytest.param(
            metric(target=3, scoring={"type": "threshold", "direction": "lower"}),
            4,
            "0.0000",
            "4 高于目标 3，未达标 → 0.00 分",
            id="threshold-lower-missed",
        ),
    ],
)
def test_metric_score(config: dict[str, Any], value: int | str, score: str, explanation: str | None) -> None:
    card = cards(scheme([config]), [person("a", m=value)])["a"]
    (result,) = card.metrics
    assert str(result.score) == score
    assert card.total == Decimal(score)
    if explanation is not None:
        assert result.explanation == explanation


BANDS = {"type": "bands", "bands": [{"min": 0, "points": 20}, {"min": 10, "points": 60}, {"min": 20, "points": 100}]}


@pytest.mark.parametrize(
    ("value", "score", "explanation"),
    [
        ("25", "100.0000", "25 ≥ 20 档 → 100.00 分"),
        ("20", "100.0000", "20 ≥ 20 档 → 100.00 分"),
        ("19.5", "60.0000", "19.5 ≥ 10 档 → 60.00 分"),
        ("0", "20.0000", "0 ≥ 0 档 → 20.00 分"),
        ("-1", "0.0000", "-1 未达最低档 0 → 0.00 分"),
    ],
)
def test_bands(value: str, score: str, explanation: str) -> None:
    (result,) = cards(scheme([metric("sum_value", scoring=BANDS)]), [person("a", m=value)])["a"].metrics
    assert str(result.score) == score
    assert result.explanation == explanation


def ratio_scheme(on_empty: str = "zero") -> Any:
    return scheme(
        [
            {"key": "invited", "aggregate": "count", "events": ["invited"]},
            {"key": "joined", "aggregate": "count", "events": ["joined"]},
            {
                "key": "conversion",
                "label": "转化率",
                "aggregate": "ratio",
                "numerator": "joined",
                "denominator": "invited",
                "target": 0.5,
                "weight": 100,
                "on_empty": on_empty,
            },
        ]
    )


@pytest.mark.parametrize(
    ("on_empty", "invited", "joined", "value", "score", "explanation"),
    [
        ("zero", 0, 0, None, "0.0000", "0 / 0，分母为 0，无数据 → 0.00 分"),
        ("full", 0, 0, None, "100.0000", "0 / 0，分母为 0，无数据，按满分计 → 100.00 分"),
        ("zero", None, 3, None, "0.0000", "3 / 无数据，分母为 0，无数据 → 0.00 分"),
        ("full", 10, 4, "0.4", "80.0000", "4 / 10 = 0.4；0.4 / 0.5 = 80% (上限 100%) → 80.00 分"),
        ("zero", 3, 1, "0.3333", "66.6667", None),
    ],
)
def test_ratio_metric(
    on_empty: str, invited: int | None, joined: int, value: str | None, score: str, explanation: str | None
) -> None:
    card = cards(ratio_scheme(on_empty), [person("a", invited=invited, joined=joined)])["a"]
    result = card.metrics[2]
    if value is None:
        assert result.value is None
    else:
        assert result.value is not None
        assert round(result.value, 4) == Decimal(value)
    assert str(result.score) == score
    assert str(card.total) == score
    if explanation is not None:
        assert result.explanation == explanation


def test_ratio_metric_missing_input_key_counts_as_zero() -> None:
    card = cards(ratio_scheme(), [person("a")])["a"]
    assert [m.value for m in card.metrics] == [Decimal(0), Decimal(0), None]
    assert card.total == 0


def test_ratio_of_ratios_is_computed_in_dependency_order() -> None:
    # The scored ratio comes first in the config and depends on two ratios defined after it.
    config = scheme(
        [
            {
                "key": "lift",
                "aggregate": "ratio",
                "numerator": "rate_a",
                "denominator": "rate_b",
                "target": 2,
                "weight": 100,
                "scoring": {"cap": 1.5},
            },
            {"key": "rate_a", "aggregate": "ratio", "numerator": "a", "denominator": "n"},
            {"key": "rate_b", "aggregate": "ratio", "numerator": "b", "denominator": "n"},
            {"key": "a", "aggregate": "count", "events": ["a"]},
            {"key": "b", "aggregate": "count", "events": ["b"]},
            {"key": "n", "aggregate": "count", "events": ["n"]},
        ]
    )
    result = cards(config, [person("x", a=6, b=2, n=10), person("y", a=6, b=0, n=10)])
    x = result["x"]
    assert [m.value for m in x.metrics[:3]] == [Decimal(3), Decimal("0.6"), Decimal("0.2")]
    assert x.metrics[0].score == Decimal(150)
    assert x.metrics[0].explanation == "0.6 / 0.2 = 3；3 / 2 = 150% (上限 150%) → 150.00 分"
    assert x.metrics[1].explanation == "辅助指标（不计分）：6 / 10 = 0.6"
    # rate_b is 0, so the lift is an empty ratio
    assert result["y"].metrics[0].value is None
    assert result["y"].total == 0


@pytest.mark.parametrize(("on_empty", "score"), [("zero", "0.0000"), ("full", "100.0000")])
def test_avg_value_without_events(on_empty: str, score: str) -> None:
    config = scheme([metric("avg_value", target=4, on_empty=on_empty)])
    (result,) = cards(config, [person("a", m=None)])["a"].metrics
    assert result.value is None
    assert str(result.score) == score
    assert result.explanation.startswith("无数据")


def test_none_numerator_makes_ratio_empty() -> None:
    config = scheme(
        [
            {"key": "avg", "aggregate": "avg_value", "events": ["rating"]},
            {"key": "n", "aggregate": "count", "events": ["n"]},
            {"key": "r", "aggregate": "ratio", "numerator": "avg", "denominator": "n", "target": 1, "weight": 100},
        ]
    )
    card = cards(config, [person("a", avg=None, n=3)])["a"]
    assert card.metrics[2].value is None
    assert card.metrics[2].explanation == "无数据 / 3，分母为 0，无数据 → 0.00 分"


# --------------------------------------------------------------------------------------------------------------------
# Total, grade, rank
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "values", "scores", "total"),
    [
        ((50, 50), (1, 1), ("33.3333", "33.3333"), "33.3333"),
        # Summing the rounded scores would give 3.33333 + 60.00003 = 63.3334; the exact sum rounds to 63.3333.
        ((10, 90), (1, 2), ("33.3333", "66.6667"), "63.3333"),
    ],
)
def test_total_sums_exact_scores_then_rounds(
    weights: tuple[int, int], values: tuple[int, int], scores: tuple[str, str], total: str
) -> None:
    config = scheme(
        [
            {"key": "a", "aggregate": "count", "events": ["a"], "target": 3, "weight": weights[0]},
            {"key": "b", "aggregate": "count", "events": ["b"], "target": 3, "weight": weights[1]},
        ]
    )
    card = cards(config, [person("x", a=values[0], b=values[1])])["x"]
    assert [str(m.score) for m in card.metrics] == list(scores)
    assert str(card.total) == total
    assert card.total_display == round(Decimal(total), 2)


def test_equal_values_with_different_exponents_keep_their_own_value() -> None:
    # Results are shared between staff with the same value; "100" and "100.00" must still come back as given.
    result = cards(scheme(), [person("a", sales="100"), person("b", sales="100.00"), person("c", sales="100")])
    assert [str(result[c].metrics[0].value) for c in "abc"] == ["100", "100.00", "100"]
    assert result["a"].metrics[0] == result["c"].metrics[0]


@pytest.mark.parametrize(
    ("sales", "total", "display"),
    [
        ("2469", "12.3450", "12.35"),
        ("2467", "12.3350", "12.34"),
        ("2469.01", "12.3451", "12.35"),
        ("0", "0.0000", "0.00"),
    ],
)
def test_total_display_rounds_half_up(sales: str, total: str, display: str) -> None:
    card = cards(scheme(), [person("a", sales=sales)])["a"]
    assert str(card.total) == total
    assert str(card.total_display) == display


GRADES = [{"min": 90, "grade": "A"}, {"min": 60, "grade": "B"}, {"min": 0, "grade": "C"}]


@pytest.mark.parametrize(
    ("sales", "grade"),
    [("18000", "A"), ("17999.98", "B"), ("12000", "B"), ("11999", "C"), ("0", "C"), ("30000", "A")],
)
def test_grade_is_first_band_reached(sales: str, grade: str) -> None:
    assert cards(scheme(grades=GRADES), [person("a", sales=sales)])["a"].grade == grade


def test_grade_below_every_band_and_no_grades() -> None:
    config = scheme(grades=[{"min": 50, "grade": "pass"}])
    assert cards(config, [person("a", sales=1000)])["a"].grade is None
    assert cards(scheme(), [person("a", sales=30000)])["a"].grade is None


def test_competition_ranks_share_and_skip() -> None:
    people = [person(c, sales=s) for c, s in [("d", 12000), ("a", 16000), ("c", 14000), ("b", 16000), ("e", 0)]]
    result = cards(scheme(), people)
    assert {code: c.rank for code, c in result.items()} == {"a": 1, "b": 1, "c": 3, "d": 4, "e": 5}


# --------------------------------------------------------------------------------------------------------------------
# Inputs and determinism
# --------------------------------------------------------------------------------------------------------------------


def test_output_is_sorted_by_staff_code_whatever_the_input_order() -> None:
    people = [person(c, sales=1000 * i) for i, c in enumerate(["m", "b", "z", "a"])]
    forward = compute_period(scheme(), people)
    backward = compute_period(scheme(), list(reversed(people)))
    assert [c.staff_code for c in forward.scorecards] == ["a", "b", "m", "z"]
    assert forward == backward


def test_empty_period() -> None:
    assert compute_period(scheme(), []).scorecards == ()


@pytest.mark.parametrize(
    "participants",
    [
        [person("a", staff_id=1), person("b", staff_id=1)],
        [person("a", staff_id=1), person("a", staff_id=2)],
    ],
)
def test_duplicate_participant_is_rejected(participants: list[ParticipantInput]) -> None:
    with pytest.raises(ValueError, match="appears twice"):
        compute_period(scheme(), participants)


@pytest.mark.parametrize("bad", [1.5, Decimal("NaN"), Decimal("Infinity"), "100"])
def test_non_decimal_metric_values_are_rejected(bad: object) -> None:
    participant = ParticipantInput(1, "a", None, {"sales": bad}, {})  # type: ignore[dict-item]
    with pytest.raises((TypeError, ValueError)):
        compute_period(scheme(), [participant])


def test_int_metric_values_are_accepted_exactly() -> None:
    participant = ParticipantInput(1, "a", None, {"sales": 10000}, {})  # type: ignore[dict-item]
    assert compute_period(scheme(), [participant]).scorecards[0].total == Decimal(50)


def test_global_decimal_context_is_neither_used_nor_changed() -> None:
    import decimal

    before = decimal.getcontext().copy()
    with decimal.localcontext(prec=3, rounding=decimal.ROUND_HALF_EVEN):
        card = cards(
            scheme(rewards=[{"key": "c", "type": "commission", "base": "sales", "rate": 0.01}]),
            [person("a", sales="100.50")],
        )["a"]
        assert decimal.getcontext().prec == 3
    assert str(card.lines[0].amount) == "1.01"  # 1.005 half-up, at full precision
    assert str(card.total) == "0.5025"
    assert decimal.getcontext().prec == before.prec
    assert decimal.getcontext().rounding == before.rounding


# --------------------------------------------------------------------------------------------------------------------
# Speed
# --------------------------------------------------------------------------------------------------------------------


def test_twenty_thousand_participants_are_all_scored() -> None:
    # Timing lives in tests/bench (a ratio, not an absolute bound); this checks the large case is complete.
    rng = random.Random(20261031)
    config = scheme(**{k: v for k, v in WORKED_SCHEME.items() if k != "cycle"})
    people = [
        ParticipantInput(
            staff_id=i,
            staff_code=f"g{i:06d}",
            team_code=f"t{i % 400}",
            metrics={
                "new_customers": Decimal(rng.randint(0, 60)),
                "invited": Decimal(rng.randint(0, 40)),
                "joined": Decimal(rng.randint(0, 20)),
                "sales": Decimal(rng.randint(-50000, 4000000)) / 100,
            },
            penalty_counts={"missed_follow_up": rng.randint(0, 5), "complaint": rng.randint(0, 2)},
        )
        for i in range(20_000)
    ]
    result = compute_period(config, people)
    assert len(result.scorecards) == 20_000
    assert [card.staff_code for card in result.scorecards] == sorted(p.staff_code for p in people)
