"""Money arithmetic of every rule: one local context, half-up rounding to the cent, exact splits, the net of lines.

The only home of money constants and rounding: the engine, the close (metric values, adjustments) and the API
(display totals, nets) round here, so a rounding rule is changed in one place.

Nothing here touches the process-wide decimal context: the engine runs inside ``localcontext(CTX)`` and every
quantize names its rounding explicitly, so a stray ``getcontext().rounding = ...`` elsewhere never changes what staff
are paid. (Rounding is passed positionally: the keyword form costs 3x more and runs ~10 times per staff member.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_UP,
    Clamped,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

__all__ = [
    "CENT",
    "CTX",
    "ONE",
    "SCORE_QUANTUM",
    "ZERO",
    "ZERO_MONEY",
    "money",
    "net_amount",
    "quantize_score",
    "round2",
    "split_exactly",
]

# 34 significant digits (decimal128): money up to 10^20 with 2 dp, and ratios far more precise than any display.
# Division by zero and invalid operations trap so that a bug raises instead of silently producing NaN/Infinity.
CTX = Context(prec=34, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow, Clamped])

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
ZERO_MONEY = Decimal("0.00")
SCORE_QUANTUM = Decimal("0.0001")


def money(value: Decimal) -> Decimal:
    """Round to the cent, half-up. A zero result is always ``0.00`` (never ``-0.00``, which would print as such)."""
    q = value.quantize(CENT, ROUND_HALF_UP)
    return q if q else ZERO_MONEY


def net_amount(amounts: Iterable[Decimal]) -> Decimal:
    """What a staff member is paid for a period: the sum of their lines, to the cent (``0.00`` without lines)."""
    with localcontext(CTX):
        return money(sum(amounts, ZERO))


def quantize_score(value: Decimal) -> Decimal:
    """Scores and totals are stored with 4 decimals, half-up."""
    q = value.quantize(SCORE_QUANTUM, ROUND_HALF_UP)
    return q if q else Decimal("0.0000")


def round2(value: Decimal) -> Decimal:
    """Display rounding of scores/totals (2 dp, half-up)."""
    q = value.quantize(CENT, ROUND_HALF_UP)
    return q if q else ZERO_MONEY


def split_exactly(total: Decimal, weights: Sequence[Decimal], tie_keys: Sequence[str]) -> list[Decimal]:
    """Split ``total`` (>= 0, in cents) by ``weights`` so that the parts sum to ``total`` to the cent.

    Largest-remainder method: every part is first rounded down to the cent, then the cents left over go one each to the
    parts with the largest remainders; equal remainders are broken by ``tie_keys`` ascending (the staff code), so the
    result is deterministic and independent of input order.
    """
    if len(weights) != len(tie_keys):
        raise ValueError("weights and tie_keys must have the same length")
    total = total.quantize(CENT, ROUND_HALF_UP)
    if total < 0:
        raise ValueError(f"cannot split a negative amount {total}")
    if not weights:
        return []
    weight_sum = sum(weights, ZERO)
    if weight_sum <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative with a positive sum")
    exact = [CTX.divide(CTX.multiply(total, w), weight_sum) for w in weights]
    floors = [e.quantize(CENT, ROUND_DOWN) for e in exact]
    left_cents = int(CTX.divide(total - sum(floors, ZERO), CENT))
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), tie_keys[i]))
    parts = list(floors)
    for i in order[:left_cents]:
        parts[i] += CENT
    return [p if p else ZERO_MONEY for p in parts]
