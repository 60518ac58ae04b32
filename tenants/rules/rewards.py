"""Rewards: each rule is compiled once per period into a function card -> line (sorting, constant strings done once).

Commission, ladder, score bonus, rank bonus and team pool; a gate (minimum total) turns a reward line into 0.00 with
its reason. Amounts are rounded half-up to the cent; a team pool's shares sum exactly to the pool.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from tenants.rules.config import (
    CommissionReward,
    LadderReward,
    RankBonusReward,
    ScoreBonusReward,
    Step,
    TeamPoolReward,
)
from tenants.rules.formatting import fmt_money, fmt_num, fmt_rate, fmt_score
from tenants.rules.metrics import MetricPlan
from tenants.rules.money import HUNDRED, ONE, ZERO, ZERO_MONEY, money, split_exactly
from tenants.rules.ranking import Ranking
from tenants.rules.scorecard import Card, LineFn, LineKind, MoneyLine, gate_line, memo_line, rule_word, total_of


def _steps_desc(steps: Sequence[Step]) -> tuple[tuple[Decimal, Decimal], ...]:
    """(min, amount rounded to the cent), highest min first, so the first step reached is the highest."""
    return tuple(sorted(((s.min, money(s.amount)) for s in steps), key=lambda s: s[0], reverse=True))


def _highest_step(steps: Sequence[tuple[Decimal, Decimal]], value: Decimal) -> tuple[Decimal, Decimal] | None:
    for step in steps:
        if value >= step[0]:
            return step
    return None


def gated(fn: LineFn, rule_key: str, kind: LineKind, word: str, min_score: Decimal) -> LineFn:
    gate = memo_line(total_of, lambda card: gate_line(rule_key, kind, word, card.total, min_score))

    def line(card: Card) -> MoneyLine:
        # A total exactly at the threshold passes.
        return gate(card) if card.total < min_score else fn(card)

    return line


def commission(rule: CommissionReward, metric: MetricPlan) -> LineFn:
    key, word, base_key, label, fmt = rule.key, rule_word(rule.label, "commission"), rule.base, metric.label, metric.fmt
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

    def line(card: Card) -> MoneyLine:
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

    return memo_line(lambda card: card.values.get(base_key), line)


def ladder(rule: LadderReward, metric: MetricPlan) -> LineFn:
    key, word, metric_key, label, fmt = rule.key, rule_word(rule.label, "ladder"), rule.metric, metric.label, metric.fmt
    steps = _steps_desc(rule.steps)
    lowest_s = fmt_num(steps[-1][0]) if steps else "-"

    def line(card: Card) -> MoneyLine:
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

    return memo_line(lambda card: card.values.get(metric_key), line)


def score_bonus(rule: ScoreBonusReward) -> LineFn:
    key, word, base_amount, cap = rule.key, rule_word(rule.label, "score_bonus"), rule.base_amount, rule.cap
    head = f"{word} {fmt_money(base_amount)} x "
    cap_s = fmt_rate(cap)

    def line(card: Card) -> MoneyLine:
        factor = min(max(card.total, ZERO) / HUNDRED, cap)
        amount = money(base_amount * factor)
        return MoneyLine(
            key,
            "bonus",
            amount,
            f"{head}{fmt_rate(factor)} = {fmt_money(amount)}（总分 {fmt_score(card.total)}，上限 {cap_s}）",
        )

    return memo_line(total_of, line)


def rank_bonus(rule: RankBonusReward, ranking: Ranking) -> LineFn:
    key, word, per_team = rule.key, rule_word(rule.label, "rank_bonus"), rule.per_team
    amounts: dict[int, Decimal] = {}
    for r in rule.ranks:
        amounts.setdefault(r.rank, money(r.amount))  # if a rank were listed twice, the first entry wins

    def line(card: Card) -> MoneyLine:
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


def team_pool(
    rule: TeamPoolReward,
    metric: MetricPlan,
    cards: Sequence[Card],
    credits: Mapping[str, Mapping[str, Decimal]],
) -> LineFn:
    """Split every team's pool up front (it needs all members); the lines of a team sum exactly to its pool."""
    key, word, metric_key, label, fmt = (
        rule.key,
        rule_word(rule.label, "team_pool"),
        rule.metric,
        metric.label,
        metric.fmt,
    )
    steps = _steps_desc(rule.steps)
    lowest_s = fmt_num(steps[-1][0]) if steps else "-"
    min_score = rule.gate.min_score if rule.gate is not None else None
    out: dict[int, MoneyLine] = {}
    teams: dict[str, list[Card]] = defaultdict(list)
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
        eligible: list[tuple[Card, Decimal]] = []
        for c, v in zip(members, own, strict=True):
            if min_score is not None and c.total < min_score:
                out[c.p.staff_id] = gate_line(key, "bonus", word, c.total, min_score)
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

    def line(card: Card) -> MoneyLine:
        return out[card.p.staff_id]

    return line
