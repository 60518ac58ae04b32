"""Database plumbing shared by the domains: the abstract tenant model, code lookups, paging, JSON codecs.

Domains keep their SQL in their own `repository.py`; what every repository needs once lives here, so there is one way
to look up the merchant's codes, page a listing or read a jsonb column.
"""
