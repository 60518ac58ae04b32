"""An NDJSON body of events, stored as it arrives (POST /import/events): any size, the same checks and answer as a
batch (recordEvents).

The body is read as it arrives and stored in chunks of CHUNK_ITEMS items (one transaction each), so memory stays
bounded whatever the body's size: the answer keeps complete counts but only the first REPORT_LIMIT duplicates and
problems (each chunk too), and a line is at most MAX_LINE_BYTES. A chunk's valid items are stored even when others are
rejected. Item indexes count the non-empty lines. Lines are checked as they arrive while earlier chunks are being
stored: at most two chunks in the database at a time, the later one resolving its codes and staging its rows while the
earlier one inserts; inserts go one chunk after the other, in body order, so duplicates across chunks and refunds of an
earlier chunk's orders resolve as if sequential. The import gives the event loop a turn every YIELD_EVERY lines,
whatever they hold (a body that is already buffered never makes reading it wait), so other requests are answered
during any import.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable
from datetime import datetime

from tenants.events.batch import Batch, IngestResult
from tenants.events.contract import EVENT_TIME_MAX, EVENT_TIME_MIN, MAX_BATCH
from tenants.events.errors import EventErrorCode
from tenants.events.service import store
from tenants.i18n import _
from tenants.tenancy.identity import TenantId

CHUNK_ITEMS = MAX_BATCH
YIELD_EVERY = 128  # lines checked between two turns of the event loop (the store running in the background, others)
MAX_LINE_BYTES = 1024 * 1024
REPORT_LIMIT = 1_000  # listed duplicates/rejections; the counts are always complete
LINE_TOO_LONG_MESSAGE = _("A line may hold at most {limit:,} bytes.", limit=MAX_LINE_BYTES)


async def import_lines(
    tenant_id: TenantId,
    body: AsyncIterable[bytes],
    *,
    event_time_min: datetime = EVENT_TIME_MIN,
    event_time_max: datetime = EVENT_TIME_MAX,
) -> tuple[IngestResult, int]:
    """Ingest an NDJSON body as it arrives; the result (first REPORT_LIMIT duplicates and problems) and the items."""

    def new_batch() -> Batch:
        return Batch(report_limit=REPORT_LIMIT, event_time_min=event_time_min, event_time_max=event_time_max)

    total = IngestResult(REPORT_LIMIT)
    batch = new_batch()
    storing: deque[asyncio.Task[IngestResult]] = deque()  # at most two chunks: one being written, the next staged
    index = 0
    since_turn = 0  # lines (blank ones too) since the event loop last had a turn
    pending = b""

    async def hand_over() -> None:
        # A chunk is stored while the next one is read and checked; its rows go into the table after the previous
        # chunk's (file order), the rest of its work overlaps.
        nonlocal batch
        if batch:
            if len(storing) == 2:
                total.merge(await storing.popleft())
            previous = storing[-1] if storing else None
            storing.append(asyncio.create_task(store(tenant_id, batch, after=previous)))
        batch = new_batch()

    skipping = False  # inside a line that is too long: its bytes are dropped up to the next newline
    try:
        async for data in body:
            pending += data
            *lines, pending = pending.split(b"\n")
            if skipping and lines:
                lines, skipping = lines[1:], False
            if len(pending) > MAX_LINE_BYTES and not skipping:
                # Memory stays bounded whatever a client sends: an endless line is one rejected item.
                batch.reject(index, EventErrorCode.LINE_TOO_LONG, LINE_TOO_LONG_MESSAGE)
                index += 1
                pending, skipping = b"", True
            elif skipping:
                pending = b""
            for line in lines:
                since_turn += 1
                if since_turn >= YIELD_EVERY:
                    since_turn = 0
                    await asyncio.sleep(0)  # the batch being stored takes its next step, other requests are served
                if len(line) > MAX_LINE_BYTES:
                    batch.reject(index, EventErrorCode.LINE_TOO_LONG, LINE_TOO_LONG_MESSAGE)
                    index += 1
                elif line and not line.isspace():
                    batch.add_json(index, line)
                    index += 1
                    if len(batch) >= CHUNK_ITEMS:
                        await hand_over()
        if pending and not pending.isspace() and not skipping:
            batch.add_json(index, pending)
            index += 1
        await hand_over()
        while storing:
            total.merge(await storing.popleft())
    finally:
        if storing:
            # The client went away, or storing failed: what was handed over is stored or not, never half-done.
            await asyncio.gather(*storing, return_exceptions=True)
    return total, index
