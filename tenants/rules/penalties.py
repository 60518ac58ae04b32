"""Penalties: amounts are positive in the config and posted as negative lines; demotion is a flag, not money.

The per-staff penalty cap cuts the line that crosses it and zeroes the rest, saying so in the derivation.
"""

from __future__ import annotations

from decimal import Decimal

from tenants.rules.config import DemotionPenalty, PerEventPenalty, ThresholdPenalty
from tenants.rules.formatting import fmt_money, fmt_num, fmt_rate, fmt_score, fmt_total_against
from tenants.rules.money import ZERO, ZERO_MONEY, money
from tenants.rules.scorecard import Card, Flag, LineFn, MoneyLine, memo_line, rule_word, total_of


def per_event(rule: PerEventPenalty) -> LineFn:
    key, word, unit = rule.key, rule_word(rule.label, "per_event"), rule.amount
    unit_s = fmt_money(unit)

    def line(card: Card) -> MoneyLine:
        count = card.p.penalty_counts.get(key, 0)
        if count < 0:
            raise ValueError(f"staff {card.p.staff_code!r} penalty {key!r}: negative event count {count}")
        amount = money(-(count * unit))
        return MoneyLine(key, "penalty", amount, f"{word} {count} 次 x {unit_s} = {fmt_money(amount)}")

    return memo_line(lambda card: card.p.penalty_counts.get(key, 0), line)


def threshold(rule: ThresholdPenalty) -> LineFn:
    key, word, below, fixed, pct = (
        rule.key,
        rule_word(rule.label, "threshold"),
        rule.below_score,
        rule.amount,
        rule.pct_of_rewards,
    )
    if (fixed is None) == (pct is None):
        raise ValueError(f"penalty {key!r}: exactly one of amount and pct_of_rewards is needed")
    below_s = fmt_num(below)

    def line(card: Card) -> MoneyLine:
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

    return memo_line(total_of, line) if fixed is not None else line


def demotion_flag(rule: DemotionPenalty, card: Card) -> Flag | None:
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


def apply_penalty_cap(lines: list[MoneyLine], cap: Decimal) -> list[MoneyLine]:
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
