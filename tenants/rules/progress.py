"""How far to the next step (差多少): from a scheme config and a computed scorecard, what is still missing.

Pure, no I/O. For one staff member's card it answers: the points to the next grade (and whether the scheme can still
give them), for every scored metric the value that reaches the target and the one that reaches the cap (what each
can still add to the total), for every ladder the next step and what is missing, for every commission the next tier
and the base still needed (with the commission the engine would pay there), for score bonuses the points to the cap,
and for every gate (a reward's ``gate.min_score``, a threshold penalty's ``below_score``) the points still missing.

Invariants:
- Gaps are exact: differences of config numbers and the card's values and 4-dp total, never rounded here. The one
  exception is deliberate and is not display rounding: the gap of a metric that counts events or customers
  (``count``, ``count_distinct_customers``, and a ratio's numerator when it is such a count) is rounded UP to a whole
  number, because 13.5 more customers cannot be added; the target and cap values themselves stay exact.
- Money is computed by the engine's own rules (rules/rewards.py, rounded in rules/money.py), so "the commission at the
  next tier" is what a close would post for that base.
- Every answer carries an explanation ``Message`` (tenants/i18n) with its numbers already formatted by
  rules/formatting.py, like the engine's derivations: values in the metric's own format, points with 2 decimals
  (4 when 2 would hide a gap, as ``fmt_total_against`` does), money to the cent.
- The grade, scores and amounts are recomputed from the config and the card's values with the engine's plan, so an
  answer never contradicts the scorecard it explains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Literal

from tenants.i18n import Message, _
from tenants.rules import rewards
from tenants.rules.config import (
    CommissionReward,
    Gate,
    LadderReward,
    Metric,
    SchemeConfig,
    ScoreBonusReward,
    ThresholdPenalty,
)
from tenants.rules.formatting import fmt_money, fmt_num, fmt_rate, fmt_score
from tenants.rules.metrics import MetricPlan, plan_metrics
from tenants.rules.money import CTX, HUNDRED, ZERO, money, round2
from tenants.rules.scorecard import Card, ParticipantInput, Scorecard, rule_word

__all__ = [
    "CardFacts",
    "CommissionGap",
    "GateGap",
    "GradeGap",
    "LadderGap",
    "MetricGap",
    "Progress",
    "ScoreBonusGap",
    "facts_of",
    "progress",
]

# Aggregates whose values are whole numbers of things: a gap in them is a whole number too (rounded up).
WHOLE_AGGREGATES = frozenset({"count", "count_distinct_customers"})

_LabelOf = Callable[[str], str]


# --------------------------------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What progress reads of a computed scorecard: the total (4 dp) and every metric's value (ratios included;
    None where the metric has no data). A stored scorecard and the engine's ``Scorecard`` give the same facts."""

    total: Decimal
    values: Mapping[str, Decimal | None]


def facts_of(card: Scorecard) -> CardFacts:
    """The facts of an engine scorecard."""
    return CardFacts(total=card.total, values={m.key: m.value for m in card.metrics})


# --------------------------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GradeGap:
    grade: str | None  # the grade of the total (None: below every band, or no grades configured)
    next_grade: str | None  # the next higher grade; None at the top or without grades
    next_min: Decimal | None
    points_missing: Decimal | None  # next_min - total (> 0); None without a next grade
    max_total: Decimal  # the highest total the scheme's scoring can give
    reachable: bool  # next_min <= max_total (False also without a next grade)
    explanation: Message


