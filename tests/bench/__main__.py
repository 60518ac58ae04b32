"""`make bench`: every benchmark, each printing its figures as ratios against references measured in the same run.

`--small` divides every size by 10 (a quick look); `--scale N` divides the close, export and grading sizes by N.
Each benchmark also runs alone: `python -m tests.bench.<name>` (ingest, close, views, export, grading,
admin_events), with the options its module documents.
"""

from __future__ import annotations

import asyncio
import sys

from tests.bench import admin_events, close, export, grading, ingest, views


def main() -> None:
    small = "--small" in sys.argv
    scale = close.scale_from(sys.argv)
    asyncio.run(ingest.run(5_000 if small else 50_000))
    asyncio.run(close.run(scale))
    # The views benchmark needs its module importable by name (its bare server unpickles cases from it).
    asyncio.run(views.run(small))
    asyncio.run(export.run(scale))
    asyncio.run(grading.run(scale, keep=False))
    asyncio.run(admin_events.run(100_000 if small else 1_000_000))


if __name__ == "__main__":
    main()
