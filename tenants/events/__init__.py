"""Business events pushed by the merchant's systems (DESIGN.md "Events").

- errors.py: EventErrorCode, ItemProblem (one refused item), EventError (a request refused whole)
- contract.py: the integration contract's limits, its reference model (pydantic EventIn) and CheckedEvent
- fast.py: the common shape checked without pydantic (the bulk path); problems.py: pydantic errors in our words
- checks.py: one item's checks without a database (shape, rules across fields, what a resend changed)
- batch.py: Batch (a batch's items checked as they arrive), IngestResult (the answer, bounded by a report limit)
- rows.py: a batch's COPY rows once its codes are known (who is credited: tenants/rules/attribution.py, by the rules
  version in force at each event's time: timeline.py loads the versions once per batch)
- service.py: ingestion entry points (record_events, ingest, store); ndjson.py: an NDJSON body stored in chunks;
  confirmation.py: large orders confirmed; listing.py: pages of events
- repository.py: every SQL statement of the domain; models.py: the `event` table
"""
