"""Customer grading (ABCD, DESIGN.md "Customer grading"): the thresholds, as values the close's SQL is given.

A customer's contribution is the net order amount of the calendar month; customers with a positive contribution are
ranked descending and ``before`` is the sum of the contributions ranked above. Grade A while ``before`` is below
``a_below`` of the total, B below ``b_below``, else C; a known customer without positive contribution is D. The
ranking itself runs in SQL over every customer of the tenant (tenants/periods/aggregation.py); only the thresholds live
here, so that making them configurable changes no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

__all__ = ["DEFAULT_CUSTOMER_GRADING", "CustomerGrading"]


@dataclass(frozen=True, slots=True)
class CustomerGrading:
    """Shares of the month's total contribution (0 < a_below <= b_below <= 1)."""

    a_below: Decimal = Decimal("0.2")
    b_below: Decimal = Decimal("0.6")

    def __post_init__(self) -> None:
        if not Decimal(0) < self.a_below <= self.b_below <= Decimal(1):
            raise ValueError(f"customer grading thresholds must satisfy 0 < A <= B <= 1, not {self}")


# DESIGN.md's values: A below 20% of the total ranked above, B below 60%.
DEFAULT_CUSTOMER_GRADING: Final = CustomerGrading()
