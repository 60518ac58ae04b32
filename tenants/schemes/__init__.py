"""Schemes: incentive schemes and their numbered versions (drafts, published versions, the version in force) and
the built-in templates.

models.py: the scheme and scheme_version tables; repository.py: every statement, on the caller's unit of work;
checks.py: the argument and config checks made before any I/O; service.py: the entry points (one unit of work each,
audited in it); templates.py: the built-in configs; errors.py: SchemeError and its codes. The config model and its
validation live in tenants/rules/config.
"""
