"""Scheme config validation: pure unit tests (no database)."""

import copy
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tenants.errors import DomainError, Problem
from tenants.i18n import LOCALES, catalogue
from tenants.rules.config import (
    CommissionReward,
    ConfigProblem,
    LadderReward,
    PerEventPenalty,
    SchemeConfig,
    SchemeConfigErrorCode,
    SchemeConfigInvalid,
    Tier,
    json_path,
    parse_scheme_config,
    validate_scheme_config,
)
from tenants.rules.config import bounds as config_module
from tenants.text import is_storable_text

Code = SchemeConfigErrorCode

# Copied verbatim from DESIGN.md "Scheme configuration": the contract example must stay valid.
DESIGN_EXAMPLE_JSON = """
{
  "cycle": "month",
  "timezone": "Asia/Shanghai",
  "participants": {"roles": ["guide"]},
  "metrics": [
    {"key": "new_customers", "label": "新客户数量", "aggregate": "count", "events": ["customer_added"],
     "target": 30, "weight": 40, "scoring": {"type": "linear", "cap": 1.2}},
    {"key": "invited", "aggregate": "count", "events": ["old_customer_invited"]},
    {"key": "joined", "aggregate": "count", "events": ["old_customer_joined"]},
    {"key": "conversion", "label": "老客户转化率", "aggregate": "ratio", "numerator": "joined", "denominator": "invited",
     "target": 0.5, "weight": 30, "scoring": {"type": "linear", "cap": 1.2}},
    {"key": "sales", "label": "销售额", "aggregate": "sum_amount", "events": ["order", "refund"], "credit": "credited",
     "target": 20000, "weight": 30, "scoring": {"type": "linear", "cap": 1.5}}
  ],
  "grades": [{"min": 110, "grade": "S"}, {"min": 90, "grade": "A"}, {"min": 75, "grade": "B"},
             {"min": 60, "grade": "C"}, {"min": 0, "grade": "D"}],
  "rewards": [
    {"key": "commission", "type": "commission", "base": "sales", "mode": "progressive",
     "tiers": [{"from": 0, "rate": 0.03}, {"from": 10000, "rate": 0.05}], "gate": {"min_score": 60}},
    {"key": "new_customer_bonus", "type": "ladder", "metric": "new_customers",
     "steps": [{"min": 30, "amount": 300}, {"min": 45, "amount": 800}]}
  ],
  "penalties": [
    {"key": "missed_follow_up", "type": "per_event", "events": ["follow_up_missed"], "amount": 100},
    {"key": "complaint", "type": "per_event", "events": ["complaint"], "filter": {"caused_by_follow_up": true},
     "amount": 200}
  ],
  "penalty_cap": 1000
}
"""  # noqa: E501


def example() -> dict[str, Any]:
    # json.loads without parse_float: floats exactly as a web framework would hand them over
    config: dict[str, Any] = json.loads(DESIGN_EXAMPLE_JSON)
    return config


DELETE = object()


def _path_parts(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path)]


def apply_changes(config: dict[str, Any], changes: dict[str, object]) -> dict[str, Any]:
    """Set (or DELETE) values at JSON paths; an index one past the end of a list appends."""
    changed = copy.deepcopy(config)
    for path, value in changes.items():
        *parents, last = _path_parts(path)
        node: Any = changed
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        elif isinstance(last, int) and last == len(node):
            node.append(value)
        else:
            node[last] = value
    return changed


def problem_pairs(problems: list[ConfigProblem]) -> list[tuple[str | None, str]]:
    return [(problem.field, problem.code) for problem in problems]


# --- the valid example ----------------------------------------------------------------------------------------------


def test_design_example_is_valid() -> None:
    assert validate_scheme_config(example()) == []


def test_design_example_parses_to_exact_decimals() -> None:
    config = parse_scheme_config(example())

    commission = config.rewards[0]
    assert isinstance(commission, CommissionReward)
    assert [(tier.from_, tier.rate) for tier in commission.tiers] == [
        (Decimal(0), Decimal("0.03")),
        (Decimal(10000), Decimal("0.05")),
    ]
    # str() shows the exact digits: a float detour would give 0.0299999999999999988897769753748...
    assert str(commission.tiers[0].rate) == "0.03"
    assert commission.gate is not None
    assert commission.gate.min_score == Decimal(60)
    assert config.metric("new_customers").scoring.cap == Decimal("1.2")
    assert str(config.metric("conversion").target) == "0.5"
    assert config.penalty_cap == Decimal(1000)
    for value in (config.metric("sales").weight, config.metric("sales").target, commission.tiers[1].rate):
        assert type(value) is Decimal


def test_design_example_model_helpers() -> None:
    config = parse_scheme_config(example())

    assert [metric.key for metric in config.scored_metrics] == ["new_customers", "conversion", "sales"]
    assert config.metric("invited").scored is False
    assert config.metric("invited").display_label == "invited"
    assert config.metric("sales").display_label == "销售额"
    assert config.metric("invited").scoring.effective_cap == Decimal(1)
    assert config.metric("sales").scoring.effective_cap == Decimal("1.5")
    assert config.metric("sales").credit == "credited"
    assert config.metric("invited").credit == "actor"
    assert isinstance(config.rewards[1], LadderReward)
    assert config.rewards[1].display_label == "new_customer_bonus"
    penalty = config.penalties[1]
    assert isinstance(penalty, PerEventPenalty)
    assert penalty.filter == {"caused_by_follow_up": True}
    assert config.timezone == "Asia/Shanghai"
    with pytest.raises(KeyError):
        config.metric("nope")


def test_models_are_frozen() -> None:
    config = parse_scheme_config(example())
    with pytest.raises(ValidationError):
        config.cycle = "week"  # type: ignore[misc]


def test_tier_dumps_with_the_json_name() -> None:
    tier = Tier.model_validate({"from": "100", "rate": "0.05"})
    assert tier.from_ == Decimal(100)
    assert tier.model_dump() == {"from": Decimal(100), "rate": Decimal("0.05")}


def test_numeric_strings_and_decimal_json_text_are_accepted() -> None:
    config = apply_changes(example(), {"rewards[0].tiers[1].rate": "0.045", "penalty_cap": " 800.50 "})
    parsed = parse_scheme_config(config)
    commission = parsed.rewards[0]
    assert isinstance(commission, CommissionReward)
    assert commission.tiers[1].rate == Decimal("0.045")
    assert parsed.penalty_cap == Decimal("800.50")

    from_text = parse_scheme_config(DESIGN_EXAMPLE_JSON)
    assert from_text == parse_scheme_config(example())


def test_defaults() -> None:
    config = parse_scheme_config(
        {"cycle": "week", "metrics": [{"key": "m", "aggregate": "count", "events": ["e"], "target": 1, "weight": 100}]}
    )
    assert isinstance(config, SchemeConfig)
    assert config.timezone == "Asia/Shanghai"
    assert config.participants.roles == []
    assert config.grades == []
    assert config.rewards == []
    assert config.penalties == []
    assert config.penalty_cap is None
    metric = config.metrics[0]
    assert metric.scoring.type == "linear"
    assert metric.scoring.direction == "higher"
    assert metric.on_empty == "zero"