@dataclass(frozen=True, slots=True)
class MetricGap:
    key: str
    label: str
    scoring: Literal["linear", "threshold", "bands"]
    direction: Literal["higher", "lower"]
    value: Decimal | None
    target: Decimal | None  # linear and threshold: the value that scores 100 points
    cap_value: Decimal | None  # where the score stops rising: linear target x cap (lower: target / cap), threshold
    # target, bands: the top band's min
    to_target: Decimal | None  # how far the value still has to move to the target (0 when met; None without data)
    to_cap: Decimal | None  # the same to the cap value
    score: Decimal  # points now (exact)
    max_score: Decimal  # points at the cap
    weight: Decimal
    points_available: Decimal  # weight / 100 x (max_score - score): what this metric can still add to the total
    next_band_min: Decimal | None  # bands: the next band above the value
    next_band_points: Decimal | None
    # A ratio with data: how many more of its numerator reach the target / the cap at the current denominator.
    numerator_to_target: Decimal | None
    numerator_to_cap: Decimal | None
    explanation: Message


@dataclass(frozen=True, slots=True)
class GateGap:
    rule_key: str
    label: str  # the rule's word (its label, or 提成 / 阶梯奖 / 扣款 ...)
    kind: Literal["reward_gate", "penalty_threshold"]
    min_score: Decimal  # a reward's gate.min_score; a threshold penalty's below_score
    passed: bool  # total >= min_score: the reward pays / the penalty is not charged
    points_missing: Decimal  # min_score - total when not passed, else 0
    explanation: Message


@dataclass(frozen=True, slots=True)
class LadderGap:
    rule_key: str
    label: str
    metric_key: str
    metric_label: str
    value: Decimal | None
    step_min: Decimal | None  # the highest step reached
    amount: Decimal  # what that step pays (0.00 below the first)
    next_min: Decimal | None
    next_amount: Decimal | None
    missing: Decimal | None  # next_min - value (whole for counts); None at the top step or without data
    gate: GateGap | None
    explanation: Message


@dataclass(frozen=True, slots=True)
class CommissionGap:
    rule_key: str
    label: str
    base_key: str
    base_label: str
    mode: Literal["flat", "progressive", "whole"]
    base: Decimal  # the base metric's value (0 without data)
    tier_from: Decimal | None  # the tier the base is in (None for flat, or below the first tier)
    rate: Decimal | None  # the rate of the next 1.00 (progressive: that tier's rate; whole: the rate of the reached
    # tier, paid on the whole base; flat: the rate)
    amount: Decimal  # the commission for the base now, before any gate (what the engine computes)
    next_from: Decimal | None  # the next tier
    next_rate: Decimal | None
    missing: Decimal | None  # next_from - base; None at the top tier and for flat
    amount_at_next: Decimal | None  # the commission when the base reaches next_from (before any gate)
    gate: GateGap | None
    explanation: Message


@dataclass(frozen=True, slots=True)
class ScoreBonusGap:
    rule_key: str
    label: str
    amount: Decimal  # now, before any gate
    cap_total: Decimal  # cap x 100: the total at which the bonus stops rising
    points_to_cap: Decimal  # cap_total - total, 0 at or above it
    amount_at_cap: Decimal
    per_point: Decimal  # base_amount / 100: what one more point of total pays below the cap (exact)
    gate: GateGap | None
    explanation: Message


@dataclass(frozen=True, slots=True)
class Progress:
    total: Decimal
    grade: GradeGap
    metrics: tuple[MetricGap, ...]  # scored metrics, config order
    ladders: tuple[LadderGap, ...]  # config order
    commissions: tuple[CommissionGap, ...]
    score_bonuses: tuple[ScoreBonusGap, ...]
    gates: tuple[GateGap, ...]  # every reward gate, then every threshold penalty, config order


# --------------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------------


def progress(config: SchemeConfig, card: CardFacts, labels: Mapping[str, str] | None = None) -> Progress:
    """What ``card`` still misses under ``config``. ``labels``: metric key -> the label to show (default: the config's
    label, else the key). Raises ``ValueError`` for a config the validator should have rejected (as the engine)."""
    with localcontext(CTX):
        return _progress(config, card, labels or {})


