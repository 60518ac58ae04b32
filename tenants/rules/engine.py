"""Pure scoring engine: scheme config + per-staff metric values -> scorecards, money lines and explanations.

No ORM, no I/O, no asyncio: the period-close code loads metric values (computed in SQL) and posts what this returns.
Every amount is a ``Decimal`` computed inside one local decimal context (``money.CTX``); money lines are rounded half-up
to the cent; every number a staff member sees comes with a Chinese derivation that reproduces it. This module
orchestrates: metrics (rules/metrics.py), ranking (rules/ranking.py), rewards (rules/rewards.py) and penalties
(rules/penalties.py); the values it returns are in rules/scorecard.py.

Decisions where DESIGN.md is silent are recorded next to the code that takes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext

from tenants.rules import penalties, rewards
from tenants.rules.config import (
    CommissionReward,
    DemotionPenalty,
    LadderReward,
    PerEventPenalty,
    SchemeConfig,
    ScoreBonusReward,
    TeamPoolReward,
    ThresholdPenalty,
)
from tenants.rules.metrics import plan_metrics, score_participant
from tenants.rules.money import CTX, money
from tenants.rules.ranking import Ranking, build_ranking, competition_ranks
from tenants.rules.scorecard import Card, LineFn, LineKind, ParticipantInput, PeriodResult, Scorecard, rule_word

__all__ = ["compute_period"]


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


def _compute(
    config: SchemeConfig,
    participants: Sequence[ParticipantInput],
    credits: Mapping[str, Mapping[str, Decimal]],
) -> PeriodResult:
    plans, ratios = plan_metrics(config)
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
    cards: list[Card] = []
    for p in participants:
        if p.staff_id in seen_ids or p.staff_code in seen_codes:
            raise ValueError(f"participant {p.staff_code!r} (id {p.staff_id}) appears twice")
        seen_ids.add(p.staff_id)
        seen_codes.add(p.staff_code)
        cards.append(score_participant(p, plans, input_keys, ratio_order, grades))

    global_ranks, global_counts = competition_ranks(cards)
    for card in cards:
        card.rank = global_ranks[card.p.staff_id]
    ranking: Ranking | None = None

    reward_fns: list[LineFn] = []
    for rule in config.rewards:
        fn: LineFn
        if isinstance(rule, TeamPoolReward):
            # Handles its gate itself: gated members drop out of the split.
            reward_fns.append(rewards.team_pool(rule, by_key[rule.metric], cards, credits))
            continue
        if isinstance(rule, CommissionReward):
            fn = rewards.commission(rule, by_key[rule.base])
        elif isinstance(rule, LadderReward):
            fn = rewards.ladder(rule, by_key[rule.metric])
        elif isinstance(rule, ScoreBonusReward):
            fn = rewards.score_bonus(rule)
        else:
            if ranking is None:
                ranking = build_ranking(cards, global_ranks, global_counts)
            fn = rewards.rank_bonus(rule, ranking)
        if rule.gate is not None:
            kind: LineKind = "commission" if isinstance(rule, CommissionReward) else "bonus"
            fn = rewards.gated(fn, rule.key, kind, rule_word(rule.label, rule.type), rule.gate.min_score)
        reward_fns.append(fn)

    penalty_fns: list[LineFn] = []
    demotions: list[DemotionPenalty] = []
    for penalty in config.penalties:
        if isinstance(penalty, PerEventPenalty):
            penalty_fns.append(penalties.per_event(penalty))
        elif isinstance(penalty, ThresholdPenalty):
            penalty_fns.append(penalties.threshold(penalty))
        else:
            demotions.append(penalty)  # a flag, not money: never part of the lines nor of the cap
    cap = money(config.penalty_cap) if config.penalty_cap is not None else None

    scorecards: list[Scorecard] = []
    for card in cards:
        card.lines = [fn(card) for fn in reward_fns]
        penalty_lines = [fn(card) for fn in penalty_fns]
        if cap is not None:
            penalty_lines = penalties.apply_penalty_cap(penalty_lines, cap)
        flags = tuple(flag for rule in demotions if (flag := penalties.demotion_flag(rule, card)) is not None)
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
