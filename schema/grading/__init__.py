"""Customer grading GraphQL (issue 10 item 3): types, queries (GradingQuery), mutations (GradingMutation)."""

from schema.grading.mutations import GradingMutation
from schema.grading.queries import GradingQuery

__all__ = ["GradingMutation", "GradingQuery"]