def _progress(config: SchemeConfig, card: CardFacts, labels: Mapping[str, str]) -> Progress:
    plans, _ratios = plan_metrics(config)
    by_key = {plan.key: plan for plan in plans}

    def label_of(key: str) -> str:
        return labels.get(key) or by_key[key].label

    metric_gaps = tuple(
        _metric_gap(plan, label_of(plan.key), card.values, by_key, label_of) for plan in plans if plan.metric.scored
    )
    max_total = sum((CTX.multiply(g.weight, g.max_score) / HUNDRED for g in metric_gaps), ZERO)
    grade = _grade_gap(config, card.total, max_total)

    gates: list[GateGap] = []
    ladders: list[LadderGap] = []
    commissions: list[CommissionGap] = []
    bonuses: list[ScoreBonusGap] = []
    for rule in config.rewards:
        gate = _reward_gate(rule.key, rule_word(rule.label, rule.type), rule.gate, card.total)
        if gate is not None:
            gates.append(gate)
        if isinstance(rule, LadderReward):
            ladders.append(_ladder_gap(rule, by_key[rule.metric], label_of(rule.metric), card.values, gate))
        elif isinstance(rule, CommissionReward):
            commissions.append(_commission_gap(rule, by_key[rule.base], label_of(rule.base), card.values, gate))
        elif isinstance(rule, ScoreBonusReward):
            bonuses.append(_score_bonus_gap(rule, card.total, gate))
    for penalty in config.penalties:
        if isinstance(penalty, ThresholdPenalty):
            gates.append(_penalty_gate(penalty, card.total))
    return Progress(
        total=card.total,
        grade=grade,
        metrics=metric_gaps,
        ladders=tuple(ladders),
        commissions=tuple(commissions),
        score_bonuses=tuple(bonuses),
        gates=tuple(gates),
    )


# --------------------------------------------------------------------------------------------------------------------
# Formatting helpers (numbers only; the words are the templates')
# --------------------------------------------------------------------------------------------------------------------


def fmt_points(points: Decimal) -> str:
    """A gap in points: 2 decimals, or up to 4 when 2 would show a real gap as 0.00 ("还差 0.00 分" would contradict
    the comparison it explains)."""
    if points and not round2(points):
        return fmt_num(points)
    return fmt_score(points)


def _whole_up(value: Decimal) -> Decimal:
    """The smallest whole number >= value (a count still needed); see the module docstring."""
    return value.to_integral_value(rounding=ROUND_CEILING)


def _gap(amount: Decimal, whole: bool) -> Decimal:
    """A non-negative gap; whole numbers for counts."""
    if amount <= 0:
        return ZERO
    return _whole_up(amount) if whole else amount


# --------------------------------------------------------------------------------------------------------------------
# Grade
# --------------------------------------------------------------------------------------------------------------------


def _grade_gap(config: SchemeConfig, total: Decimal, max_total: Decimal) -> GradeGap:
    bands = sorted(((g.min, g.grade) for g in config.grades), key=lambda b: b[0], reverse=True)
    total_s = fmt_score(total)
    if not bands:
        return GradeGap(None, None, None, None, max_total, False, _("The scheme has no grades."))
    grade = next((g for g_min, g in bands if total >= g_min), None)
    above = [(g_min, g) for g_min, g in bands if g_min > total]
    if not above:
        assert grade is not None
        return GradeGap(
            grade,
            None,
            None,
            None,
            max_total,
            False,
            _("Total {total}: grade {grade} is the highest grade.", total=total_s, grade=grade),
        )
    next_min, next_grade = above[-1]  # the lowest band above the total
    missing = next_min - total
    reachable = next_min <= max_total
    params = {
        "total": total_s,
        "grade": grade,
        "next_grade": next_grade,
        "next_min": fmt_num(next_min),
        "missing": fmt_points(missing),
        "max_total": fmt_score(max_total),
    }
    if not reachable:
        if grade is None:
            message = _(
                "Total {total}, no grade yet: grade {next_grade} needs {next_min}, more than the {max_total} this "
                "scheme can give.",
                **params,
            )
        else:
            message = _(
                "Total {total}, grade {grade}: grade {next_grade} needs {next_min}, more than the {max_total} this "
                "scheme can give.",
                **params,
            )
    elif grade is None:
        message = _(
            "Total {total}, no grade yet: {missing} more points reach grade {next_grade} ({next_min}).", **params
        )
    else:
        message = _(
            "Total {total}, grade {grade}: {missing} more points reach grade {next_grade} ({next_min}).", **params
        )
    return GradeGap(grade, next_grade, next_min, missing, max_total, reachable, message)