# --- one problem per case -------------------------------------------------------------------------------------------

RATIO_LOOP_METRIC = {"key": "invited", "aggregate": "ratio", "numerator": "conversion", "denominator": "joined"}
THRESHOLD_PENALTY = {"key": "low_score", "type": "threshold", "below_score": 60}
RANK_BONUS = {"key": "top", "type": "rank_bonus", "ranks": [{"rank": 1, "amount": 500}, {"rank": 2, "amount": 200}]}
SCORE_BONUS = {"key": "bonus", "type": "score_bonus", "base_amount": 1000, "cap": 1.2}
TEAM_POOL = {"key": "pool", "type": "team_pool", "metric": "sales", "steps": [{"min": 100000, "amount": 2000}]}

# (changes to the DESIGN example, exactly the problems expected as (field, code))
INVALID_CASES: dict[str, tuple[dict[str, object], list[tuple[str, Code]]]] = {
    # structure
    "missing cycle": ({"cycle": DELETE}, [("cycle", Code.MISSING_FIELD)]),
    "missing ladder steps (union tag stripped)": (
        {"rewards[1].steps": DELETE},
        [("rewards[1].steps", Code.MISSING_FIELD)],
    ),
    "missing rule type": ({"rewards[0].type": DELETE}, [("rewards[0].type", Code.MISSING_FIELD)]),
    "missing tier rate": ({"rewards[0].tiers[1].rate": DELETE}, [("rewards[0].tiers[1].rate", Code.MISSING_FIELD)]),
    "unknown root field": ({"penalty_caps": 5}, [("penalty_caps", Code.UNKNOWN_FIELD)]),
    "unknown metric field": ({"metrics[0].wieght": 10}, [("metrics[0].wieght", Code.UNKNOWN_FIELD)]),
    "unknown nested field in union": (
        {"rewards[0].tiers[0].from_": 0},
        [("rewards[0].tiers[0].from_", Code.UNKNOWN_FIELD)],
    ),
    "unknown penalty field": ({"penalties[0].amout": 1}, [("penalties[0].amout", Code.UNKNOWN_FIELD)]),
    "unknown gate field": ({"rewards[0].gate.score": 1}, [("rewards[0].gate.score", Code.UNKNOWN_FIELD)]),
    "cycle not allowed": ({"cycle": "fortnight"}, [("cycle", Code.INVALID_VALUE)]),
    "commission mode not allowed": ({"rewards[0].mode": "stepped"}, [("rewards[0].mode", Code.INVALID_VALUE)]),
    "unknown reward type": ({"rewards[1].type": "bonus"}, [("rewards[1].type", Code.INVALID_VALUE)]),
    "NaN target": ({"metrics[0].target": float("nan")}, [("metrics[0].target", Code.INVALID_VALUE)]),
    "NaN string": ({"metrics[0].target": "NaN"}, [("metrics[0].target", Code.INVALID_VALUE)]),
    "infinite rate": ({"rewards[0].tiers[1].rate": float("inf")}, [("rewards[0].tiers[1].rate", Code.INVALID_VALUE)]),
    "too many decimal places": ({"penalty_cap": "0.0000000000001"}, [("penalty_cap", Code.TOO_MANY_DECIMALS)]),
    "too large": ({"penalty_cap": 1e20}, [("penalty_cap", Code.VALUE_OUT_OF_RANGE)]),
    "demotion periods 0": (
        {"penalties[2]": {"key": "demote", "type": "demotion", "below_score": 60, "periods": 0}},
        [("penalties[2].periods", Code.VALUE_OUT_OF_RANGE)],
    ),
    "rank 0": (
        {"rewards[2]": {"key": "top", "type": "rank_bonus", "ranks": [{"rank": 0, "amount": 5}]}},
        [("rewards[2].ranks[0].rank", Code.VALUE_OUT_OF_RANGE)],
    ),
    "empty grade name": ({"grades[4].grade": " "}, [("grades[4].grade", Code.INVALID_VALUE)]),
    "weight not a number": ({"metrics[0].weight": "forty"}, [("metrics[0].weight", Code.INVALID_TYPE)]),
    "weight boolean": ({"metrics[0].weight": True}, [("metrics[0].weight", Code.INVALID_TYPE)]),
    "events not a list": ({"metrics[0].events": "customer_added"}, [("metrics[0].events", Code.INVALID_TYPE)]),
    "key not a string": ({"rewards[1].key": 7}, [("rewards[1].key", Code.INVALID_TYPE)]),
    "tier not an object": ({"rewards[0].tiers[1]": 0.05}, [("rewards[0].tiers[1]", Code.INVALID_TYPE)]),
    "metrics not a list": ({"metrics": {"a": 1}}, [("metrics", Code.INVALID_TYPE)]),
    # keys and references
    "invalid metric key": (
        {"metrics[0].key": "New Customers", "rewards[1].metric": "New Customers"},
        [("metrics[0].key", Code.INVALID_KEY)],
    ),
    "invalid rule key": ({"rewards[1].key": "new-bonus"}, [("rewards[1].key", Code.INVALID_KEY)]),
    "invalid event type": ({"metrics[0].events[0]": "Customer Added"}, [("metrics[0].events[0]", Code.INVALID_KEY)]),
    "invalid penalty event type": ({"penalties[0].events[0]": "1st"}, [("penalties[0].events[0]", Code.INVALID_KEY)]),
    "duplicate metric key": (
        {"metrics[5]": {"key": "invited", "aggregate": "count", "events": ["x"]}},
        [("metrics[5].key", Code.DUPLICATE_KEY)],
    ),
    "duplicate reward key": ({"rewards[1].key": "commission"}, [("rewards[1].key", Code.DUPLICATE_KEY)]),
    "penalty key equals reward key": ({"penalties[0].key": "commission"}, [("penalties[0].key", Code.DUPLICATE_KEY)]),
    "duplicate grade": ({"grades[1].grade": "S"}, [("grades[1].grade", Code.DUPLICATE_KEY)]),
    "unknown ratio numerator": ({"metrics[3].numerator": "joind"}, [("metrics[3].numerator", Code.UNKNOWN_METRIC)]),
    "unknown commission base": ({"rewards[0].base": "revenue"}, [("rewards[0].base", Code.UNKNOWN_METRIC)]),
    "unknown ladder metric": ({"rewards[1].metric": "new_customer"}, [("rewards[1].metric", Code.UNKNOWN_METRIC)]),
    "unknown team pool metric": (
        {"rewards[2]": {**TEAM_POOL, "metric": "turnover"}},
        [("rewards[2].metric", Code.UNKNOWN_METRIC)],
    ),
    "unknown timezone": ({"timezone": "Asia/Shangai"}, [("timezone", Code.INVALID_TIMEZONE)]),
    "timezone path traversal": ({"timezone": "../etc/passwd"}, [("timezone", Code.INVALID_TIMEZONE)]),
    # metrics and scoring
    "weights sum to 110": ({"metrics[0].weight": 50}, [("metrics", Code.WEIGHTS_NOT_100)]),
    "weights sum to 99.99": ({"metrics[4].weight": "29.99"}, [("metrics", Code.WEIGHTS_NOT_100)]),
    "no scored metric": (
        {"metrics[0].weight": DELETE, "metrics[3].weight": DELETE, "metrics[4].weight": DELETE},
        [("metrics", Code.NO_SCORED_METRIC)],
    ),
    "zero weight": (
        {"metrics[0].weight": 0, "metrics[3].weight": 70},
        [("metrics[0].weight", Code.WEIGHT_NOT_POSITIVE)],
    ),
    "scored metric without target": ({"metrics[0].target": DELETE}, [("metrics[0].target", Code.MISSING_TARGET)]),
    "threshold scoring without target": (
        {"metrics[4].target": DELETE, "metrics[4].scoring": {"type": "threshold"}},
        [("metrics[4].target", Code.MISSING_TARGET)],
    ),
    "linear target zero": ({"metrics[0].target": 0}, [("metrics[0].target", Code.TARGET_NOT_POSITIVE)]),
    "count without events": ({"metrics[1].events": []}, [("metrics[1].events", Code.MISSING_EVENTS)]),
    "sum without events field": ({"metrics[4].events": DELETE}, [("metrics[4].events", Code.MISSING_EVENTS)]),
    "per_event penalty without events": ({"penalties[0].events": []}, [("penalties[0].events", Code.MISSING_EVENTS)]),
    "ratio without denominator": (
        {"metrics[3].denominator": DELETE},
        [("metrics[3].denominator", Code.RATIO_FIELDS)],
    ),
    "ratio with events": ({"metrics[3].events": ["x"]}, [("metrics[3].events", Code.RATIO_FIELDS)]),
    "ratio with filter": ({"metrics[3].filter": {"a": 1}}, [("metrics[3].filter", Code.RATIO_FIELDS)]),
    "count with numerator": ({"metrics[1].numerator": "joined"}, [("metrics[1].numerator", Code.RATIO_FIELDS)]),
    "ratio of itself": ({"metrics[3].numerator": "conversion"}, [("metrics[3].numerator", Code.RATIO_CYCLE)]),
    "ratio cycle of two": ({"metrics[1]": RATIO_LOOP_METRIC}, [("metrics[1].numerator", Code.RATIO_CYCLE)]),
    "filter value is an object": (
        {"penalties[1].filter.caused_by_follow_up": {"is": True}},
        [("penalties[1].filter.caused_by_follow_up", Code.INVALID_FILTER)],
    ),
    "filter value is null": (
        {"metrics[0].filter": {"channel": None}},
        [("metrics[0].filter.channel", Code.INVALID_FILTER)],
    ),
    "filter empty list": ({"metrics[0].filter": {"channel": []}}, [("metrics[0].filter.channel", Code.INVALID_FILTER)]),
    "filter list of objects": (
        {"metrics[0].filter": {"channel": [{"a": 1}]}},
        [("metrics[0].filter.channel", Code.INVALID_FILTER)],
    ),
    "filter unknown customer grade": (
        {"metrics[4].filter": {"customer_grade": ["A", "E"]}},
        [("metrics[4].filter.customer_grade", Code.INVALID_FILTER)],
    ),
    "filter odd attribute name is quoted": (
        {"metrics[0].filter": {"store code": None}},
        [('metrics[0].filter["store code"]', Code.INVALID_FILTER)],
    ),
    "linear cap below 1": ({"metrics[0].scoring.cap": 0.8}, [("metrics[0].scoring.cap", Code.CAP_BELOW_1)]),
    "score bonus cap below 1": ({"rewards[2]": {**SCORE_BONUS, "cap": 0.5}}, [("rewards[2].cap", Code.CAP_BELOW_1)]),
    "grades not descending": ({"grades[2].min": 95}, [("grades[2].min", Code.GRADES_NOT_DESCENDING)]),
    "grades equal mins": ({"grades[1].min": 110}, [("grades[1].min", Code.GRADES_NOT_DESCENDING)]),
    "bands scoring without bands": (
        {"metrics[0].scoring": {"type": "bands"}},
        [("metrics[0].scoring.bands", Code.STEPS_REQUIRED)],
    ),
    "bands not ascending": (
        {"metrics[0].scoring": {"type": "bands", "bands": [{"min": 10, "points": 50}, {"min": 5, "points": 100}]}},
        [("metrics[0].scoring.bands[1].min", Code.STEPS_NOT_ASCENDING)],
    ),
    "cap with threshold scoring": (
        {"metrics[0].scoring": {"type": "threshold", "cap": 1.2}},
        [("metrics[0].scoring.cap", Code.IRRELEVANT_FIELD)],
    ),
    "bands with linear scoring": (
        {"metrics[0].scoring.bands": [{"min": 1, "points": 1}]},
        [("metrics[0].scoring.bands", Code.IRRELEVANT_FIELD)],
    ),
    # rewards and penalties
    "tiers not ascending": ({"rewards[0].tiers[1].from": 0}, [("rewards[0].tiers[1].from", Code.TIERS_NOT_ASCENDING)]),
    "negative tier from": (
        {"rewards[0].tiers[0].from": -1},
        [("rewards[0].tiers[0].from", Code.NEGATIVE_AMOUNT)],
    ),
    "ladder steps not ascending": (
        {"rewards[1].steps[1].min": 30},
        [("rewards[1].steps[1].min", Code.STEPS_NOT_ASCENDING)],
    ),
    "ranks not ascending": (
        {"rewards[2]": {**RANK_BONUS, "ranks": [{"rank": 2, "amount": 200}, {"rank": 1, "amount": 500}]}},
        [("rewards[2].ranks[1].rank", Code.STEPS_NOT_ASCENDING)],
    ),
    "ladder without steps": ({"rewards[1].steps": []}, [("rewards[1].steps", Code.STEPS_REQUIRED)]),
    "rank bonus without ranks": (
        {"rewards[2]": {**RANK_BONUS, "ranks": []}},
        [("rewards[2].ranks", Code.STEPS_REQUIRED)],
    ),
    "negative ladder amount": (
        {"rewards[1].steps[0].amount": -300},
        [("rewards[1].steps[0].amount", Code.NEGATIVE_AMOUNT)],
    ),
    "negative penalty amount": ({"penalties[0].amount": -100}, [("penalties[0].amount", Code.NEGATIVE_AMOUNT)]),
    "negative penalty cap": ({"penalty_cap": "-1"}, [("penalty_cap", Code.NEGATIVE_AMOUNT)]),
    "negative score bonus base": (
        {"rewards[2]": {**SCORE_BONUS, "base_amount": -1000}},
        [("rewards[2].base_amount", Code.NEGATIVE_AMOUNT)],
    ),
    "negative rank amount": (
        {"rewards[2]": {**RANK_BONUS, "ranks": [{"rank": 1, "amount": -5}]}},
        [("rewards[2].ranks[0].amount", Code.NEGATIVE_AMOUNT)],
    ),
    "negative threshold amount": (
        {"penalties[2]": {**THRESHOLD_PENALTY, "amount": -50}},
        [("penalties[2].amount", Code.NEGATIVE_AMOUNT)],
    ),
    "negative tier rate": ({"rewards[0].tiers[0].rate": -0.01}, [("rewards[0].tiers[0].rate", Code.NEGATIVE_RATE)]),
    "rate written as percent": ({"rewards[0].tiers[1].rate": 5}, [("rewards[0].tiers[1].rate", Code.RATE_TOO_HIGH)]),
    "pct of rewards above 1": (
        {"penalties[2]": {**THRESHOLD_PENALTY, "pct_of_rewards": 10}},
        [("penalties[2].pct_of_rewards", Code.RATE_TOO_HIGH)],
    ),
    "negative pct of rewards": (
        {"penalties[2]": {**THRESHOLD_PENALTY, "pct_of_rewards": -0.1}},
        [("penalties[2].pct_of_rewards", Code.NEGATIVE_RATE)],
    ),
    "commission on a count": ({"rewards[0].base": "new_customers"}, [("rewards[0].base", Code.NOT_MONEY_METRIC)]),
    "commission on a ratio": ({"rewards[0].base": "conversion"}, [("rewards[0].base", Code.NOT_MONEY_METRIC)]),
    "team pool on a ratio": (
        {"rewards[2]": {**TEAM_POOL, "metric": "conversion"}},
        [("rewards[2].metric", Code.NOT_ADDITIVE_METRIC)],
    ),
    "flat commission without rate": (
        {"rewards[0].mode": "flat", "rewards[0].tiers": DELETE},
        [("rewards[0].rate", Code.FLAT_NEEDS_RATE)],
    ),
    "default mode is flat and needs rate": (
        {"rewards[0].mode": DELETE, "rewards[0].tiers": DELETE},
        [("rewards[0].rate", Code.FLAT_NEEDS_RATE)],
    ),
    "flat commission with tiers": (
        {"rewards[0].mode": "flat", "rewards[0].rate": 0.03},
        [("rewards[0].tiers", Code.IRRELEVANT_FIELD)],
    ),
    "progressive commission with rate": ({"rewards[0].rate": 0.03}, [("rewards[0].rate", Code.IRRELEVANT_FIELD)]),
    "progressive commission with empty tiers": ({"rewards[0].tiers": []}, [("rewards[0].tiers", Code.TIERS_REQUIRED)]),
    "whole commission without tiers": (
        {"rewards[0].mode": "whole", "rewards[0].tiers": DELETE},
        [("rewards[0].tiers", Code.TIERS_REQUIRED)],
    ),
    "threshold penalty with neither amount": (
        {"penalties[2]": THRESHOLD_PENALTY},
        [("penalties[2]", Code.THRESHOLD_AMOUNT_XOR)],
    ),
    "threshold penalty with both amounts": (
        {"penalties[2]": {**THRESHOLD_PENALTY, "amount": 100, "pct_of_rewards": 0.1}},
        [("penalties[2]", Code.THRESHOLD_AMOUNT_XOR)],
    ),
}


