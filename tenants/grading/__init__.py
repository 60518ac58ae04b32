"""Customer grading (ABCD) per month, grade-change alerts and the tenant's service rules (issue 10 item 3).

repository.py: every statement (the one month aggregation, the set-based write, listings); service.py: the entry
points; jobs.py: the `GradingQueue` interface the worker implements; errors.py: `GradingErrorCode`. The rules
themselves are pure: tenants/rules/grading.py (grades, alerts, thresholds) and tenants/rules/followups.py (the
service rules as a whole).
"""