# --------------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------------


def _metric_gap(
    plan: MetricPlan,
    label: str,
    values: Mapping[str, Decimal | None],
    by_key: Mapping[str, MetricPlan],
    label_of: _LabelOf,
) -> MetricGap:
    m = plan.metric
    sc = m.scoring
    value = values.get(plan.key, None if m.aggregate in ("ratio", "avg_value") else ZERO)
    weight = m.weight
    assert weight is not None
    whole = m.aggregate in WHOLE_AGGREGATES
    fmt = plan.fmt
    if sc.type == "linear":
        return _linear_gap(plan, label, value, weight, whole, values, by_key, label_of)
    if sc.type == "threshold":
        return _threshold_gap(plan, label, value, weight, whole)
    # bands: points of the highest band reached; the next band is the lowest one above the value with more points.
    ascending = sorted(plan.bands, key=lambda b: b[0])
    max_score = max((points for _min, points in ascending), default=ZERO)
    top_min = ascending[-1][0] if ascending else None
    current = ZERO if value is None else next((p for b_min, p in plan.bands if value >= b_min), ZERO)
    score = plan.empty_score if value is None else current
    next_band = next(
        ((b_min, p) for b_min, p in ascending if (value is None or b_min > value) and p > score),
        None,
    )
    to_next = None if next_band is None or value is None else _gap(next_band[0] - value, whole)
    to_cap = None if value is None or top_min is None else _gap(top_min - value, whole)
    available = _available(weight, max_score, score)
    if not ascending:
        message = _("{label}: no bands are configured.", label=label)
    elif value is None:
        message = _(
            "{label}: no data yet; {band_min} reaches the band of {band_points} points.",
            label=label,
            band_min=fmt(ascending[0][0]),
            band_points=fmt_num(ascending[0][1]),
        )
    elif next_band is None:
        message = _(
            "{label} {value} is in the top band: {points} points.", label=label, value=fmt(value), points=fmt_num(score)
        )
    else:
        assert to_next is not None
        message = _(
            "{label} {value}: {missing} more reaches the band {band_min} ({band_points} points instead of {points}); "
            "up to {available} more points on the total.",
            label=label,
            value=fmt(value),
            missing=fmt(to_next),
            band_min=fmt(next_band[0]),
            band_points=fmt_num(next_band[1]),
            points=fmt_num(score),
            available=fmt_points(available),
        )
    return MetricGap(
        key=plan.key,
        label=label,
        scoring="bands",
        direction=sc.direction,
        value=value,
        target=m.target,
        cap_value=top_min,
        to_target=to_next,
        to_cap=to_cap,
        score=score,
        max_score=max_score,
        weight=weight,
        points_available=available,
        next_band_min=next_band[0] if next_band is not None else None,
        next_band_points=next_band[1] if next_band is not None else None,
        numerator_to_target=None,
        numerator_to_cap=None,
        explanation=message,
    )


def _available(weight: Decimal, max_score: Decimal, score: Decimal) -> Decimal:
    return max(weight * (max_score - score) / HUNDRED, ZERO)