# --- bounds: every list, string and number, so that a config that validates can always be closed --------------------


def helper_metrics(count: int) -> list[dict[str, object]]:
    return [{"key": f"extra_{index}", "aggregate": "count", "events": ["x"]} for index in range(count)]


def rules(count: int) -> list[dict[str, object]]:
    return [
        {"key": f"rule_{index}", "type": "ladder", "metric": "invited", "steps": [{"min": 1, "amount": 1}]}
        for index in range(count)
    ]


def ascending_steps(count: int) -> list[dict[str, object]]:
    return [{"min": index, "amount": 1} for index in range(count)]


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


DEMOTION = {"key": "demote", "type": "demotion", "below_score": 60, "periods": 3}
LONG_LABEL = "标" * (config_module.MAX_LABEL_LENGTH + 1)

BOUND_CASES: dict[str, tuple[dict[str, object], list[tuple[str, Code]]]] = {
    # numbers
    "demotion periods 10^20 (int64 overflow in the close)": (
        {"penalties[2]": {**DEMOTION, "periods": 10**20}},
        [("penalties[2].periods", Code.VALUE_OUT_OF_RANGE)],
    ),
    "demotion periods above the bound": (
        {"penalties[2]": {**DEMOTION, "periods": config_module.MAX_DEMOTION_PERIODS + 1}},
        [("penalties[2].periods", Code.VALUE_OUT_OF_RANGE)],
    ),
    "rank above the bound": (
        {"rewards[2]": {**RANK_BONUS, "ranks": [{"rank": config_module.MAX_RANK + 1, "amount": 5}]}},
        [("rewards[2].ranks[0].rank", Code.VALUE_OUT_OF_RANGE)],
    ),
    "target above the bound": (
        {"metrics[0].target": "1000000000001"},
        [("metrics[0].target", Code.VALUE_OUT_OF_RANGE)],
    ),
    "negative target beyond the bound": (
        {"metrics[0].target": "-1000000000001", "metrics[0].scoring": {"type": "threshold"}},
        [("metrics[0].target", Code.VALUE_OUT_OF_RANGE)],
    ),
    "linear cap above the bound": (
        {"metrics[0].scoring.cap": 11},
        [("metrics[0].scoring.cap", Code.VALUE_OUT_OF_RANGE)],
    ),
    "score bonus cap above the bound": (
        {"rewards[2]": {**SCORE_BONUS, "cap": 10.5}},
        [("rewards[2].cap", Code.VALUE_OUT_OF_RANGE)],
    ),
    "band points above the bound": (
        {"metrics[0].scoring": {"type": "bands", "bands": [{"min": 1, "points": 1001}]}},
        [("metrics[0].scoring.bands[0].points", Code.VALUE_OUT_OF_RANGE)],
    ),
    "negative band points": (
        {"metrics[0].scoring": {"type": "bands", "bands": [{"min": 1, "points": -5}]}},
        [("metrics[0].scoring.bands[0].points", Code.VALUE_OUT_OF_RANGE)],
    ),
    "band min beyond the bound": (
        {"metrics[0].scoring": {"type": "bands", "bands": [{"min": -1e13, "points": 5}]}},
        [("metrics[0].scoring.bands[0].min", Code.VALUE_OUT_OF_RANGE)],
    ),
    "grade min above the score scale": ({"grades[0].min": 1001}, [("grades[0].min", Code.VALUE_OUT_OF_RANGE)]),
    "negative grade min": ({"grades[4].min": -1}, [("grades[4].min", Code.VALUE_OUT_OF_RANGE)]),
    "gate above the score scale": (
        {"rewards[0].gate.min_score": 1000.01},
        [("rewards[0].gate.min_score", Code.VALUE_OUT_OF_RANGE)],
    ),
    "threshold penalty below_score negative": (
        {"penalties[2]": {**THRESHOLD_PENALTY, "below_score": -1, "amount": 10}},
        [("penalties[2].below_score", Code.VALUE_OUT_OF_RANGE)],
    ),
    "demotion below_score above the score scale": (
        {"penalties[2]": {**DEMOTION, "below_score": 5000}},
        [("penalties[2].below_score", Code.VALUE_OUT_OF_RANGE)],
    ),
    "tier from above the bound": (
        {"rewards[0].tiers[1].from": 1e13},
        [("rewards[0].tiers[1].from", Code.VALUE_OUT_OF_RANGE)],
    ),
    "step min above the bound": (
        {"rewards[1].steps[1].min": 1e13},
        [("rewards[1].steps[1].min", Code.VALUE_OUT_OF_RANGE)],
    ),
    "step amount above the money bound": (
        {"rewards[1].steps[1].amount": 10_000_001},
        [("rewards[1].steps[1].amount", Code.VALUE_OUT_OF_RANGE)],
    ),
    "rank amount above the money bound": (
        {"rewards[2]": {**RANK_BONUS, "ranks": [{"rank": 1, "amount": "10000000.01"}]}},
        [("rewards[2].ranks[0].amount", Code.VALUE_OUT_OF_RANGE)],
    ),
    "score bonus base above the money bound": (
        {"rewards[2]": {**SCORE_BONUS, "base_amount": 2e7}},
        [("rewards[2].base_amount", Code.VALUE_OUT_OF_RANGE)],
    ),
    "penalty amount above the money bound": (
        {"penalties[0].amount": 1e8},
        [("penalties[0].amount", Code.VALUE_OUT_OF_RANGE)],
    ),
    "threshold amount above the money bound": (
        {"penalties[2]": {**THRESHOLD_PENALTY, "amount": 1e9}},
        [("penalties[2].amount", Code.VALUE_OUT_OF_RANGE)],
    ),
    "penalty cap above the money bound": ({"penalty_cap": 1e14}, [("penalty_cap", Code.VALUE_OUT_OF_RANGE)]),
    "filter number beyond every decimal": (
        {"metrics[0].filter": {"level": 10**5000}},
        [("metrics[0].filter.level", Code.VALUE_OUT_OF_RANGE)],
    ),
    # money to the cent
    "step amount with 3 decimals": (
        {"rewards[1].steps[0].amount": "300.005"},
        [("rewards[1].steps[0].amount", Code.TOO_MANY_DECIMALS)],
    ),
    "penalty amount with 3 decimals": (
        {"penalties[0].amount": 0.125},
        [("penalties[0].amount", Code.TOO_MANY_DECIMALS)],
    ),
    "rank amount with 3 decimals": (
        {"rewards[2]": {**RANK_BONUS, "ranks": [{"rank": 1, "amount": "0.001"}]}},
        [("rewards[2].ranks[0].amount", Code.TOO_MANY_DECIMALS)],
    ),
    "score bonus base with 3 decimals": (
        {"rewards[2]": {**SCORE_BONUS, "base_amount": "1000.999"}},
        [("rewards[2].base_amount", Code.TOO_MANY_DECIMALS)],
    ),
    "threshold amount with 3 decimals": (
        {"penalties[2]": {**THRESHOLD_PENALTY, "amount": "5.555"}},
        [("penalties[2].amount", Code.TOO_MANY_DECIMALS)],
    ),
    "penalty cap with 3 decimals": ({"penalty_cap": "1000.001"}, [("penalty_cap", Code.TOO_MANY_DECIMALS)]),
    "filter number with 13 decimals": (
        {"metrics[0].filter": {"level": [1, "x", Decimal("0.0000000000001")]}},
        [("metrics[0].filter.level[2]", Code.TOO_MANY_DECIMALS)],
    ),
    # lists
    "101 metrics": (
        {"metrics": [*example()["metrics"], *helper_metrics(config_module.MAX_METRICS - 4)]},
        [("metrics", Code.TOO_MANY_ITEMS)],
    ),
    "51 rewards": ({"rewards": rules(config_module.MAX_RULES + 1)}, [("rewards", Code.TOO_MANY_ITEMS)]),
    "51 penalties": (
        {"penalties": [{"key": f"p{index}", "type": "per_event", "events": ["x"], "amount": 1} for index in range(51)]},
        [("penalties", Code.TOO_MANY_ITEMS)],
    ),
    "21 grades": (
        {"grades": [{"min": 100 - index, "grade": f"G{index}"} for index in range(config_module.MAX_GRADES + 1)]},
        [("grades", Code.TOO_MANY_ITEMS)],
    ),
    "51 tiers": (
        {"rewards[0].tiers": [{"from": index, "rate": 0.01} for index in range(config_module.MAX_STEPS + 1)]},
        [("rewards[0].tiers", Code.TOO_MANY_ITEMS)],
    ),
    "51 steps": (
        {"rewards[1].steps": ascending_steps(config_module.MAX_STEPS + 1)},
        [("rewards[1].steps", Code.TOO_MANY_ITEMS)],
    ),
    "51 team pool steps": (
        {"rewards[2]": {**TEAM_POOL, "steps": ascending_steps(config_module.MAX_STEPS + 1)}},
        [("rewards[2].steps", Code.TOO_MANY_ITEMS)],
    ),
    "51 bands": (
        {"metrics[0].scoring": {"type": "bands", "bands": [{"min": i, "points": 1} for i in range(51)]}},
        [("metrics[0].scoring.bands", Code.TOO_MANY_ITEMS)],
    ),
    "101 ranks": (
        {
            "rewards[2]": {
                **RANK_BONUS,
                "ranks": [{"rank": i + 1, "amount": 1} for i in range(config_module.MAX_RANKS + 1)],
            }
        },
        [("rewards[2].ranks", Code.TOO_MANY_ITEMS)],
    ),
    "51 event types": (
        {"metrics[0].events": [f"e{index}" for index in range(config_module.MAX_EVENT_TYPES + 1)]},
        [("metrics[0].events", Code.TOO_MANY_ITEMS)],
    ),
    "51 penalty event types": (
        {"penalties[0].events": [f"e{index}" for index in range(config_module.MAX_EVENT_TYPES + 1)]},
        [("penalties[0].events", Code.TOO_MANY_ITEMS)],
    ),
    "21 filter conditions": (
        {"metrics[0].filter": {f"a{index}": 1 for index in range(config_module.MAX_FILTER_CONDITIONS + 1)}},
        [("metrics[0].filter", Code.TOO_MANY_ITEMS)],
    ),
    "101 filter values": (
        {"penalties[1].filter.caused_by_follow_up": list(range(config_module.MAX_FILTER_OPTIONS + 1))},
        [("penalties[1].filter.caused_by_follow_up", Code.TOO_MANY_ITEMS)],
    ),
    "51 participant roles": (
        {"participants.roles": [f"r{index}" for index in range(config_module.MAX_PARTICIPANT_ROLES + 1)]},
        [("participants.roles", Code.TOO_MANY_ITEMS)],
    ),
    "1001 participant teams": (
        {"participants": {"teams": [f"t{index}" for index in range(config_module.MAX_PARTICIPANT_TEAMS + 1)]}},
        [("participants.teams", Code.TOO_MANY_ITEMS)],
    ),
    # strings
    "metric label too long": ({"metrics[0].label": LONG_LABEL}, [("metrics[0].label", Code.TEXT_TOO_LONG)]),
    "reward label too long": ({"rewards[1].label": LONG_LABEL}, [("rewards[1].label", Code.TEXT_TOO_LONG)]),
    "penalty label too long": ({"penalties[0].label": LONG_LABEL}, [("penalties[0].label", Code.TEXT_TOO_LONG)]),
    "grade name too long": ({"grades[0].grade": "S" * 17}, [("grades[0].grade", Code.TEXT_TOO_LONG)]),
    "timezone too long": ({"timezone": "Asia/" + "x" * 60}, [("timezone", Code.TEXT_TOO_LONG)]),
    "participant role too long": ({"participants.roles[0]": "g" * 33}, [("participants.roles[0]", Code.TEXT_TOO_LONG)]),
    "participant team too long": (
        {"participants": {"teams": ["t" * 65]}},
        [("participants.teams[0]", Code.TEXT_TOO_LONG)],
    ),
    "filter attribute name too long": (
        {"metrics[0].filter": {"a" * 65: 1}},
        [(f"metrics[0].filter.{'a' * 65}", Code.TEXT_TOO_LONG)],
    ),
    "filter value too long": (
        {"metrics[0].filter": {"channel": ["ok", "v" * 201]}},
        [("metrics[0].filter.channel[1]", Code.TEXT_TOO_LONG)],
    ),
    "single filter value too long": (
        {"metrics[0].filter": {"channel": "v" * 201}},
        [("metrics[0].filter.channel", Code.TEXT_TOO_LONG)],
    ),
    # text Postgres cannot store
    "NUL in a label": ({"metrics[0].label": "新客\x00户"}, [("metrics[0].label", Code.INVALID_TEXT)]),
    "surrogate in a label": ({"rewards[0].label": "x\ud800"}, [("rewards[0].label", Code.INVALID_TEXT)]),
    "NUL in a grade": ({"grades[1].grade": "A\x00"}, [("grades[1].grade", Code.INVALID_TEXT)]),
    "surrogate in a filter value": (
        {"metrics[0].filter": {"channel": ["ok", "\udfff"]}},
        [("metrics[0].filter.channel[1]", Code.INVALID_TEXT)],
    ),
    "NUL in a filter attribute name": (
        {"metrics[0].filter": {"a\x00b": 1}},
        [('metrics[0].filter["a\\u0000b"]', Code.INVALID_TEXT)],
    ),
    "NUL in the timezone": ({"timezone": "Asia/Shanghai\x00"}, [("timezone", Code.INVALID_TEXT)]),
    # the whole config
    "config too large": (
        {"metrics[1].events": ["e" * 1000] * 1100},
        [("", Code.CONFIG_TOO_LARGE)],
    ),
    "config too deep": (
        {"metrics[0].filter": {"a": nested(20)}},
        [("", Code.CONFIG_TOO_DEEP)],
    ),
}
INVALID_CASES.update(BOUND_CASES)


