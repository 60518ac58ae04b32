"""Disputes: a staff member disputes one of their own ledger lines; a manager in scope resolves it.

- models.py: the dispute row (open -> resolved; at most one open dispute per line).
- repository.py: every statement (scoped listings through tenants.access.scope.AccessScope; `disputes_of_lines`
  for statements that show each line's dispute).
- service.py: raiseDispute, resolveDispute (the optional adjustment line, the resolution and its audit row in one
  transaction), disputes.

Invariant: a dispute, its answer and its adjustment are seen only inside the caller's scope; anything outside it (or
another tenant's) is "not found". A dispute's adjustment is a ledger line of kind `adjustment`, rule key `dispute`,
whose `dispute_id` names the dispute; re-closes never count or undo it (tenants/periods/repository.posted_sums). It is
posted into the disputed line's statement, or, when that statement is approved (locked for payroll), into the next open
period's, labelled with the period it corrects.
"""