def _linear_gap(
    plan: MetricPlan,
    label: str,
    value: Decimal | None,
    weight: Decimal,
    whole: bool,
    values: Mapping[str, Decimal | None],
    by_key: Mapping[str, MetricPlan],
    label_of: _LabelOf,
) -> MetricGap:
    m = plan.metric
    target = m.target
    assert target is not None
    cap = plan.cap
    fmt = plan.fmt
    max_score = cap * HUNDRED
    lower = m.scoring.direction == "lower"
    if lower:
        cap_value = target / cap
        if value is None:
            score = plan.empty_score
        elif value <= 0:
            score = max_score
        else:
            score = min(target / value, cap) * HUNDRED
        to_target = None if value is None else _gap(value - target, whole)
        to_cap = None if value is None else _gap(value - cap_value, whole)
    else:
        cap_value = target * cap
        if value is None:
            score = plan.empty_score
        else:
            score = max(min(value / target, cap), ZERO) * HUNDRED if target > 0 else max_score
        to_target = None if value is None else _gap(target - value, whole)
        to_cap = None if value is None else _gap(cap_value - value, whole)
    available = _available(weight, max_score, score)
    numerator_to_target, numerator_to_cap, hint = _ratio_inputs(
        plan, values, by_key, label_of, lower, target, cap_value
    )
    params = {
        "label": label,
        "value": "" if value is None else fmt(value),
        "target": fmt_num(target),
        "cap_value": fmt_num(cap_value),
        "max_points": fmt_num(max_score),
        "to_target": "" if to_target is None else fmt(to_target),
        "to_cap": "" if to_cap is None else fmt(to_cap),
        "available": fmt_points(available),
    }
    if value is None:
        if lower:
            message = _(
                "{label}: no data yet; at most {target} meets the target (100 points), at most {cap_value} reaches "
                "the cap ({max_points} points).",
                **params,
            )
        else:
            message = _(
                "{label}: no data yet; {target} reaches the target (100 points), {cap_value} the cap ({max_points} "
                "points).",
                **params,
            )
    elif to_cap == 0:
        if lower:
            message = _(
                "{label} {value} (lower is better) is at the cap {cap_value}: full {max_points} points.", **params
            )
        else:
            message = _(
                "{label} {value} is at the cap {cap_value}: full {max_points} points, more adds nothing to the score.",
                **params,
            )
    elif to_target == 0:
        if lower:
            message = _(
                "{label} {value} (lower is better) meets the target {target}; {to_cap} less reaches the cap "
                "{cap_value} ({max_points} points), up to {available} more points on the total.",
                **params,
            )
        else:
            message = _(
                "{label} {value} meets the target {target}; {to_cap} more reaches the cap {cap_value} ({max_points} "
                "points), up to {available} more points on the total.",
                **params,
            )
    elif lower:
        message = _(
            "{label} {value} (lower is better): {to_target} less meets the target {target} (100 points), {to_cap} "
            "less reaches the cap {cap_value} ({max_points} points); up to {available} more points on the total.",
            **params,
        )
    else:
        message = _(
            "{label} {value} of target {target}: {to_target} more reaches the target (100 points), {to_cap} more "
            "reaches the cap {cap_value} ({max_points} points); up to {available} more points on the total.",
            **params,
        )
    if hint is not None:
        message = _("{progress} {inputs}", progress=message, inputs=hint)
    return MetricGap(
        key=plan.key,
        label=label,
        scoring="linear",
        direction=m.scoring.direction,
        value=value,
        target=target,
        cap_value=cap_value,
        to_target=to_target,
        to_cap=to_cap,
        score=score,
        max_score=max_score,
        weight=weight,
        points_available=available,
        next_band_min=None,
        next_band_points=None,
        numerator_to_target=numerator_to_target,
        numerator_to_cap=numerator_to_cap,
        explanation=message,
    )