@pytest.mark.parametrize(("changes", "expected"), INVALID_CASES.values(), ids=INVALID_CASES.keys())
def test_invalid_config_is_rejected_with_code_and_path(
    changes: dict[str, object], expected: list[tuple[str, Code]]
) -> None:
    config = apply_changes(example(), changes)

    assert problem_pairs(validate_scheme_config(config)) == expected
    with pytest.raises(SchemeConfigInvalid) as raised:
        parse_scheme_config(config)
    assert problem_pairs(raised.value.problems) == expected


def _has_chinese(text: str) -> bool:
    return re.search("[\u4e00-\u9fff]", text) is not None


@pytest.mark.parametrize(("changes", "expected"), INVALID_CASES.values(), ids=INVALID_CASES.keys())
def test_every_problem_reads_in_simplified_chinese(
    changes: dict[str, object], expected: list[tuple[str, Code]]
) -> None:
    # the message is a template with its parameters, translated in the catalogue (never pydantic's English text)
    for problem in validate_scheme_config(apply_changes(example(), changes)):
        assert problem.message.template in catalogue("zh-CN"), problem
        chinese = problem.message.render("zh-CN")
        assert _has_chinese(chinese) and chinese != str(problem.message), problem


@pytest.mark.parametrize(
    ("changes", "field", "code", "english", "chinese"),
    [
        (
            {"cycle": "fortnight"},
            "cycle",
            Code.INVALID_VALUE,
            "Expected one of 'week', 'month', 'quarter', 'year'",
            "应为以下之一：'week', 'month', 'quarter', 'year'",
        ),
        (
            {"penalties[2]": {**DEMOTION, "periods": "x"}},
            "penalties[2].periods",
            Code.INVALID_TYPE,
            "Expected a whole number",
            "应为整数",
        ),
        (
            {"penalties[2]": {**DEMOTION, "periods": 1.5}},
            "penalties[2].periods",
            Code.INVALID_VALUE,
            "Expected a whole number, without a fraction",
            "应为整数，不能带小数",
        ),
        (
            {
                "rewards[2]": {
                    "key": "ranks",
                    "type": "rank_bonus",
                    "ranks": [{"rank": 1, "amount": 1}],
                    "per_team": "x",
                }
            },
            "rewards[2].per_team",
            Code.INVALID_TYPE,
            "Expected true or false",
            "应为 true 或 false",
        ),
        ({"metrics[0].label": 5}, "metrics[0].label", Code.INVALID_TYPE, "Expected a string", "应为文本"),
        (
            {"metrics[0].scoring": []},
            "metrics[0].scoring",
            Code.INVALID_TYPE,
            "Expected a JSON object",
            "应为 JSON 对象",
        ),
        (
            {"metrics[0].filter": {"store": 10**20}},
            "metrics[0].filter.store",
            Code.VALUE_OUT_OF_RANGE,
            "Number is too large (at most 15 integer digits)",
            "数值过大（整数部分最多 15 位）",
        ),
    ],
)
def test_structural_problems_have_messages_of_their_own(
    changes: dict[str, object], field: str, code: Code, english: str, chinese: str
) -> None:
    [problem] = validate_scheme_config(apply_changes(example(), changes))
    assert (problem.field, problem.code) == (field, code)
    assert (str(problem.message), problem.message.render("zh-CN")) == (english, chinese)


