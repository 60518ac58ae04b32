"""Pure scoring engine: scheme config + per-staff metric values -> scorecards, money lines and explanations.

No ORM, no I/O, no asyncio: the period-close code loads metric values (computed in SQL) and posts what this returns.
Every amount is a ``Decimal`` computed inside one local decimal context (``money.CTX``); money lines are rounded half-up
to the cent; every number a staff member sees comes with a Chinese derivation that reproduces it.

Decisions where DESIGN.md is silent are recorded next to the code that takes them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Literal

from tenants.schemes.config import (
    CommissionReward,
    DemotionPenalty,
    LadderReward,
    Metric,
    PerEventPenalty,
    RankBonusReward,
    SchemeConfig,
    ScoreBonusReward,
    Step,
    TeamPoolReward,
    ThresholdPenalty,
)
from tenants.scoring.formatting import fmt_money, fmt_num, fmt_pct, fmt_rate, fmt_score, fmt_total_against
from tenants.scoring.money import CTX, HUNDRED, ONE, ZERO, ZERO_MONEY, money, quantize_score, round2, split_exactly

__all__ = [
    "Flag",
    "MetricResult",
    "MoneyLine",
    "ParticipantInput",
    "PeriodResult",
    "Scorecard",
    "compute_period",
]

LineKind = Literal["commission", "bonus", "penalty"]

# Default words used in derivations when a rule has no label of its own.
_DEFAULT_WORDS: dict[str, str] = {
    "commission": "提成",
    "ladder": "阶梯奖",
    "score_bonus": "得分奖金",
    "rank_bonus": "排名奖",
    "team_pool": "团队奖池",
    "per_event": "扣款",
    "threshold": "扣款",
}


# --------------------------------------------------------------------------------------------------------------------
# Public data
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantInput:
    staff_id: int
    staff_code: str  # external code; tie-break for deterministic ordering
    team_code: str | None  # for rank_bonus per_team and team_pool
    # Values of every non-ratio metric key (computed in SQL). A missing key is 0; avg_value may be None (no events).
    metrics: Mapping[str, Decimal | None]
    penalty_counts: Mapping[str, int]  # per_event penalty key -> count of this staff's matching events
    previous_totals: Sequence[Decimal] = ()  # totals of previous closed periods, most recent first (demotion)


@dataclass(frozen=True, slots=True)
class MetricResult:
    key: str
    label: str
    value: Decimal | None
    score: Decimal | None  # 4 dp; None for helper metrics
    weight: Decimal | None
    explanation: str


@dataclass(frozen=True, slots=True)
class MoneyLine:
    rule_key: str
    kind: LineKind
    amount: Decimal  # 0.01, half-up; penalties are negative
    derivation: str


@dataclass(frozen=True, slots=True)
class Flag:
    rule_key: str
    kind: Literal["demotion"]
    message: str


@dataclass(frozen=True, slots=True)
class Scorecard:
    staff_id: int
    staff_code: str
    team_code: str | None
    metrics: tuple[MetricResult, ...]  # config order
    total: Decimal  # 4 dp, half-up
    grade: str | None
    rank: int  # competition rank (1, 1, 3) by total among all participants
    lines: tuple[MoneyLine, ...]  # rewards in config order, then penalties in config order
    flags: tuple[Flag, ...]

    @property
    def total_display(self) -> Decimal:
        return round2(self.total)

    @property
    def net(self) -> Decimal:
        with localcontext(CTX):
            return money(sum((line.amount for line in self.lines), ZERO))


@dataclass(frozen=True, slots=True)
class PeriodResult:
    scorecards: tuple[Scorecard, ...]  # sorted by staff_code


# --------------------------------------------------------------------------------------------------------------------
# Compiled metric plan (built once per call, used for every participant)
# --------------------------------------------------------------------------------------------------------------------

_Formatter = Callable[[Decimal], str]


def _value_formatter(metric: Metric) -> _Formatter:
    # Money metrics read as money (24,000.00); counts, targets and other values as plain numbers (36, 0.6).
    return fmt_money if metric.aggregate == "sum_amount" else fmt_num


@dataclass(frozen=True, slots=True)
class _MetricPlan:
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


def _plan_metrics(config: SchemeConfig) -> tuple[list[_MetricPlan], list[Metric]]:
    """Validate what the engine relies on and order ratio metrics so that ratios of ratios see their inputs."""
    by_key = {m.key: m for m in config.metrics}
    fmts = {m.key: _value_formatter(m) for m in config.metrics}
    plans: list[_MetricPlan] = []
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
            _MetricPlan(
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


def _score(plan: _MetricPlan, value: Decimal | None, values: Mapping[str, Decimal | None]) -> tuple[Decimal, str]:
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


def _ratio_text(plan: _MetricPlan, value: Decimal | None, values: Mapping[str, Decimal | None]) -> str:
    """``12 / 20 = 0.6``; an empty ratio shows its inputs only."""
    m = plan.metric
    assert m.numerator is not None
    assert m.denominator is not None
    num, den = values[m.numerator], values[m.denominator]
    num_s = "无数据" if num is None else plan.numerator_fmt(num)
    den_s = "无数据" if den is None else plan.denominator_fmt(den)
    return f"{num_s} / {den_s}" if value is None else f"{num_s} / {den_s} = {fmt_num(value)}"


# --------------------------------------------------------------------------------------------------------------------
# Per-participant intermediate state
# --------------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Card:
    p: ParticipantInput
    values: dict[str, Decimal | None]
    results: list[MetricResult]
    total: Decimal
    grade: str | None
    rank: int = 0
    lines: list[MoneyLine] = field(default_factory=list)


def _competition_ranks(cards: Sequence[_Card]) -> tuple[dict[int, int], Counter[Decimal]]:
    """Rank by total descending; equal totals share a rank and the next rank skips (1, 1, 3). O(n log n)."""
    ordered = sorted(cards, key=lambda c: (-c.total, c.p.staff_code))
    ranks: dict[int, int] = {}
    previous: Decimal | None = None
    rank = 0
    for position, card in enumerate(ordered, start=1):
        if card.total != previous:
            rank, previous = position, card.total
        ranks[card.p.staff_id] = rank
    return ranks, Counter(c.total for c in cards)


@dataclass(frozen=True, slots=True)
class _Ranking:
    global_ranks: dict[int, int]
    global_counts: Counter[Decimal]
    team_ranks: dict[int, int]
    team_counts: dict[str, Counter[Decimal]]


def _ranking(cards: Sequence[_Card], global_ranks: dict[int, int], global_counts: Counter[Decimal]) -> _Ranking:
    team_ranks: dict[int, int] = {}
    team_counts: dict[str, Counter[Decimal]] = {}
    by_team: dict[str, list[_Card]] = defaultdict(list)
    for card in cards:
        if card.p.team_code is not None:
            by_team[card.p.team_code].append(card)
    for team, members in by_team.items():
        ranks, counts = _competition_ranks(members)
        team_ranks.update(ranks)
        team_counts[team] = counts
    return _Ranking(global_ranks, global_counts, team_ranks, team_counts)


def _word(label: str | None, rule_type: str) -> str:
    return label if label else _DEFAULT_WORDS[rule_type]


def _gate_line(rule_key: str, kind: LineKind, word: str, total: Decimal, min_score: Decimal) -> MoneyLine:
    return MoneyLine(
        rule_key,
        kind,
        ZERO_MONEY,
        f"{word} 0.00（总分 {fmt_total_against(total, min_score)} 低于门槛 {fmt_num(min_score)}）",
    )


def _steps_desc(steps: Sequence[Step]) -> tuple[tuple[Decimal, Decimal], ...]:
    """(min, amount rounded to the cent), highest min first, so the first step reached is the highest."""
    return tuple(sorted(((s.min, money(s.amount)) for s in steps), key=lambda s: s[0], reverse=True))


def _highest_step(steps: Sequence[tuple[Decimal, Decimal]], value: Decimal) -> tuple[Decimal, Decimal] | None:
    for step in steps:
        if value >= step[0]:
            return step
    return None


# --------------------------------------------------------------------------------------------------------------------
# Rewards: each rule is compiled once per period into a function card -> line (sorting, constant strings done once)
# --------------------------------------------------------------------------------------------------------------------

_LineFn = Callable[[_Card], MoneyLine]


def _memo(key_of: Callable[[_Card], Hashable], fn: _LineFn) -> _LineFn:
    """Share one immutable line among staff whose line depends on the same key (a count, a value, a total).

    Only for rules whose line is a pure function of ``key_of(card)``; the cache lives as long as one compute_period.
    """
    cache: dict[Hashable, MoneyLine] = {}

    def line(card: _Card) -> MoneyLine:
        k = key_of(card)
        hit = cache.get(k)
        if hit is None:
            hit = cache[k] = fn(card)
        return hit

    return line


def _total_of(card: _Card) -> Hashable:
    return card.total


def _gated(fn: _LineFn, rule_key: str, kind: LineKind, word: str, min_score: Decimal) -> _LineFn:
    gate = _memo(_total_of, lambda card: _gate_line(rule_key, kind, word, card.total, min_score))

    def line(card: _Card) -> MoneyLine:
        # A total exactly at the threshold passes.
        return gate(card) if card.total < min_score else fn(card)

    return line


def _commission(rule: CommissionReward, metric: _MetricPlan) -> _LineFn:
    key, word, base_key, label, fmt = rule.key, _word(rule.label, "commission"), rule.base, metric.label, metric.fmt
    mode = rule.mode
    flat_rate = rule.rate
    flat_rate_s = fmt_rate(flat_rate) if flat_rate is not None else ""
    if mode == "flat" and flat_rate is None:
        raise ValueError(f"reward {key!r}: flat commission needs a rate")
    if mode != "flat" and not rule.tiers:
        raise ValueError(f"reward {key!r}: {mode} commission needs tiers")
    # (from, next from or None, rate, rate as text), ascending.
    ordered = sorted(((t.from_, t.rate) for t in rule.tiers), key=lambda t: t[0])
    tiers = tuple(
        (lo, ordered[i + 1][0] if i + 1 < len(ordered) else None, rate, fmt_rate(rate))
        for i, (lo, rate) in enumerate(ordered)
    )
    start = tiers[0][0] if tiers else ZERO
    start_s = fmt_num(start)

    def line(card: _Card) -> MoneyLine:
        base = card.values.get(base_key)
        if base is None:
            return MoneyLine(key, "commission", ZERO_MONEY, f"{word} 0.00（{label} 无数据，无提成）")
        if base <= 0:
            # No negative commission: clawing back an already paid period is a re-close adjustment, not a line here.
            return MoneyLine(key, "commission", ZERO_MONEY, f"{word} 0.00（{label} {fmt(base)} 不为正，无提成）")
        if mode == "flat":
            assert flat_rate is not None
            amount = money(base * flat_rate)
            return MoneyLine(
                key, "commission", amount, f"{word} {fmt_money(base)} x {flat_rate_s} = {fmt_money(amount)}"
            )
        if base < start:
            return MoneyLine(key, "commission", ZERO_MONEY, f"{word} 0.00（{label} {fmt(base)} 未达起点 {start_s}）")
        if base == start and mode == "progressive":
            # The first tier taxes only what lies above its 'from'; whole pays from the 'from' itself.
            return MoneyLine(key, "commission", ZERO_MONEY, f"{word} 0.00（{label} {fmt(base)} 未超过起点 {start_s}）")
        if mode == "whole":
            # 全额阶梯: the whole base at the rate of the highest tier reached.
            lo, _, rate, rate_s = next(t for t in reversed(tiers) if t[0] <= base)
            amount = money(base * rate)
            return MoneyLine(
                key,
                "commission",
                amount,
                f"{word} {fmt_money(base)} x {rate_s} = {fmt_money(amount)}（全额阶梯：达到 {fmt_num(lo)} 档）",
            )
        # 分段累进: each slice between consecutive 'from's at its own rate; the part below the first 'from' is free.
        # Rounded once at the end, not per slice, so the line equals the exact sum rounded half-up.
        parts: list[str] = []
        exact = ZERO
        for lo, hi, rate, rate_s in tiers:
            if base <= lo:
                break
            slice_ = (base if hi is None or base < hi else hi) - lo
            exact += slice_ * rate
            parts.append(f"{fmt_money(slice_)} x {rate_s}")
        amount = money(exact)
        return MoneyLine(key, "commission", amount, f"{word} {' + '.join(parts)} = {fmt_money(amount)}")

    return _memo(lambda card: card.values.get(base_key), line)


def _ladder(rule: LadderReward, metric: _MetricPlan) -> _LineFn:
    key, word, metric_key, label, fmt = rule.key, _word(rule.label, "ladder"), rule.metric, metric.label, metric.fmt
    steps = _steps_desc(rule.steps)
    lowest_s = fmt_num(steps[-1][0]) if steps else "-"

    def line(card: _Card) -> MoneyLine:
        value = card.values.get(metric_key)
        if value is None:
            return MoneyLine(key, "bonus", ZERO_MONEY, f"{label} 无数据，{word} 0.00")
        step = _highest_step(steps, value)
        if step is None:
            return MoneyLine(key, "bonus", ZERO_MONEY, f"{label} {fmt(value)} 未达 {lowest_s}，{word} 0.00")
        # Not cumulative: only the highest step reached pays.
        return MoneyLine(
            key, "bonus", step[1], f"{label} {fmt(value)} 达到 {fmt_num(step[0])}，{word} {fmt_money(step[1])}"
        )

    return _memo(lambda card: card.values.get(metric_key), line)


def _score_bonus(rule: ScoreBonusReward) -> _LineFn:
    key, word, base_amount, cap = rule.key, _word(rule.label, "score_bonus"), rule.base_amount, rule.cap
    head = f"{word} {fmt_money(base_amount)} x "
    cap_s = fmt_rate(cap)

    def line(card: _Card) -> MoneyLine:
        factor = min(max(card.total, ZERO) / HUNDRED, cap)
        amount = money(base_amount * factor)
        return MoneyLine(
            key,
            "bonus",
            amount,
            f"{head}{fmt_rate(factor)} = {fmt_money(amount)}（总分 {fmt_score(card.total)}，上限 {cap_s}）",
        )

    return _memo(_total_of, line)


def _rank_bonus(rule: RankBonusReward, ranking: _Ranking) -> _LineFn:
    key, word, per_team = rule.key, _word(rule.label, "rank_bonus"), rule.per_team
    amounts: dict[int, Decimal] = {}
    for r in rule.ranks:
        amounts.setdefault(r.rank, money(r.amount))  # if a rank were listed twice, the first entry wins

    def line(card: _Card) -> MoneyLine:
        team = card.p.team_code
        if per_team:
            if team is None:
                return MoneyLine(key, "bonus", ZERO_MONEY, f"{word} 0.00（未分配团队，不参与团队排名）")
            rank = ranking.team_ranks[card.p.staff_id]
            tied = ranking.team_counts[team][card.total] > 1
            where = f"团队 {team} 内{'并列' if tied else '排名'}第 {rank}"
        else:
            rank = ranking.global_ranks[card.p.staff_id]
            tied = ranking.global_counts[card.total] > 1
            where = f"全员{'并列' if tied else '排名'}第 {rank}"
        total_s = fmt_score(card.total)
        amount = amounts.get(rank)
        if amount is None:
            return MoneyLine(key, "bonus", ZERO_MONEY, f"{word} 0.00（总分 {total_s}，{where}，不在奖励名次内）")
        return MoneyLine(key, "bonus", amount, f"{word} {fmt_money(amount)}（总分 {total_s}，{where}）")

    return line


def _team_pool(
    rule: TeamPoolReward,
    metric: _MetricPlan,
    cards: Sequence[_Card],
    credits: Mapping[str, Mapping[str, Decimal]],
) -> _LineFn:
    """Split every team's pool up front (it needs all members); the lines of a team sum exactly to its pool."""
    key, word, metric_key, label, fmt = rule.key, _word(rule.label, "team_pool"), rule.metric, metric.label, metric.fmt
    steps = _steps_desc(rule.steps)
    lowest_s = fmt_num(steps[-1][0]) if steps else "-"
    min_score = rule.gate.min_score if rule.gate is not None else None
    out: dict[int, MoneyLine] = {}
    teams: dict[str, list[_Card]] = defaultdict(list)
    for card in cards:
        if card.p.team_code is None:
            out[card.p.staff_id] = MoneyLine(key, "bonus", ZERO_MONEY, f"{word} 0.00（未分配团队）")
        else:
            teams[card.p.team_code].append(card)

    for team, members in teams.items():
        members.sort(key=lambda c: c.p.staff_code)
        own = [c.values.get(metric_key) or ZERO for c in members]
        credit = credits.get(team, {}).get(metric_key, ZERO)
        team_total = sum(own, ZERO) + credit
        # A full-width parenthesis already separates the next word; a plain number needs a space.
        credit_s = f"（含团队业绩 {fmt(credit)}）" if credit else " "
        head = f"团队 {team} {label}合计 {fmt(team_total)}{credit_s}"
        step = _highest_step(steps, team_total)
        if step is None:
            for c in members:
                out[c.p.staff_id] = MoneyLine(key, "bonus", ZERO_MONEY, f"{word} 0.00（{head}未达 {lowest_s}）")
            continue
        pool = step[1]
        head = f"{word}：{head}达到 {fmt_num(step[0])}，奖池 {fmt_money(pool)}"

        # Decision: members below the gate do not share; the pool is split among the eligible members so that it is
        # still paid in full (a gated member gets the usual gate line).
        eligible: list[tuple[_Card, Decimal]] = []
        for c, v in zip(members, own, strict=True):
            if min_score is not None and c.total < min_score:
                out[c.p.staff_id] = _gate_line(key, "bonus", word, c.total, min_score)
            else:
                eligible.append((c, v))
        if not eligible:
            continue
        pro_rata = rule.split == "pro_rata" and any(v > 0 for _, v in eligible)
        # Pro rata: members with a non-positive own value get no share; if nobody is positive, split equally.
        weights = [v if v > 0 else ZERO for _, v in eligible] if pro_rata else [ONE] * len(eligible)
        shares = split_exactly(pool, weights, [c.p.staff_code for c, _ in eligible])
        weight_sum_s = fmt(sum(weights, ZERO))
        n = len(eligible)
        exact_s = "（按最大余额法分到分，全队合计等于奖池）"
        for (c, v), w, share in zip(eligible, weights, shares, strict=True):
            if pro_rata and w > 0:
                how = f"按个人{label}占比 {fmt(v)} / {weight_sum_s} 分配，本人 {fmt_money(share)}{exact_s}"
            elif pro_rata:
                how = f"个人{label} {fmt(v)} 不为正，不参与分配，本人 0.00"
            elif rule.split == "pro_rata":
                how = f"无人个人{label}为正，{n} 人平分，本人 {fmt_money(share)}{exact_s}"
            else:
                how = f"{n} 人平分，本人 {fmt_money(share)}{exact_s}"
            out[c.p.staff_id] = MoneyLine(key, "bonus", share, f"{head}，{how}")

    def line(card: _Card) -> MoneyLine:
        return out[card.p.staff_id]

    return line