def _ratio_inputs(
    plan: MetricPlan,
    values: Mapping[str, Decimal | None],
    by_key: Mapping[str, MetricPlan],
    label_of: _LabelOf,
    lower: bool,
    target: Decimal,
    cap_value: Decimal,
) -> tuple[Decimal | None, Decimal | None, Message | None]:
    """For a higher-is-better ratio with a positive denominator: the numerator still needed at this denominator."""
    m = plan.metric
    if m.aggregate != "ratio" or lower or m.numerator is None or m.denominator is None:
        return None, None, None
    numerator, denominator = values.get(m.numerator), values.get(m.denominator)
    if numerator is None or denominator is None or denominator <= 0:
        return None, None, None
    whole = by_key[m.numerator].metric.aggregate in WHOLE_AGGREGATES
    to_target = _gap(target * denominator - numerator, whole)
    to_cap = _gap(cap_value * denominator - numerator, whole)
    if to_cap == 0:
        return to_target, to_cap, None
    fmt = by_key[m.numerator].fmt
    hint = _(
        "At {denominator} {denominator_label}: {to_target} more {numerator_label} reach the target, {to_cap} more "
        "the cap.",
        denominator=by_key[m.denominator].fmt(denominator),
        denominator_label=label_of(m.denominator),
        numerator_label=label_of(m.numerator),
        to_target=fmt(to_target),
        to_cap=fmt(to_cap),
    )
    return to_target, to_cap, hint


def _threshold_gap(plan: MetricPlan, label: str, value: Decimal | None, weight: Decimal, whole: bool) -> MetricGap:
    m = plan.metric
    target = m.target
    assert target is not None
    fmt = plan.fmt
    lower = m.scoring.direction == "lower"
    if value is None:
        met = False
        to_target = None
    elif lower:
        met = value <= target
        to_target = _gap(value - target, whole)
    else:
        met = value >= target
        to_target = _gap(target - value, whole)
    score = plan.empty_score if value is None else (HUNDRED if met else ZERO)
    available = _available(weight, HUNDRED, score)
    params = {
        "label": label,
        "value": "" if value is None else fmt(value),
        "target": fmt_num(target),
        "to_target": "" if to_target is None else fmt(to_target),
        "available": fmt_points(available),
    }
    if value is None:
        message = _("{label}: no data yet; the target {target} scores 100 points.", **params)
    elif met:
        message = _("{label} {value} meets the target {target}: 100 points.", **params)
    elif lower:
        message = _(
            "{label} {value}: {to_target} less meets the target {target} (100 points instead of 0, {available} "
            "more on the total).",
            **params,
        )
    else:
        message = _(
            "{label} {value}: {to_target} more meets the target {target} (100 points instead of 0, {available} "
            "more on the total).",
            **params,
        )
    return MetricGap(
        key=plan.key,
        label=label,
        scoring="threshold",
        direction=m.scoring.direction,
        value=value,
        target=target,
        cap_value=target,
        to_target=to_target,
        to_cap=to_target,
        score=score,
        max_score=HUNDRED,
        weight=weight,
        points_available=available,
        next_band_min=None,
        next_band_points=None,
        numerator_to_target=None,
        numerator_to_cap=None,
        explanation=message,
    )


# --------------------------------------------------------------------------------------------------------------------
# Gates
# --------------------------------------------------------------------------------------------------------------------


def _reward_gate(rule_key: str, word: str, gate: Gate | None, total: Decimal) -> GateGap | None:
    if gate is None:
        return None
    min_score = gate.min_score
    passed = total >= min_score  # a total exactly at the gate passes (rules/rewards.py gated)
    missing = ZERO if passed else min_score - total
    params = {"rule": word, "min_score": fmt_num(min_score), "total": fmt_score(total), "missing": fmt_points(missing)}
    if passed:
        message = _("{rule}: the total {total} passes the gate {min_score}.", **params)
    else:
        message = _("{rule} needs a total of {min_score}: {missing} more points (total {total}).", **params)
    return GateGap(rule_key, word, "reward_gate", min_score, passed, missing, message)


def _penalty_gate(rule: ThresholdPenalty, total: Decimal) -> GateGap:
    word = rule_word(rule.label, rule.type)
    below = rule.below_score
    passed = total >= below  # rules/penalties.py threshold: charged only strictly below
    missing = ZERO if passed else below - total
    params = {"rule": word, "below": fmt_num(below), "total": fmt_score(total), "missing": fmt_points(missing)}
    if passed:
        message = _("{rule}: the total {total} is not below {below}, nothing is charged.", **params)
    else:
        message = _("{rule}: {missing} more points bring the total to {below} and avoid it (total {total}).", **params)
    return GateGap(rule.key, word, "penalty_threshold", below, passed, missing, message)


