"""Scheme templates: every template is a valid config, and together they show every rule type."""

import json
import re
from decimal import Decimal

import pytest

from tenants.rules.config import (
    CommissionReward,
    DemotionPenalty,
    PerEventPenalty,
    RankBonusReward,
    ScoreBonusReward,
    TeamPoolReward,
    ThresholdPenalty,
    parse_scheme_config,
    validate_scheme_config,
)
from tenants.schemes.templates import TEMPLATES, SchemeTemplate, get_template
from tests.schemes.test_config import DESIGN_EXAMPLE_JSON

TEMPLATE_KEYS = [template.key for template in TEMPLATES]


@pytest.mark.parametrize("template", TEMPLATES, ids=TEMPLATE_KEYS)
def test_template_is_valid(template: SchemeTemplate) -> None:
    assert validate_scheme_config(template.config) == []
    # stored as JSON by the admin console: the round trip must stay valid
    assert validate_scheme_config(json.dumps(template.config)) == []


@pytest.mark.parametrize("template", TEMPLATES, ids=TEMPLATE_KEYS)
def test_template_has_chinese_name_and_description(template: SchemeTemplate) -> None:
    chinese = re.compile(r"[\u4e00-\u9fff]")
    assert chinese.search(template.name)
    assert chinese.search(template.description)


def test_expected_templates_exist_with_unique_keys() -> None:
    assert TEMPLATE_KEYS == [
        "store_guide_new_customers",
        "wechat_agents",
        "o2o_operations_service",
        "repurchase_service",
    ]
    assert [template.name for template in TEMPLATES] == ["导购拉新", "微商代理", "线上转线下", "复购与服务"]


def test_store_guide_template_is_the_design_example() -> None:
    assert get_template("store_guide_new_customers").config == json.loads(DESIGN_EXAMPLE_JSON)


def test_every_reward_and_penalty_type_is_used() -> None:
    configs = [parse_scheme_config(template.config) for template in TEMPLATES]
    reward_types = {reward.type for config in configs for reward in config.rewards}
    penalty_types = {penalty.type for config in configs for penalty in config.penalties}
    commission_modes = {
        reward.mode for config in configs for reward in config.rewards if isinstance(reward, CommissionReward)
    }
    aggregates = {metric.aggregate for config in configs for metric in config.metrics}
    scoring_types = {metric.scoring.type for config in configs for metric in config.metrics if metric.scored}

    assert reward_types == {"commission", "ladder", "score_bonus", "rank_bonus", "team_pool"}
    assert penalty_types == {"per_event", "threshold", "demotion"}
    assert commission_modes == {"flat", "progressive", "whole"}
    # sum_value: the WeCom figures (repurchase_service's new contacts)
    assert aggregates == {"count", "sum_amount", "sum_value", "avg_value", "count_distinct_customers", "ratio"}
    assert scoring_types == {"linear", "threshold", "bands"}


def test_wechat_agents_template() -> None:
    config = parse_scheme_config(get_template("wechat_agents").config)
    repurchase = config.metric("repurchase_rate")
    assert (repurchase.aggregate, repurchase.numerator, repurchase.denominator) == ("ratio", "repeat_buyers", "buyers")
    assert config.metric("satisfaction").aggregate == "avg_value"
    assert config.metric("satisfaction").target == Decimal("4.5")
    assert config.metric("new_agents").events == ["agent_recruited"]
    assert any(isinstance(reward, RankBonusReward) for reward in config.rewards)
    score_bonus = next(reward for reward in config.rewards if isinstance(reward, ScoreBonusReward))
    assert score_bonus.cap == Decimal("1.2")
    assert any(isinstance(penalty, DemotionPenalty) for penalty in config.penalties)


def test_o2o_operations_service_template() -> None:
    config = parse_scheme_config(get_template("o2o_operations_service").config)
    assert config.metric("credited_sales").credit == "credited"
    assert config.participants.roles == ["operations", "customer_service"]
    pool = next(reward for reward in config.rewards if isinstance(reward, TeamPoolReward))
    assert pool.metric == "credited_sales"
    assert pool.split == "pro_rata"
    threshold = next(penalty for penalty in config.penalties if isinstance(penalty, ThresholdPenalty))
    assert (threshold.amount, threshold.pct_of_rewards) == (None, Decimal("0.1"))
    per_event = [penalty for penalty in config.penalties if isinstance(penalty, PerEventPenalty)]
    assert len(per_event) == 2


def test_get_template_returns_a_private_copy() -> None:
    template = get_template("wechat_agents")
    template.config["metrics"][0]["weight"] = 1
    template.config["grades"].clear()
    assert get_template("wechat_agents").config["metrics"][0]["weight"] == 40
    assert get_template("o2o_operations_service").config["grades"]


def test_unknown_template() -> None:
    with pytest.raises(KeyError):
        get_template("nope")
