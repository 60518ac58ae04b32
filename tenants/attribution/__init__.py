"""Attribution rules (who is credited for orders without explicit credits) as versioned config, and the manager's
side of attribution: large orders waiting for confirmation, confirmed or edited credits, reattribution of a range.

- errors.py: AttributionErrorCode, AttributionError;
- repository.py: every SQL statement (rule versions, the pending orders, credit updates, reattribution);
- service.py: the entry points (rules, save, pending, confirm, reattribute).
The rules themselves are pure: tenants/rules/attribution.py (who is credited) and tenants/rules/attribution_config.py
(the config and its validation); ingestion reads the versions through tenants/events/timeline.py (this package
depends on tenants.events, never the other way).
"""
