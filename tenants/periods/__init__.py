"""Periods: closing, provisional scorecards, the payout ledger, and the jobs that run them.

The periods domain depends on the schemes domain (versions, calendar), never the other way round. What schemes must
know about periods (a version cannot take effect inside a period whose results exist) it asks through a lookup this
package provides when it is imported (publishing fails closed in a process that has not imported it).
"""

from tenants.periods.repository import first_frozen_period
from tenants.schemes.service import provide_frozen_period_lookup

provide_frozen_period_lookup(first_frozen_period)
