"""Who sees what inside a tenant (issue 8): the access scope of a caller (scope.py), staff logins linked to staff
records and the teams a manager manages (service.py, repository.py), with their errors (errors.py)."""
