"""Number formatting for derivations and explanations (Chinese UI, thousands separators, half-up everywhere).

Decimal's own ``format`` rounds with the ambient context (half-even by default), so every helper quantizes explicitly
with ROUND_HALF_UP first and only then formats an already-exact value.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from tenants.rules.money import CENT, CTX, HUNDRED, money, round2

__all__ = ["fmt_money", "fmt_num", "fmt_pct", "fmt_rate", "fmt_score", "fmt_total_against"]

_NUM_QUANTUM = Decimal("0.0001")
# Every formatter depends only on the numeric value (never on the Decimal's exponent), so caching by value is safe;
# counts, targets and rates repeat across thousands of staff and formatting dominates the engine's run time.
_CACHE_SIZE = 8192
_PCT_QUANTUM = CENT


def _plain(value: Decimal) -> str:
    """Thousands separators, no exponent, no trailing zeros, never ``-0``."""
    normalized = value.normalize(CTX)
    if not normalized:
        return "0"
    return format(normalized, ",f")


@lru_cache(maxsize=_CACHE_SIZE)
def fmt_money(value: Decimal) -> str:
    """``24000`` -> ``24,000.00``; ``-100`` -> ``-100.00``."""
    return format(money(value), ",.2f")


@lru_cache(maxsize=_CACHE_SIZE)
def fmt_num(value: Decimal) -> str:
    """A count, target or threshold: ``20000`` -> ``20,000``, ``0.5`` -> ``0.5`` (at most 4 decimals, half-up)."""
    return _plain(value.quantize(_NUM_QUANTUM, ROUND_HALF_UP))


@lru_cache(maxsize=_CACHE_SIZE)
def fmt_rate(rate: Decimal) -> str:
    """A configured rate or exact factor as a percentage, all digits kept: ``0.03`` -> ``3%``, ``0.035`` -> ``3.5%``."""
    return _plain(CTX.multiply(rate, HUNDRED)) + "%"


@lru_cache(maxsize=_CACHE_SIZE)
def fmt_pct(ratio: Decimal) -> str:
    """A computed ratio as a percentage rounded half-up to 2 decimals: ``1.2`` -> ``120%``, ``2/3`` -> ``66.67%``."""
    return _plain(CTX.multiply(ratio, HUNDRED).quantize(_PCT_QUANTUM, ROUND_HALF_UP)) + "%"


@lru_cache(maxsize=_CACHE_SIZE)
def fmt_score(score: Decimal) -> str:
    """Scores and totals are shown with 2 decimals: ``120`` -> ``120.00``."""
    return format(round2(score), ",.2f")


def fmt_total_against(total: Decimal, threshold: Decimal) -> str:
    """Show a total next to a threshold without the 2-dp rounding contradicting the comparison.

    59.9960 rounds to 60.00 for display, yet it is below a threshold of 60; then the 4-dp value is shown so that the
    statement "总分 59.9960 低于门槛 60" stays true on its face.
    """
    if (round2(total) >= threshold) != (total >= threshold):
        return format(total, ",.4f")
    return fmt_score(total)