def test_invalid_json_text() -> None:
    assert problem_pairs(validate_scheme_config('{"cycle": "month",')) == [("", Code.INVALID_JSON)]
    [problem] = validate_scheme_config('{"cycle": "month",')
    assert (
        problem.message.render("zh-CN")
        == "配置不是有效的 JSON：第 1 行第 19 列（Expecting property name enclosed in double quotes）"
    )
    assert problem_pairs(validate_scheme_config(b"\xff\xfe{")) == [("", Code.INVALID_JSON)]


def test_the_error_is_the_one_error_model() -> None:
    with pytest.raises(SchemeConfigInvalid) as raised:
        parse_scheme_config({**example(), "cycle": "fortnight"})
    assert isinstance(raised.value, DomainError)
    assert isinstance(raised.value.problems[0], Problem)
    assert (raised.value.code, raised.value.field) == (Code.INVALID_VALUE, "cycle")


@pytest.mark.parametrize("raw", [[], "[]", None, 3, "null"])
def test_root_must_be_an_object(raw: object) -> None:
    assert problem_pairs(validate_scheme_config(raw)) == [("", Code.INVALID_TYPE)]


def test_every_code_is_exercised() -> None:
    covered = {code for _, expected in INVALID_CASES.values() for _, code in expected} | {Code.INVALID_JSON}
    assert covered == set(SchemeConfigErrorCode)


