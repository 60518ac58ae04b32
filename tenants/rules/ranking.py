"""Ranking: competition ranks (1, 1, 3) by total, among all participants and within each team.

Ties are broken by nobody: equal totals share a rank and the next rank skips; order among equals is by staff code only
so that the output is deterministic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tenants.rules.scorecard import Card


def competition_ranks(cards: Sequence[Card]) -> tuple[dict[int, int], Counter[Decimal]]:
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
class Ranking:
    global_ranks: dict[int, int]
    global_counts: Counter[Decimal]
    team_ranks: dict[int, int]
    team_counts: dict[str, Counter[Decimal]]


def build_ranking(cards: Sequence[Card], global_ranks: dict[int, int], global_counts: Counter[Decimal]) -> Ranking:
    team_ranks: dict[int, int] = {}
    team_counts: dict[str, Counter[Decimal]] = {}
    by_team: dict[str, list[Card]] = defaultdict(list)
    for card in cards:
        if card.p.team_code is not None:
            by_team[card.p.team_code].append(card)
    for team, members in by_team.items():
        ranks, counts = competition_ranks(members)
        team_ranks.update(ranks)
        team_counts[team] = counts
    return Ranking(global_ranks, global_counts, team_ranks, team_counts)
