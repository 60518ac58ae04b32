"""The console's views: master data, schemes, periods and results, the audit log, the dashboard, the operator's."""