def test_object_keys_that_cannot_be_stored_are_reported_with_an_escaped_path() -> None:
    config = example()
    config["x\ud800"] = 1
    config["metrics"][0]["filter"] = {"门店\x00": "a"}
    problems = validate_scheme_config(config)
    assert problem_pairs(problems) == [
        ('["x\\ud800"]', Code.INVALID_TEXT),
        ('metrics[0].filter["门店\\u0000"]', Code.INVALID_TEXT),
    ]
    # paths and messages carry no unstorable text: the answer can be encoded (UTF-8) and stored
    for problem in problems:
        assert problem.field is not None and is_storable_text(problem.field), problem
        assert all(is_storable_text(problem.message.render(locale)) for locale in LOCALES), problem


def test_the_issue_configs_that_validated_but_could_never_close() -> None:
    ten_thousand_metrics = apply_changes(example(), {"metrics": [*example()["metrics"], *helper_metrics(9_995)]})
    assert problem_pairs(validate_scheme_config(ten_thousand_metrics)) == [("metrics", Code.TOO_MANY_ITEMS)]
    demotion = apply_changes(example(), {"penalties[2]": {**DEMOTION, "periods": 10**20}})
    with pytest.raises(SchemeConfigInvalid) as raised:
        parse_scheme_config(demotion)
    assert problem_pairs(raised.value.problems) == [("penalties[2].periods", Code.VALUE_OUT_OF_RANGE)]


