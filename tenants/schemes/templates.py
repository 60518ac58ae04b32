"""Scheme templates (方案模板): ready-made configs a merchant starts from in the admin console.

Each config is plain JSON-shaped data (what the admin console edits and stores), not a parsed ``SchemeConfig``;
tests/schemes/test_templates.py keeps every template valid. Across them, every reward and penalty type is used once
at least, so a new merchant sees each rule in a working context.
"""

import copy
from dataclasses import dataclass, replace
from typing import Any, Final


def _standard_grades() -> list[dict[str, Any]]:
    # a fresh list per template, so editing one template's data never changes another's
    return [
        {"min": 110, "grade": "S"},
        {"min": 90, "grade": "A"},
        {"min": 75, "grade": "B"},
        {"min": 60, "grade": "C"},
        {"min": 0, "grade": "D"},
    ]


@dataclass(frozen=True)
class SchemeTemplate:
    key: str
    name: str  # shown to merchants, Chinese
    description: str
    config: dict[str, Any]


# Exactly the DESIGN.md example, so the worked example there runs against a template a merchant can pick.
_STORE_GUIDE_NEW_CUSTOMERS: Final[dict[str, Any]] = {
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

_WECHAT_AGENTS: Final[dict[str, Any]] = {
    "cycle": "month",
    "timezone": "Asia/Shanghai",
    "participants": {"roles": ["agent"]},
    "metrics": [
        {
            "key": "sales",
            "label": "销售额",
            "aggregate": "sum_amount",
            "events": ["order", "refund"],
            "target": 50000,
            "weight": 40,
            "scoring": {"type": "linear", "cap": 1.5},
        },
        {"key": "buyers", "label": "购买客户数", "aggregate": "count_distinct_customers", "events": ["order"]},
        {
            "key": "repeat_buyers",
            "label": "复购客户数",
            "aggregate": "count_distinct_customers",
            "events": ["order"],
            "filter": {"repeat_purchase": True},
        },
        {
            "key": "repurchase_rate",
            "label": "复购率",
            "aggregate": "ratio",
            "numerator": "repeat_buyers",
            "denominator": "buyers",
            "target": 0.3,
            "weight": 20,
            "scoring": {"type": "linear", "cap": 1.2},
        },
        {
            "key": "new_agents",
            "label": "团队新增代理",
            "aggregate": "count",
            "events": ["agent_recruited"],
            "target": 5,
            "weight": 20,
            "scoring": {
                "type": "bands",
                "bands": [
                    {"min": 1, "points": 40},
                    {"min": 3, "points": 80},
                    {"min": 5, "points": 100},
                    {"min": 8, "points": 120},
                ],
            },
        },
        {
            "key": "satisfaction",
            "label": "客户满意度",
            "aggregate": "avg_value",
            "events": ["rating"],
            "target": 4.5,
            "weight": 20,
            "scoring": {"type": "threshold"},
        },
    ],
    "grades": _standard_grades(),
    "rewards": [
        {
            "key": "sales_commission",
            "label": "销售提成",
            "type": "commission",
            "base": "sales",
            "mode": "whole",
            "tiers": [{"from": 0, "rate": 0.05}, {"from": 30000, "rate": 0.08}, {"from": 80000, "rate": 0.1}],
        },
        {
            "key": "recruit_bonus",
            "label": "招募奖",
            "type": "ladder",
            "metric": "new_agents",
            "steps": [{"min": 5, "amount": 200}, {"min": 10, "amount": 600}],
        },
        {
            "key": "top_agents",
            "label": "月度排名奖",
            "type": "rank_bonus",
            "ranks": [{"rank": 1, "amount": 1000}, {"rank": 2, "amount": 600}, {"rank": 3, "amount": 300}],
            "gate": {"min_score": 60},
        },
        {
            "key": "performance_bonus",
            "label": "绩效奖金",
            "type": "score_bonus",
            "base_amount": 500,
            "cap": 1.2,
            "gate": {"min_score": 80},
        },
    ],
    "penalties": [
        {
            "key": "price_violation",
            "label": "乱价扣款",
            "type": "per_event",
            "events": ["price_violation"],
            "amount": 200,
        },
        {"key": "demotion_watch", "label": "降级预警", "type": "demotion", "below_score": 60, "periods": 3},
    ],
    "penalty_cap": 500,
}

_O2O_OPERATIONS_SERVICE: Final[dict[str, Any]] = {
    "cycle": "month",
    "timezone": "Asia/Shanghai",
    "participants": {"roles": ["operations", "customer_service"]},
    "metrics": [
        {
            "key": "credited_sales",
            "label": "归属业绩",
            "aggregate": "sum_amount",
            "events": ["order", "refund"],
            # online-to-offline orders carry credits (e.g. operations 30% / customer service 70%)
            "credit": "credited",
            "target": 100000,
            "weight": 50,
            "scoring": {"type": "linear", "cap": 1.5},
        },
        {"key": "leads", "label": "分配线索", "aggregate": "count", "events": ["lead_assigned"]},
        {"key": "converted_leads", "label": "到店转化", "aggregate": "count", "events": ["lead_converted"]},
        {
            "key": "lead_conversion",
            "label": "线索到店率",
            "aggregate": "ratio",
            "numerator": "converted_leads",
            "denominator": "leads",
            "target": 0.25,
            "weight": 20,
            # no leads assigned this month is not the staff member's fault
            "on_empty": "full",
        },
        {
            "key": "first_response_seconds",
            "label": "首次响应时长(秒)",
            "aggregate": "avg_value",
            "events": ["chat_session"],
            "target": 60,
            "weight": 15,
            "scoring": {"type": "linear", "direction": "lower", "cap": 1.2},
        },
        {
            "key": "key_customers_served",
            "label": "A/B类客户成交数",
            "aggregate": "count_distinct_customers",
            "events": ["order"],
            "filter": {"customer_grade": ["A", "B"]},
            "target": 20,
            "weight": 15,
            "scoring": {"type": "threshold"},
        },
    ],
    "grades": _standard_grades(),
    "rewards": [
        {
            "key": "credited_commission",
            "label": "业绩提成",
            "type": "commission",
            "base": "credited_sales",
            "mode": "flat",
            "rate": 0.015,
            "gate": {"min_score": 60},
        },
        {
            "key": "team_pool",
            "label": "团队奖金池",
            "type": "team_pool",
            "metric": "credited_sales",
            "steps": [{"min": 300000, "amount": 3000}, {"min": 600000, "amount": 8000}],
            "split": "pro_rata",
        },
    ],
    "penalties": [
        {
            "key": "reply_timeout",
            "label": "超时未回复",
            "type": "per_event",
            "events": ["reply_timeout"],
            "amount": 20,
        },
        {
            "key": "service_complaint",
            "label": "服务投诉",
            "type": "per_event",
            "events": ["complaint"],
            "filter": {"severity": ["major", "critical"]},
            "amount": 200,
        },
        {
            "key": "low_score",
            "label": "绩效不达标扣减",
            "type": "threshold",
            "below_score": 60,
            "pct_of_rewards": 0.1,
        },
    ],
    "penalty_cap": 800,
}

# Repurchase and service (复购与服务): keeps the good customers buying, wakes the sleeping ones, counts WeCom work and
# charges missed follow-ups. Customer grades are last month's stored grades (tenants/grading); missed follow-ups are
# emitted by the follow-up rules (tenants/followups); WeCom figures come from POST /import/wecom/behavior.
_REPURCHASE_SERVICE: Final[dict[str, Any]] = {
    "cycle": "month",
    "timezone": "Asia/Shanghai",
    "participants": {"roles": ["guide"]},
    "metrics": [
        {
            "key": "ab_buyers",
            "label": "A/B类客户购买数",
            "aggregate": "count_distinct_customers",
            "events": ["order"],
            "filter": {"customer_grade": ["A", "B"]},
        },
        {
            "key": "ab_repeat_buyers",
            "label": "A/B类客户复购数",
            "aggregate": "count_distinct_customers",
            "events": ["order"],
            "filter": {"customer_grade": ["A", "B"], "repeat_purchase": True},
        },
        {
            "key": "ab_repurchase_rate",
            "label": "A/B类客户复购率",
            "aggregate": "ratio",
            "numerator": "ab_repeat_buyers",
            "denominator": "ab_buyers",
            "target": 0.4,
            "weight": 40,
            "scoring": {"type": "linear", "cap": 1.2},
        },
        {
            "key": "reactivated_d",
            "label": "唤醒D类客户数",
            "aggregate": "count_distinct_customers",
            "events": ["order"],
            "filter": {"customer_grade": ["D"]},
            "target": 10,
            "weight": 30,
            "scoring": {"type": "linear", "cap": 1.5},
        },
        {
            "key": "wecom_new_contacts",
            "label": "企业微信新增客户数",
            "aggregate": "sum_value",
            "events": ["wecom_new_contacts"],
            "target": 100,
            "weight": 30,
            "scoring": {"type": "linear", "cap": 1.2},
        },
    ],
    "grades": _standard_grades(),
    "rewards": [
        {
            "key": "reactivation_bonus",
            "label": "唤醒奖",
            "type": "ladder",
            "metric": "reactivated_d",
            "steps": [{"min": 5, "amount": 200}, {"min": 10, "amount": 500}],
        },
        {
            "key": "service_bonus",
            "label": "服务绩效奖",
            "type": "score_bonus",
            "base_amount": 800,
            "cap": 1.2,
            "gate": {"min_score": 60},
        },
    ],
    "penalties": [
        {
            "key": "missed_follow_up",
            "label": "漏跟进扣款",
            "type": "per_event",
            "events": ["follow_up_missed"],
            "amount": 100,
        },
        {
            "key": "follow_up_complaint",
            "label": "漏跟进引起投诉",
            "type": "per_event",
            "events": ["complaint"],
            "filter": {"caused_by_follow_up": True},
            "amount": 200,
        },
    ],
    "penalty_cap": 1000,
}

TEMPLATES: Final[list[SchemeTemplate]] = [
    SchemeTemplate(
        key="store_guide_new_customers",
        name="导购拉新",
        description="门店导购按月考核:新客户数量、老客户转化率、销售额;销售额分段累进提成,拉新阶梯奖,漏跟进与投诉扣款。",
        config=_STORE_GUIDE_NEW_CUSTOMERS,
    ),
    SchemeTemplate(
        key="wechat_agents",
        name="微商代理",
        description="微商代理按月考核:销售额、复购率、团队新增代理、客户满意度;全额阶梯提成,招募奖,排名奖,绩效奖金,连续不达标降级预警。",
        config=_WECHAT_AGENTS,
    ),
    SchemeTemplate(
        key="o2o_operations_service",
        name="线上转线下",
        description="运营与客服按归属业绩(线上转线下订单按比例分成)考核,含线索到店率、响应时长、A/B类客户成交;团队奖金池,服务扣款与不达标扣减。",
        config=_O2O_OPERATIONS_SERVICE,
    ),
    SchemeTemplate(
        key="repurchase_service",
        name="复购与服务",
        description="导购按月考核:A/B类客户复购率、唤醒D类客户、企业微信新增客户;唤醒阶梯奖与绩效奖金,漏跟进每次扣100元,漏跟进引起的投诉每次扣200元。",
        config=_REPURCHASE_SERVICE,
    ),
]


def get_template(key: str) -> SchemeTemplate:
    """The template with a private copy of its config, so callers may edit it freely. Raises KeyError if unknown."""
    for template in TEMPLATES:
        if template.key == key:
            return replace(template, config=copy.deepcopy(template.config))
    raise KeyError(key)