# --------------------------------------------------------------------------------------------------------------------
# Rewards
# --------------------------------------------------------------------------------------------------------------------


def _ladder_gap(
    rule: LadderReward, plan: MetricPlan, metric_label: str, values: Mapping[str, Decimal | None], gate: GateGap | None
) -> LadderGap:
    word = rule_word(rule.label, "ladder")
    fmt = plan.fmt
    whole = plan.metric.aggregate in WHOLE_AGGREGATES
    value = values.get(rule.metric, None if plan.metric.aggregate in ("ratio", "avg_value") else ZERO)
    steps = sorted(((s.min, money(s.amount)) for s in rule.steps), key=lambda s: s[0])
    reached = None if value is None else next((s for s in reversed(steps) if value >= s[0]), None)
    amount = reached[1] if reached is not None else money(ZERO)
    following = next((s for s in steps if value is None or s[0] > value), None)
    missing = None if following is None or value is None else _gap(following[0] - value, whole)
    params = {
        "rule": word,
        "metric": metric_label,
        "value": "" if value is None else fmt(value),
        "amount": fmt_money(amount),
        "step_min": "" if reached is None else fmt_num(reached[0]),
        "next_min": "" if following is None else fmt_num(following[0]),
        "next_amount": "" if following is None else fmt_money(following[1]),
        "missing": "" if missing is None else fmt(missing),
    }
    if not steps:
        message = _("{rule}: no steps are configured.", **params)
    elif value is None:
        message = _("{metric}: no data yet; {next_min} reaches the first step, {rule} {next_amount}.", **params)
    elif following is None:
        message = _("{metric} {value} reached the top step {step_min}: {rule} {amount}.", **params)
    elif reached is None:
        message = _(
            "{metric} {value}: {missing} more reaches the first step {next_min}, {rule} {next_amount}.", **params
        )
    else:
        message = _(
            "{metric} {value}: {missing} more reaches the step {next_min}, {rule} {next_amount} instead of {amount}.",
            **params,
        )
    return LadderGap(
        rule_key=rule.key,
        label=word,
        metric_key=rule.metric,
        metric_label=metric_label,
        value=value,
        step_min=reached[0] if reached is not None else None,
        amount=amount,
        next_min=following[0] if following is not None else None,
        next_amount=following[1] if following is not None else None,
        missing=missing,
        gate=gate,
        explanation=message,
    )


def _engine_commission(rule: CommissionReward, plan: MetricPlan, base: Decimal) -> Decimal:
    """What the engine's commission rule pays for ``base`` (ungated): one rule, one answer."""
    line = rewards.commission(rule, plan)
    nobody = ParticipantInput(staff_id=0, staff_code="", team_code=None, metrics={}, penalty_counts={})
    return line(Card(nobody, {rule.base: base}, [], ZERO, None)).amount


