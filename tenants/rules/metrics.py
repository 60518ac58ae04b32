"""Metrics: the values of one participant (ratios computed from their inputs), their scores, total and grade.

A metric's score depends on its value only, so equal values share one immutable ``MetricResult`` (memoized per plan);
the total sums the exact scores and only the stored/displayed score is rounded (4 dp, half-up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tenants.rules.config import Metric, SchemeConfig
from tenants.rules.formatting import fmt_money, fmt_num, fmt_pct, fmt_rate, fmt_score
from tenants.rules.money import CTX, HUNDRED, ZERO, quantize_score
from tenants.rules.scorecard import Card, MetricResult, ParticipantInput

# --------------------------------------------------------------------------------------------------------------------
# Compiled metric plan (built once per call, used for every participant)
# --------------------------------------------------------------------------------------------------------------------

_Formatter = Callable[[Decimal], str]


def _value_formatter(metric: Metric) -> _Formatter:
    # Money metrics read as money (24,000.00); counts, targets and other values as plain numbers (36, 0.6).
    return fmt_money if metric.aggregate == "sum_amount" else fmt_num


@dataclass(frozen=True, slots=True)
class MetricPlan:
    metric: Metric
    key: str
    label: str
    fmt: _Formatter
    weight_fraction: Decimal | None  # weight / 100; None for helpers
    empty_score: Decimal  # score when the value is None
    cap: Decimal
    bands: tuple[tuple[Decimal, Decimal], ...]  # (min, points), highest min first
    # Ratio metrics explain themselves with their inputs, each in the input's own format.
    numerator_fmt: _Formatter = fmt_num
    denominator_fmt: _Formatter = fmt_num
    # Per-call memo: exact text of the value (of numerator and denominator for ratios) -> (exact score, result).
    # A result depends on the value only and counts repeat across thousands of staff, so equal values share one
    # immutable MetricResult; keying by str() keeps even the Decimal's exponent identical (1 and 1.00 differ).
    memo: dict[object, tuple[Decimal, MetricResult]] = field(default_factory=dict)
    target_s: str = ""  # targets and thresholds are config numbers: plain (20,000), not money (20,000.00)
    cap_s: str = ""


def plan_metrics(config: SchemeConfig) -> tuple[list[MetricPlan], list[Metric]]:
    """Validate what the engine relies on and order ratio metrics so that ratios of ratios see their inputs."""
    by_key = {m.key: m for m in config.metrics}
    fmts = {m.key: _value_formatter(m) for m in config.metrics}
    plans: list[MetricPlan] = []
    for m in config.metrics:
        if m.aggregate == "ratio":
            for ref in (m.numerator, m.denominator):
                if ref is None or ref not in by_key:
                    raise ValueError(f"metric {m.key!r}: ratio references unknown metric {ref!r}")
        sc = m.scoring
        if m.scored:
            if sc.type in ("linear", "threshold") and m.target is None:
                raise ValueError(f"metric {m.key!r}: {sc.type} scoring needs a target")
            if sc.type == "linear" and sc.direction == "higher" and m.target is not None and m.target <= 0:
                raise ValueError(f"metric {m.key!r}: linear scoring needs a positive target")
        plans.append(
            MetricPlan(
                metric=m,
                key=m.key,
                label=m.display_label,
                fmt=fmts[m.key],
                weight_fraction=None if m.weight is None else CTX.divide(m.weight, HUNDRED),
                empty_score=HUNDRED if m.on_empty == "full" else ZERO,
                cap=sc.effective_cap,
                bands=tuple(sorted(((b.min, b.points) for b in sc.bands), key=lambda b: b[0], reverse=True)),
                numerator_fmt=fmts.get(m.numerator or "", fmt_num),
                denominator_fmt=fmts.get(m.denominator or "", fmt_num),
                target_s=fmt_num(m.target) if m.target is not None else "",
                cap_s=fmt_rate(sc.effective_cap),
            )
        )

    # Depth-first topological order of the ratio metrics; validation already rejects cycles, but a cycle reaching
    # here must fail loudly rather than recurse forever or compute from a missing value.
    ordered: list[Metric] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(m: Metric) -> None:
        if state.get(m.key) == 2 or m.aggregate != "ratio":
            return
        if state.get(m.key) == 1:
            raise ValueError(f"ratio metric {m.key!r} depends on itself")
        state[m.key] = 1
        for ref in (m.numerator, m.denominator):
            assert ref is not None
            visit(by_key[ref])
        state[m.key] = 2
        ordered.append(m)

    for m in config.metrics:
        visit(m)
    return plans, ordered


def _as_decimal(staff_code: str, key: str, raw: object) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError(f"staff {staff_code!r} metric {key!r}: {raw} is not a finite number")
        return raw
    # bool is an int subclass but never a metric value; a float would already have lost cents.
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Decimal(raw)
    raise TypeError(f"staff {staff_code!r} metric {key!r}: expected Decimal or None, got {type(raw).__name__}")


def _metric_values(
    participant: ParticipantInput, input_keys: Sequence[str], ratios: Sequence[tuple[str, str, str]]
) -> dict[str, Decimal | None]:
    values: dict[str, Decimal | None] = {}
    given = participant.metrics
    for key in input_keys:
        raw = given.get(key, ZERO)
        # Fast path for the common case; anything else goes through the checks.
        values[key] = raw if type(raw) is Decimal and raw.is_finite() else _as_decimal(participant.staff_code, key, raw)
    for key, numerator, denominator in ratios:
        num, den = values[numerator], values[denominator]
        # Decision: a None numerator (e.g. an avg_value without events) makes the ratio empty as well.
        values[key] = None if num is None or den is None or den == 0 else num / den
    return values


# --------------------------------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------------------------------


def _score(plan: MetricPlan, value: Decimal | None, values: Mapping[str, Decimal | None]) -> tuple[Decimal, str]:
    """Exact score in points and the explanation (without the trailing "→ x 分")."""
    m = plan.metric
    fmt = plan.fmt
    prefix = ""
    if m.aggregate == "ratio":
        prefix = _ratio_text(plan, value, values) + ("，" if value is None else "；")

    if value is None:
        why = "分母为 0，无数据" if m.aggregate == "ratio" else "无数据"
        if plan.empty_score:
            return plan.empty_score, f"{prefix}{why}，按满分计"
        return ZERO, f"{prefix}{why}"

    sc = m.scoring
    cap = plan.cap
    if sc.type == "linear":
        target = m.target
        assert target is not None
        if sc.direction == "higher":
            ratio = value / target
            base = f"{prefix}{fmt(value)} / {plan.target_s} = {fmt_pct(ratio)} (上限 {plan.cap_s})"
            if ratio < 0:
                # Negative actuals (refunds above orders) score 0, not negative points.
                return ZERO, f"{base}，低于 0 按 0 计"
            return min(ratio, cap) * HUNDRED, base
        # direction == "lower": less is better; zero (or below) is the best possible result.
        if value <= 0:
            return cap * HUNDRED, f"{prefix}实际 {fmt(value)}，越低越好，取上限 {plan.cap_s}"
        ratio = target / value
        return (
            min(ratio, cap) * HUNDRED,
            f"{prefix}目标 {plan.target_s} / 实际 {fmt(value)} = {fmt_pct(ratio)} (越低越好，上限 {plan.cap_s})",
        )
    if sc.type == "threshold":
        target = m.target
        assert target is not None
        if sc.direction == "higher":
            if value >= target:
                return HUNDRED, f"{prefix}{fmt(value)} ≥ 目标 {plan.target_s}，达标"
            return ZERO, f"{prefix}{fmt(value)} 未达目标 {plan.target_s}"
        if value <= target:
            return HUNDRED, f"{prefix}{fmt(value)} ≤ 目标 {plan.target_s}，达标"
        return ZERO, f"{prefix}{fmt(value)} 高于目标 {plan.target_s}，未达标"
    # bands: the highest band whose min the value reaches.
    for band_min, points in plan.bands:
        if value >= band_min:
            return points, f"{prefix}{fmt(value)} ≥ {fmt_num(band_min)} 档"
    if plan.bands:
        return ZERO, f"{prefix}{fmt(value)} 未达最低档 {fmt_num(plan.bands[-1][0])}"
    return ZERO, f"{prefix}{fmt(value)}，未配置档位"


def _ratio_text(plan: MetricPlan, value: Decimal | None, values: Mapping[str, Decimal | None]) -> str:
    """``12 / 20 = 0.6``; an empty ratio shows its inputs only."""
    m = plan.metric
    assert m.numerator is not None
    assert m.denominator is not None
    num, den = values[m.numerator], values[m.denominator]
    num_s = "无数据" if num is None else plan.numerator_fmt(num)
    den_s = "无数据" if den is None else plan.denominator_fmt(den)
    return f"{num_s} / {den_s}" if value is None else f"{num_s} / {den_s} = {fmt_num(value)}"


def score_participant(
    p: ParticipantInput,
    plans: Sequence[MetricPlan],
    input_keys: Sequence[str],
    ratios: Sequence[tuple[str, str, str]],
    grades: Sequence[tuple[Decimal, str]],
) -> Card:
    values = _metric_values(p, input_keys, ratios)
    results: list[MetricResult] = []
    exact_total = ZERO
    for plan in plans:
        value = values[plan.key]
        m = plan.metric
        if m.aggregate == "ratio":
            memo_key: object = (str(values[m.numerator or ""]), str(values[m.denominator or ""]))
        else:
            memo_key = str(value)
        hit = plan.memo.get(memo_key)
        if hit is None:
            if plan.weight_fraction is None:
                hit = (ZERO, MetricResult(plan.key, plan.label, value, None, None, _helper_text(plan, value, values)))
            else:
                score, text = _score(plan, value, values)
                explanation = f"{text} → {fmt_score(score)} 分"
                hit = (score, MetricResult(plan.key, plan.label, value, quantize_score(score), m.weight, explanation))
            plan.memo[memo_key] = hit
        if plan.weight_fraction is not None:
            # The total sums the exact scores; only the stored/displayed score is rounded.
            exact_total += plan.weight_fraction * hit[0]
        results.append(hit[1])
    total = quantize_score(exact_total)
    grade = next((g for g_min, g in grades if total >= g_min), None)
    return Card(p, values, results, total, grade)


def _helper_text(plan: MetricPlan, value: Decimal | None, values: Mapping[str, Decimal | None]) -> str:
    if plan.metric.aggregate == "ratio":
        text = _ratio_text(plan, value, values)
        return f"辅助指标（不计分）：{text}" + ("，分母为 0，无数据" if value is None else "")
    return f"辅助指标（不计分）：{'无数据' if value is None else plan.fmt(value)}"
