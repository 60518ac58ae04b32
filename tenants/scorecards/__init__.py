"""Scorecards read domain (issue 8): what a staff member reads on the mini-program (their schemes, scorecard with
"how far to the next step", statement, history, leaderboard) and what a manager reads on the dashboard (pages of
scorecards, one scorecard or statement, a team summary), always inside the caller's access scope.

service.py: the entry points (one unit of work each, a fixed number of statements); repository.py: every statement;
records.py: what they answer; labels.py: the label of every metric (never its key); errors.py: the codes.
Reusable by other domains: `service.staff_statement` (one staff member's statement of a period). A whole period's
lines in scope are the exports domain's (tenants/exports/repository.py), read in batches from a cursor.
"""
