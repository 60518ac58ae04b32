"""Missed follow-ups (issue 10 item 4): the tenant's follow-up rules applied to its events.

repository.py: the one set-based statement finding overdue orders; service.py: the entry points (one tenant, every
tenant for the cron), which emit the missed follow-ups through the events service (tenants/events/service.py).
"""
