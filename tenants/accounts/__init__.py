"""Accounts: the audited use cases of people and tenants (issue 9 items 1 and 2).

Platform operators create tenants with their first owner's invitation, suspend and resume them; tenant admins invite
members (applying teams and the staff record through tenants.access), change their roles and remove them; users
change and reset their passwords and sign out. A package of its own because it sits above tenancy (tables, auth),
audit and access, which all import tenancy: tenancy importing them back would be a cycle between the domains.
Every statement is in tenants/tenancy/repository.py; the entry points are in service.py.
"""
