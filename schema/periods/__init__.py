"""GraphQL for periods: close, job progress, periods, scorecards, statements, what-if simulation.

types.py (types and their converters from the domain's records), queries.py (PeriodsQuery), mutations.py
(PeriodsMutation); schema/__init__.py imports the two classes from here.

Errors: `PeriodErrors` (close, refresh, simulate) and a period's or job's `failure` are `Problem`s whose `code` is
`PeriodErrorCode` and whose `message` is in the reader's language (schema/errors.py); a failure kept since a close
failed is rendered when it is read, from its template and parameters (tenants/periods/errors.py). A draft config that
does not validate in `simulateScheme` answers `ConfigErrors` with the schemes domain's config errors
(`SchemeConfigError`, code `SchemeConfigErrorCode`): a query selecting `errors { code }` of both `ConfigErrors` and
`PeriodErrors` aliases one of them, as GraphQL does not merge one field of two enum types.

closePeriod and refreshScorecards call the periods service (tenants/periods/service.py), which validates the request
and enqueues the job after its unit of work commits; resolvers open no unit of work and enqueue nothing themselves
(an import-linter contract, pyproject.toml).
"""

from schema.periods.mutations import PeriodsMutation
from schema.periods.queries import PeriodsQuery

__all__ = ["PeriodsMutation", "PeriodsQuery"]