def _commission_gap(
    rule: CommissionReward,
    plan: MetricPlan,
    base_label: str,
    values: Mapping[str, Decimal | None],
    gate: GateGap | None,
) -> CommissionGap:
    word = rule_word(rule.label, "commission")
    fmt = plan.fmt
    base = values.get(rule.base) or ZERO
    amount = _engine_commission(rule, plan, base)
    tiers = sorted(((t.from_, t.rate) for t in rule.tiers), key=lambda t: t[0])
    params: dict[str, str] = {"rule": word, "base_label": base_label, "base": fmt(base), "amount": fmt_money(amount)}
    if rule.mode == "flat":
        rate = rule.rate
        assert rate is not None
        message = _(
            "{rule} {amount}: {base_label} {base} at the flat rate {rate}; there are no tiers.",
            rate=fmt_rate(rate),
            **params,
        )
        return CommissionGap(
            rule.key,
            word,
            rule.base,
            base_label,
            "flat",
            base,
            None,
            rate,
            amount,
            None,
            None,
            None,
            None,
            gate,
            message,
        )
    # The tier the base is in: the highest 'from' at or below it (both modes; at exactly a 'from' the next 1.00 is
    # taxed at that tier's rate, and 'whole' pays it on the whole base).
    current = next((t for t in reversed(tiers) if t[0] <= base), None)
    following = next((t for t in tiers if t[0] > base), None)
    missing = None if following is None else following[0] - base
    amount_at_next = None if following is None else _engine_commission(rule, plan, following[0])
    if following is not None:
        assert missing is not None and amount_at_next is not None
        params |= {
            "missing": fmt(missing),
            "next_from": fmt_num(following[0]),
            "next_rate": fmt_rate(following[1]),
            "amount_at_next": fmt_money(amount_at_next),
        }
    if current is not None:
        params |= {"from": fmt_num(current[0]), "rate": fmt_rate(current[1])}
    if not tiers:
        message = _("{rule}: no tiers are configured.", **params)
    elif current is None and following is not None:
        message = _(
            "{base_label} {base}: {missing} more reaches the first tier {next_from} ({next_rate}); {rule} then "
            "{amount_at_next}.",
            **params,
        )
    elif following is None:
        assert current is not None
        message = _("{base_label} {base} is in the top tier {from} ({rate}): {rule} {amount}.", **params)
    elif rule.mode == "progressive":
        message = _(
            "{base_label} {base}: {missing} more reaches the tier {next_from}, where each further 1.00 pays "
            "{next_rate} instead of {rate}; {rule} then {amount_at_next} (now {amount}).",
            **params,
        )
    else:
        message = _(
            "{base_label} {base}: {missing} more reaches the tier {next_from}, where the whole base pays {next_rate} "
            "instead of {rate}; {rule} then {amount_at_next} (now {amount}).",
            **params,
        )
    return CommissionGap(
        rule_key=rule.key,
        label=word,
        base_key=rule.base,
        base_label=base_label,
        mode=rule.mode,
        base=base,
        tier_from=current[0] if current is not None else None,
        rate=current[1] if current is not None else None,
        amount=amount,
        next_from=following[0] if following is not None else None,
        next_rate=following[1] if following is not None else None,
        missing=missing,
        amount_at_next=amount_at_next,
        gate=gate,
        explanation=message,
    )


def _score_bonus_gap(rule: ScoreBonusReward, total: Decimal, gate: GateGap | None) -> ScoreBonusGap:
    word = rule_word(rule.label, "score_bonus")
    cap_total = rule.cap * HUNDRED
    factor = min(max(total, ZERO) / HUNDRED, rule.cap)
    amount = money(rule.base_amount * factor)
    amount_at_cap = money(rule.base_amount * rule.cap)
    points_to_cap = max(cap_total - total, ZERO)
    per_point = rule.base_amount / HUNDRED
    params = {
        "rule": word,
        "amount": fmt_money(amount),
        "total": fmt_score(total),
        "cap_total": fmt_num(cap_total),
        "max_amount": fmt_money(amount_at_cap),
        "per_point": fmt_money(per_point) if money(per_point) == per_point else fmt_num(per_point),
    }
    if points_to_cap == 0:
        message = _("{rule} {amount}: the total {total} is at the cap {cap_total}.", **params)
    else:
        message = _(
            "{rule} {amount} at a total of {total}: each point more pays {per_point}, up to {max_amount} at a total "
            "of {cap_total}.",
            **params,
        )
    return ScoreBonusGap(rule.key, word, amount, cap_total, points_to_cap, amount_at_cap, per_point, gate, message)


def scored_metrics(config: SchemeConfig) -> Sequence[Metric]:
    """The scored metrics in config order (what ``Progress.metrics`` lists)."""
    return [m for m in config.metrics if m.scored]
