"""Payroll files: a period's statements as an Excel workbook or a CSV file (issue 9 item 6).

Invariants
- The file holds exactly the posted ledger lines of the period (every revision, amounts to the cent as stored), of the
  staff inside the caller's access scope (tenants/access/scope.py): an admin the whole tenant, a manager the subtree of
  their teams. Nothing is recomputed: a figure in the file is a figure of the ledger.
- Memory does not grow with the tenant: lines are read with a server-side cursor in batches (repository.py) and
  written as they come (openpyxl write-only mode, rows spooled to temporary files; workbook.py); the finished file
  is on disk and is streamed to the client, never held whole in memory.
- Text a merchant or a caller typed (names, codes, rule keys, derivations) cannot become a formula: xlsx cells are
  typed strings (and risky ones marked quote-prefixed), CSV cells that start with = + - @ get a leading apostrophe.
"""
