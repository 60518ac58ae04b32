"""Payroll's GraphQL (issue 9 items 3-5): WeChat mini-program login, disputes, statement approvals."""

from schema.payroll.mutations import PayrollMutation
from schema.payroll.queries import PayrollQuery

__all__ = ["PayrollMutation", "PayrollQuery"]