# --------------------------------------------------------------------------------------------------------------------
# Penalties (amounts are positive in the config and posted as negative lines)
# --------------------------------------------------------------------------------------------------------------------


def _per_event(rule: PerEventPenalty) -> _LineFn:
    key, word, unit = rule.key, _word(rule.label, "per_event"), rule.amount
    unit_s = fmt_money(unit)

    def line(card: _Card) -> MoneyLine:
        count = card.p.penalty_counts.get(key, 0)
        if count < 0:
            raise ValueError(f"staff {card.p.staff_code!r} penalty {key!r}: negative event count {count}")
        amount = money(-(count * unit))
        return MoneyLine(key, "penalty", amount, f"{word} {count} 次 x {unit_s} = {fmt_money(amount)}")

    return _memo(lambda card: card.p.penalty_counts.get(key, 0), line)


def _threshold(rule: ThresholdPenalty) -> _LineFn:
    key, word, below, fixed, pct = (
        rule.key,
        _word(rule.label, "threshold"),
        rule.below_score,
        rule.amount,
        rule.pct_of_rewards,
    )
    if (fixed is None) == (pct is None):
        raise ValueError(f"penalty {key!r}: exactly one of amount and pct_of_rewards is needed")
    below_s = fmt_num(below)

    def line(card: _Card) -> MoneyLine:
        total_s = fmt_total_against(card.total, below)
        if card.total >= below:
            return MoneyLine(key, "penalty", ZERO_MONEY, f"{word} 0.00（总分 {total_s} 不低于 {below_s}）")
        if fixed is not None:
            amount = money(-fixed)
            return MoneyLine(key, "penalty", amount, f"{word} {fmt_money(amount)}（总分 {total_s} 低于 {below_s}）")
        assert pct is not None
        # "That period's positive lines": the rewards of this staff member that pay something (after their gates).
        rewards = sum((x.amount for x in card.lines if x.kind != "penalty" and x.amount > 0), ZERO)
        amount = money(-(pct * rewards))
        return MoneyLine(
            key,
            "penalty",
            amount,
            f"{word} {fmt_rate(pct)} x 本期奖励合计 {fmt_money(rewards)} = {fmt_money(amount)}"
            f"（总分 {total_s} 低于 {below_s}）",
        )

    return _memo(_total_of, line) if fixed is not None else line


