"""The pure rules: every money, credit, grade and calendar rule, with no I/O and no framework.

Scheme configuration (models and validation), calendar, money and formatting, the scoring engine, attribution,
grading, adjustments: given values in, values and their explanations out. This package is the only home of money
constants and rounding; every number a person is paid is explained here. An import-linter contract keeps tortoise,
asyncpg, redis, arq, strawberry, starlette and sqlalchemy out of it.
"""
