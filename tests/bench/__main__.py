"""`make bench`: every benchmark, each printing its figures as ratios against references measured in the same run.

`--small` divides every size by 10; `--scale N` divides the close benchmark's sizes by N."""

from __future__ import annotations

import asyncio
import sys

from tests.bench import close, ingest


def main() -> None:
    small = "--small" in sys.argv
    asyncio.run(ingest.run(5_000 if small else 50_000))
    asyncio.run(close.run(close.scale_from(sys.argv)))


if __name__ == "__main__":
    main()
