"""What the scoring engine returns (scorecards, money lines, flags) and the card every rule reads while it runs.

Values only: a ``Scorecard`` is immutable, its lines are rounded half-up to the cent and each carries the Chinese
derivation that reproduces it. ``Card`` is the engine's per-participant working state (rules fill ``lines``); a
``LineFn`` is one compiled rule (card -> line), shared by the reward and penalty modules.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from tenants.rules.formatting import fmt_num, fmt_total_against
from tenants.rules.money import ZERO_MONEY, net_amount, round2

__all__ = [
    "Flag",
    "MetricResult",
    "MoneyLine",
    "ParticipantInput",
    "PeriodResult",
    "Scorecard",
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
        return net_amount(line.amount for line in self.lines)


@dataclass(frozen=True, slots=True)
class PeriodResult:
    scorecards: tuple[Scorecard, ...]  # sorted by staff_code


# --------------------------------------------------------------------------------------------------------------------
# Per-participant working state, shared by the metric, reward and penalty rules
# --------------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Card:
    p: ParticipantInput
    values: dict[str, Decimal | None]
    results: list[MetricResult]
    total: Decimal
    grade: str | None
    rank: int = 0
    lines: list[MoneyLine] = field(default_factory=list)


LineFn = Callable[[Card], MoneyLine]


def memo_line(key_of: Callable[[Card], Hashable], fn: LineFn) -> LineFn:
    """Share one immutable line among staff whose line depends on the same key (a count, a value, a total).

    Only for rules whose line is a pure function of ``key_of(card)``; the cache lives as long as one compute_period.
    """
    cache: dict[Hashable, MoneyLine] = {}

    def line(card: Card) -> MoneyLine:
        k = key_of(card)
        hit = cache.get(k)
        if hit is None:
            hit = cache[k] = fn(card)
        return hit

    return line


def total_of(card: Card) -> Hashable:
    return card.total


def rule_word(label: str | None, rule_type: str) -> str:
    return label if label else _DEFAULT_WORDS[rule_type]


def gate_line(rule_key: str, kind: LineKind, word: str, total: Decimal, min_score: Decimal) -> MoneyLine:
    return MoneyLine(
        rule_key,
        kind,
        ZERO_MONEY,
        f"{word} 0.00（总分 {fmt_total_against(total, min_score)} 低于门槛 {fmt_num(min_score)}）",
    )