def _demotion(rule: DemotionPenalty, card: _Card) -> Flag | None:
    if card.total >= rule.below_score:
        return None
    earlier = list(card.p.previous_totals[: rule.periods - 1])
    # Without enough closed history the streak is not proven, so no flag.
    if len(earlier) < rule.periods - 1 or any(t >= rule.below_score for t in earlier):
        return None
    below = fmt_num(rule.below_score)
    if rule.periods == 1:
        message = f"总分 {fmt_score(card.total)} 低于 {below}，触发降级"
    else:
        history = "、".join(fmt_score(t) for t in earlier)
        message = (
            f"总分连续 {rule.periods} 期低于 {below}（本期 {fmt_score(card.total)}，此前依次 {history}），触发降级"
        )
    return Flag(rule.key, "demotion", message)


def _apply_penalty_cap(lines: list[MoneyLine], cap: Decimal) -> list[MoneyLine]:
    """Penalties of one staff in one period add up to at most ``cap``: cut the line that crosses it, zero the rest."""
    used = ZERO
    out: list[MoneyLine] = []
    for line in lines:
        size = -line.amount
        if size <= 0:
            out.append(line)
            continue
        room = cap - used
        if size <= room:
            used += size
            out.append(line)
            continue
        cut = money(-room)
        used = cap
        out.append(
            MoneyLine(
                line.rule_key,
                line.kind,
                cut,
                f"{line.derivation}，扣款上限 {fmt_money(cap)}，本项削减至 {fmt_money(cut)}",
            )
        )
    return out


