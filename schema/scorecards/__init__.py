"""GraphQL of the scorecards reads (issue 8): mySchemes, myScorecard, myStatement, myHistory, leaderboard for staff;
scorecards (cursor pages), scorecard, statement, teamSummary for managers and admins.

types.py (types and converters from tenants/scorecards/records.py), queries.py (ScorecardsQuery). Refused reads (a bad
cursor, a page size below 1) are top-level errors whose `extensions.code` is a `ScorecardErrorCode`.
"""

from schema.scorecards.queries import ScorecardsQuery

__all__ = ["ScorecardsQuery"]
