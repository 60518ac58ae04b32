"""The label a person reads for each metric: never the metric's key (pure).

A metric's own label wins; a metric without one (typically a helper such as `invited` of the guide template) takes the
label of the same metric in the scheme templates (same key, aggregate and events), else a Chinese label made from its
aggregate and event types ("邀约老客户数"), else "辅助指标 N" (its position among the metrics). Labels are made from
the version's config when a scorecard is read, so a scorecard closed before this rule existed reads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from tenants.rules.config import Metric, SchemeConfig
from tenants.schemes.templates import TEMPLATES

# Chinese words of the event types the templates and the integration contract use.
EVENT_WORDS: Final[Mapping[str, str]] = {
    "order": "订单",
    "refund": "退款",
    "customer_added": "新增客户",
    "old_customer_invited": "邀约老客户",
    "old_customer_joined": "老客户到店",
    "follow_up_missed": "漏跟进",
    "follow_up_done": "跟进",
    "complaint": "投诉",
    "agent_recruited": "新增代理",
    "rating": "评价",
    "price_violation": "乱价",
    "lead_assigned": "分配线索",
    "lead_converted": "线索到店",
    "chat_session": "会话",
    "reply_timeout": "超时未回复",
}

# How each aggregate reads after the events' words ("订单" + "金额" = "订单金额").
AGGREGATE_SUFFIXES: Final[Mapping[str, str]] = {
    "count": "数",
    "sum_amount": "金额",
    "sum_value": "合计",
    "avg_value": "平均值",
    "count_distinct_customers": "客户数",
}


@cache
def _template_labels() -> Mapping[tuple[str, str, tuple[str, ...]], str]:
    labels: dict[tuple[str, str, tuple[str, ...]], str] = {}
    for template in TEMPLATES:
        for metric in template.config.get("metrics", []):
            label = metric.get("label") if isinstance(metric, dict) else None
            if isinstance(label, str) and label:
                labels.setdefault(_template_key(metric), label)
    return labels


def _template_key(metric: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    return (str(metric.get("key")), str(metric.get("aggregate")), tuple(sorted(map(str, metric.get("events") or []))))


def _made_label(metric: Metric) -> str | None:
    if metric.aggregate == "ratio" or not metric.events:
        return None
    words = [EVENT_WORDS.get(event) for event in metric.events]
    if any(word is None for word in words):
        return None
    if metric.aggregate == "sum_amount" and set(metric.events) == {"order", "refund"}:
        return "销售额"  # orders net of refunds
    return "、".join(word for word in words if word) + AGGREGATE_SUFFIXES[metric.aggregate]


def metric_label(metric: Metric, position: int) -> str:
    """The label of `metric`, the `position`-th (from 1) of its config."""
    if metric.label:
        return metric.label
    template = _template_labels().get((metric.key, metric.aggregate, tuple(sorted(metric.events))))
    if template is not None:
        return template
    made = _made_label(metric)
    if made is not None:
        return made
    return f"辅助指标 {position}" if metric.weight is None else f"指标 {position}"


def metric_labels(config: SchemeConfig) -> dict[str, str]:
    """Metric key -> label, for every metric of the config."""
    return {metric.key: metric_label(metric, position) for position, metric in enumerate(config.metrics, start=1)}
