"""The pure rules: every money, credit, grade and calendar rule, with no I/O and no framework.

Given values in, values and their explanations out. This package is the only home of money constants and rounding;
every number a person is paid is explained here. An import-linter contract keeps tortoise, asyncpg, redis, arq,
strawberry, starlette and sqlalchemy out of it.

- config/: the scheme configuration (models, bounds, problems, validation); calendar.py: periods and their windows;
- money.py: decimal context, cent rounding, exact splits, the net of lines; formatting.py: numbers in derivations;
- engine.py: compute_period, orchestrating metrics.py (values, scores, total, grade), ranking.py, rewards.py and
  penalties.py; scorecard.py: what it returns (scorecards, money lines, flags);
- adjustments.py: the lines a re-close posts; grading.py: customer grading thresholds; attribution.py: credits.
"""
