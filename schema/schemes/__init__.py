"""GraphQL for schemes (tenants/schemes/): schemes and versions, config validation, templates, drafts and publishing.

types.py: the output types, results and errors (SchemeErrors, SchemeConfigError); loaders.py: the per-request loader
of versions; queries.py: SchemesQuery; mutations.py: SchemesMutation. Permissions: queries need a manager (or higher);
changes need an admin. Another tenant's scheme is null / NOT_FOUND.
"""

from __future__ import annotations

from schema.schemes.mutations import SchemesMutation
from schema.schemes.queries import SchemesQuery
from schema.schemes.types import SchemeConfigError

__all__ = ["SchemeConfigError", "SchemesMutation", "SchemesQuery"]
