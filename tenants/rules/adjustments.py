"""Re-close adjustments: what a re-close posts, given what is already posted and what the engine now computes.

Per staff member and rule, the new amount minus the sum of everything posted so far; only non-zero differences become
lines, so posting them makes the ledger equal the new result. Each line explains itself in Chinese (posted, recomputed,
difference, and the recomputed line's own derivation). Pure: the caller reads the posted sums and writes the lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from tenants.rules.formatting import fmt_money
from tenants.rules.money import ZERO_MONEY
from tenants.rules.scorecard import Scorecard

__all__ = ["Adjustment", "adjustments"]

# Derivation of a rule that paid before and has no line in the new result.
NO_LONGER_APPLIES: Final = "本期不再适用"


@dataclass(frozen=True, slots=True)
class Adjustment:
    staff_id: int
    rule_key: str
    amount: Decimal  # new minus posted, to the cent; never zero
    derivation: str
    kind: Literal["adjustment"] = "adjustment"


def adjustments(
    revision: int, posted: Mapping[tuple[int, str], Decimal], scorecards: Sequence[Scorecard]
) -> list[Adjustment]:
    """The adjustment lines of ``revision``, ordered by staff id and rule key.

    ``posted``: (staff id, rule key) -> sum of every line already posted for the period (any revision).
    """
    new: dict[tuple[int, str], tuple[Decimal, str]] = {}
    for card in scorecards:
        for line in card.lines:
            new[(card.staff_id, line.rule_key)] = (line.amount, line.derivation)
    out: list[Adjustment] = []
    for key in sorted(set(posted) | set(new)):
        before = posted.get(key, ZERO_MONEY)
        after, derivation = new.get(key, (ZERO_MONEY, NO_LONGER_APPLIES))
        delta = after - before
        if delta != 0:
            out.append(
                Adjustment(
                    staff_id=key[0],
                    rule_key=key[1],
                    amount=delta,
                    derivation=(
                        f"调整（修订 {revision} 对比修订 {revision - 1}）：已入账 {fmt_money(before)}，"
                        f"重算 {fmt_money(after)}，差额 {fmt_money(delta)}。重算依据：{derivation}"
                    ),
                )
            )
    return out