def test_json_text_nested_beyond_the_recursion_limit_is_too_deep() -> None:
    assert problem_pairs(validate_scheme_config("[" * 100_000)) == [("", Code.CONFIG_TOO_DEEP)]
    assert problem_pairs(validate_scheme_config(b'{"a": ' * 50_000)) == [("", Code.CONFIG_TOO_DEEP)]


def test_json_text_far_beyond_the_size_bound_is_not_parsed() -> None:
    text = json.dumps({**example(), "padding": "x" * (2 * config_module.MAX_CONFIG_BYTES)})
    assert problem_pairs(validate_scheme_config(text)) == [("", Code.CONFIG_TOO_LARGE)]


def test_messages_quote_long_input_briefly() -> None:
    problems = validate_scheme_config(apply_changes(example(), {"rewards[0].base": "r" * 100_000}))
    assert problem_pairs(problems) == [("rewards[0].base", Code.UNKNOWN_METRIC)]
    assert all(len(problems[0].message.render(locale)) < 200 for locale in LOCALES)


def test_a_config_at_every_bound_is_valid() -> None:
    assert validate_scheme_config(maximal_config()) == []


def maximal_config() -> dict[str, Any]:
    """Every list, string and number at its bound (and the config within its size): it must validate and close."""
    bounds = config_module
    events = [f"event_{index:02d}" for index in range(bounds.MAX_EVENT_TYPES)]
    conditions = {
        f"attr_{index:02d}": [f"v{option}" for option in range(4)] for index in range(bounds.MAX_FILTER_CONDITIONS)
    }
    label = "标" * bounds.MAX_LABEL_LENGTH
    top = str(bounds.MAX_METRIC_THRESHOLD)
    money_max = f"{bounds.MAX_MONEY}.00"
    metrics: list[dict[str, Any]] = [
        {
            "key": "sales",
            "label": label,
            "aggregate": "sum_amount",
            "events": events,
            "filter": conditions,
            "target": top,
            "weight": 50,
            "scoring": {"type": "linear", "cap": str(bounds.MAX_SCORING_CAP)},
        },
        {
            "key": "visits",
            "aggregate": "count",
            "events": events,
            "filter": conditions,
            "weight": 50,
            "scoring": {
                "type": "bands",
                "bands": [{"min": index, "points": str(bounds.MAX_SCORE)} for index in range(bounds.MAX_STEPS)],
            },
        },
    ]
    metrics += [
        {
            "key": f"helper_{index:03d}",
            "aggregate": "avg_value" if index % 2 else "count_distinct_customers",
            "events": events,
            "filter": conditions,
            # both sources of the close's aggregate statement (the actor's events, the credited shares) at full width
            "credit": "credited" if index % 4 < 2 else "actor",
        }
        for index in range(bounds.MAX_METRICS - len(metrics))
    ]
    steps = [{"min": index, "amount": money_max} for index in range(bounds.MAX_STEPS)]
    rewards: list[dict[str, Any]] = [
        {
            "key": "commission",
            "type": "commission",
            "base": "sales",
            "mode": "progressive",
            "label": label,
            "tiers": [{"from": index * 1000, "rate": 1} for index in range(bounds.MAX_STEPS)],
            "gate": {"min_score": str(bounds.MAX_SCORE)},
        },
        {
            "key": "ranks",
            "type": "rank_bonus",
            "per_team": True,
            "ranks": [
                {"rank": bounds.MAX_RANK - bounds.MAX_RANKS + index + 1, "amount": money_max}
                for index in range(bounds.MAX_RANKS)
            ],
        },
        {"key": "score", "type": "score_bonus", "base_amount": money_max, "cap": str(bounds.MAX_SCORING_CAP)},
        {"key": "pool", "type": "team_pool", "metric": "sales", "steps": steps, "split": "pro_rata"},
    ]
    rewards += [
        {"key": f"ladder_{index:02d}", "type": "ladder", "metric": "visits", "steps": steps}
        for index in range(bounds.MAX_RULES - len(rewards))
    ]
    penalties: list[dict[str, Any]] = [
        {
            "key": "demotion",
            "type": "demotion",
            "below_score": str(bounds.MAX_SCORE),
            "periods": bounds.MAX_DEMOTION_PERIODS,
        },
        {"key": "low", "type": "threshold", "below_score": 0, "amount": money_max},
    ]
    penalties += [
        {"key": f"fine_{index:02d}", "type": "per_event", "events": events, "filter": conditions, "amount": money_max}
        for index in range(bounds.MAX_RULES - len(penalties))
    ]
    return {
        "cycle": "month",
        "timezone": "America/Argentina/ComodRivadavia",
        "participants": {
            "roles": [
                f"role_{index:02d}" + "r" * (bounds.MAX_ROLE_LENGTH - 7)
                for index in range(bounds.MAX_PARTICIPANT_ROLES)
            ],
            "teams": [
                f"{index:04d}" + "t" * (bounds.MAX_TEAM_CODE_LENGTH - 4)
                for index in range(bounds.MAX_PARTICIPANT_TEAMS)
            ],
        },
        "metrics": metrics,
        "grades": [
            {"min": str(bounds.MAX_SCORE - index), "grade": f"{index:02d}" + "g" * (bounds.MAX_GRADE_LENGTH - 2)}
            for index in range(bounds.MAX_GRADES)
        ],
        "rewards": rewards,
        "penalties": penalties,
        "penalty_cap": money_max,
    }