# --------------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------------


def compute_period(
    config: SchemeConfig,
    participants: Sequence[ParticipantInput],
    team_pool_credits: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> PeriodResult:
    """Score every participant of one period and derive their money lines and flags.

    ``team_pool_credits``: team_code -> metric key -> amount credited to the team's pool (orders credited to a team,
    not to a person). Raises ``ValueError`` for inputs the engine must not guess about (a participant listed twice,
    a config the validator should have rejected) and ``TypeError`` for a non-Decimal metric value (e.g. a float).
    """
    with localcontext(CTX):
        return _compute(config, participants, team_pool_credits or {})


def _score_participant(
    p: ParticipantInput,
    plans: Sequence[_MetricPlan],
    input_keys: Sequence[str],
    ratios: Sequence[tuple[str, str, str]],
    grades: Sequence[tuple[Decimal, str]],
) -> _Card:
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
    return _Card(p, values, results, total, grade)


def _compute(
    config: SchemeConfig,
    participants: Sequence[ParticipantInput],
    credits: Mapping[str, Mapping[str, Decimal]],
) -> PeriodResult:
    plans, ratios = _plan_metrics(config)
    input_keys = [plan.key for plan in plans if plan.metric.aggregate != "ratio"]
    ratio_order = [(m.key, m.numerator or "", m.denominator or "") for m in ratios]
    by_key = {plan.key: plan for plan in plans}
    for rule in config.rewards:
        ref = rule.base if isinstance(rule, CommissionReward) else getattr(rule, "metric", None)
        if ref is not None and ref not in by_key:
            raise ValueError(f"reward {rule.key!r} references unknown metric {ref!r}")
    grades = [(g.min, g.grade) for g in config.grades]

    seen_ids: set[int] = set()
    seen_codes: set[str] = set()
    cards: list[_Card] = []
    for p in participants:
        if p.staff_id in seen_ids or p.staff_code in seen_codes:
            raise ValueError(f"participant {p.staff_code!r} (id {p.staff_id}) appears twice")
        seen_ids.add(p.staff_id)
        seen_codes.add(p.staff_code)
        cards.append(_score_participant(p, plans, input_keys, ratio_order, grades))

    global_ranks, global_counts = _competition_ranks(cards)
    for card in cards:
        card.rank = global_ranks[card.p.staff_id]
    ranking: _Ranking | None = None

    reward_fns: list[_LineFn] = []
    for rule in config.rewards:
        fn: _LineFn
        if isinstance(rule, TeamPoolReward):
            # Handles its gate itself: gated members drop out of the split.
            reward_fns.append(_team_pool(rule, by_key[rule.metric], cards, credits))
            continue
        if isinstance(rule, CommissionReward):
            fn = _commission(rule, by_key[rule.base])
        elif isinstance(rule, LadderReward):
            fn = _ladder(rule, by_key[rule.metric])
        elif isinstance(rule, ScoreBonusReward):
            fn = _score_bonus(rule)
        else:
            if ranking is None:
                ranking = _ranking(cards, global_ranks, global_counts)
            fn = _rank_bonus(rule, ranking)
        if rule.gate is not None:
            kind: LineKind = "commission" if isinstance(rule, CommissionReward) else "bonus"
            fn = _gated(fn, rule.key, kind, _word(rule.label, rule.type), rule.gate.min_score)
        reward_fns.append(fn)

    penalty_fns: list[_LineFn] = []
    demotions: list[DemotionPenalty] = []
    for penalty in config.penalties:
        if isinstance(penalty, PerEventPenalty):
            penalty_fns.append(_per_event(penalty))
        elif isinstance(penalty, ThresholdPenalty):
            penalty_fns.append(_threshold(penalty))
        else:
            demotions.append(penalty)  # a flag, not money: never part of the lines nor of the cap
    cap = money(config.penalty_cap) if config.penalty_cap is not None else None

    scorecards: list[Scorecard] = []
    for card in cards:
        card.lines = [fn(card) for fn in reward_fns]
        penalty_lines = [fn(card) for fn in penalty_fns]
        if cap is not None:
            penalty_lines = _apply_penalty_cap(penalty_lines, cap)
        flags = tuple(flag for rule in demotions if (flag := _demotion(rule, card)) is not None)
        scorecards.append(
            Scorecard(
                staff_id=card.p.staff_id,
                staff_code=card.p.staff_code,
                team_code=card.p.team_code,
                metrics=tuple(card.results),
                total=card.total,
                grade=card.grade,
                rank=card.rank,
                lines=(*card.lines, *penalty_lines),
                flags=flags,
            )
        )
    scorecards.sort(key=lambda s: s.staff_code)
    return PeriodResult(tuple(scorecards))


def _helper_text(plan: _MetricPlan, value: Decimal | None, values: Mapping[str, Decimal | None]) -> str:
    if plan.metric.aggregate == "ratio":
        text = _ratio_text(plan, value, values)
        return f"辅助指标（不计分）：{text}" + ("，分母为 0，无数据" if value is None else "")
    return f"辅助指标（不计分）：{'无数据' if value is None else plan.fmt(value)}"