# --- several problems at once ---------------------------------------------------------------------------------------


def test_all_problems_are_reported_at_once() -> None:
    config = apply_changes(
        example(),
        {
            "cycle": "fortnight",  # structural
            "metrics[1].key": DELETE,  # structural; also makes conversion's denominator unknown (semantic)
            "metrics[0].weight": 50,  # weights 110
            "metrics[0].extra": 1,  # structural
            "rewards[0].tiers[1].from": 0,  # tiers out of order
            "rewards[0].tiers[1].rate": "abc",  # structural
            "rewards[1].steps[0].amount": -300,
            "penalties[1].filter.caused_by_follow_up": [],
            "penalties[1].key": "missed_follow_up",
            "timezone": "Mars/Olympus",
        },
    )

    problems = validate_scheme_config(config)

    assert set(problem_pairs(problems)) == {
        ("cycle", Code.INVALID_VALUE),
        ("metrics[0].extra", Code.UNKNOWN_FIELD),
        ("metrics[1].key", Code.MISSING_FIELD),
        ("rewards[0].tiers[1].rate", Code.INVALID_TYPE),
        ("timezone", Code.INVALID_TIMEZONE),
        ("metrics[3].denominator", Code.UNKNOWN_METRIC),
        ("metrics", Code.WEIGHTS_NOT_100),
        ("rewards[0].tiers[1].from", Code.TIERS_NOT_ASCENDING),
        ("rewards[1].steps[0].amount", Code.NEGATIVE_AMOUNT),
        ("penalties[1].filter.caused_by_follow_up", Code.INVALID_FILTER),
        ("penalties[1].key", Code.DUPLICATE_KEY),
    }
    assert len(problems) == 11
    assert all(str(problem.message) for problem in problems)
    with pytest.raises(SchemeConfigInvalid) as raised:
        parse_scheme_config(config)
    assert raised.value.problems == problems
    assert "11 problem(s)" in str(raised.value)


def test_problems_in_several_rules_of_one_list() -> None:
    config = apply_changes(
        example(),
        {
            "rewards[0].tiers[0].rate": -1,
            "rewards[1].metric": "ghost",
            "rewards[2]": {"key": "pool", "type": "team_pool", "metric": "sales", "steps": [], "extra": True},
        },
    )
    assert problem_pairs(validate_scheme_config(config)) == [
        ("rewards[2].extra", Code.UNKNOWN_FIELD),
        ("rewards[0].tiers[0].rate", Code.NEGATIVE_RATE),
        ("rewards[1].metric", Code.UNKNOWN_METRIC),
        ("rewards[2].steps", Code.STEPS_REQUIRED),
    ]


def test_ratio_cycle_of_three_reported_once_with_the_chain() -> None:
    config = apply_changes(
        example(),
        {
            "metrics[5]": {"key": "a", "aggregate": "ratio", "numerator": "sales", "denominator": "b"},
            "metrics[6]": {"key": "b", "aggregate": "ratio", "numerator": "c", "denominator": "sales"},
            "metrics[7]": {"key": "c", "aggregate": "ratio", "numerator": "a", "denominator": "invited"},
        },
    )
    problems = validate_scheme_config(config)
    assert problem_pairs(problems) == [("metrics[5].denominator", Code.RATIO_CYCLE)]
    assert str(problems[0].message).endswith("a -> b -> c -> a")


def test_overlapping_ratio_cycles_are_each_reported() -> None:
    # conversion = joined / invited; making joined and invited ratios over conversion closes two loops
    config = apply_changes(
        example(),
        {
            "metrics[1]": {"key": "invited", "aggregate": "ratio", "numerator": "sales", "denominator": "conversion"},
            "metrics[2]": {"key": "joined", "aggregate": "ratio", "numerator": "conversion", "denominator": "sales"},
        },
    )
    assert problem_pairs(validate_scheme_config(config)) == [
        ("metrics[2].numerator", Code.RATIO_CYCLE),
        ("metrics[1].denominator", Code.RATIO_CYCLE),
    ]


def test_ratio_of_ratio_without_cycle_is_valid() -> None:
    config = apply_changes(
        example(),
        {
            "metrics[5]": {
                "key": "conversion_per_sale",
                "aggregate": "ratio",
                "numerator": "conversion",
                "denominator": "sales",
            }
        },
    )
    assert validate_scheme_config(config) == []


# --- decimals -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [(0.03, "0.03"), (0.1, "0.1"), ("0.07", "0.07"), (1, "1"), (Decimal("0.035"), "0.035")]
)
def test_rates_become_exact_decimals(raw: object, expected: str) -> None:
    config = parse_scheme_config(apply_changes(example(), {"rewards[0].tiers[0].rate": raw}))
    commission = config.rewards[0]
    assert isinstance(commission, CommissionReward)
    assert commission.tiers[0].rate == Decimal(expected)
    assert str(commission.tiers[0].rate) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1000.1, "1000.1"),
        (10000, "10000"),
        ("999.99", "999.99"),
        (1e3, "1000.0"),
        ("1e3", "1000"),
        ("2.5E+2", "250"),
        (0, "0"),
    ],
)
def test_amounts_become_exact_decimals(raw: object, expected: str) -> None:
    config = parse_scheme_config(apply_changes(example(), {"penalty_cap": raw}))
    assert config.penalty_cap == Decimal(expected)
    assert str(config.penalty_cap) == expected


@pytest.mark.parametrize("raw", ["Infinity", "-inf", "nan", "sNaN", float("-inf")])
def test_non_finite_numbers_are_invalid_values(raw: object) -> None:
    problems = validate_scheme_config(apply_changes(example(), {"penalty_cap": raw}))
    assert problem_pairs(problems) == [("penalty_cap", Code.INVALID_VALUE)]


# --- paths ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        ((), ""),
        (("cycle",), "cycle"),
        (("rewards", 0, "tiers", 1, "from"), "rewards[0].tiers[1].from"),
        (("metrics", 2, "filter", "store code"), 'metrics[2].filter["store code"]'),
        (("metrics", 0, "filter", "门店"), 'metrics[0].filter["门店"]'),
    ],
)
def test_json_path(loc: tuple[int | str, ...], path: str) -> None:
    assert json_path(loc) == path
